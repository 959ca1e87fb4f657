/* The parallel-task runner every kernel family uses: the one place that starts OpenMP teams.
 *
 * A kernel describes its work as a team body (runs once on every thread, may meet at
 * barriers) or as a range task (parts of n independent items, taken by the threads as they
 * come); the runner decides the thread count from the work, enters flush-to-zero on every
 * thread and restores the caller's mode, hands each thread its scratch buffer from its own
 * arena, and collects the first failure. A team's scratch is taken before any thread starts
 * work, and a failure to get it stops every thread together, so a body never waits at a
 * barrier for a thread that gave up; a range's thread without scratch takes no items (the
 * call fails only when no thread had it). Threads are only started for more than one thread:
 * a kernel called from inside another kernel's task with n_threads = 1 runs inline on that
 * task's thread. */
#ifndef PYCONV_PARALLEL_H
#define PYCONV_PARALLEL_H

#include "common/arena.h"
#include "common/pyconv_common.h"

/* What a team's threads share to meet at barriers (parallel.c). */
typedef struct pyconv_team pyconv_team;

typedef struct {
    int tid;         /* this thread's rank in the team, 0 .. n_threads - 1 */
    int n_threads;   /* the team's size */
    void *scratch;   /* this thread's scratch buffer; NULL when none was asked for */
    pyconv_team *team;
    int64_t *passed; /* barriers this thread has passed (its own counter) */
} pyconv_thread;

/* Per-thread scratch: `bytes` from each thread's arena slot `slot` (no scratch when 0). */
typedef struct {
    pyconv_arena_slot slot;
    size_t bytes;
} pyconv_scratch;

#define PYCONV_NO_SCRATCH ((pyconv_scratch){PYCONV_ARENA_N_SLOTS, 0})

/* A team body. Every thread must reach the same barriers whatever its own status. */
typedef pyconv_status (*pyconv_team_fn)(const void *ctx, const pyconv_thread *th);

/* A range task: items [lo, hi) of a loop whose items are independent. */
typedef pyconv_status (*pyconv_range_fn)(const void *ctx, int64_t lo, int64_t hi,
                                         const pyconv_thread *th);

/* Fewest work units (multiply-adds; a value moved counts as PYCONV_WORK_PER_VALUE of them)
 * worth one more thread when the idle workers spin: starting a parallel region then costs a
 * few microseconds, about what one thread does in this many. */
#define PYCONV_MIN_WORK_PER_THREAD (128.0 * 1024.0)
/* The same between two barriers of a team (whose threads wait for one another awake, whatever
 * OMP_WAIT_POLICY says). */
#define PYCONV_MIN_WORK_PER_BARRIER (16.0 * PYCONV_MIN_WORK_PER_THREAD)
/* The same for a region's start when the idle workers sleep (OMP_WAIT_POLICY=passive): the
 * region then wakes its threads through the kernel, and they start 20-30 us late here, about
 * what one thread does in 2 M multiply-adds (docs/performance.md, "Threads" and "Issue 10,
 * eighth session"). */
#define PYCONV_MIN_WORK_PER_WAKE (16.0 * PYCONV_MIN_WORK_PER_THREAD)

/* Work units of one value read or written by a memory-bound loop (pooling, im2col / col2im,
 * padding, summing partial results), where the other units are the micro-kernel's multiply-adds:
 * moving a value costs about as long as this many of them (docs/performance.md, "Threads"). */
#define PYCONV_WORK_PER_VALUE 16.0

/* Fewest work units worth one more thread for a parallel region: PYCONV_MIN_WORK_PER_THREAD, or
 * PYCONV_MIN_WORK_PER_WAKE when OMP_WAIT_POLICY=passive (read once, when the library loads,
 * as the OpenMP runtime reads it). */
double pyconv_min_work_per_region(void);

/* Threads worth using for `work` units split into at most `parts` pieces, `min_work` units
 * worth each thread: at most n_threads, at least 1. */
