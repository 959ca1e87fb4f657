"""How every implementation runs every benchmarked op: the inputs, the call that is timed, and the
check of pyconv's result against the NumPy reference.

Implementations: pyconv (per algorithm for convolutions: "pyconv-direct", "pyconv-im2col",
"pyconv-winograd" (on the layers it takes, forward and input gradient), "pyconv-auto"; plain "pyconv" for pooling and GEMM), "reference" (pyconv.reference), "torch"
(PyTorch CPU, only when it imports) and "numpy" (numpy.matmul, for GEMM)."""
import importlib
import math

import numpy as np

from bench import workers_sleep
from bench.cases import CONV_OPS, GEMM_OPS, POOL_OPS, Case, PoolLayer, with_batch

PYCONV_ALGORITHMS = ("direct", "im2col", "winograd", "auto")
IMPLEMENTATIONS = tuple(f"pyconv-{a}" for a in PYCONV_ALGORITHMS) + ("pyconv", "reference", "torch", "numpy")
# Batch the check against the reference runs at: the reference is plain NumPy and can be slow.
CHECK_BATCH = 2
# Allowed error, in units of eps(dtype) * sqrt(K) * sum(|terms|), K the reduction length.
CHECK_TOLERANCE = 4.0


def optional_module(name):
    """The module, or None when it (or something it needs) does not import."""
    try:
        return importlib.import_module(name)
    except (ImportError, OSError):  # OSError: a broken install's shared libraries
        return None


def implementations(case, torch_available, with_reference=True):
    """The implementation names that run `case`, pyconv's first."""
    names = ([f"pyconv-{a}" for a in PYCONV_ALGORITHMS if a != "winograd" or takes_winograd(case)]
             if case.op in CONV_OPS else ["pyconv"])
    if case.op in GEMM_OPS:
        names.append("numpy")
    elif with_reference:
        names.append("reference")
    if torch_available:
        names.append("torch")
    return names


def takes_winograd(case):
    """True for the benchmarked layers algorithm="winograd" runs: 3x3, stride 1, dilation 1,
    ungrouped; forward and input gradient (its weight gradient is im2col's)."""
    layer = case.layer
    return (case.op != "conv2d_weight" and tuple(layer.kernel) == (3, 3) and layer.stride == 1
            and layer.dilation == 1 and layer.groups == 1)


def is_pyconv(impl):
    return impl.startswith("pyconv")


def max_pool_indices(layer, x, reference=None, torch=None):
    """The forward's indices for max-pool backward: from the reference when given, else PyTorch
    when given, else pyconv."""
    args = (layer.kernel, layer.stride, layer.padding)
    if reference is None and torch is not None:
        return torch.nn.functional.max_pool2d(torch.from_numpy(x), *args, return_indices=True)[1].numpy()
    pool = reference if reference is not None else importlib.import_module("pyconv")
    return pool.max_pool2d(x, *args, return_indices=True)[1]


def make_inputs(case, dtype, seed=0, reference=None, torch=None):
    """The op's input arrays (standard normal, C-contiguous, `dtype`), keyed by argument name.

    Pool backward ops also get the forward's input, which PyTorch's backward takes, and max-pool
    backward the forward's indices (see max_pool_indices)."""
    rng = np.random.default_rng(seed)
    layer, op = case.layer, case.op

    def normal(shape):
        return rng.standard_normal(shape, dtype=dtype)

    if op in GEMM_OPS:
        return {"a": normal((layer.m, layer.k)), "b": normal((layer.k, layer.n))}
    if op in POOL_OPS:
        arrays = {"input": normal(layer.input_shape)}
        if op == "max_pool2d_backward":
            arrays["indices"] = max_pool_indices(layer, arrays["input"], reference, torch)
        if op.endswith("_backward"):
            arrays["grad_output"] = normal(layer.output_shape)
        return arrays
    arrays = {}
    if op in ("conv2d", "conv2d_weight"):
        arrays["input"] = normal(layer.input_shape)
    if op in ("conv2d", "conv2d_input"):
        arrays["weight"] = normal(layer.weight_shape)
    if op == "conv2d" and layer.bias:
        arrays["bias"] = normal((layer.out_channels,))
    if op != "conv2d":
        arrays["grad_output"] = normal(layer.output_shape)
    return arrays


