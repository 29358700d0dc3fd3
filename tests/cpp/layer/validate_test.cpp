// Every rejected call returns a non-ok status of the right kind whose message
// names the argument (with the JavaScript API's names), and leaves the layer
// or buffers usable: the next valid call gives bit-identical results.
//
// Shape glossary: N batch, L query length, S key length, E embed_dim.
// The layer here is E = 8, H = 2, kdim = 6, vdim = 5, sequence-first, with
// query (L=3, N=2, E), key (S=5, N, kdim), value (S, N, vdim).
#include <algorithm>
#include <functional>
#include <limits>

#include "layer_fixture.hpp"
#include "mha/scaled_dot_product_attention.hpp"

namespace mha::test
{
namespace
{
    // Where a mutation can point data that must be longer than the valid inputs.
    std::vector<float> spare(1000, 0.5f);
    std::vector<std::uint8_t> spare_mask(1000, 0);

    struct rejection
    {
        std::string name;
        std::function<void(forward_arguments&)> mutate;
        std::vector<std::string> message_parts;
        error_kind kind = error_kind::range_error;
    };

    void PrintTo(const rejection& r, std::ostream* out) { *out << r.name; }

    std::string describe(const status& st)
    {
        return st.ok() ? std::string("ok") : "kind " + std::to_string(int(st.kind())) + ": " + st.message();
    }

    ::testing::AssertionResult rejected_as(const status& st, error_kind kind, const std::vector<std::string>& parts)
    {
        if (st.ok() || st.kind() != kind)
            return ::testing::AssertionFailure() << "expected kind " << int(kind) << ", got " << describe(st);
        for (const std::string& part : parts)
            if (st.message().find(part) == std::string::npos)
                return ::testing::AssertionFailure() << "message lacks '" << part << "': " << st.message();
        return ::testing::AssertionSuccess();
    }

    attention_config layer_config()
    {
        attention_config c;
        c.embed_dim = 8;
        c.num_heads = 2;
        c.kdim = 6;
        c.vdim = 5;
        return c;
    }

    class ForwardValidation : public ::testing::TestWithParam<rejection>
    {
    };

    TEST_P(ForwardValidation, RejectsAndStaysUsable)
    {
        multi_head_attention layer(layer_config());
        const auto state = random_state_dict(layer, 1);
        ASSERT_TRUE(layer.load_weights(named_weights(layer, state)).ok());
        input_spec spec;
        spec.batch = 2;
        spec.query_len = 3;
        spec.key_len = 5;
        spec.key_padding = mask_type::boolean;
        spec.attn = mask_type::additive;
        layer_inputs in = random_inputs(layer_config(), spec, 2);
        const layer_outputs before = run_forward(layer, in.arguments);
        ASSERT_TRUE(before.result.ok()) << before.result.message();

        forward_arguments bad = in.arguments;
        GetParam().mutate(bad);
        const layer_outputs rejected = run_forward(layer, bad);
        EXPECT_TRUE(rejected_as(rejected.result, GetParam().kind, GetParam().message_parts));

        const layer_outputs after = run_forward(layer, in.arguments);
        ASSERT_TRUE(after.result.ok()) << after.result.message();
        EXPECT_EQ(after.output, before.output);
        EXPECT_EQ(after.weights, before.weights);
    }

    const auto with_shape = [](float_tensor_view forward_arguments::*field, shape_t shape, std::size_t length) {
        return [=](forward_arguments& a) {
            (a.*field).shape = shape;
            (a.*field).length = length;
            (a.*field).data = spare.data();
        };
    };
    const auto query = &forward_arguments::query;
    const auto key = &forward_arguments::key;
    const auto value = &forward_arguments::value;

