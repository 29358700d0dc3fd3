// mha::scaled_dot_product_attention: NaN propagation and buffer reuse, the
// two behaviours the reference comparison in
// scaled_dot_product_attention_test.cpp cannot see.
//
// Shapes: query (B, H, Lq, D), key (B, H, Lk, D), value (B, H, Lk, Dv).
#include "mha/scaled_dot_product_attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "comparison.hpp"

namespace mha::test
{
namespace
{
    struct owned_sdpa
    {
        std::vector<float> query, key, value;
        sdpa_arguments arguments;
    };

    owned_sdpa make_sdpa(std::size_t b, std::size_t h, std::size_t lq, std::size_t lk, std::size_t d, std::size_t dv,
                         std::uint32_t seed)
    {
        std::mt19937 rng(seed);
        owned_sdpa o;
        o.query = uniform_values(rng, b * h * lq * d, -1.0f, 1.0f);
        o.key = uniform_values(rng, b * h * lk * d, -1.0f, 1.0f);
        o.value = uniform_values(rng, b * h * lk * dv, -1.0f, 1.0f);
        o.arguments.query = { o.query.data(), o.query.size(), { b, h, lq, d } };
        o.arguments.key = { o.key.data(), o.key.size(), { b, h, lk, d } };
        o.arguments.value = { o.value.data(), o.value.size(), { b, h, lk, dv } };
        return o;
    }

    // A NaN score must not be mistaken for a masked key (row_max.hpp): a NaN in
    // one query row makes that output row NaN, on both paths, and leaves the
    // other rows alone. Lk = 130 puts NaN scores in every key tile.
    TEST(ScaledDotProductAttentionSpecial, NanInQueryPropagatesToItsRowOnly)
    {
        for (std::size_t key_len : { 5, 130 })
            for (bool need_weights : { false, true })
            {
                owned_sdpa o = make_sdpa(1, 1, 3, key_len, 4, 2, 7);
                o.query[1 * 4 + 2] = std::numeric_limits<float>::quiet_NaN();
                o.arguments.need_weights = need_weights;
                scaled_dot_product_attention_op buffers;
                attention_result result;
                ASSERT_TRUE(scaled_dot_product_attention(o.arguments, buffers, result).ok());
                for (std::size_t i = 0; i < 3; ++i)
                    for (std::size_t d = 0; d < 2; ++d)
                        EXPECT_EQ(std::isnan(result.output[i * 2 + d]), i == 1)
                            << "Lk=" << key_len << " needWeights=" << need_weights << " output[" << i << "][" << d
                            << "] = " << result.output[i * 2 + d];
            }
    }

    // One scaled_dot_product_attention_op reused across shapes (large, small, large again,
    // weights on and off) gives bit-identical results to fresh buffers.
    TEST(ScaledDotProductAttentionSpecial, ReusedBuffersMatchFreshOnes)
    {
        scaled_dot_product_attention_op shared;
        const std::size_t shapes[][6] = { { 2, 2, 40, 130, 7, 9 }, { 1, 1, 3, 5, 2, 3 }, { 1, 3, 33, 70, 16, 4 } };
        std::uint32_t seed = 100;
        for (int round = 0; round < 2; ++round)
            for (const auto& s : shapes)
                for (bool need_weights : { true, false })
                {
                    owned_sdpa o = make_sdpa(s[0], s[1], s[2], s[3], s[4], s[5], ++seed);
                    o.arguments.need_weights = need_weights;
                    o.arguments.is_causal = round == 1;
                    scaled_dot_product_attention_op fresh;
                    attention_result reused_result, fresh_result;
                    ASSERT_TRUE(scaled_dot_product_attention(o.arguments, shared, reused_result).ok());
                    ASSERT_TRUE(scaled_dot_product_attention(o.arguments, fresh, fresh_result).ok());
                    const std::size_t n = s[0] * s[1] * s[2] * s[5];
                    EXPECT_TRUE(std::equal(reused_result.output, reused_result.output + n, fresh_result.output))
                        << "shape " << s[0] << "," << s[1] << "," << s[2] << "," << s[3] << "," << s[4] << "," << s[5]
                        << " needWeights=" << need_weights << " causal=" << (round == 1);
                }
    }
} // namespace
} // namespace mha::test
