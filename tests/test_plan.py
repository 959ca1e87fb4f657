"""pyconv.plan: the one selection function (kernels/conv/select.c) as users and the harness
see it -- every method it can choose, each one's result against the reference, workspace
independent of the batch, bad arguments -- and the one copy of the compiled kernels."""
import glob
import os

import numpy as np
import pytest

import pyconv
from pyconv import _gemm, reference

# the micro-kernels with a fused Winograd kernel (gemm_internal.h), on which one 7x7 image's 4
# tiles take Winograd from 128 channels at any thread count
FUSED_WINOGRAD = _gemm.arch() in ("avx512", "avx512x12")

# (op, input shape, weight shape, keyword arguments, algorithm asked, method expected); a tuple
# where the choice depends on the micro-tile's size (PYCONV_ARCH, dtype)
CASES = [
    ("conv2d", (2, 8, 9, 9), (16, 8, 3, 3), dict(padding=1), "auto", "implicit-gemm"),
    ("conv2d", (2, 8, 9, 9), (2, 8, 3, 3), dict(padding=1), "auto", "direct"),
    ("conv2d", (2, 8, 32, 32), (16, 8, 1, 1), {}, "auto", "gemm-pointwise"),
    # a pointwise layer reducing its channels into whole micro-tile columns: implicit GEMM
    ("conv2d", (1, 64, 32, 32), (32, 64, 1, 1), {}, "auto", "implicit-gemm"),
    ("conv2d", (3, 8, 25, 21), (12, 4, 1, 1), dict(groups=2), "im2col", "gemm-pointwise"),
    ("conv2d", (2, 8, 9, 9), (16, 8, 1, 1), {}, "auto", "implicit-gemm"),
    ("conv2d", (2, 8, 9, 9), (16, 8, 1, 1), dict(stride=2), "auto", "implicit-gemm"),
    ("conv2d", (2, 8, 9, 9), (8, 1, 3, 3), dict(padding=1, groups=8), "auto", "depthwise"),
    ("conv2d", (2, 8, 9, 9), (16, 1, 3, 3), dict(padding=1, groups=8), "auto", "direct"),
    ("conv2d", (1, 3, 2, 2), (3, 1, 3, 3), dict(padding=400, groups=3), "im2col", "depthwise"),
    ("conv2d", (2, 1, 9, 9), (1, 1, 3, 3), dict(padding=1), "direct", "depthwise"),
    ("conv2d", (2, 0, 5, 5), (4, 0, 3, 3), {}, "im2col", "bias-only"),
    ("conv2d", (0, 3, 5, 5), (4, 3, 3, 3), {}, "im2col", "none"),
    ("conv2d", (1, 2, 2, 2), (4, 2, 3, 3), dict(padding=400), "im2col", "direct"),
    ("conv2d_input", (2, 16, 9, 9), (16, 16, 3, 3), dict(padding=1), "auto", "implicit-gemm-transposed"),
    ("conv2d_input", (2, 16, 9, 9), (16, 16, 3, 3), dict(padding=1), "direct", "direct-transposed"),
    ("conv2d_input", (2, 16, 9, 9), (16, 16, 3, 3), dict(stride=2, padding=1), "auto", "gemm-col2im"),
    ("conv2d_input", (2, 16, 9, 9), (16, 16, 3, 3), dict(stride=2, padding=1), "direct", "direct"),
    ("conv2d_input", (2, 16, 9, 9), (32, 16, 1, 1), {}, "auto", "implicit-gemm-transposed"),
    ("conv2d_input", (1, 64, 32, 32), (16, 64, 1, 1), {}, "auto", "gemm-col2im"),
    ("conv2d_input", (2, 1, 9, 9), (16, 1, 3, 3), dict(padding=1), "im2col", "gemm-col2im"),
    ("conv2d_input", (2, 4, 5, 5), (0, 4, 3, 3), {}, "auto", "zeros"),
    ("conv2d_input", (2, 8, 9, 9), (8, 1, 3, 3), dict(padding=1, groups=8), "auto", "depthwise"),
    ("conv2d_input", (2, 8, 9, 9), (8, 1, 3, 3), dict(stride=2, padding=1, groups=8), "direct", "depthwise"),
    ("conv2d_input", (2, 8, 9, 9), (8, 1, 3, 3), dict(padding=1, groups=8), "im2col", "gemm-col2im"),
    ("conv2d_weight", (8, 8, 32, 32), (32, 8, 3, 3), dict(padding=1), "auto", "implicit-gemm"),
    ("conv2d_weight", (2, 8, 9, 9), (16, 8, 3, 3), dict(padding=1), "auto", "gemm-patches"),
    ("conv2d_weight", (64, 1, 28, 28), (6, 1, 5, 5), {}, "im2col", ("gemm-patches", "implicit-gemm")),
    ("conv2d_weight", (3, 4, 20, 20), (6, 2, 3, 3), dict(padding=2, groups=2, stride=2), "im2col", "gemm-patches"),
    ("conv2d_weight", (2, 8, 9, 9), (8, 1, 3, 3), dict(padding=1, groups=8), "auto", "depthwise"),
    ("conv2d_weight", (2, 8, 9, 9), (16, 1, 3, 3), dict(padding=1, groups=8), "auto", "direct"),
    ("conv2d_weight", (0, 8, 9, 9), (16, 8, 3, 3), dict(padding=1), "auto", "zeros"),
    # Winograd: auto's rule on one thread (>= 32 channels per group, >= 4 tiles, >= 8 for the
    # forward pass under 256 channels -- 128 with the fused kernel --, tiles x channels >= 512),
    # asked for, the input gradient with a crop (padding beyond two), and the weight gradient
    # running im2col
    ("conv2d", (2, 32, 16, 16), (32, 32, 3, 3), dict(padding=1), "auto", "winograd"),
    ("conv2d", (2, 128, 7, 7), (128, 128, 3, 3), dict(padding=1), "auto", "winograd"),
    ("conv2d", (1, 128, 7, 7), (128, 128, 3, 3), dict(padding=1), "auto",
     "winograd" if FUSED_WINOGRAD else "implicit-gemm"),
    ("conv2d_input", (1, 128, 7, 7), (128, 128, 3, 3), dict(padding=1), "auto", "winograd-transposed"),
    ("conv2d", (1, 64, 7, 7), (64, 64, 3, 3), dict(padding=1), "auto", "implicit-gemm"),
    ("conv2d", (1, 512, 4, 4), (512, 512, 3, 3), dict(padding=1), "auto", "implicit-gemm"),
    ("conv2d", (1, 32, 4, 4), (32, 32, 3, 3), dict(padding=1), "auto", "implicit-gemm"),
    ("conv2d", (2, 16, 16, 16), (16, 16, 3, 3), dict(padding=1), "auto", "implicit-gemm"),
    ("conv2d", (2, 8, 9, 7), (16, 8, 3, 3), dict(padding=((2, 0), (1, 1))), "winograd", "winograd"),
    ("conv2d", (0, 8, 9, 9), (8, 8, 3, 3), dict(padding=1), "winograd", "none"),
    ("conv2d_input", (2, 32, 16, 16), (32, 32, 3, 3), dict(padding=1), "auto", "winograd-transposed"),
    ("conv2d_input", (2, 8, 9, 9), (16, 8, 3, 3), dict(padding=3), "winograd", "winograd-transposed"),
    ("conv2d_weight", (2, 8, 9, 9), (16, 8, 3, 3), dict(padding=1), "winograd", "winograd-weight"),
    ("conv2d_weight", (2, 32, 16, 16), (32, 32, 3, 3), dict(padding=1), "auto", "winograd-weight"),
    ("conv2d_weight", (1, 512, 7, 7), (512, 512, 3, 3), dict(padding=1), "auto", "gemm-patches"),
]