PYCONV_INLINE int pyconv_threads_paid(double work, double min_work, int64_t parts, int n_threads)
{
    const double by_work = work / min_work;
    int nt = by_work >= n_threads ? n_threads : by_work < 1 ? 1 : (int)by_work;
    return parts < nt ? (int)PYCONV_MAX(parts, 1) : nt;
}

/* Threads worth using for a parallel region of `work` units in at most `parts` pieces. */
PYCONV_INLINE int pyconv_threads_for(double work, int64_t parts, int n_threads)
{
    return pyconv_threads_paid(work, pyconv_min_work_per_region(), parts, n_threads);
}

/* The same for a team that meets at barriers, `work` units between two of them. */
PYCONV_INLINE int pyconv_team_threads_for(double work, int64_t parts, int n_threads)
{
    return pyconv_threads_paid(work, PYCONV_MIN_WORK_PER_BARRIER, parts, n_threads);
}

/* Runs body on a team of n_threads threads (exactly: the caller sized it). */
pyconv_status pyconv_run_team(int n_threads, pyconv_team_fn body, const void *ctx,
                              pyconv_scratch scratch);

/* A range's items go to the threads in parts of about n_items / (this x threads) items, taken
 * from a shared counter as each thread comes for more, not in fixed shares: a worker woken
 * from sleep (OMP_WAIT_POLICY=passive) starts 20-30 us after the first thread, which takes
 * more parts meanwhile. A part keeps neighbouring items on one thread. Kernels that choose
 * their items offer this many per thread where they can. */
#define PYCONV_RANGE_PARTS_PER_THREAD 4

/* Items in each part of a range of n_items items on n_threads threads (all of them on one):
 * rounded down, so that there are at least that many parts. Rounded up, a range of few items
 * split unevenly: 14 tasks on 2 threads went in 7 parts of 2, 8 tasks on one thread and 6 on
 * the other. */
PYCONV_INLINE int64_t pyconv_range_part(int64_t n_items, int n_threads)
{
    if (n_threads < 2) return n_items;
    return PYCONV_MAX(n_items / ((int64_t)n_threads * PYCONV_RANGE_PARTS_PER_THREAD), 1);
}

/* Runs task over items [0, n_items) in contiguous parts, on as many threads as `work` units
 * pay for (pyconv_threads_for); which thread runs which part varies from call to call. */
pyconv_status pyconv_parallel_for(int64_t n_items, double work, int n_threads,
                                  pyconv_range_fn task, const void *ctx, pyconv_scratch scratch);

/* One step of a chunked loop: items [first, first + count), n_threads threads inside it. */
typedef pyconv_status (*pyconv_chunk_fn)(const void *ctx, int64_t first, int64_t count,
                                         int n_threads);

/* Runs step over items [0, n) in chunks of at most max_chunk items, and of no more than
 * n / n_threads when there are as many items as threads, so that every thread gets whole
 * chunks (32 images at 16 threads with max_chunk 3: 16 chunks of 2, not 10 of 3 then 2 left
 * over); a multiple of the thread count of them run each on one thread, taken in parts as a
 * range's items are. The chunks left over (fewer than the threads) then run one by one with
 * every thread inside them. For a batch of images: an image's work is split only when the
 * images cannot keep the threads busy. */
pyconv_status pyconv_parallel_chunks(int64_t n, int64_t max_chunk, int n_threads,
                                     pyconv_chunk_fn step, const void *ctx);

/* Every thread of th's team waits here until all have arrived. */
void pyconv_team_barrier(const pyconv_thread *th);

/* This thread's static share [*lo, *hi) of n items. */
PYCONV_INLINE void pyconv_team_share(const pyconv_thread *th, int64_t n, int64_t *lo,
                                     int64_t *hi)
{
    *lo = n * th->tid / th->n_threads;
    *hi = n * (th->tid + 1) / th->n_threads;
}

#endif /* PYCONV_PARALLEL_H */