def numpy_call(module, case, arrays, **options):
    """A no-argument call of `case`'s op from `module` (pyconv or pyconv.reference: same names and
    argument order) on `arrays`; `options` are keyword arguments (algorithm=, n_threads=)."""
    layer, op, a = case.layer, case.op, arrays
    if op in GEMM_OPS:
        return lambda: module.gemm(a["a"], a["b"], **options)
    pool = (layer.kernel, layer.stride, layer.padding)
    if op in ("max_pool2d", "max_pool2d_no_indices"):
        return lambda: module.max_pool2d(a["input"], *pool, return_indices=op == "max_pool2d", **options)
    if op == "max_pool2d_backward":
        return lambda: module.max_pool2d_backward(a["grad_output"], a["indices"], layer.input_shape, **options)
    if op == "avg_pool2d":
        return lambda: module.avg_pool2d(a["input"], *pool, **options)
    if op == "avg_pool2d_backward":
        return lambda: module.avg_pool2d_backward(a["grad_output"], layer.input_shape, *pool, **options)
    conv = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation, groups=layer.groups)
    if op == "conv2d":
        return lambda: module.conv2d(a["input"], a["weight"], a.get("bias"), **conv, **options)
    if op == "conv2d_input":
        return lambda: module.conv2d_input(layer.input_shape, a["weight"], a["grad_output"], **conv, **options)
    return lambda: module.conv2d_weight(a["input"], layer.weight_shape, a["grad_output"], **conv, **options)


def torch_call(torch, case, arrays):
    """A no-argument PyTorch call of `case`'s op on tensors sharing `arrays`' memory."""
    layer, op = case.layer, case.op
    t = {name: torch.from_numpy(array) for name, array in arrays.items()}
    functional = torch.nn.functional
    if op in GEMM_OPS:
        return lambda: torch.mm(t["a"], t["b"])
    k, s, p = [layer.kernel] * 2, [layer.stride] * 2, [layer.padding] * 2
    if op in ("max_pool2d", "max_pool2d_no_indices"):
        return lambda: functional.max_pool2d(t["input"], k, s, p, return_indices=op == "max_pool2d")
    if op == "max_pool2d_backward":
        return lambda: torch.ops.aten.max_pool2d_with_indices_backward(
            t["grad_output"], t["input"], k, s, p, [1, 1], False, t["indices"])
    if op == "avg_pool2d":
        return lambda: functional.avg_pool2d(t["input"], k, s, p)
    if op == "avg_pool2d_backward":
        return lambda: torch.ops.aten.avg_pool2d_backward(t["grad_output"], t["input"], k, s, p, False, True, None)
    conv = (layer.stride, layer.padding, layer.dilation, layer.groups)
    if op == "conv2d":
        return lambda: functional.conv2d(t["input"], t["weight"], t.get("bias"), *conv)
    if op == "conv2d_input":
        return lambda: torch.nn.grad.conv2d_input(layer.input_shape, t["weight"], t["grad_output"], *conv)
    return lambda: torch.nn.grad.conv2d_weight(t["input"], layer.weight_shape, t["grad_output"], *conv)


def bind(case, impl, arrays, n_threads, *, pyconv=None, reference=None, torch=None):
    """The no-argument call that times `impl` on `case` with `arrays` at `n_threads` threads.

    PyTorch's and NumPy's thread counts are process-wide: the caller sets them."""
    if impl == "torch":
        return torch_call(torch, case, arrays)
    if impl == "numpy":
        return lambda: np.matmul(arrays["a"], arrays["b"])
    if impl == "reference":
        return numpy_call(reference, case, arrays)
    options = {"n_threads": n_threads}
    if case.op in CONV_OPS:
        options["algorithm"] = impl.split("-", 1)[1]
    return numpy_call(pyconv, case, arrays, **options)


def check_case(case):
    """`case` at the batch the reference check runs at."""
    return Case(with_batch(case.layer, min(getattr(case.layer, "batch", 1), CHECK_BATCH)), case.op)


