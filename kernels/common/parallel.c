/* The parallel-task runner (parallel.h) and the only calls into the OpenMP runtime API. */
#include "common/parallel.h"

#include "common/ftz.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#define strcasecmp _stricmp
#else
#include <sched.h>
#include <strings.h>
#endif

/* Set once, before any kernel runs (the library's constructor; compilers without one keep the
 * zeros), read-only afterwards: whether idle OpenMP workers sleep rather than spin, from the
 * environment the OpenMP runtime read when it loaded, and the processors the process may run
 * on. */
static int workers_sleep = 0;
static int n_procs = 0;

#if defined(__GNUC__)
__attribute__((constructor))
#endif
static void read_environment(void)
{
    const char *policy = getenv("OMP_WAIT_POLICY");
    workers_sleep = policy != NULL && strcasecmp(policy, "passive") == 0;
#ifdef _OPENMP
    n_procs = omp_get_num_procs();
#endif
}

double pyconv_min_work_per_region(void)
{
    return workers_sleep ? PYCONV_MIN_WORK_PER_WAKE : PYCONV_MIN_WORK_PER_THREAD;
}

/* A team's counters, each only growing while the team runs, and how its threads wait. */
struct pyconv_team {
    int64_t arrived;   /* arrivals at barriers, all threads' together */
    int64_t finished;  /* threads done with the body */
    int awake;         /* wait awake (wait_for), or at OpenMP's barriers */
};

/* Spins of a waiting thread before it starts giving its core away on each try: about 20-40 us,
 * longer than a team's threads usually wait for one another. */
#define PYCONV_SPINS_BEFORE_YIELD 1000

static void cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#elif defined(_MSC_VER)
    YieldProcessor();
#endif
}

static void give_way(void)
{
#if defined(_WIN32)
    SwitchToThread();
#else
    sched_yield();
#endif
}

static int64_t read_counter(const int64_t *counter)
{
    int64_t v;
    #pragma omp atomic read
    v = *counter;
    return v;
}

static void count_one(int64_t *counter)
{
    #pragma omp flush
    #pragma omp atomic
    *counter += 1;
}

/* Waits, awake, until *counter reaches target: the threads waited for are running (a team's
 * threads have all started), so the wait is short, and a thread put to sleep in the kernel
 * would take 20-45 us to run again (OMP_WAIT_POLICY=passive; docs/performance.md, "Issue 10,
 * eighth session"). After PYCONV_SPINS_BEFORE_YIELD spins it yields its core on every try, so
 * that where threads outnumber cores (several callers' teams) the one waited for gets to run. */
static void wait_for(const int64_t *counter, int64_t target)
{
    for (int spins = 0; read_counter(counter) < target; spins++) {
        if (spins < PYCONV_SPINS_BEFORE_YIELD)
            cpu_relax();
        else
            give_way();
    }
    #pragma omp flush
}

/* What each thread of a team runs: its scratch (everyone knowing whether everyone has some
 * before anyone starts), then the body, under flush-to-zero. */
static void team_member(pyconv_thread *th, pyconv_team_fn body, const void *ctx,
                        pyconv_scratch scratch, int *status, int *no_scratch)
{
    int skip = 0;
    if (scratch.bytes > 0) {
        th->scratch = pyconv_arena_get(scratch.slot, scratch.bytes);
        if (th->scratch == NULL) {
            #pragma omp atomic write
            *no_scratch = 1;
        }
        pyconv_team_barrier(th);
        #pragma omp atomic read
        skip = *no_scratch;
    }
    if (skip) return;
    pyconv_fpmode fpmode = pyconv_ftz_enter();
    int st = body(ctx, th);
    pyconv_ftz_exit(fpmode);
    if (st != PYCONV_OK) {
        #pragma omp atomic write
        *status = st;
    }
}

