/* test_threadpool.c — the thread pool's job and barrier protocol: every thread runs every job exactly once,
 * a barrier inside a job separates phases (what any thread wrote before it, every thread sees after it), and
 * both hold when threads are fast (spinning hand-offs) and when one is slow enough that the others go to
 * sleep (the condition-variable path). Also the counters used to measure dispatch overhead. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "test.h"
#include "threadpool.h"

#define MAX_T 8

static ds2_pool *test_pool_; /* the pool the running job belongs to */
#define PHASES 6

typedef struct {
    int32_t n;            /* threads the job expects */
    int64_t job;          /* job number, to tell stale values from fresh ones */
    int64_t slot[PHASES][MAX_T];
    atomic_int bad;       /* mismatches seen by any thread */
    atomic_int calls;     /* fn invocations in this job */
    int slow_thread;      /* this thread sleeps before each barrier (−1: none) */
    long slow_ns;
} barrier_job;

static void sleep_ns(long ns) {
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

/* Phase p: every thread writes its slot, then after the barrier checks everybody's slot of phase p. */
static void barrier_fn(void *ctx, int32_t ith, int32_t nth) {
    barrier_job *j = (barrier_job *)ctx;
    atomic_fetch_add(&j->calls, 1);
    if (nth != j->n) atomic_fetch_add(&j->bad, 1);
    for (int p = 0; p < PHASES; p++) {
        j->slot[p][ith] = j->job * 1000 + p * 10 + ith;
        if (ith == j->slow_thread) sleep_ns(j->slow_ns);
        ds2_pool_barrier(NULL); /* a NULL pool is a no-op, as in a 1-thread build */
        ds2_pool_barrier(test_pool_);
        for (int32_t t = 0; t < nth; t++)
            if (j->slot[p][t] != j->job * 1000 + p * 10 + t) atomic_fetch_add(&j->bad, 1);
    }
}

static int run_jobs(int32_t nt, int n_jobs, int slow_thread, long slow_ns) {
    ds2_error err;
    if (ds2_pool_create(nt, &test_pool_, &err) != DS2_OK) return -1;
    const int32_t n = ds2_pool_n_threads(test_pool_);
    barrier_job j;
    memset(&j, 0, sizeof j);
    j.n = n;
    int bad = 0;
    for (int k = 0; k < n_jobs; k++) {
        j.job = k + 1;
        atomic_store(&j.bad, 0);
        atomic_store(&j.calls, 0);
        j.slow_thread = slow_thread < n ? slow_thread : -1;
        j.slow_ns = slow_ns;
        ds2_pool_run(test_pool_, barrier_fn, &j);
        if (atomic_load(&j.bad) != 0 || atomic_load(&j.calls) != n) bad++;
        /* every thread's writes of the last phase are visible to the caller after the run */
        for (int32_t t = 0; t < n; t++)
            if (j.slot[PHASES - 1][t] != j.job * 1000 + (PHASES - 1) * 10 + t) bad++;
    }
    if (ds2_pool_n_runs(test_pool_) != (uint64_t)n_jobs) bad++;
    if (n > 1 && ds2_pool_n_barriers(test_pool_) != (uint64_t)n_jobs * PHASES) bad++;
    ds2_pool_free(test_pool_);
    test_pool_ = NULL;
    return bad;
}

TEST(barrier_phases_fast) {
    for (int32_t nt = 1; nt <= 4; nt++) ASSERT_EQ_I64(run_jobs(nt, 2000, -1, 0), 0);
}

/* More threads than the process may use CPUs (the pool then yields on every poll instead of spinning): the same
 * results, every thread in every phase. */
TEST(barrier_phases_oversubscribed) {
    const int32_t cpus = ds2_cpus_available();
#if !defined(__wasm__)
    ASSERT_TRUE(cpus >= 1); /* natively the count is known (affinity or sysconf) */
#endif
    const int32_t nt = cpus > 0 && cpus < 32 ? 2 * cpus + 1 : 5;
    ASSERT_EQ_I64(run_jobs(nt, 300, -1, 0), 0);
    ASSERT_EQ_I64(run_jobs(nt, 3, 1, 2000000L), 0);
}

TEST(barrier_phases_with_a_slow_thread) {
    /* 3 ms per phase: well past the spin, so the other threads block on the condition variable, for the
     * caller (thread 0) being slow as well as a worker */
    for (int32_t nt = 2; nt <= 3; nt++) {
        ASSERT_EQ_I64(run_jobs(nt, 4, 0, 3000000L), 0);
        ASSERT_EQ_I64(run_jobs(nt, 4, nt - 1, 3000000L), 0);
    }
}

/* Jobs separated by pauses longer than the spin: the workers sleep between jobs and must be woken. */
TEST(jobs_after_idle) {
    ds2_error err;
    ASSERT_TRUE(ds2_pool_create(2, &test_pool_, &err) == DS2_OK);
    barrier_job j;
    memset(&j, 0, sizeof j);
    j.n = ds2_pool_n_threads(test_pool_);
    j.slow_thread = -1;
    for (int k = 0; k < 5; k++) {
        sleep_ns(5000000L);
        j.job = k + 1;
        atomic_store(&j.calls, 0);
        ds2_pool_run(test_pool_, barrier_fn, &j);
        ASSERT_EQ_I64(atomic_load(&j.bad), 0);
        ASSERT_EQ_I64(atomic_load(&j.calls), j.n);
    }
    ds2_pool_free(test_pool_);
    test_pool_ = NULL;
}

/* A shared counter bumped by every thread in every phase: after each barrier it must be exactly
 * (phase + 1) · nth, for any thread (no thread leaves a barrier early, none is left behind). */
typedef struct {
    atomic_long count;
    atomic_int bad;
} count_job;

static void count_fn(void *ctx, int32_t ith, int32_t nth) {
    (void)ith;
    count_job *j = (count_job *)ctx;
    for (int p = 0; p < 50; p++) {
        atomic_fetch_add(&j->count, 1);
        ds2_pool_barrier(test_pool_);
        if (atomic_load(&j->count) != (long)(p + 1) * nth) atomic_fetch_add(&j->bad, 1);
        ds2_pool_barrier(test_pool_); /* nobody bumps phase p+1 before all have checked phase p */
    }
}

TEST(barrier_counts) {
    for (int32_t nt = 1; nt <= 4; nt++) {
        ds2_error err;
        ASSERT_TRUE(ds2_pool_create(nt, &test_pool_, &err) == DS2_OK);
        for (int k = 0; k < 200; k++) {
            count_job j;
            atomic_init(&j.count, 0);
            atomic_init(&j.bad, 0);
            ds2_pool_run(test_pool_, count_fn, &j);
            ASSERT_EQ_I64(atomic_load(&j.bad), 0);
            ASSERT_EQ_I64(atomic_load(&j.count), 50L * ds2_pool_n_threads(test_pool_));
        }
        ds2_pool_free(test_pool_);
        test_pool_ = NULL;
    }
}

int main(void) {
    RUN(barrier_phases_fast);
    RUN(barrier_phases_oversubscribed);
    RUN(barrier_phases_with_a_slow_thread);
    RUN(jobs_after_idle);
    RUN(barrier_counts);
    return test_summary();
}