def reduction_length(case):
    """K, the most terms summed into one output element (sets the check's tolerance)."""
    layer, op = case.layer, case.op
    if op in GEMM_OPS:
        return layer.k
    if op == "avg_pool2d":
        return layer.kernel ** 2
    if op in POOL_OPS:
        return math.ceil(layer.kernel / layer.stride) ** 2
    kh, kw = layer.kernel
    if op == "conv2d":
        return layer.in_channels // layer.groups * kh * kw + int(layer.bias)
    if op == "conv2d_input":
        return layer.out_channels // layer.groups * kh * kw
    h_out, w_out = layer.output_size
    return layer.batch * h_out * w_out


def check(case, impl, dtype, n_threads, *, pyconv, reference):
    """'ok', or a one-line description of how pyconv's `impl` differs from the reference on `case`
    (at the check batch). Raises what the pyconv call raises.

    Max-pool forward must match exactly (values, and indices when returned). Every other op is
    compared with the reference run in float64 on the same numbers: |got - exact| <=
    CHECK_TOLERANCE * eps * sqrt(K) * exact(|inputs|) elementwise, the last term being the sum of
    the absolute values of the terms."""
    small = check_case(case)
    arrays = make_inputs(small, dtype, seed=1, reference=reference)
    got = bind(small, impl, arrays, n_threads, pyconv=pyconv)()
    exact64 = {k: v.astype(np.float64) if v.dtype.kind == "f" else v for k, v in arrays.items()}
    if small.op == "max_pool2d":
        values, indices = numpy_call(reference, small, exact64)()
        return _compare_exact(got, (values.astype(dtype), indices))
    if small.op == "max_pool2d_no_indices":
        return _compare_exact((got,), (numpy_call(reference, small, exact64)().astype(dtype),))
    absolute = {k: np.abs(v) if v.dtype.kind == "f" else v for k, v in exact64.items()}
    exact, magnitude = numpy_call(reference, small, exact64)(), numpy_call(reference, small, absolute)()
    problem = _describe_type(got, exact.shape, dtype)
    if problem:
        return problem
    eps = np.finfo(dtype).eps
    allowed = CHECK_TOLERANCE * eps * math.sqrt(reduction_length(small)) * magnitude + np.finfo(dtype).tiny
    excess = np.abs(got.astype(np.float64) - exact) / allowed
    if not np.all(excess <= 1.0):
        where = np.unravel_index(np.nanargmax(np.where(np.isnan(excess), np.inf, excess)), excess.shape)
        return (f"MISMATCH at {tuple(int(i) for i in where)}: got {got[where]!r}, expected {exact[where]!r} "
                f"(allowed error {allowed[where]:.3g}); {int(np.sum(~(excess <= 1.0)))} of {excess.size} differ")
    return "ok"


def _describe_type(array, shape, dtype):
    if not isinstance(array, np.ndarray):
        return f"MISMATCH: expected a numpy array, got {type(array).__name__}"
    if array.shape != tuple(shape) or array.dtype != dtype:
        return f"MISMATCH: expected {np.dtype(dtype)}{tuple(shape)}, got {array.dtype}{array.shape}"
    return None


def _compare_exact(got, expected):
    """'ok' when the arrays of the tuple `got` equal those of `expected` (values[, indices])."""
    if not (isinstance(got, tuple) and len(got) == len(expected)):
        return f"MISMATCH: expected a tuple of {len(expected)} arrays, got {type(got).__name__}"
    for name, array, want in zip(("values", "indices"), got, expected):
        problem = _describe_type(array, want.shape, want.dtype)
        if problem:
            return f"{problem} ({name})"
        differ = array != want
        if np.any(differ):
            where = tuple(int(i) for i in np.argwhere(differ)[0])
            return (f"MISMATCH in {name} at {where}: got {array[where]!r}, expected {want[where]!r}; "
                    f"{int(differ.sum())} of {differ.size} differ")
    return "ok"


# ---- the network suite (bench/networks.py): one call runs a layer's ops in one mode -----------

NETWORK_IMPLEMENTATIONS = ("pyconv", "torch", "onnxruntime")


def network_implementations(case, torch_available, onnxruntime_available):
    """The implementations that run a network case: ONNX Runtime runs inference only."""
    names = ["pyconv"]
    if torch_available:
        names.append("torch")
    if onnxruntime_available and case.mode == "inference":
        names.append("onnxruntime")
    return names


