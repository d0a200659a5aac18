/* threadpool.c — persistent worker threads (threadpool.h).
 *
 * Three waits, one pattern: a job start (workers wait for the generation counter `gen` to change), a job end
 * (the caller waits for `pending` to reach 0) and a barrier inside a job (threads wait for `bar_phase` to
 * change). A waiter first polls the atomic (a job phase is often microseconds long, far below the cost of
 * sleeping and being woken), then announces itself in a sleeper count and blocks on a condition variable,
 * re-checking under the mutex. The side that changes the atomic signals only when the sleeper count is
 * non-zero, so a hand-off between spinning threads costs no mutex and no system call. This is safe because
 * both sides use sequentially consistent operations: the changer stores the atomic and then loads the count,
 * the waiter bumps the count and then loads the atomic, so at least one of them sees the other; a waiter that
 * counted itself holds the mutex until pthread_cond_wait releases it, so the signal (sent under the mutex)
 * cannot fall between its check and its wait. Only portable pthread mutex/condvar and C11 atomics are used;
 * under Emscripten they map to Atomics.wait/notify, which workers (Web Workers, Node worker_threads) may use.
 * One ds2_pool_run at a time per pool; fn must not call ds2_pool_run on the same pool.
 */
/* sched_getaffinity / CPU_COUNT are GNU, sysconf(_SC_NPROCESSORS_ONLN) POSIX: neither is C11 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#if !defined(__wasm__)
#include <unistd.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

#include "error.h"
#include "threadpool.h"

#ifndef DS2_THREADS
#define DS2_THREADS 1
#endif

int32_t ds2_cpus_available(void) {
#if defined(__linux__) && defined(CPU_COUNT)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return (int32_t)CPU_COUNT(&set);
#endif
#if !defined(__wasm__) && defined(_SC_NPROCESSORS_ONLN)
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int32_t)(n < INT32_MAX ? n : INT32_MAX) : 0;
#else
    return 0;
#endif
}

#define DS2_POOL_MAX_THREADS 1024

int ds2_pool_take_chunk(atomic_int *next, int64_t n_chunks, int64_t n, int64_t *r0, int64_t *r1) {
    const int64_t k = atomic_fetch_add_explicit(next, 1, memory_order_relaxed);
    if (k >= n_chunks) return 0;
    *r0 = n * k / n_chunks;
    *r1 = n * (k + 1) / n_chunks;
    return 1;
}

void ds2_pool_split(int64_t n, int32_t ith, int32_t nth, int64_t *r0, int64_t *r1) {
    if (nth < 1) nth = 1;
    if (n < 0) n = 0;
    const int64_t q = n / nth, rem = n % nth;
    const int64_t i = ith;
    *r0 = i * q + (i < rem ? i : rem);
    *r1 = *r0 + q + (i < rem ? 1 : 0);
}

#if !DS2_THREADS

struct ds2_pool {
    int32_t n;
    uint64_t runs;
};

ds2_status ds2_pool_create(int32_t n_threads, ds2_pool **out, ds2_error *err) {
    if (!out) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_pool_create: out is NULL");
    *out = NULL;
    if (n_threads < 0 || n_threads > DS2_POOL_MAX_THREADS)
        return ds2_fail(err, DS2_E_INVALID_ARG, "n_threads = %d: must be 0..%d", (int)n_threads,
                        DS2_POOL_MAX_THREADS);
    ds2_pool *p = (ds2_pool *)calloc(1, sizeof *p);
    if (!p) return ds2_fail(err, DS2_E_NOMEM, "thread pool: out of memory");
    p->n = 1; /* built without threads */
    *out = p;
    return DS2_OK;
}

void ds2_pool_run(ds2_pool *pool, ds2_pool_fn fn, void *ctx) {
    if (pool) pool->runs++;
    fn(ctx, 0, 1);
}

int32_t ds2_pool_n_threads(const ds2_pool *pool) {
    (void)pool;
    return 1;
}

void ds2_pool_barrier(ds2_pool *pool) { (void)pool; }

uint64_t ds2_pool_n_runs(const ds2_pool *pool) { return pool ? pool->runs : 0; }
uint64_t ds2_pool_n_barriers(const ds2_pool *pool) {
    (void)pool;
    return 0;
}

void ds2_pool_free(ds2_pool *pool) { free(pool); }

#else /* DS2_THREADS */

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

/* Most polls of an atomic before sleeping on a condition variable. Native: PAUSE is 10-140 cycles, so a few
 * µs to a few hundred µs. wasm has no pause instruction and a poll is ~1 ns, so it polls more to cover the
 * serial gaps between jobs (norms, routing) of a decoded token without a sleep/wake round trip.
 * The budget adapts (spin_done): a wait that had to sleep halves it, one that the spin ended doubles it (an
 * occasional long gap, e.g. between decoded tokens, costs one short budget, not many).
 * With more runnable threads than cores, spinning only delays the thread being waited for; wasm cannot
 * yield the CPU (sched_yield is a no-op there), so there the shrinking budget is what makes threads sleep. */
