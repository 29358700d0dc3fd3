// The pool behind parallel_for: persistent threads that sleep on a condition
// variable between computations, and an atomic counter that hands out task
// indices (dynamic scheduling, so causal attention's uneven tasks balance).
#include "thread_pool.hpp"

#include <algorithm>

#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
#define MHA_HAS_THREADS 0
#else
#define MHA_HAS_THREADS 1
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>
#endif

namespace mha
{
namespace
{
#if MHA_HAS_THREADS
    class thread_pool
    {
    public:
        ~thread_pool() { stop(); }

        std::size_t size() const { return threads_.size() + 1; }

        void resize(std::size_t threads)
        {
            stop();
            stopping_ = false;
            for (std::size_t w = 1; w < threads; ++w)
                // A new thread must not take the last computation's generation
                // for a new one: it starts from the current value.
                threads_.emplace_back([this, w, current = generation_] { work(w, current); });
        }

        void run(std::size_t count, detail::task_function task, void* context)
        {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                task_ = task;
                context_ = context;
                count_ = count;
                next_.store(0);
                busy_ = threads_.size();
                ++generation_;
            }
            wake_.notify_all();
            drain(0);
            std::unique_lock<std::mutex> lock(mutex_);
            done_.wait(lock, [this] { return busy_ == 0; });
        }

    private:
        void drain(std::size_t worker)
        {
            for (std::size_t i = next_.fetch_add(1); i < count_; i = next_.fetch_add(1))
                task_(context_, i, worker);
        }

        void work(std::size_t worker, std::uint64_t seen)
        {
            for (;;)
            {
                {
                    std::unique_lock<std::mutex> lock(mutex_);
                    wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
                    if (stopping_)
                        return;
                    seen = generation_;
                }
                drain(worker);
                std::lock_guard<std::mutex> lock(mutex_);
                if (--busy_ == 0)
                    done_.notify_one();
            }
        }

        void stop()
        {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                stopping_ = true;
            }
            wake_.notify_all();
            for (std::thread& t : threads_)
                t.join();
            threads_.clear();
        }

        std::vector<std::thread> threads_;
        std::mutex mutex_;
        std::condition_variable wake_;
        std::condition_variable done_;
        std::uint64_t generation_ = 0;
        bool stopping_ = false;
        detail::task_function task_ = nullptr;
        void* context_ = nullptr;
        std::size_t count_ = 0;
        std::atomic<std::size_t> next_ { 0 };
        std::size_t busy_ = 0;
    };

    thread_pool& pool()
    {
        static thread_pool instance;
        return instance;
    }
#endif
} // namespace

std::size_t max_threads() { return MHA_HAS_THREADS ? detail::max_workers : 1; }

std::size_t set_thread_count(std::size_t count)
{
    count = std::clamp<std::size_t>(count, 1, max_threads());
#if MHA_HAS_THREADS
    if (count != pool().size())
        pool().resize(count);
#endif
    return count;
}

std::size_t thread_count()
{
#if MHA_HAS_THREADS
    return pool().size();
#else
    return 1;
#endif
}

namespace detail
{
    void run_tasks(std::size_t count, task_function task, void* context)
    {
#if MHA_HAS_THREADS
        pool().run(count, task, context);
#else
        for (std::size_t i = 0; i < count; ++i)
            task(context, i, 0);
#endif
    }
} // namespace detail
} // namespace mha
