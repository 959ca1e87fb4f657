"""Argument normalization and validation shared by every op.

Each public op validates in one place (its function in conv.py / pool.py / gemm.py) using
these helpers; kernels receive native-endian, C-contiguous float32/float64 arrays, plain ints
and explicit paddings. Messages name the argument, the expected and the actual value."""
import operator

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# Largest element count we let a kernel index: int64 offsets with headroom for products.
MAX_ELEMENTS = 2 ** 62


def as_int(value, name, *, minimum=None):
    """An int (not bool) >= minimum."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected an int, got bool {value!r}")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an int, got {type(value).__name__} {value!r}") from None
    if minimum is not None and value < minimum:
        what = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name}: expected {what}, got {value}")
    return value


def as_pair(value, name, *, minimum=None):
    """An int or a pair of ints -> (int, int)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name}: expected an int or a pair of ints, got {len(value)} values {tuple(value)!r}")
        return (as_int(value[0], f"{name}[0]", minimum=minimum),
                as_int(value[1], f"{name}[1]", minimum=minimum))
    v = as_int(value, name, minimum=minimum)
    return (v, v)


def conv_padding(padding, kernel_size, dilation, stride, name="padding"):
    """Normalize a convolution padding to explicit (top, bottom, left, right).

    Accepts an int, a pair (pad_h, pad_w), ((top, bottom), (left, right)), or one of
    "valid" (no padding), "same" (output size = input size; stride 1 only, as in PyTorch; an
    odd total goes to the bottom/right, as in PyTorch) and "full" (every partial overlap)."""
    (kh, kw), (dh, dw) = kernel_size, dilation
    span_h, span_w = dh * (kh - 1), dw * (kw - 1)
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if tuple(stride) != (1, 1):
                raise ValueError(f"{name}: 'same' requires stride 1 (as in PyTorch), got stride {tuple(stride)}")
            return (span_h // 2, span_h - span_h // 2, span_w // 2, span_w - span_w // 2)
        if padding == "full":
            return (span_h, span_h, span_w, span_w)
        raise ValueError(f"{name}: expected an int, a pair, ((top, bottom), (left, right)), "
                         f"'valid', 'same' or 'full', got {padding!r}")
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
            isinstance(p, (tuple, list)) for p in padding):
        (top, bottom), (left, right) = (as_pair(padding[0], f"{name}[0]", minimum=0),
                                        as_pair(padding[1], f"{name}[1]", minimum=0))
        return (top, bottom, left, right)
    ph, pw = as_pair(padding, name, minimum=0)
    return (ph, ph, pw, pw)


def output_size(size, kernel, stride, dilation, pad_before, pad_after, ceil_mode=False):
    """PyTorch's output-size rule along one axis (may be <= 0; callers reject that).

    With ceil_mode, the last window must start inside the input or the left padding."""
    span = dilation * (kernel - 1) + 1
    padded = size + pad_before + pad_after
    if ceil_mode:
        out = -(-(padded - span) // stride) + 1
        if (out - 1) * stride >= size + pad_before:
            out -= 1
        return out
    return (padded - span) // stride + 1


def as_float_array(value, name, dtype=None, *, ndim=None):
    """A native-endian, C-contiguous array of `dtype` (the value's own float dtype when None).

    Copies only when needed; the caller's array is never written to."""
    if (type(value) is np.ndarray and value.ndim == ndim and value.flags.c_contiguous
            and (value.dtype == np.float32 or value.dtype == np.float64)
            and (dtype is None or value.dtype == dtype)):
        return value  # already what the conversion below returns (a network's every call)
    try:
        arr = np.asarray(value)
    except Exception as exc:  # objects numpy cannot convert, ragged lists, ...
        raise TypeError(f"{name}: expected an array-like of floats, got {type(value).__name__}: {exc}") from None
    if arr.dtype.newbyteorder("=") not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected a float32 or float64 array, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got {arr.ndim}-d with shape {arr.shape}")
    target = arr.dtype.newbyteorder("=") if dtype is None else np.dtype(dtype)
    return np.ascontiguousarray(arr, dtype=target)


def aligned_empty(size, dtype, alignment=64):
    """An uninitialized 1-d array of `size` elements whose data starts on an `alignment`-byte
    boundary (the kernels' PYCONV_ALIGN, which their packed buffers need)."""
    dtype = np.dtype(dtype)
    buffer = np.empty(size + alignment // dtype.itemsize, dtype)
    start = (-buffer.ctypes.data % alignment) // dtype.itemsize
    return buffer[start:start + size]


def as_float_matrix(value, name, dtype=None):
    """(matrix, transposed): a 2-d float array of `dtype` whose columns have unit stride, and
    whether it is value's transpose. Arrays whose rows or columns are contiguous (C or F
    order, transposed views, row-padded slices) come back as views; others are copied."""
    target = None if dtype is None else np.dtype(dtype)
    if (isinstance(value, np.ndarray) and value.ndim == 2 and value.size > 0 and value.flags.aligned
            and value.dtype in FLOAT_DTYPES and (target is None or value.dtype == target)):
        item = value.itemsize
        for matrix, transposed in ((value, False), (value.T, True)):
            rows, cols = matrix.shape
            if ((cols == 1 or matrix.strides[1] == item)
                    and (rows == 1 or matrix.strides[0] >= cols * item)):
                return matrix, transposed
    return as_float_array(value, name, dtype, ndim=2), False


def as_real(value, name):
    """A Python float from a real number (not bool, str or complex)."""
    if type(value) is float:
        return value
    if isinstance(value, (bool, np.bool_, str, bytes)) or not isinstance(value, (int, float, np.number)) \
            or isinstance(value, (complex, np.complexfloating)):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__} {value!r}")
    return float(value)


def check_shape(arr, expected, name):
    if tuple(arr.shape) != tuple(expected):
        raise ValueError(f"{name}: expected shape {tuple(expected)}, got {tuple(arr.shape)}")


def check_size(shape, name):
    """MemoryError when an array of `shape` could not be indexed or allocated."""
    count = 1
    for d in shape:
        count *= int(d)
    if count > MAX_ELEMENTS:
        raise MemoryError(f"{name}: {tuple(shape)} has {count} elements, more than pyconv can index")
    return count


def output_array(out, shape, dtype, name="out"):
    """A fresh C-contiguous result, or the caller's `out` after checking it can take the result."""
    if (type(out) is np.ndarray and out.shape == shape and out.dtype == dtype
            and out.flags.c_contiguous and out.flags.writeable):
        return out  # what every check below accepts, in one test (a network's every call)
    check_size(shape, name)
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(out).__name__}")
    check_shape(out, shape, name)
    if out.dtype.newbyteorder("=") != dtype:
        raise TypeError(f"{name}: expected dtype {dtype}, got {out.dtype}")
    if not out.dtype.isnative:
        raise ValueError(f"{name}: expected a native-endian array, got byte order {out.dtype.byteorder!r}")
    if not out.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous array, got strides {out.strides}")
    if not out.flags.writeable:
        raise ValueError(f"{name}: expected a writeable array, got a read-only one")
    return out


