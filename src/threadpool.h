/* threadpool.h — a persistent pool of worker threads (pthreads; no OpenMP).
 *
 * Owns: n-1 threads parked between jobs; ds2_pool_run() hands every thread the same function with its index
 * and returns when all have finished. The calling thread is worker 0, so a 1-thread pool has no threads.
 * Inside a job, ds2_pool_barrier() lets one dispatch run several dependent phases (e.g. a whole MoE block)
 * instead of paying one dispatch per phase.
 * Built without threads (DS2_THREADS=0, e.g. the single-thread wasm build) it runs fn(ctx, 0, 1) inline.
 */
#ifndef DS2_THREADPOOL_H
#define DS2_THREADPOOL_H

#include <stdatomic.h>
#include <stdint.h>

#include "ds2.h"

typedef struct ds2_pool ds2_pool;
typedef void (*ds2_pool_fn)(void *ctx, int32_t ith, int32_t nth);

ds2_status ds2_pool_create(int32_t n_threads, ds2_pool **out, ds2_error *err);
void ds2_pool_run(ds2_pool *pool, ds2_pool_fn fn, void *ctx);
int32_t ds2_pool_n_threads(const ds2_pool *pool);
/* Called by every thread of the current job (the same number of times): returns once all have arrived, and
 * everything each wrote before it is visible to all after it. A no-op in a 1-thread pool. */
void ds2_pool_barrier(ds2_pool *pool);
/* Jobs run (ds2_pool_run calls) and barriers passed since creation, for measuring dispatch overhead. */
uint64_t ds2_pool_n_runs(const ds2_pool *pool);
uint64_t ds2_pool_n_barriers(const ds2_pool *pool);
void ds2_pool_free(ds2_pool *pool);

/* The CPUs this process may run on: on Linux its affinity mask (a container or `taskset` may allow fewer than the
 * machine has, as `nproc` counts), else the CPUs online; 0 if unknown (wasm). A pool with more threads than
 * this yields the CPU while it waits instead of spinning. */
int32_t ds2_cpus_available(void);

/* Dynamic shares: the next of n_chunks contiguous chunks of n items, [*r0, *r1), taken from *next (shared by the
 * threads of one job, 0 at its start); 0 once all are taken. Threads that take chunks in turn instead of a fixed
 * share let a descheduled or slower thread (a loaded machine, a browser's other threads on the same cores) hold
 * the others up by at most one chunk. */
#define DS2_POOL_CHUNKS_PER_THREAD 4
int ds2_pool_take_chunk(atomic_int *next, int64_t n_chunks, int64_t n, int64_t *r0, int64_t *r1);

/* The half-open share [*r0, *r1) of n items for worker ith of nth (contiguous, sizes differ by ≤ 1). */
void ds2_pool_split(int64_t n, int32_t ith, int32_t nth, int64_t *r0, int64_t *r1);

#endif