#if defined(__EMSCRIPTEN__) || defined(__wasm__)
#define SPIN_MAX (1 << 17)
#else
#define SPIN_MAX 8192
#endif
#define SPIN_MIN (SPIN_MAX / 64)

/* One poll interval of spin number i. Every (yield_mask + 1)th also yields the CPU: with more runnable threads
 * than cores the thread we wait for may be queued behind us, and a pure spin would hold it off for a whole time
 * slice; with a core to spare sched_yield returns at once. A pool with more threads than the process has CPUs
 * yields on every poll (yield_mask 0), any other every 256th: on 2 cores, 8 threads decoded 74–94 tok/s with
 * every 256th poll yielding and 112–138 with every poll (2 threads on 2 cores: no difference beyond the VM's
 * noise). */
static inline void cpu_relax(int i, int yield_mask) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield");
#endif
    if ((i & yield_mask) == yield_mask) sched_yield();
}

typedef struct worker {
    struct ds2_pool *pool;
    int32_t ith;
    pthread_t thread;
} worker;

struct ds2_pool {
    int32_t n;
    int32_t n_started; /* workers successfully created */
    worker *workers;   /* n−1 entries, ith = 1..n−1 */
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done, cv_bar;
    int yield_mask;    /* cpu_relax: 0 when oversubscribed, else 255 */
    ds2_pool_fn fn;    /* current job; written before gen is bumped */
    void *ctx;
    uint64_t runs, barriers; /* statistics, written by the caller / thread 0 only */
    /* each hot atomic on its own cache line: spinning readers of one must not slow the writers of another */
    _Alignas(64) atomic_uint gen;     /* bumped once per job */
    atomic_int work_sleepers;         /* workers blocked on cv_work */
    atomic_int stop;
    _Alignas(64) atomic_int pending;  /* workers still running the current job */
    atomic_int done_sleeper;          /* 1 while the caller is blocked on cv_done */
    _Alignas(64) atomic_int spin;     /* current spin budget, SPIN_MIN..SPIN_MAX (relaxed: only a hint) */
    _Alignas(64) atomic_int bar_count; /* threads arrived at the current barrier */
    _Alignas(64) atomic_uint bar_phase; /* bumped when the last one arrives */
    atomic_int bar_sleepers;          /* threads blocked on cv_bar */
};

static int spin_budget(ds2_pool *p) { return atomic_load_explicit(&p->spin, memory_order_relaxed); }

/* Adapts the budget after a wait: `slept` if the spin ran out. Writes only on change (the line is shared). */
static void spin_done(ds2_pool *p, int slept) {
    const int b = spin_budget(p);
    int nb = slept ? b / 2 : b * 2;
    if (nb < SPIN_MIN) nb = SPIN_MIN;
    if (nb > SPIN_MAX) nb = SPIN_MAX;
    if (nb != b) atomic_store_explicit(&p->spin, nb, memory_order_relaxed);
}

static void *worker_main(void *arg) {
    worker *w = (worker *)arg;
    ds2_pool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        const int budget = spin_budget(p);
        for (int i = 0; g == seen && i < budget; i++) {
            if (atomic_load_explicit(&p->stop, memory_order_relaxed)) break;
            cpu_relax(i, p->yield_mask);
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->work_sleepers, 1);
            while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->cv_work, &p->mu);
            atomic_fetch_sub(&p->work_sleepers, 1);
            pthread_mutex_unlock(&p->mu);
            if (g == seen) break; /* stop */
            spin_done(p, 1);
        } else {
            spin_done(p, 0);
        }
        seen = g;
        p->fn(p->ctx, w->ith, p->n);
        if (atomic_fetch_sub(&p->pending, 1) == 1 && atomic_load(&p->done_sleeper)) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

static void pool_stop_and_free(ds2_pool *p) {
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    for (int32_t i = 0; i < p->n_started; i++) pthread_join(p->workers[i].thread, NULL);
    pthread_cond_destroy(&p->cv_bar);
    pthread_cond_destroy(&p->cv_done);
    pthread_cond_destroy(&p->cv_work);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p);
}

