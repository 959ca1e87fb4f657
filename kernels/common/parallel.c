/* The parallel-task runner (parallel.h) and the only calls into the OpenMP runtime API. */
#include "common/parallel.h"

#include "common/ftz.h"

#include <stdlib.h>
#include <strings.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Whether idle OpenMP workers sleep rather than spin: set once, before any kernel runs, from the
 * environment the OpenMP runtime read when it loaded; read-only afterwards. */
static int workers_sleep = 0;

#if defined(__GNUC__)
__attribute__((constructor))
#endif
static void read_wait_policy(void)
{
    const char *policy = getenv("OMP_WAIT_POLICY");
    workers_sleep = policy != NULL && strcasecmp(policy, "passive") == 0;
}

double pyconv_min_work_per_region(void)
{
    return workers_sleep ? PYCONV_MIN_WORK_PER_WAKE : PYCONV_MIN_WORK_PER_THREAD;
}

double pyconv_min_work_per_barrier(void)
{
    return workers_sleep ? PYCONV_MIN_WORK_PER_WAKE : PYCONV_MIN_WORK_PER_BARRIER;
}

pyconv_status pyconv_run_team(int n_threads, pyconv_team_fn body, const void *ctx,
                              pyconv_scratch scratch)
{
    int status = PYCONV_OK, no_scratch = 0;
    if (n_threads < 1) return PYCONV_ERR_ARG;
    #pragma omp parallel num_threads(n_threads) if(n_threads > 1)
    {
        pyconv_thread th = {0, 1, NULL};
#ifdef _OPENMP
        th.tid = omp_get_thread_num();
        th.n_threads = omp_get_num_threads();
#endif
        int skip = 0;
        if (scratch.bytes > 0) {
            th.scratch = pyconv_arena_get(scratch.slot, scratch.bytes);
            if (th.scratch == NULL) {
                #pragma omp atomic write
                no_scratch = 1;
            }
            /* everyone knows whether everyone has scratch before anyone starts */
            #pragma omp barrier
            #pragma omp atomic read
            skip = no_scratch;
        }
        if (!skip) {
            pyconv_fpmode fpmode = pyconv_ftz_enter();
            int st = body(ctx, &th);
            pyconv_ftz_exit(fpmode);
            if (st != PYCONV_OK) {
                #pragma omp atomic write
                status = st;
            }
        }
    }
    return no_scratch ? PYCONV_ERR_NOMEM : (pyconv_status)status;
}

typedef struct {
    pyconv_range_fn task;
    const void *ctx;
    int64_t n_items;
} range_team;

static pyconv_status range_team_body(const void *ctx, const pyconv_thread *th)
{
    const range_team *r = (const range_team *)ctx;
    int64_t lo, hi;
    pyconv_team_share(th, r->n_items, &lo, &hi);
    return hi > lo ? r->task(r->ctx, lo, hi, th) : PYCONV_OK;
}

pyconv_status pyconv_parallel_for(int64_t n_items, double work, int n_threads,
                                  pyconv_range_fn task, const void *ctx, pyconv_scratch scratch)
{
    if (n_items <= 0) return PYCONV_OK;
    const range_team r = {task, ctx, n_items};
    return pyconv_run_team(pyconv_threads_for(work, n_items, n_threads), range_team_body, &r,
                           scratch);
}

typedef struct {
    pyconv_chunk_fn step;
    const void *ctx;
    int64_t n, chunk;
} chunked_loop;

static pyconv_status whole_chunks(const void *ctx, int64_t lo, int64_t hi, const pyconv_thread *th)
{
    const chunked_loop *c = (const chunked_loop *)ctx;
    (void)th;
    for (int64_t t = lo; t < hi; t++) {
        pyconv_status st = c->step(c->ctx, t * c->chunk, PYCONV_MIN(c->chunk, c->n - t * c->chunk), 1);
        if (st != PYCONV_OK) return st;
    }
    return PYCONV_OK;
}

pyconv_status pyconv_parallel_chunks(int64_t n, int64_t chunk, int n_threads,
                                     pyconv_chunk_fn step, const void *ctx)
{
    const chunked_loop c = {step, ctx, n, chunk};
    const int64_t n_chunks = (n + chunk - 1) / chunk, split = n_chunks - n_chunks % n_threads;
    pyconv_status st = PYCONV_OK;
    if (split > 0) {
        const range_team r = {whole_chunks, &c, split};
        st = pyconv_run_team(n_threads, range_team_body, &r, PYCONV_NO_SCRATCH);
    }
    for (int64_t t = split; t < n_chunks && st == PYCONV_OK; t++)
        st = step(ctx, t * chunk, PYCONV_MIN(chunk, n - t * chunk), n_threads);
    return st;
}

void pyconv_team_barrier(void)
{
    #pragma omp barrier
}

int pyconv_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int pyconv_openmp_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}