    INSTANTIATE_TEST_SUITE_P(
        Layer, ForwardValidation,
        ::testing::Values(
            rejection { "QueryLengthDisagreesWithShape", [](forward_arguments& a) { a.query.length -= 1; }, { "query", "48", "47" } },
            rejection { "QueryRank1", with_shape(query, { 8 }, 8), { "query", "1-D" } },
            rejection { "QueryRank4", with_shape(query, { 1, 3, 2, 8 }, 48), { "query", "4-D" } },
            rejection { "KeyRankDiffersFromQuery", with_shape(key, { 10, 6 }, 60), { "key", "3-D" } },
            rejection { "ValueRankDiffersFromQuery", with_shape(value, { 1, 5, 2, 5 }, 50), { "value" } },
            rejection { "QueryLastDimNotEmbedDim", with_shape(query, { 3, 2, 4 }, 24), { "query", "embedDim=8" } },
            rejection { "KeyLastDimNotKdim", with_shape(key, { 5, 2, 8 }, 80), { "key", "kdim=6" } },
            rejection { "ValueLastDimNotVdim", with_shape(value, { 5, 2, 6 }, 60), { "value", "vdim=5" } },
            rejection { "KeyBatchMismatch", with_shape(key, { 5, 3, 6 }, 90), { "key", "batch size 2" } },
            rejection { "ValueBatchMismatch", with_shape(value, { 5, 1, 5 }, 25), { "value", "batch size 2" } },
            rejection { "KeyValueLengthMismatch", with_shape(value, { 4, 2, 5 }, 40), { "value", "sequence length 5" } },
            rejection { "ZeroDimension", with_shape(query, { 0, 2, 8 }, 0), { "query", ">= 1" } },
            rejection { "ZeroKeyLength", with_shape(key, { 5, 2, 0 }, 0), { "key", ">= 1" } },
            rejection { "KeyPaddingMaskWrongShape",
                        [](forward_arguments& a) { a.key_padding_mask.shape = { 2, 4 }; a.key_padding_mask.length = 8; },
                        { "keyPaddingMask", "[2, 5]" } },
            rejection { "KeyPaddingMaskTransposed",
                        [](forward_arguments& a) { a.key_padding_mask.shape = { 5, 2 }; },
                        { "keyPaddingMask", "[5, 2]" } },
            rejection { "KeyPaddingMaskWrongLength", [](forward_arguments& a) { a.key_padding_mask.length = 9; },
                        { "keyPaddingMask", "9" } },
            rejection { "AttnMaskWrongShape",
                        [](forward_arguments& a) { a.attn_mask.shape = { 3, 4 }; a.attn_mask.length = 12; },
                        { "attnMask", "[3, 4]" } },
            rejection { "AttnMask3DWrongFirstDim",
                        [](forward_arguments& a) {
                            a.attn_mask = { mask_kind::boolean, spare_mask.data(), 45, { 3, 3, 5 } };
                        },
                        { "attnMask", "[4, 3, 5]" } },
            rejection { "AttnMaskRank4",
                        [](forward_arguments& a) {
                            a.attn_mask = { mask_kind::boolean, spare_mask.data(), 60, { 2, 2, 3, 5 } };
                        },
                        { "attnMask" } },
            rejection { "AttnMaskWrongLength", [](forward_arguments& a) { a.attn_mask.length = 14; }, { "attnMask", "14" } }),
        [](const ::testing::TestParamInfo<rejection>& info) { return info.param.name; });

    TEST(ConfigValidation, RejectsBadConfigsNamingTheArgument)
    {
        const auto check = [](std::size_t e, std::size_t h, std::vector<std::string> parts) {
            attention_config c;
            c.embed_dim = e;
            c.num_heads = h;
            EXPECT_TRUE(rejected_as(multi_head_attention::check_config(c), error_kind::range_error, parts)) << e << "/" << h;
            // A layer built from it fails every call with the same error.
            multi_head_attention layer(c);
            EXPECT_TRUE(rejected_as(layer.load_weights({}), error_kind::range_error, parts));
            attention_result result;
            EXPECT_TRUE(rejected_as(layer.forward({}, result), error_kind::range_error, parts));
        };
        check(0, 2, { "embedDim" });
        check(8, 0, { "numHeads" });
        check(10, 4, { "embedDim", "numHeads=4", "10" });
        attention_config good;
        good.embed_dim = 12;
        good.num_heads = 4;
        EXPECT_TRUE(multi_head_attention::check_config(good).ok());
    }

    TEST(ForwardValidationState, ForwardBeforeLoadWeightsIsAStateError)
    {
        multi_head_attention layer(layer_config());
        input_spec spec;
        spec.batch = 2;
        spec.query_len = 3;
        spec.key_len = 5;
        layer_inputs in = random_inputs(layer_config(), spec, 3);
        EXPECT_TRUE(rejected_as(run_forward(layer, in.arguments).result, error_kind::state_error, { "loadWeights" }));
        ASSERT_TRUE(layer.load_weights(named_weights(layer, random_state_dict(layer, 4))).ok());
        EXPECT_TRUE(run_forward(layer, in.arguments).result.ok());
    }

    struct weights_rejection
    {
        std::string name;
        std::function<void(std::vector<named_weight>&)> mutate;
        std::vector<std::string> message_parts;
    };

    void PrintTo(const weights_rejection& r, std::ostream* out) { *out << r.name; }

