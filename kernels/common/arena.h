/* Per-thread workspace arena: grow-only, aligned buffers reused across calls.
 *
 * Why: glibc hands large freed blocks back to the kernel, and the next call then faults every
 * 4 KiB page back in (microseconds each) -- more than a small layer's arithmetic. A kernel
 * asks its thread's arena for a slot instead of calling malloc; the buffer stays mapped for
 * the thread's life and only grows.
 *
 * Each thread has PYCONV_ARENA_N_SLOTS independent slots, so nested users (a convolution that
 * calls the GEMM) never clobber each other: each user owns a slot name below. A buffer is
 * valid until the same thread asks for the same slot again; its contents are unspecified.
 * A thread's buffers are freed when the thread exits (POSIX threads). Safe from any number of
 * threads at once: a thread only ever touches its own arena. */
#ifndef PYCONV_ARENA_H
#define PYCONV_ARENA_H

#include <stddef.h>

typedef enum {
    PYCONV_ARENA_GEMM_A = 0,    /* the GEMM's packed A blocks (one per worker thread) */
    PYCONV_ARENA_GEMM_B,        /* the GEMM's shared packed B block (the convolution forward's
                                   packed weights: it does not call the GEMM driver) */
    PYCONV_ARENA_CONV_0,        /* free for the convolution kernels */
    PYCONV_ARENA_CONV_1,
    PYCONV_ARENA_CONV_2,
    PYCONV_ARENA_N_SLOTS
} pyconv_arena_slot;

/* A PYCONV_ALIGN-aligned buffer of at least nbytes for this thread's `slot`, or NULL when
 * the allocation fails (the slot's previous buffer is then kept). */
void *pyconv_arena_get(pyconv_arena_slot slot, size_t nbytes);

#endif /* PYCONV_ARENA_H */
