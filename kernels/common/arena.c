#include "common/arena.h"

#include "common/pyconv_common.h"

typedef struct {
    void *buf[PYCONV_ARENA_N_SLOTS];
    size_t size[PYCONV_ARENA_N_SLOTS];
} thread_arena;

/* Grow geometrically (and round to pages) so a slowly growing user reallocates rarely. */
static size_t grown_size(size_t old_size, size_t nbytes)
{
    const size_t page = 4096;
    size_t want = PYCONV_MAX(nbytes, old_size + old_size / 2);
    return (want + page - 1) / page * page;
}

static void *arena_slot_get(thread_arena *arena, pyconv_arena_slot slot, size_t nbytes)
{
    if (arena->size[slot] < nbytes || arena->buf[slot] == NULL) {
        size_t size = grown_size(arena->size[slot], nbytes);
        void *buf = pyconv_aligned_alloc(size);
        if (buf == NULL) return NULL;
        pyconv_aligned_free(arena->buf[slot]);
        arena->buf[slot] = buf;
        arena->size[slot] = size;
    }
    return arena->buf[slot];
}

#if defined(_WIN32)
/* Windows: thread-local storage without a destructor (a thread's buffers live until exit). */
static __declspec(thread) thread_arena tls_arena;

void *pyconv_arena_get(pyconv_arena_slot slot, size_t nbytes)
{
    if ((int)slot < 0 || slot >= PYCONV_ARENA_N_SLOTS) return NULL;
    return arena_slot_get(&tls_arena, slot, nbytes);
}
#else
#include <pthread.h>

/* A pthread key, so each thread's buffers are freed when it exits. */
static pthread_key_t arena_key;
static pthread_once_t arena_key_once = PTHREAD_ONCE_INIT;
static int arena_key_ok;

static void free_thread_arena(void *p)
{
    thread_arena *arena = (thread_arena *)p;
    for (int s = 0; s < PYCONV_ARENA_N_SLOTS; s++) pyconv_aligned_free(arena->buf[s]);
    free(arena);
}

static void create_arena_key(void)
{
    arena_key_ok = pthread_key_create(&arena_key, free_thread_arena) == 0;
}

void *pyconv_arena_get(pyconv_arena_slot slot, size_t nbytes)
{
    if ((int)slot < 0 || slot >= PYCONV_ARENA_N_SLOTS) return NULL;
    pthread_once(&arena_key_once, create_arena_key);
    if (!arena_key_ok) return NULL;
    thread_arena *arena = (thread_arena *)pthread_getspecific(arena_key);
    if (arena == NULL) {
        arena = (thread_arena *)calloc(1, sizeof *arena);
        if (arena == NULL) return NULL;
        if (pthread_setspecific(arena_key, arena) != 0) {
            free(arena);
            return NULL;
        }
    }
    return arena_slot_get(arena, slot, nbytes);
}
#endif