def _run(op, x_shape, w_shape, kwargs, algorithm, impl, rng):
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    y_shape = reference.conv2d(x, w, **kwargs).shape
    gy = rng.standard_normal(y_shape)
    if op == "conv2d":
        args = (x, w, rng.standard_normal(w_shape[0]))
    elif op == "conv2d_input":
        args = (x_shape, w, gy)
    else:
        args = (x, w_shape, gy)
    extra = {} if impl is reference else dict(algorithm=algorithm)
    return getattr(impl, op)(*args, **kwargs, **extra)


@pytest.mark.parametrize("op, x_shape, w_shape, kwargs, algorithm, method", CASES)
def test_plan_names_the_method_and_the_method_is_right(op, x_shape, w_shape, kwargs, algorithm, method):
    p = pyconv.plan(op, x_shape, w_shape, **kwargs, algorithm=algorithm, dtype=np.float64, n_threads=1)
    assert p.method in ((method,) if isinstance(method, str) else method)
    assert p.algorithm == {"winograd": "winograd", "winograd-transposed": "winograd",
                           "winograd-weight": "winograd"}.get(p.method, p.algorithm)
    assert p.algorithm in ("direct", "im2col", "winograd")
    assert p.workspace_bytes >= 0
    got = _run(op, x_shape, w_shape, kwargs, algorithm, pyconv, np.random.default_rng(0))
    expected = _run(op, x_shape, w_shape, kwargs, algorithm, reference, np.random.default_rng(0))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("op, channels, method", [("conv2d", 512, "winograd"),
                                                   ("conv2d", 128, "implicit-gemm"),
                                                   ("conv2d_input", 128, "winograd-transposed")])
