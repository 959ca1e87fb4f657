"""pyconv.gemm: the hand-written GEMM behind the im2col algorithm, exposed for direct use."""
import numpy as np

from pyconv import _gemm
from pyconv._args import as_float_array, check_shape, output_array
from pyconv._threads import effective_n_threads


def gemm(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False, out=None, n_threads=None):
    """alpha * op(a) @ op(b) + beta * c, with op(x) = x.T when trans_x, as in BLAS.

    a and b are 2-d float arrays; the result has a's dtype. c (optional, needed when beta != 0)
    is read, never written; out= receives the result in place."""
    a = as_float_array(a, "a", ndim=2)
    b = as_float_array(b, "b", a.dtype, ndim=2)
    m, ka = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if ka != kb:
        raise ValueError(f"b: inner dimensions must agree: op(a) is {m}x{ka}, op(b) is {kb}x{n}")
    alpha, beta = float(alpha), float(beta)
    if c is None and beta != 0.0:
        raise ValueError(f"c: beta={beta} needs c, got None")
    n_threads = effective_n_threads(n_threads)
    result = output_array(out, (m, n), a.dtype)
    if beta != 0.0:
        c = as_float_array(c, "c", a.dtype, ndim=2)
        check_shape(c, (m, n), "c")
        if result is not c:
            np.copyto(result, c)
    _gemm.gemm(bool(trans_a), bool(trans_b), alpha, a, b, beta, result, n_threads)
    return result
