// mha/threads.hpp: results with 2 and 3 threads are bit-identical to 1
// thread, for the layer (projections split by column panels, attention by
// heads and query blocks) and the free function (including a single head,
// where the query blocks are the only thing to split, and decoding).
// Correctness of the single-thread results is tested against the float64
// reference elsewhere; this file tests only that threading changes nothing.
#include "mha/threads.hpp"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "layer_fixture.hpp"
#include "mha/scaled_dot_product_attention.hpp"

namespace mha::test
{
namespace
{
    bool same_bits(const std::vector<float>& a, const std::vector<float>& b)
    {
        return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
    }

    // Restores one thread after each test, so other suites run serially.
    // Skipped (not passed) where there are fewer than 3 threads: a
    // WebAssembly build without pthreads has max_threads() == 1.
    class ThreadsTest : public ::testing::Test
    {
    protected:
        void SetUp() override
        {
            if (max_threads() < 3)
                GTEST_SKIP() << "needs 3 threads; this build has " << max_threads();
        }
        void TearDown() override { set_thread_count(1); }
    };

    TEST_F(ThreadsTest, CountIsClampedAndReported)
    {
        EXPECT_GE(max_threads(), 2u);
        EXPECT_EQ(set_thread_count(0), 1u);
        EXPECT_EQ(thread_count(), 1u);
        EXPECT_EQ(set_thread_count(2), 2u);
        EXPECT_EQ(thread_count(), 2u);
        EXPECT_EQ(set_thread_count(1000), max_threads());
        EXPECT_EQ(set_thread_count(1), 1u);
    }

    struct layer_case
    {
        std::string name;
        attention_config config;
        input_spec inputs;
        bool causal = false, need_weights = false;
    };

    std::vector<layer_case> layer_cases()
    {
        attention_config base;
        base.embed_dim = 96;
        base.num_heads = 6;
        base.batch_first = true;
        std::vector<layer_case> cases;
        cases.push_back({ "self_L77", base, { 2, 77, 77 } });
        cases.push_back({ "causal_L130_weights", base, { 1, 130, 130 }, true, true });
        auto masked = base;
        masked.add_bias_kv = true;
        masked.add_zero_attn = true;
        cases.push_back({ "masks_bias_kv_zero_attn", masked,
                          { 3, 40, 65, mask_type::boolean, mask_type::additive, true, true }, false, true });
        auto cross = base;
        cross.kdim = 40;
        cross.vdim = 24;
        cases.push_back({ "cross_kdim_vdim", cross, { 2, 33, 200, mask_type::additive, mask_type::none } });
        cases.push_back({ "decode_L1_S300", base, { 1, 1, 300 } });
        return cases;
    }

    TEST_F(ThreadsTest, LayerOutputIsIdenticalForAnyThreadCount)
    {
        for (const layer_case& c : layer_cases())
        {
            SCOPED_TRACE(c.name);
            multi_head_attention layer(c.config);
            const auto state = random_state_dict(layer, 11);
            ASSERT_TRUE(layer.load_weights(named_weights(layer, state)).ok());
            layer_inputs in = random_inputs(c.config, c.inputs, 12);
            in.arguments.is_causal = c.causal;
            in.arguments.need_weights = c.need_weights;
            in.arguments.average_attn_weights = false;

            set_thread_count(1);
            const layer_outputs serial = run_forward(layer, in.arguments);
            ASSERT_TRUE(serial.result.ok()) << serial.result.message();
            for (std::size_t threads : { 2u, 3u })
            {
                ASSERT_EQ(set_thread_count(threads), threads);
                const layer_outputs parallel = run_forward(layer, in.arguments);
                ASSERT_TRUE(parallel.result.ok()) << parallel.result.message();
                EXPECT_TRUE(same_bits(serial.output, parallel.output)) << threads << " threads";
                EXPECT_TRUE(same_bits(serial.weights, parallel.weights)) << threads << " threads";
            }
        }
    }

    struct sdpa_case
    {
        std::string name;
        std::size_t batch, heads, query_len, key_len, dim;
        bool causal, need_weights;
    };

    TEST_F(ThreadsTest, ScaledDotProductAttentionIsIdenticalForAnyThreadCount)
    {
        const std::vector<sdpa_case> cases = {
            { "one_head_L300_causal", 1, 1, 300, 300, 16, true, false },
            { "one_head_L200_weights", 1, 1, 200, 170, 8, false, true },
            { "B2_H3_L100", 2, 3, 100, 90, 32, false, false },
            { "decode_H12", 1, 12, 1, 1024, 64, false, false },
        };
        for (const sdpa_case& c : cases)
        {
            SCOPED_TRACE(c.name);
            std::mt19937 rng(5);
            const auto q = uniform_values(rng, c.batch * c.heads * c.query_len * c.dim, -2.0f, 2.0f);
            const auto k = uniform_values(rng, c.batch * c.heads * c.key_len * c.dim, -2.0f, 2.0f);
            const auto v = uniform_values(rng, c.batch * c.heads * c.key_len * c.dim, -2.0f, 2.0f);
            sdpa_arguments a;
            a.query = { q.data(), q.size(), { c.batch, c.heads, c.query_len, c.dim } };
            a.key = { k.data(), k.size(), { c.batch, c.heads, c.key_len, c.dim } };
            a.value = { v.data(), v.size(), { c.batch, c.heads, c.key_len, c.dim } };
            a.is_causal = c.causal;
            a.need_weights = c.need_weights;

            const auto run = [&](std::size_t threads, std::vector<float>& output, std::vector<float>& weights) {
                ASSERT_EQ(set_thread_count(threads), threads);
                scaled_dot_product_attention_op buffers;
                attention_result result;
                const status st = scaled_dot_product_attention(a, buffers, result);
                ASSERT_TRUE(st.ok()) << st.message();
                output.assign(result.output, result.output + element_count(result.output_shape));
                if (result.weights)
                    weights.assign(result.weights, result.weights + element_count(result.weights_shape));
            };
            std::vector<float> serial_output, serial_weights;
            run(1, serial_output, serial_weights);
            for (std::size_t threads : { 2u, 3u })
            {
                std::vector<float> output, weights;
                run(threads, output, weights);
                EXPECT_TRUE(same_bits(serial_output, output)) << threads << " threads";
                EXPECT_TRUE(same_bits(serial_weights, weights)) << threads << " threads";
            }
        }
    }
} // namespace
} // namespace mha::test