ds2_status ds2_pool_create(int32_t n_threads, ds2_pool **out, ds2_error *err) {
    if (!out) return ds2_fail(err, DS2_E_INVALID_ARG, "ds2_pool_create: out is NULL");
    *out = NULL;
    if (n_threads < 0 || n_threads > DS2_POOL_MAX_THREADS)
        return ds2_fail(err, DS2_E_INVALID_ARG, "n_threads = %d: must be 0..%d", (int)n_threads,
                        DS2_POOL_MAX_THREADS);
    if (n_threads == 0) n_threads = 1;
    /* the struct's cache-line-aligned members need a 64-byte aligned block (its size is a multiple of 64) */
    ds2_pool *p = (ds2_pool *)aligned_alloc(64, sizeof *p);
    if (!p) return ds2_fail(err, DS2_E_NOMEM, "thread pool: out of memory");
    memset(p, 0, sizeof *p);
    p->n = n_threads;
    const int32_t cpus = ds2_cpus_available();
    p->yield_mask = cpus > 0 && n_threads > cpus ? 0 : 255;
    atomic_init(&p->gen, 0u);
    atomic_init(&p->work_sleepers, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->done_sleeper, 0);
    atomic_init(&p->spin, SPIN_MAX);
    atomic_init(&p->bar_count, 0);
    atomic_init(&p->bar_phase, 0u);
    atomic_init(&p->bar_sleepers, 0);
    if (n_threads > 1) {
        p->workers = (worker *)calloc((size_t)(n_threads - 1), sizeof *p->workers);
        if (!p->workers) {
            free(p);
            return ds2_fail(err, DS2_E_NOMEM, "thread pool: out of memory");
        }
    }
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p->workers);
        free(p);
        return ds2_fail(err, DS2_E_NOMEM, "thread pool: pthread_mutex_init failed");
    }
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    pthread_cond_init(&p->cv_bar, NULL);
    for (int32_t i = 0; i < n_threads - 1; i++) {
        worker *w = &p->workers[i];
        w->pool = p;
        w->ith = i + 1;
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            pool_stop_and_free(p);
            return ds2_fail(err, DS2_E_NOMEM,
                            "thread pool: could not start worker thread %d of %d (pthread_create error %d)",
                            (int)i + 1, (int)n_threads - 1, rc);
        }
        p->n_started++;
    }
    *out = p;
    return DS2_OK;
}

void ds2_pool_run(ds2_pool *p, ds2_pool_fn fn, void *ctx) {
    if (!p) {
        fn(ctx, 0, 1);
        return;
    }
    p->runs++;
    if (p->n <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    atomic_fetch_add(&p->gen, 1u); /* seq_cst: publishes fn/ctx/pending, ordered before the sleeper check */
    if (atomic_load(&p->work_sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv_work);
        pthread_mutex_unlock(&p->mu);
    }

    fn(ctx, 0, p->n);

    const int budget = spin_budget(p);
    for (int i = 0; i < budget; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0) {
            spin_done(p, 0);
            return;
        }
        cpu_relax(i, p->yield_mask);
    }
    spin_done(p, 1);
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->done_sleeper, 1);
    while (atomic_load(&p->pending) != 0) pthread_cond_wait(&p->cv_done, &p->mu);
    atomic_store(&p->done_sleeper, 0);
    pthread_mutex_unlock(&p->mu);
}

void ds2_pool_barrier(ds2_pool *p) {
    if (!p || p->n <= 1) return;
    /* read the phase before arriving: the last arrival bumps it, and that may happen right after our arrival */
    const unsigned ph = atomic_load_explicit(&p->bar_phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) == p->n - 1) {
        /* last to arrive (it has acquired every earlier arrival's writes through the count's RMW chain):
         * reset the count for the next barrier, then release the others */
        atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
        p->barriers++; /* the last arrival is unique, so this plain counter has one writer at a time */
        atomic_fetch_add(&p->bar_phase, 1u);
        if (atomic_load(&p->bar_sleepers) > 0) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_broadcast(&p->cv_bar);
            pthread_mutex_unlock(&p->mu);
        }
        return;
    }
    const int budget = spin_budget(p);
    for (int i = 0; i < budget; i++) {
        if (atomic_load_explicit(&p->bar_phase, memory_order_acquire) != ph) {
            spin_done(p, 0);
            return;
        }
        cpu_relax(i, p->yield_mask);
    }
    spin_done(p, 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->bar_sleepers, 1);
    while (atomic_load(&p->bar_phase) == ph) pthread_cond_wait(&p->cv_bar, &p->mu);
    atomic_fetch_sub(&p->bar_sleepers, 1);
    pthread_mutex_unlock(&p->mu);
}

int32_t ds2_pool_n_threads(const ds2_pool *pool) { return pool ? pool->n : 1; }
uint64_t ds2_pool_n_runs(const ds2_pool *pool) { return pool ? pool->runs : 0; }
uint64_t ds2_pool_n_barriers(const ds2_pool *pool) { return pool ? pool->barriers : 0; }

void ds2_pool_free(ds2_pool *pool) {
    if (pool) pool_stop_and_free(pool);
}

#endif /* DS2_THREADS */
