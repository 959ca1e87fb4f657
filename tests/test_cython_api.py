"""The public Cython API: a tiny extension cimports pyconv.cython_kernels, is built in a temp
directory (needs a C compiler) and must reproduce pyconv's Python results."""
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import numpy as np
import pytest

import pyconv
from pyconv import reference

CONSUMER = textwrap.dedent("""
    # A third-party extension: cimports pyconv's public .pxd and includes its header
    # (pyconv.get_include()); it links no pyconv library.
    from libc.stdint cimport int64_t
    from pyconv cimport cython_kernels as ck
    import numpy as np

    def conv2d(ck.floating[:, :, :, ::1] x, ck.floating[:, :, :, ::1] w, ck.floating[::1] b,
               int stride, int pad, bint direct):
        cdef ck.conv_shape s
        s.n, s.c_in, s.h_in, s.w_in = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
        s.c_out, s.kh, s.kw, s.groups = w.shape[0], w.shape[2], w.shape[3], x.shape[1] // w.shape[1]
        s.stride_h = s.stride_w = stride
        s.pad_top = s.pad_left = pad
        s.dil_h = s.dil_w = 1
        s.h_out = (s.h_in + 2 * pad - s.kh) // stride + 1
        s.w_out = (s.w_in + 2 * pad - s.kw) // stride + 1
        y = np.empty((s.n, s.c_out, s.h_out, s.w_out), dtype=np.asarray(x).dtype)
        cdef ck.floating[:, :, :, ::1] out = y
        cdef int status
        with nogil:
            if direct:
                status = ck.conv2d_direct(&s, &x[0, 0, 0, 0], &w[0, 0, 0, 0], &b[0], &out[0, 0, 0, 0], 2)
            else:
                status = ck.conv2d_im2col(&s, &x[0, 0, 0, 0], &w[0, 0, 0, 0], &b[0], &out[0, 0, 0, 0], 2)
        return status, y

    def conv2d_weight(ck.floating[:, :, :, ::1] x, ck.floating[:, :, :, ::1] gy, int kh, int kw, int pad):
        cdef ck.conv_shape s
        s.n, s.c_in, s.h_in, s.w_in = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
        s.c_out, s.kh, s.kw, s.groups = gy.shape[1], kh, kw, 1
        s.h_out, s.w_out = gy.shape[2], gy.shape[3]
        s.stride_h = s.stride_w = s.dil_h = s.dil_w = 1
        s.pad_top = s.pad_left = pad
        gw = np.empty((s.c_out, s.c_in, kh, kw), dtype=np.asarray(x).dtype)
        cdef ck.floating[:, :, :, ::1] out = gw
        with nogil:
            status = ck.conv2d_weight_im2col(&s, &x[0, 0, 0, 0], &gy[0, 0, 0, 0], &out[0, 0, 0, 0], 1)
        return status, gw

    def max_pool2d(ck.floating[:, :, :, ::1] x, int k):
        cdef ck.pool_shape s
        s.n_planes, s.h_in, s.w_in = x.shape[0] * x.shape[1], x.shape[2], x.shape[3]
        s.kh = s.kw = s.stride_h = s.stride_w = k
        s.pad_h = s.pad_w = 0
        s.dil_h = s.dil_w = 1
        s.h_out, s.w_out = s.h_in // k, s.w_in // k
        y = np.empty((x.shape[0], x.shape[1], s.h_out, s.w_out), dtype=np.asarray(x).dtype)
        indices = np.empty(y.shape, dtype=np.int64)
        cdef ck.floating[:, :, :, ::1] out = y
        cdef int64_t[:, :, :, ::1] idx = indices
        with nogil:
            status = ck.maxpool2d(&s, &x[0, 0, 0, 0], &out[0, 0, 0, 0], &idx[0, 0, 0, 0], 1)
        return status, y, indices

    def gemm(ck.floating[:, ::1] a, ck.floating[:, ::1] b):
        c = np.empty((a.shape[0], b.shape[1]), dtype=np.asarray(a).dtype)
        cdef ck.floating[:, ::1] out = c
        with nogil:
            status = ck.gemm(False, False, a.shape[0], b.shape[1], a.shape[1], 1, &a[0, 0], a.shape[1],
                             &b[0, 0], b.shape[1], 0, &out[0, 0], out.shape[1], 2)
        return status, c

    def bad_geometry():
        # statuses for inconsistent geometries (the kernels must not run: x is one double)
        cdef ck.conv_shape s
        cdef ck.pool_shape p
        cdef double x = 0
        cdef int status, n_threads
        statuses = []
        for case in range(4):
            s.n = s.c_in = s.h_in = s.w_in = s.c_out = s.kh = s.kw = s.h_out = s.w_out = 1
            s.stride_h = s.stride_w = s.dil_h = s.dil_w = s.groups = 1
            s.pad_top = s.pad_left = 0
            n_threads = 1
            if case == 0:
                s.groups = 2  # does not divide the channels
            elif case == 1:
                s.c_in = s.kh = s.kw = 1 << 22  # a patch matrix past int64 indexing
            elif case == 2:
                n_threads = 0
            else:
                s.stride_h = 0
            with nogil:
                status = ck.conv2d_im2col(&s, &x, &x, NULL, &x, n_threads)
            statuses.append(status)
        p.n_planes = p.h_in = p.w_in = p.h_out = p.w_out = p.stride_h = p.stride_w = p.dil_h = p.dil_w = 1
        p.kh = p.kw = 2
        p.pad_h, p.pad_w = 2, 0  # more than half the kernel
        statuses.append(ck.maxpool2d(&p, &x, &x, NULL, 1))
        return statuses, ck.PYCONV_STATUS_ARG
    """)

