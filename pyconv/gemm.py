"""pyconv.gemm: the hand-written GEMM behind the im2col algorithm, exposed for direct use."""
import numpy as np

from pyconv import _gemm
from pyconv._args import as_float_array, as_float_matrix, as_real, check_shape, output_array
from pyconv._threads import effective_n_threads


def gemm(a, b, c=None, *, alpha=1.0, beta=0.0, trans_a=False, trans_b=False, out=None, n_threads=None):
    """alpha * op(a) @ op(b) + beta * c, with op(x) = x.T when trans_x, as in BLAS.

    a and b are 2-d float arrays; the result has a's dtype (b and c are converted to it).
    C- or F-ordered inputs and transposed or row-sliced views are read in place, without a
    copy. c (needed when beta != 0; not read when beta == 0, so it may hold NaN) is never
    written unless it is also `out`; out= receives the result in place. As in BLAS, alpha == 0
    or k == 0 gives beta * c without reading a or b. The kernels run with denormals flushed
    to zero."""
    a, a_transposed = as_float_matrix(a, "a")
    b, b_transposed = as_float_matrix(b, "b", a.dtype)
    trans_a, trans_b = bool(trans_a) != a_transposed, bool(trans_b) != b_transposed
    m, ka = (a.shape[1], a.shape[0]) if trans_a else a.shape
    kb, n = (b.shape[1], b.shape[0]) if trans_b else b.shape
    if ka != kb:
        raise ValueError(f"b: inner dimensions must agree: op(a) is {m}x{ka}, op(b) is {kb}x{n}")
    alpha, beta = as_real(alpha, "alpha"), as_real(beta, "beta")
    if c is None and beta != 0.0:
        raise ValueError(f"c: beta={beta} needs c, got None")
    n_threads = effective_n_threads(n_threads)
    result = output_array(out, (m, n), a.dtype)
    # The kernel writes the result while it reads a and b: never let them overlap.
    if out is not None:
        if np.may_share_memory(result, a):
            a = a.copy()
        if np.may_share_memory(result, b):
            b = b.copy()
    if beta != 0.0:
        c = as_float_array(c, "c", a.dtype, ndim=2)
        check_shape(c, (m, n), "c")
        if result is not c:
            np.copyto(result, c)
    _gemm.gemm(trans_a, trans_b, alpha, a, b, beta, result, n_threads)
    return result
