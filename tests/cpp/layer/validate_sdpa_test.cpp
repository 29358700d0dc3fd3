// scaled_dot_product_attention rejects bad arguments with a range error
// naming the argument, and the same buffers serve the next valid call.
//
// Valid call: query (B=2, H=2, Lq=3, D=5), key (2, 2, Lk=4, 5),
// value (2, 2, 4, Dv=3), additive attn_mask (3, 4).
#include <cmath>
#include <functional>
#include <limits>

#include "comparison.hpp"
#include "mha/scaled_dot_product_attention.hpp"

namespace mha::test
{
namespace
{
    std::vector<float> spare(1000, 0.25f);

    struct sdpa_rejection
    {
        std::string name;
        std::function<void(sdpa_arguments&)> mutate;
        std::vector<std::string> message_parts;
    };

    void PrintTo(const sdpa_rejection& r, std::ostream* out) { *out << r.name; }

    class SdpaValidation : public ::testing::TestWithParam<sdpa_rejection>
    {
    };

    TEST_P(SdpaValidation, RejectsAndStaysUsable)
    {
        std::mt19937 rng(11);
        const std::vector<float> q = uniform_values(rng, 60, -1, 1), k = uniform_values(rng, 80, -1, 1),
                                 v = uniform_values(rng, 48, -1, 1), mask = uniform_values(rng, 12, -1, 1);
        sdpa_arguments good;
        good.query = { q.data(), q.size(), { 2, 2, 3, 5 } };
        good.key = { k.data(), k.size(), { 2, 2, 4, 5 } };
        good.value = { v.data(), v.size(), { 2, 2, 4, 3 } };
        good.attn_mask = { mask_kind::additive, mask.data(), mask.size(), { 3, 4 } };
        good.need_weights = true;

        scaled_dot_product_attention_op buffers;
        attention_result result;
        ASSERT_TRUE(scaled_dot_product_attention(good, buffers, result).ok());
        const std::vector<float> before(result.output, result.output + 36);

        sdpa_arguments bad = good;
        GetParam().mutate(bad);
        const status st = scaled_dot_product_attention(bad, buffers, result);
        EXPECT_FALSE(st.ok());
        EXPECT_EQ(st.kind(), error_kind::range_error) << st.message();
        for (const std::string& part : GetParam().message_parts)
            EXPECT_NE(st.message().find(part), std::string::npos) << "message lacks '" << part << "': " << st.message();

        ASSERT_TRUE(scaled_dot_product_attention(good, buffers, result).ok());
        EXPECT_EQ(std::vector<float>(result.output, result.output + 36), before);
    }

    const auto with_shape = [](float_tensor_view sdpa_arguments::*field, shape_t shape) {
        return [=](sdpa_arguments& a) {
            (a.*field) = { spare.data(), element_count(shape), shape };
        };
    };
    const auto query = &sdpa_arguments::query;
    const auto key = &sdpa_arguments::key;
    const auto value = &sdpa_arguments::value;
    const auto mask_shape = [](shape_t shape) {
        return [=](sdpa_arguments& a) { a.attn_mask = { mask_kind::additive, spare.data(), element_count(shape), shape }; };
    };
    const auto scale = [](float s) {
        return [=](sdpa_arguments& a) {
            a.has_scale = true;
            a.scale = s;
        };
    };

    INSTANTIATE_TEST_SUITE_P(
        Free, SdpaValidation,
        ::testing::Values(
            sdpa_rejection { "QueryRank3", with_shape(query, { 2, 3, 5 }), { "query", "4-D" } },
            sdpa_rejection { "KeyRank5", with_shape(key, { 1, 2, 2, 4, 5 }), { "key", "4-D" } },
            sdpa_rejection { "ValueRank2", with_shape(value, { 16, 3 }), { "value", "4-D" } },
            sdpa_rejection { "QueryLengthDisagreesWithShape", [](sdpa_arguments& a) { a.query.length = 59; },
                             { "query", "60", "59" } },
            sdpa_rejection { "ZeroDimension", with_shape(query, { 2, 2, 0, 5 }), { "query", ">= 1" } },
            sdpa_rejection { "KeyHeadDimMismatch", with_shape(key, { 2, 2, 4, 6 }), { "key", "head dim" } },
            sdpa_rejection { "KeyBatchMismatch", with_shape(key, { 1, 2, 4, 5 }), { "key", "batch size 2 like query" } },
            sdpa_rejection { "KeyHeadsMismatch", with_shape(key, { 2, 3, 4, 5 }), { "key", "divides query's 2" } },
            sdpa_rejection { "ValueLengthMismatch", with_shape(value, { 2, 2, 5, 3 }), { "value", "length from key" } },
            sdpa_rejection { "ValueBatchMismatch", with_shape(value, { 2, 1, 4, 3 }), { "value" } },
            sdpa_rejection { "MaskNotBroadcastable", mask_shape({ 3, 3 }), { "attnMask", "broadcasts", "[3, 3]" } },
            sdpa_rejection { "MaskWrongBatch", mask_shape({ 3, 1, 3, 4 }), { "attnMask", "[2, 2, 3, 4]" } },
            sdpa_rejection { "MaskRank5", mask_shape({ 1, 1, 1, 3, 4 }), { "attnMask" } },
            sdpa_rejection { "MaskWrongLength", [](sdpa_arguments& a) { a.attn_mask.length = 11; },
                             { "attnMask", "12", "11" } },
            sdpa_rejection { "ScaleNan", scale(std::numeric_limits<float>::quiet_NaN()), { "scale", "finite" } },
            sdpa_rejection { "ScaleInfinite", scale(std::numeric_limits<float>::infinity()), { "scale", "finite" } },
            sdpa_rejection { "ScaleMinusInfinite", scale(-std::numeric_limits<float>::infinity()), { "scale" } }),
        [](const ::testing::TestParamInfo<sdpa_rejection>& info) { return info.param.name; });
} // namespace
} // namespace mha::test
