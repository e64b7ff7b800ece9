// A fixed pool of worker threads over a list of items, for restore's table loads and
// verification reads: both are one independent task per backup file.
#pragma once

#include <cstddef>
#include <functional>

namespace pgk::restore {

// Calls fn(worker, item) for every item in [0, n) on min(jobs, n) threads, items taken in
// order (callers sort them, largest first, so that the longest task starts first). `worker`
// is the thread's index in [0, jobs), for per-thread state such as a connection. Returns
// when every call has returned. `fn` must be thread-safe across workers.
void ParallelFor(size_t n, int jobs, const std::function<void(int worker, size_t item)>& fn);

}  // namespace pgk::restore
