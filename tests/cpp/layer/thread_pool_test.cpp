// layer/thread_pool.hpp: the pool's threads really take tasks. Results alone
// cannot show it (threads_test.cpp: a caller that ran every task itself would
// give the same bits), so here each of two tasks waits until the other has
// started, which only two running threads can satisfy.
#include "layer/thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace mha::test
{
namespace
{
    TEST(ThreadPool, TwoTasksRunAtTheSameTimeOnTwoThreads)
    {
        // Skipped, not passed, in a WebAssembly build without pthreads (max_threads() == 1).
        if (max_threads() < 2)
            GTEST_SKIP() << "needs 2 threads; this build has " << max_threads();
        ASSERT_EQ(set_thread_count(2), 2u);
        std::atomic<int> started { 0 };
        std::atomic<int> met { 0 };
        std::atomic<unsigned> workers_seen { 0 };
        detail::parallel_for(2, [&](std::size_t, std::size_t worker) {
            workers_seen |= 1u << worker;
            ++started;
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (started.load() < 2 && std::chrono::steady_clock::now() < deadline)
                std::this_thread::yield();
            if (started.load() == 2)
                ++met;
        });
        set_thread_count(1);
        EXPECT_EQ(met.load(), 2);
        EXPECT_EQ(workers_seen.load(), 0b11u);
    }

    TEST(ThreadPool, EveryIndexRunsExactlyOnce)
    {
        if (max_threads() < 3)
            GTEST_SKIP() << "needs 3 threads; this build has " << max_threads();
        ASSERT_EQ(set_thread_count(3), 3u);
        std::atomic<int> runs[1000] = {};
        detail::parallel_for(1000, [&](std::size_t index, std::size_t) { ++runs[index]; });
        set_thread_count(1);
        for (const auto& r : runs)
            ASSERT_EQ(r.load(), 1);
    }
} // namespace
} // namespace mha::test
