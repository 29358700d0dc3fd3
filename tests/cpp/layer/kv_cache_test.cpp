// mha::kv_cache with scaled_dot_product_attention_op and the layer: decoding
// through a cache (the split-key path for few queries, the blocked path for a
// prefill) against the double reference of one full causal call; bottom-right
// alignment without a cache; the cache's state after rejected calls.
#include "mha/kv_cache.hpp"

#include <cmath>
#include <limits>
#include <random>

#include "comparison.hpp"
#include "layer_fixture.hpp"
#include "mha/multi_head_attention.hpp"
#include "mha/scaled_dot_product_attention.hpp"
#include "reference/reference_attention.hpp"

namespace mha::test
{
namespace
{
    // float32 against double on values in [-1, 1] and D <= 16: a few ulps of
    // the scores and of sums over at most a few hundred keys.
    constexpr double tolerance = 2e-5;

    struct heads
    {
        std::size_t batch, heads, length, head_dim, value_dim;
        std::vector<float> query, key, value;
    };

    heads random_heads(std::size_t b, std::size_t h, std::size_t t, std::size_t d, std::size_t dv, std::uint32_t seed)
    {
        std::mt19937 rng(seed);
        return { b, h, t, d, dv, uniform_values(rng, b * h * t * d, -1.0f, 1.0f), uniform_values(rng, b * h * t * d, -1.0f, 1.0f),
                 uniform_values(rng, b * h * t * dv, -1.0f, 1.0f) };
    }

    // Tokens [from, to) of (B, H, T, dim) data.
    std::vector<float> tokens(const std::vector<float>& data, const heads& x, std::size_t dim, std::size_t from, std::size_t to)
    {
        std::vector<float> out;
        for (std::size_t bh = 0; bh < x.batch * x.heads; ++bh)
            out.insert(out.end(), data.begin() + (bh * x.length + from) * dim, data.begin() + (bh * x.length + to) * dim);
        return out;
    }

    // Appends tokens [from, to) through `cache` and returns the output (B, H, to - from, Dv).
    std::vector<float> step(scaled_dot_product_attention_op& op, kv_cache& cache, const heads& x, std::size_t from,
                            std::size_t to, status* failure = nullptr)
    {
        const std::vector<float> q = tokens(x.query, x, x.head_dim, from, to), k = tokens(x.key, x, x.head_dim, from, to),
                                 v = tokens(x.value, x, x.value_dim, from, to);
        const std::size_t n = to - from;
        sdpa_arguments a;
        a.query = { q.data(), q.size(), { x.batch, x.heads, n, x.head_dim } };
        a.key = { k.data(), k.size(), { x.batch, x.heads, n, x.head_dim } };
        a.value = { v.data(), v.size(), { x.batch, x.heads, n, x.value_dim } };
        a.is_causal = true;
        a.cache = &cache;
        attention_result result;
        const status st = scaled_dot_product_attention(a, op, result);
        if (failure)
            *failure = st;
        if (!st.ok())
            return {};
        return std::vector<float>(result.output, result.output + element_count(result.output_shape));
    }

    class DecodingThroughCache : public ::testing::TestWithParam<std::size_t>
    {
    };

    // T = 520 keys: the split-key path's 256-key chunks are 256, 256 and 8.
    TEST_P(DecodingThroughCache, EqualsOneFullCausalCall)
    {
        const std::size_t step_size = GetParam();
        const heads x = random_heads(2, 2, 520, 16, 9, 77);
        const reference::attention_output expected = reference::scaled_dot_product_attention(
            x.query, x.key, x.value, x.batch, x.heads, x.length, x.length, x.head_dim, x.value_dim, {}, true,
            1.0 / std::sqrt(double(x.head_dim)), false);
        kv_cache cache({ x.batch, x.heads, x.head_dim, x.value_dim, x.length }, 0);
        ASSERT_TRUE(cache.allocate().ok());
        scaled_dot_product_attention_op op;
        std::vector<double> want;
        std::vector<float> got;
        // A prefill of 250 tokens (the blocked path), then steps of step_size.
        for (std::size_t from = 0; from < x.length;)
        {
            const std::size_t to = from == 0 ? 250 : std::min(x.length, from + step_size);
            const std::vector<float> out = step(op, cache, x, from, to);
            ASSERT_EQ(cache.length(), to);
            for (std::size_t bh = 0; bh < x.batch * x.heads; ++bh)
                for (std::size_t i = from; i < to; ++i)
                    for (std::size_t d = 0; d < x.value_dim; ++d)
                    {
                        got.push_back(out[(bh * (to - from) + i - from) * x.value_dim + d]);
                        want.push_back(expected.output[(bh * x.length + i) * x.value_dim + d]);
                    }
            from = to;
        }
        EXPECT_TRUE(all_near("output", got.data(), want, tolerance, 0.0));
    }

    INSTANTIATE_TEST_SUITE_P(Steps, DecodingThroughCache, ::testing::Values(1, 3, 16),
                             [](const ::testing::TestParamInfo<std::size_t>& info) {
                                 return "step" + std::to_string(info.param);
                             });