def check_no_overlap(out, named_arrays):
    """ValueError when out= shares memory with one of the (array, name) inputs (None skipped)."""
    for arr, name in named_arrays:
        if arr is not None and np.may_share_memory(out, arr):
            raise ValueError(f"out: must not overlap {name}")


def as_indices(value, shape, name="indices"):
    """An integer array (max-pool indices) of `shape`; TypeError / ValueError otherwise."""
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise TypeError(f"{name}: expected an integer array, got {type(value).__name__}: {exc}") from None
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name}: expected an integer array, got dtype {arr.dtype}")
    check_shape(arr, shape, name)
    return arr


def as_shape(value, name, ndim):
    """A tuple of `ndim` non-negative ints (for input_size / weight_size arguments)."""
    if type(value) is tuple and len(value) == ndim:  # an array's shape: every backward call
        for v in value:
            if type(v) is not int or v < 0:
                break
        else:
            return value
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"{name}: expected a tuple of {ndim} ints, got {type(value).__name__} {value!r}")
    if len(value) != ndim:
        raise ValueError(f"{name}: expected {ndim} sizes, got {len(value)}: {tuple(value)!r}")
    return tuple(as_int(v, f"{name}[{i}]", minimum=0) for i, v in enumerate(value))


def as_bool(value, name):
    """A bool (Python or NumPy); ints and other truthy objects are rejected, as in PyTorch."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def cache_key(*values):
    """A key under which to remember what was validated and computed from these argument
    values: the values themselves when each is an int, a str, None or a tuple of ints, not a
    subclass (True == 1 in Python, and one is an argument error where the other is not); None
    otherwise, for values to be checked at every call. Values the library made itself (an
    array's shape, a name) need no such test: callers add them to the key."""
    for value in values:  # plain loops: a generator here cost as much as the lookup
        kind = type(value)
        if kind is int or kind is str or value is None:
            continue
        if kind is not tuple:
            return None
        for v in value:
            if type(v) is not int:
                return None
    return values


class Remembered:
    """A bounded memo of validated results by cache_key: a network calls the same layers over
    and over, and checking and planning their arguments costs more than a small layer's
    kernel. Errors are never remembered; past `size` entries nothing new is."""

    def __init__(self, size=4096):
        self.size, self.entries = size, {}

    def get(self, key, compute, *args):
        """compute(*args), remembered under key (None: not remembered). The arguments, not a
        closure over them: a closure's cells cost a network's every call as much as the lookup."""
        found = None if key is None else self.entries.get(key)
        if found is None:
            found = compute(*args)
            if key is not None and len(self.entries) < self.size:
                self.entries[key] = found
        return found