def test_auto_runs_one_7x7_image_by_winograd_on_one_thread_only(op, channels, method):
    """Through the GEMM path, 4 tiles pay for the filter transform on one thread (the forward
    from 256 channels); on more, between other libraries' calls, the implicit GEMM was faster.
    The fused micro-kernel, which keeps the transformed filters in registers, pays from 128
    channels on any number of threads, and not at 64 (docs/winograd.md)."""
    shapes = ((1, channels, 7, 7), (channels, channels, 3, 3))
    for n_threads in (1, 2, 4):
        got = pyconv.plan(op, *shapes, padding=1, n_threads=n_threads).method
        if FUSED_WINOGRAD:
            assert got.startswith("winograd")
        elif n_threads == 1:
            assert got == method
        else:
            assert not got.startswith("winograd")
    small = ((1, 64, 7, 7), (64, 64, 3, 3))
    assert not pyconv.plan(op, *small, padding=1, n_threads=2).method.startswith("winograd")


@pytest.mark.parametrize("n_threads", [1, 2, 3, 8])
def test_chunked_weight_gradient_is_the_same_at_any_thread_count(n_threads):
    """gemm-patches splits the pixel sum into chunks fixed by the shape (450 pixels: 2 to 4
    chunks of whole KC blocks, whatever the micro-kernel), added in order."""
    rng = np.random.default_rng(5)
    x, gy = rng.standard_normal((2, 1, 17, 17)), rng.standard_normal((2, 6, 15, 15))
    assert pyconv.plan("conv2d_weight", x.shape, (6, 1, 3, 3), dtype=np.float64).method == "gemm-patches"
    one = pyconv.conv2d_weight(x, (6, 1, 3, 3), gy, n_threads=1)
    np.testing.assert_array_equal(pyconv.conv2d_weight(x, (6, 1, 3, 3), gy, n_threads=n_threads), one)
    np.testing.assert_allclose(one, reference.conv2d_weight(x, (6, 1, 3, 3), gy), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("algorithm, batches", [("im2col", (1, 8, 64, 512)), ("winograd", (8, 64, 512))])
def test_forward_workspace_does_not_grow_with_the_batch(algorithm, batches):
    """Per thread, one image's (or one block of tiles') workspace; Winograd also shares the
    transformed filters once there are more blocks than threads (from 2 images here)."""
    sizes = {pyconv.plan("conv2d", (n, 64, 28, 28), (64, 64, 3, 3), padding=1, algorithm=algorithm,
                         n_threads=2).workspace_bytes
             for n in batches}
    assert len(sizes) == 1


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(op="conv3d"), ValueError, ["op", "conv3d"]),
    (dict(algorithm="fft"), ValueError, ["algorithm", "fft"]),
    (dict(algorithm="winograd", w_shape=(4, 4, 3, 3)), ValueError, ["winograd", "8 input and output channels"]),
    (dict(dtype=np.float16), TypeError, ["dtype", "float16"]),
    (dict(w_shape=(4, 3, 3, 3), groups=2), ValueError, ["groups"]),
    (dict(n_threads=0), ValueError, ["n_threads"]),
])
def test_plan_bad_arguments(kwargs, exc, words):
    args = dict(op="conv2d", input_shape=(1, 4, 8, 8), weight_shape=(4, 4, 3, 3))
    if "w_shape" in kwargs:
        args["weight_shape"] = kwargs.pop("w_shape")
    args.update(kwargs)
    with pytest.raises(exc) as info:
        pyconv.plan(args.pop("op"), args.pop("input_shape"), args.pop("weight_shape"), **args)
    for word in words:
        assert word in str(info.value)


def test_one_extension_module_holds_the_kernels():
    """Only pyconv.cython_kernels links the kernel library: one dispatch table, one arena set."""
    here = os.path.dirname(os.path.abspath(pyconv.__file__))
    modules = glob.glob(os.path.join(here, "*.so")) + glob.glob(os.path.join(here, "*.pyd"))
    holding = [os.path.basename(m).split(".")[0] for m in modules
               if b"pyconv_ukernel_gather_ref" in open(m, "rb").read()]
    assert holding == ["cython_kernels"]


def test_remembered_plans_keep_every_check():
    """The ops remember the plan of an argument set they have validated (pyconv.conv._planned);
    an argument that differs only in type (True for 1, a list for a tuple, numpy ints) or a bad
    array still gets its own check and error."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 4, 8, 8))
    w = rng.standard_normal((4, 4, 3, 3))
    expected = pyconv.conv2d(x, w, stride=1, padding=1)
    for _ in range(2):
        with pytest.raises(TypeError, match="stride"):
            pyconv.conv2d(x, w, stride=True, padding=1)
        with pytest.raises(TypeError, match="groups"):
            pyconv.conv2d(x, w, padding=1, groups=1.0)
        with pytest.raises(ValueError, match="bias"):
            pyconv.conv2d(x, w, np.zeros(3), stride=1, padding=1)
        with pytest.raises(ValueError, match="grad_output"):
            pyconv.conv2d_input(x.shape, w, np.zeros((1, 4, 7, 7)), stride=1, padding=1)
        np.testing.assert_array_equal(pyconv.conv2d(x, w, stride=[1, 1], padding=(1, 1)), expected)
        np.testing.assert_array_equal(pyconv.conv2d(x, w, stride=np.int64(1), padding=1), expected)
        np.testing.assert_array_equal(pyconv.conv2d(x, w, stride=1, padding=1), expected)
