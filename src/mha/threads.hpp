// How many threads forward() and scaled_dot_product_attention() use.
//
// One pool for the whole process. The calling thread always takes a share of
// the work, so set_thread_count(2) starts one extra thread. Results are
// bit-identical for every count: work is split only where each output element
// is still computed by the same instructions in the same order.
#pragma once

#include <cstddef>

namespace mha
{
// 1 in a WebAssembly build without pthreads; otherwise a fixed cap.
std::size_t max_threads();

// Clamps count to [1, max_threads()], (re)starts the pool, and returns the
// count now in effect. Not to be called while a computation is running.
std::size_t set_thread_count(std::size_t count);

std::size_t thread_count();
} // namespace mha