    class LoadWeightsValidation : public ::testing::TestWithParam<weights_rejection>
    {
    };

    named_weight& find(std::vector<named_weight>& weights, const std::string& name)
    {
        return *std::find_if(weights.begin(), weights.end(), [&](const named_weight& w) { return w.name == name; });
    }

    // All-or-nothing loading: a rejected state_dict leaves a loaded layer's
    // weights untouched, and an unloaded layer unloaded.
    TEST_P(LoadWeightsValidation, RejectsAndKeepsPreviousWeights)
    {
        multi_head_attention layer(layer_config()), unloaded(layer_config());
        const auto state = random_state_dict(layer, 5), other_state = random_state_dict(layer, 6);
        ASSERT_TRUE(layer.load_weights(named_weights(layer, state)).ok());
        input_spec spec;
        spec.batch = 2;
        spec.query_len = 3;
        spec.key_len = 5;
        layer_inputs in = random_inputs(layer_config(), spec, 7);
        const layer_outputs before = run_forward(layer, in.arguments);
        ASSERT_TRUE(before.result.ok());

        std::vector<named_weight> bad = named_weights(layer, other_state);
        GetParam().mutate(bad);
        EXPECT_TRUE(rejected_as(layer.load_weights(bad), error_kind::range_error, GetParam().message_parts));
        EXPECT_TRUE(layer.weights_loaded());
        const layer_outputs after = run_forward(layer, in.arguments);
        ASSERT_TRUE(after.result.ok()) << after.result.message();
        EXPECT_EQ(after.output, before.output);
        EXPECT_EQ(after.weights, before.weights);

        EXPECT_TRUE(rejected_as(unloaded.load_weights(bad), error_kind::range_error, GetParam().message_parts));
        EXPECT_FALSE(unloaded.weights_loaded());
        EXPECT_TRUE(rejected_as(run_forward(unloaded, in.arguments).result, error_kind::state_error, { "loadWeights" }));
    }

    INSTANTIATE_TEST_SUITE_P(
        Layer, LoadWeightsValidation,
        ::testing::Values(
            weights_rejection { "MissingKey",
                                [](std::vector<named_weight>& w) {
                                    w.erase(std::find_if(w.begin(), w.end(), [](auto& x) { return x.name == "out_proj.bias"; }));
                                },
                                { "stateDict", "missing", "'out_proj.bias'" } },
            weights_rejection { "UnexpectedKey",
                                [](std::vector<named_weight>& w) { w.push_back({ "bogus", { spare.data(), 8, { 8 } } }); },
                                { "stateDict", "unexpected key 'bogus'" } },
            // kdim != embed_dim: PyTorch has separate q/k/v weights, no packed one.
            weights_rejection { "PackedInProjForSeparateConfig",
                                [](std::vector<named_weight>& w) {
                                    w.push_back({ "in_proj_weight", { spare.data(), 192, { 24, 8 } } });
                                },
                                { "stateDict", "'in_proj_weight'", "'q_proj_weight'" } },
            weights_rejection { "DuplicateKey", [](std::vector<named_weight>& w) { w.push_back(w.front()); },
                                { "stateDict", "'q_proj_weight'", "twice" } },
            weights_rejection { "WrongLength",
                                [](std::vector<named_weight>& w) {
                                    find(w, "out_proj.bias").tensor.length = 7;
                                    find(w, "out_proj.bias").tensor.shape.clear();
                                },
                                { "stateDict['out_proj.bias']", "8", "7" } },
            weights_rejection { "WrongShape",
                                [](std::vector<named_weight>& w) { find(w, "k_proj_weight").tensor.shape = { 6, 8 }; },
                                { "stateDict['k_proj_weight']", "[8, 6]", "[6, 8]" } },
            weights_rejection { "ShapeDisagreesWithLength",
                                [](std::vector<named_weight>& w) { find(w, "in_proj_bias").tensor.length = 23; },
                                { "stateDict['in_proj_bias']", "24", "23" } }),
        [](const ::testing::TestParamInfo<weights_rejection>& info) { return info.param.name; });

    // A flat array (empty shape) of the right length is accepted.
    TEST(LoadWeightsValidationFlat, FlatArraysOfTheRightLengthLoad)
    {
        multi_head_attention layer(layer_config());
        const auto state = random_state_dict(layer, 8);
        std::vector<named_weight> flat = named_weights(layer, state);
        for (named_weight& w : flat)
            w.tensor.shape.clear();
        const status st = layer.load_weights(flat);
        EXPECT_TRUE(st.ok()) << st.message();
    }
} // namespace
} // namespace mha::test