SETUP = textwrap.dedent("""
    import sys
    from Cython.Build import cythonize
    from setuptools import Extension, setup
    # -O0: the test checks linkage and results, not speed; it halves the compile time
    include_dir = sys.argv.pop()
    setup(ext_modules=cythonize([Extension("pyconv_consumer", ["pyconv_consumer.pyx"], extra_compile_args=["-O0"],
                                           include_dirs=[include_dir])],
                                include_path=[sys.argv.pop()], language_level=3, quiet=True),
          script_args=["build_ext", "--inplace", "-q"])
    """)


def _compiler_available():
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) is not None


@pytest.fixture(scope="module")
def consumer(tmp_path_factory):
    if not _compiler_available():
        pytest.skip("no C compiler to build the consumer extension")
    pytest.importorskip("Cython")  # neither is a dependency of an installed pyconv
    pytest.importorskip("setuptools")
    tmp = tmp_path_factory.mktemp("cython_api")
    (tmp / "pyconv_consumer.pyx").write_text(CONSUMER)
    (tmp / "setup.py").write_text(SETUP)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(pyconv.__file__)))
    result = subprocess.run([sys.executable, "setup.py", package_parent, pyconv.get_include()], cwd=tmp, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(tmp))
    try:
        import pyconv_consumer
    finally:
        sys.path.remove(str(tmp))
    return pyconv_consumer


def test_the_pxd_ships_with_the_package():
    here = os.path.dirname(os.path.abspath(pyconv.__file__))
    assert os.path.exists(os.path.join(here, "cython_kernels.pxd"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("direct", [True, False])
def test_conv2d(consumer, dtype, direct):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9, 8)).astype(dtype)
    w = rng.standard_normal((6, 2, 3, 2)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    status, y = consumer.conv2d(x, w, b, 2, 1, direct)
    assert status == 0
    np.testing.assert_allclose(y, reference.conv2d(x, w, b, 2, 1, groups=2), rtol=0,
                               atol=100 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_weight(consumer, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7, 6)).astype(dtype)
    gy = rng.standard_normal((2, 5, 7, 6)).astype(dtype)
    status, gw = consumer.conv2d_weight(x, gy, 3, 3, 1)
    assert status == 0
    np.testing.assert_allclose(gw, reference.conv2d_weight(x, (5, 3, 3, 3), gy, padding=1), rtol=0,
                               atol=1000 * np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool2d(consumer, dtype):
    x = np.random.default_rng(2).standard_normal((2, 3, 8, 6)).astype(dtype)
    status, y, indices = consumer.max_pool2d(x, 2)
    assert status == 0
    expected_y, expected_indices = reference.max_pool2d(x, 2, return_indices=True)
    np.testing.assert_array_equal(y, expected_y)
    np.testing.assert_array_equal(indices, expected_indices)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm(consumer, dtype):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((13, 7)).astype(dtype), rng.standard_normal((7, 9)).astype(dtype)
    status, c = consumer.gemm(a, b)
    assert status == 0
    np.testing.assert_allclose(c, reference.gemm(a, b), rtol=0, atol=100 * np.finfo(dtype).eps)


def test_bad_geometry_is_a_status_not_a_crash(consumer):
    statuses, expected = consumer.bad_geometry()
    assert expected == 3
    assert statuses == [expected] * 5
