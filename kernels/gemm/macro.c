/* The BLIS-style GEMM: the five loops around the micro-kernel, threading, and the public
 * strided-matrix entry points pyconv_gemm_f32 / _f64. */
#include "gemm/gemm_internal.h"

int pyconv_gemm_thread_count(int64_t m, int64_t n, int64_t k, int64_t n_tiles, int n_threads)
{
    return pyconv_threads_for((double)m * (double)n * (double)k, n_tiles, n_threads);
}

/* Split nt threads into t_ic row groups x t_jr column groups of the mp x np micro-tiles: the
 * split with the fewest tiles on the busiest thread; on a tie, more row groups (they share
 * the packed B block, while column groups each pack the same rows of A). */
static void choose_thread_grid(int64_t mp, int64_t np, int nt, int *t_ic, int *t_jr)
{
    int64_t best = INT64_MAX;
    for (int d = nt; d >= 1; d--) {
        if (nt % d != 0) continue;
        int64_t busiest = ((mp + d - 1) / d) * ((np + nt / d - 1) / (nt / d));
        if (busiest < best) {
            best = busiest;
            *t_ic = d;
            *t_jr = nt / d;
        }
    }
}

#define PYCONV_TEMPLATE "gemm/macro_t.h"
#include "common/pyconv_instantiate.h"
