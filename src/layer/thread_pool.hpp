// parallel_for over the process-wide pool of mha/threads.hpp.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "mha/threads.hpp"

namespace mha::detail
{
// The most workers a computation can see; per-worker state can live in fixed
// arrays of this size, so a call allocates nothing.
constexpr std::size_t max_workers = 8;

using task_function = void (*)(void* context, std::size_t index, std::size_t worker);

// Runs task(context, i, worker) for every i in [0, count) on the calling
// thread (worker 0) and the pool's threads (workers 1 ..), and returns when
// all are done. Which worker runs which index is not fixed.
void run_tasks(std::size_t count, task_function task, void* context);

// f(index, worker) for index in [0, count); serial when one thread is in use.
// f must not allocate memory: in the WebAssembly threads build a worker that
// grew the heap would leave the JavaScript views of it stale.
template <class F>
void parallel_for_within(std::size_t workers, std::size_t count, F&& f);

template <class F>
void parallel_for(std::size_t count, F&& f)
{
    parallel_for_within(max_workers, count, std::forward<F>(f));
}

// parallel_for for per-worker state sized for `workers` threads: serial if
// the pool has more (it was resized between a plan and its run).
template <class F>
void parallel_for_within(std::size_t workers, std::size_t count, F&& f)
{
    if (thread_count() == 1 || count <= 1 || thread_count() > workers)
    {
        for (std::size_t i = 0; i < count; ++i)
            f(i, std::size_t { 0 });
        return;
    }
    using functor = std::remove_reference_t<F>;
    run_tasks(
        count,
        [](void* context, std::size_t index, std::size_t worker) { (*static_cast<functor*>(context))(index, worker); },
        const_cast<void*>(static_cast<const void*>(&f)));
}
} // namespace mha::detail
