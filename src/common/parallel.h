// A fixed pool of worker threads over a list of independent items: restore's table loads
// and verification reads, the physical backup's file copies, the physical restore's file
// writes and syncs.
#pragma once

#include <cstddef>
#include <functional>

#include "common/status.h"

namespace pgk {

// Calls fn(worker, item) for every item in [0, n) on min(jobs, n) threads, items taken in
// order (callers sort them, largest first, so that the longest task starts first). `worker`
// is the thread's index in [0, jobs), for per-thread state such as a connection. Returns
// when every call has returned. `fn` must be thread-safe across workers.
void ParallelFor(size_t n, int jobs, const std::function<void(int worker, size_t item)>& fn);

// ParallelFor for work that can fail: after the first error no further item is started
// (the ones running finish) and that error is returned. `stop`, when given, is asked before
// each item; once it says true no further item starts either (an interrupt), and the
// result is OK unless an item failed: the caller tells an interrupt apart itself.
Status ParallelForEach(size_t n, int jobs, const std::function<Status(int worker, size_t item)>& fn,
                       const std::function<bool()>& stop = {});

}  // namespace pgk