def network_inputs(case, dtype, reference=None, torch=None):
    """The arrays every op of the case needs (one array per argument name, shared by the ops)."""
    arrays = {}
    for op in case.ops:
        for name, array in make_inputs(Case(case.layer, op), dtype, reference=reference, torch=torch).items():
            arrays.setdefault(name, array)
    return arrays


def onnx_model(layer, arrays):
    """A one-node ONNX model (bytes) of the layer's forward pass: input -> output, the weight and
    bias as initializers (as in a deployed model). Needs the onnx package."""
    from onnx import TensorProto, helper, numpy_helper
    elem = {np.dtype("float32"): TensorProto.FLOAT, np.dtype("float64"): TensorProto.DOUBLE}[arrays["input"].dtype]
    if isinstance(layer, PoolLayer):
        k, s, p = [layer.kernel] * 2, [layer.stride] * 2, [layer.padding] * 4
        if layer.kind == "max":
            node = helper.make_node("MaxPool", ["input"], ["output"], kernel_shape=k, strides=s, pads=p)
        else:
            node = helper.make_node("AveragePool", ["input"], ["output"], kernel_shape=k, strides=s, pads=p,
                                    count_include_pad=1)
        initializers = []
    else:
        names = ["weight"] + (["bias"] if layer.bias else [])
        initializers = [numpy_helper.from_array(arrays[name], name) for name in names]
        node = helper.make_node("Conv", ["input"] + names, ["output"], kernel_shape=list(layer.kernel),
                                strides=[layer.stride] * 2, pads=[layer.padding] * 4,
                                dilations=[layer.dilation] * 2, group=layer.groups)
    graph = helper.make_graph([node], layer.name, [helper.make_tensor_value_info("input", elem, layer.input_shape)],
                              [helper.make_tensor_value_info("output", elem, layer.output_shape)], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what ONNX Runtime releases since 1.10 read
    return model.SerializeToString()


def onnx_call(onnxruntime, layer, arrays, n_threads):
    """A no-argument ONNX Runtime call of the layer's forward pass at n_threads intra-op threads.
    Its own thread pool spins after a run unless told not to; with OMP_WAIT_POLICY=passive (the
    OpenMP libraries' workers sleep between calls) it is told not to, or its spinning worker
    would hold a core the next implementation's call needs (docs/performance.md)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = n_threads
    options.inter_op_num_threads = 1
    if workers_sleep():
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    session = onnxruntime.InferenceSession(onnx_model(layer, arrays), options, providers=["CPUExecutionProvider"])
    feed = {"input": arrays["input"]}
    return lambda: session.run(None, feed)


def bind_network(case, impl, arrays, n_threads, *, pyconv=None, torch=None, onnxruntime=None):
    """The no-argument call that runs every op of the network case with `impl` (pyconv with its
    algorithm="auto"); PyTorch's thread count is process-wide: the caller sets it.

    Inference runs each library as it serves a trained model: ONNX Runtime packs the model's
    constant weights when it loads it and takes its outputs from its own memory pool; pyconv's
    convolutions run with the weight packed once (a pyconv.PackedWeight, as
    pyconv.torch.convert(model, fuse=True) layers hold theirs) into one output array reused
    (out=), both set up here before the timing; PyTorch's eager conv2d packs the weight and
    allocates the output on every call. A training step does both on every call everywhere."""
    if impl == "onnxruntime":
        return onnx_call(onnxruntime, case.layer, arrays, n_threads)
    if impl == "pyconv" and case.mode == "inference" and case.ops == ("conv2d",):
        conv = Case(case.layer, "conv2d")
        packed = dict(arrays, weight=pyconv.PackedWeight(arrays["weight"], groups=case.layer.groups))
        out = numpy_call(pyconv, conv, packed, n_threads=n_threads)()
        return numpy_call(pyconv, conv, packed, n_threads=n_threads, out=out)
    per_op = "pyconv-auto" if impl == "pyconv" and case.ops[0] in CONV_OPS else impl
    calls = [bind(Case(case.layer, op), per_op, arrays, n_threads, pyconv=pyconv, torch=torch) for op in case.ops]
    if len(calls) == 1:
        return calls[0]
    return lambda: [call() for call in calls]
