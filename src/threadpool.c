/* threadpool.c — persistent worker threads (threadpool.h).
 *
 * Protocol: the caller publishes (fn, ctx), sets `pending` = n−1 and bumps the generation counter `gen`
 * (release, under the mutex, then broadcasts). Each worker waits for `gen` to change — first spinning briefly,
 * then blocking on cv_work with the check made under the mutex, so a bump cannot be missed — runs fn, and
 * decrements `pending` (acq_rel); the worker that brings it to 0 signals cv_done under the mutex. The caller
 * runs ith = 0 itself, then waits (spin, then cv_done under the mutex) until `pending` is 0. Acquire/release on
 * gen and pending order the job description before the workers' reads and their results before the caller's
 * return. Only portable pthread mutex/condvar and C11 atomics are used (works with Emscripten pthreads).
 * One ds2_pool_run at a time per pool; fn must not call ds2_pool_run on the same pool.
 */
#include <stdlib.h>

#include "error.h"
#include "threadpool.h"

#ifndef DS2_THREADS
#define DS2_THREADS 1
#endif

#define DS2_POOL_MAX_THREADS 1024

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
    (void)pool;
    fn(ctx, 0, 1);
}

int32_t ds2_pool_n_threads(const ds2_pool *pool) {
    (void)pool;
    return 1;
}

void ds2_pool_free(ds2_pool *pool) { free(pool); }

#else /* DS2_THREADS */

#include <pthread.h>
#include <stdatomic.h>

/* Polls of an atomic before blocking on a condition variable (a few µs to tens of µs). */
#define SPIN_ITERS 8192

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield");
#endif
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
    pthread_cond_t cv_work, cv_done;
    atomic_uint gen;   /* bumped once per job */
    atomic_int pending; /* workers still running the current job */
    atomic_int stop;
    ds2_pool_fn fn;    /* current job; written before gen is bumped */
    void *ctx;
};

static void *worker_main(void *arg) {
    worker *w = (worker *)arg;
    ds2_pool *p = w->pool;
    unsigned seen = 0;
    for (;;) {
        unsigned g = atomic_load_explicit(&p->gen, memory_order_acquire);
        for (int i = 0; g == seen && i < SPIN_ITERS; i++) {
            if (atomic_load_explicit(&p->stop, memory_order_relaxed)) break;
            cpu_relax();
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
        }
        if (g == seen) {
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
                   !atomic_load_explicit(&p->stop, memory_order_relaxed))
                pthread_cond_wait(&p->cv_work, &p->mu);
            pthread_mutex_unlock(&p->mu);
            if (g == seen) break; /* stop */
        }
        seen = g;
        p->fn(p->ctx, w->ith, p->n);
        if (atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

static void pool_stop_and_free(ds2_pool *p) {
    pthread_mutex_lock(&p->mu);
    atomic_store_explicit(&p->stop, 1, memory_order_relaxed);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    for (int32_t i = 0; i < p->n_started; i++) pthread_join(p->workers[i].thread, NULL);
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
    ds2_pool *p = (ds2_pool *)calloc(1, sizeof *p);
    if (!p) return ds2_fail(err, DS2_E_NOMEM, "thread pool: out of memory");
    p->n = n_threads;
    atomic_init(&p->gen, 0u);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, 0);
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
    if (!p || p->n <= 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1u, memory_order_release);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);

    fn(ctx, 0, p->n);

    for (int i = 0; i < SPIN_ITERS; i++) {
        if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0) return;
        cpu_relax();
    }
    pthread_mutex_lock(&p->mu);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) != 0) pthread_cond_wait(&p->cv_done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

int32_t ds2_pool_n_threads(const ds2_pool *pool) { return pool ? pool->n : 1; }

void ds2_pool_free(ds2_pool *pool) {
    if (pool) pool_stop_and_free(pool);
}

#endif /* DS2_THREADS */