    TEST(BottomRightAlignment, MatchesAnExplicitMask)
    {
        // 3 queries over 300 keys (split-key path), and 40 over 300 (blocked path).
        for (std::size_t queries : { 3, 40 })
        {
            SCOPED_TRACE(queries);
            const heads x = random_heads(1, 2, 300, 8, 8, 5);
            const std::vector<float> q(x.query.begin(), x.query.begin() + x.batch * x.heads * queries * x.head_dim);
            std::vector<double> mask(x.heads * queries * x.length, 0.0);
            for (std::size_t h = 0; h < x.heads; ++h)
                for (std::size_t i = 0; i < queries; ++i)
                    for (std::size_t j = i + x.length - queries + 1; j < x.length; ++j)
                        mask[(h * queries + i) * x.length + j] = -std::numeric_limits<double>::infinity();
            const auto expected = reference::scaled_dot_product_attention(q, x.key, x.value, 1, x.heads, queries, x.length,
                                                                          x.head_dim, x.value_dim, mask, false,
                                                                          1.0 / std::sqrt(8.0), true);
            sdpa_arguments a;
            a.query = { q.data(), q.size(), { 1, x.heads, queries, x.head_dim } };
            a.key = { x.key.data(), x.key.size(), { 1, x.heads, x.length, x.head_dim } };
            a.value = { x.value.data(), x.value.size(), { 1, x.heads, x.length, x.value_dim } };
            a.is_causal = true;
            a.alignment = causal_alignment::bottom_right;
            for (bool need_weights : { false, true })
            {
                a.need_weights = need_weights;
                scaled_dot_product_attention_op op;
                attention_result result;
                ASSERT_TRUE(scaled_dot_product_attention(a, op, result).ok());
                EXPECT_TRUE(all_near("output", result.output, expected.output, tolerance, 0.0));
                if (need_weights)
                {
                    EXPECT_TRUE(all_near("weights", result.weights, expected.weights, tolerance, 0.0));
                }
            }
        }
    }

    TEST(KVCache, RejectedCallsLeaveTheCacheAsItWas)
    {
        const heads x = random_heads(1, 2, 12, 4, 4, 9);
        kv_cache cache({ 1, 2, 4, 4, 8 }, 0), twin({ 1, 2, 4, 4, 8 }, 0);
        ASSERT_TRUE(cache.allocate().ok());
        ASSERT_TRUE(twin.allocate().ok());
        scaled_dot_product_attention_op op;
        step(op, cache, x, 0, 6);
        step(op, twin, x, 0, 6);
        status failure;
        EXPECT_TRUE(step(op, cache, x, 6, 9, &failure).empty());
        EXPECT_EQ(failure.kind(), error_kind::range_error);
        EXPECT_EQ(failure.message(),
                  "cache: appending 3 tokens to a cache of length 6 would exceed its maxLength 8 (truncate() or reset() it, "
                  "or create one with a larger maxLength)");
        EXPECT_EQ(cache.length(), 6u);
        EXPECT_EQ(cache.truncate(7).kind(), error_kind::range_error);
        EXPECT_EQ(cache.length(), 6u);
        EXPECT_EQ(step(op, cache, x, 6, 8), step(op, twin, x, 6, 8));
        EXPECT_TRUE(cache.truncate(6).ok());
        EXPECT_EQ(cache.length(), 6u);
        cache.reset();
        EXPECT_EQ(cache.length(), 0u);
    }

    TEST(KVCache, SizesAreChecked)
    {
        kv_cache empty({ 1, 0, 4, 4, 8 }, 0);
        EXPECT_EQ(empty.allocate().message(), "numHeads: expected a positive integer, got 0");
        EXPECT_FALSE(empty.allocated());
        kv_cache huge({ 1024, 1024, 1024, 1024, 1024 }, 0);
        const status st = huge.allocate();
        EXPECT_EQ(st.kind(), error_kind::range_error);
        EXPECT_NE(st.message().find("per block"), std::string::npos) << st.message();
    }

    TEST(LayerCache, BelongsToTheLayerThatMadeIt)
    {
        attention_config config;
        config.embed_dim = 8;
        config.num_heads = 2;
        multi_head_attention layer(config), other(config);
        std::unique_ptr<kv_cache> cache = layer.create_cache(1, 4);
        ASSERT_TRUE(cache->allocate().ok());
        EXPECT_EQ(cache->config().num_heads, 2u);
        EXPECT_EQ(cache->config().head_dim, 4u);
        EXPECT_EQ(cache->owner(), layer.id());
        EXPECT_NE(layer.id(), other.id());
        std::vector<float> x(8, 0.5f);
        forward_arguments a;
        a.query = a.key = a.value = { x.data(), x.size(), { 1, 1, 8 } };
        a.cache = cache.get();
        attention_result result;
        const status st = other.forward(a, result);
        EXPECT_EQ(st.kind(), error_kind::state_error);
        EXPECT_EQ(st.message(), "cache: expected a cache made by this layer's createCache(), got one that belongs to another layer");
        EXPECT_EQ(cache->length(), 0u);
    }
} // namespace
} // namespace mha::test