pyconv_status pyconv_run_team(int n_threads, pyconv_team_fn body, const void *ctx,
                              pyconv_scratch scratch)
{
    int status = PYCONV_OK, no_scratch = 0;
    /* a team larger than the processors waits at OpenMP's barriers, which let a waiting
     * thread's processor go to the thread it waits for */
    pyconv_team team = {0, 0, n_threads <= n_procs};
    if (n_threads < 1) return PYCONV_ERR_ARG;
    if (n_threads == 1) {
        /* no region: even an inactive one costs libgomp a team's allocation and a futex call,
         * as long as a small layer's whole kernel */
        int64_t passed = 0;
        pyconv_thread th = {0, 1, NULL, &team, &passed};
        team_member(&th, body, ctx, scratch, &status, &no_scratch);
        return no_scratch ? PYCONV_ERR_NOMEM : (pyconv_status)status;
    }
    #pragma omp parallel num_threads(n_threads)
    {
        int64_t passed = 0;
        pyconv_thread th = {0, 1, NULL, &team, &passed};
#ifdef _OPENMP
        th.tid = omp_get_thread_num();
        th.n_threads = omp_get_num_threads();
#endif
        team_member(&th, body, ctx, scratch, &status, &no_scratch);
        /* The first thread, usually the first done (the others start later), waits for the
         * rest awake: at the region's end OpenMP would put it to sleep. */
        if (th.n_threads > 1 && team.awake) {
            count_one(&team.finished);
            if (th.tid == 0) wait_for(&team.finished, th.n_threads);
        }
    }
    return no_scratch ? PYCONV_ERR_NOMEM : (pyconv_status)status;
}

typedef struct {
    pyconv_range_fn task;
    const void *ctx;
    int64_t n_items, part;
    pyconv_scratch scratch;
    int64_t *next;  /* the first item no thread has taken */
} range_team;

/* A range needs no agreement on scratch before it starts (its tasks meet at no barrier): a
 * thread without its scratch takes no items, and the others take them all. */
static pyconv_status range_team_body(const void *ctx, const pyconv_thread *th)
{
    const range_team *r = (const range_team *)ctx;
    pyconv_thread me = *th;
    if (r->scratch.bytes > 0) {
        me.scratch = pyconv_arena_get(r->scratch.slot, r->scratch.bytes);
        if (me.scratch == NULL) return PYCONV_OK;
    }
    for (;;) {
        int64_t lo;
        #pragma omp atomic capture
        {
            lo = *r->next;
            *r->next += r->part;
        }
        if (lo >= r->n_items) return PYCONV_OK;
        const pyconv_status st = r->task(r->ctx, lo, PYCONV_MIN(lo + r->part, r->n_items), &me);
        if (st != PYCONV_OK) return st;
    }
}

static pyconv_status run_range(int n_threads, int64_t n_items, pyconv_range_fn task,
                               const void *ctx, pyconv_scratch scratch)
{
    int64_t next = 0;
    const range_team r = {task, ctx, n_items, pyconv_range_part(n_items, n_threads), scratch, &next};
    const pyconv_status st = pyconv_run_team(n_threads, range_team_body, &r, PYCONV_NO_SCRATCH);
    /* items left: no thread had its scratch */
    return st == PYCONV_OK && next < n_items ? PYCONV_ERR_NOMEM : st;
}

pyconv_status pyconv_parallel_for(int64_t n_items, double work, int n_threads,
                                  pyconv_range_fn task, const void *ctx, pyconv_scratch scratch)
{
    if (n_items <= 0) return PYCONV_OK;
    return run_range(pyconv_threads_for(work, n_items, n_threads), n_items, task, ctx, scratch);
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

pyconv_status pyconv_parallel_chunks(int64_t n, int64_t max_chunk, int n_threads,
                                     pyconv_chunk_fn step, const void *ctx)
{
    const int64_t most = n >= n_threads ? PYCONV_MIN(max_chunk, n / n_threads) : max_chunk;
    const int64_t chunk = PYCONV_MAX(1, most);
    const chunked_loop c = {step, ctx, n, chunk};
    const int64_t n_chunks = (n + chunk - 1) / chunk, split = n_chunks - n_chunks % n_threads;
    pyconv_status st = PYCONV_OK;
    if (split > 0) st = run_range(n_threads, split, whole_chunks, &c, PYCONV_NO_SCRATCH);
    for (int64_t t = split; t < n_chunks && st == PYCONV_OK; t++)
        st = step(ctx, t * chunk, PYCONV_MIN(chunk, n - t * chunk), n_threads);
    return st;
}

void pyconv_team_barrier(const pyconv_thread *th)
{
    if (th->n_threads < 2) return;
    if (!th->team->awake) {
        #pragma omp barrier
        return;
    }
    count_one(&th->team->arrived);
    *th->passed += 1;
    wait_for(&th->team->arrived, *th->passed * th->n_threads);
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
