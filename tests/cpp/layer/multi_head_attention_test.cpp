// mha::multi_head_attention (packed projections + tiled attention) against
// mha::reference::multi_head_attention (double, PyTorch's definitions), over a
// grid of configurations and inputs named in the test names.
//
// Shape glossary: N batch, L query length, S key length, E embed_dim,
// H num_heads, D = E / H; S' = S + appended keys (add_bias_kv, add_zero_attn).
#include "mha/multi_head_attention.hpp"

#include <sstream>

#include "layer_fixture.hpp"
#include "reference/reference_attention.hpp"

namespace mha::test
{
namespace
{
    // Outputs are O(1) (inputs in +-1, weights at PyTorch's init scale) and
    // pass through three float32 GEMMs of <= 32 terms and a softmax over
    // <= 130 keys: error ~ a few hundred ulps of 1 in the worst case, so
    // atol 1e-5 + rtol 1e-4 leaves room without hiding a wrong element.
    constexpr double output_atol = 1e-5, output_rtol = 1e-4;
    // Weights are in [0, 1]: same error budget without the output projection.
    constexpr double weights_atol = 1e-5;
    // Float32 rounding gives NMSE ~1e-13; a single wrong element among a few
    // hundred O(1) values would give > 1e-4.
    constexpr double max_nmse = 1e-9;

    struct mha_case
    {
        attention_config config;
        input_spec inputs;
        bool is_causal = false;
        bool need_weights = true;
        bool average = true;
    };

    std::string case_name(const mha_case& c)
    {
        const attention_config& k = c.config;
        const input_spec& in = c.inputs;
        const char* mask_names[] = { "", "bool", "float" };
        std::ostringstream out;
        out << "E" << k.embed_dim << "_H" << k.num_heads;
        if (k.kdim)
            out << "_kdim" << k.kdim;
        if (k.vdim)
            out << "_vdim" << k.vdim;
        out << (k.bias ? "" : "_nobias") << (k.add_bias_kv ? "_biaskv" : "") << (k.add_zero_attn ? "_zeroattn" : "");
        if (in.batch == 0)
            out << "_unbatched";
        else
            out << (k.batch_first ? "_batchfirst" : "") << "_N" << in.batch;
        out << "_L" << in.query_len << "_S" << in.key_len;
        if (in.key_padding != mask_type::none)
            out << "_kpm" << mask_names[int(in.key_padding)];
        if (in.attn != mask_type::none)
            out << "_attn" << mask_names[int(in.attn)] << (in.attn_per_head ? "3d" : "2d");
        out << (c.is_causal ? "_causal" : "") << (in.pad_first_item ? "_padfirst" : "");
        out << (!c.need_weights ? "_noweights" : c.average ? "_weightsavg" : "_weightsheads");
        return out.str();
    }

    void PrintTo(const mha_case& c, std::ostream* out) { *out << case_name(c); }

    std::uint32_t seed_of(const std::string& name)
    {
        std::uint32_t h = 2166136261u; // FNV-1a: stable across standard libraries
        for (char ch : name)
            h = (h ^ static_cast<unsigned char>(ch)) * 16777619u;
        return h;
    }

    class MultiHeadAttention : public ::testing::TestWithParam<mha_case>
    {
    };

    TEST_P(MultiHeadAttention, MatchesReference)
    {
        const mha_case& c = GetParam();
        const std::uint32_t seed = seed_of(case_name(c));
        multi_head_attention layer(c.config);
        const auto state = random_state_dict(layer, seed);
        const status loaded = layer.load_weights(named_weights(layer, state));
        ASSERT_TRUE(loaded.ok()) << loaded.message();

        layer_inputs in = random_inputs(c.config, c.inputs, seed + 1);
        in.arguments.is_causal = c.is_causal;
        in.arguments.need_weights = c.need_weights;
        in.arguments.average_attn_weights = c.average;
        const layer_outputs actual = run_forward(layer, in.arguments);
        ASSERT_TRUE(actual.result.ok()) << actual.result.message();
        const reference::attention_output expected = reference::multi_head_attention(c.config, state, in.arguments);

        ASSERT_EQ(actual.output_shape, expected.output_shape);
        error_stats stats;
        EXPECT_TRUE(all_near("output", actual.output.data(), expected.output, output_atol, output_rtol, &stats));
        EXPECT_LT(stats.nmse, max_nmse);
        record("output", stats);
        if (c.need_weights)
        {
            ASSERT_EQ(actual.weights_shape, expected.weights_shape);
            EXPECT_TRUE(all_near("weights", actual.weights.data(), expected.weights, weights_atol, 0.0, &stats));
            EXPECT_LT(stats.nmse, max_nmse);
            record("weights", stats);
        }
        else
        {
            EXPECT_TRUE(actual.weights.empty());
            EXPECT_TRUE(actual.weights_shape.empty());
        }

        // Batch item 0 with every key padded (and no appended key to fall back
        // on): attention gives zeros, so its output rows are out_proj.bias
        // exactly (0 * w sums to exactly 0), and its weights rows are 0.
        if (c.inputs.pad_first_item && c.config.appended_keys() == 0)
        {
            const std::size_t e = c.config.embed_dim, l = c.inputs.query_len;
            const bool seq_first = c.inputs.batch > 0 && !c.config.batch_first;
            const std::vector<float> no_bias(e, 0.0f);
            const std::vector<float>& bias = c.config.bias ? state.at("out_proj.bias") : no_bias;
            for (std::size_t i = 0; i < l; ++i)
                for (std::size_t o = 0; o < e; ++o)
                    EXPECT_EQ(actual.output[(seq_first ? i * c.inputs.batch : i) * e + o], bias[o])
                        << "padded item 0, query " << i << ", channel " << o;
            const std::size_t item0_weights = element_count(actual.weights_shape) / std::max<std::size_t>(c.inputs.batch, 1);
            for (std::size_t t = 0; c.need_weights && t < item0_weights; ++t)
                EXPECT_EQ(actual.weights[t], 0.0f) << "padded item 0, weight " << t;
        }
    }

    attention_config config(std::size_t e, std::size_t h, std::size_t kdim = 0, std::size_t vdim = 0)
    {
        attention_config c;
        c.embed_dim = e;
        c.num_heads = h;
        c.kdim = kdim;
        c.vdim = vdim;
        return c;
    }

    // Small builder so the grid below reads as a list of variations.
    struct make
    {
        mha_case c;
        make(attention_config k, std::size_t batch, std::size_t l, std::size_t s)
        {
            c.config = k;
            c.inputs.batch = batch;
            c.inputs.query_len = l;
            c.inputs.key_len = s;
        }
        make& batch_first() { c.config.batch_first = true; return *this; }
        make& no_bias() { c.config.bias = false; return *this; }
        make& bias_kv() { c.config.add_bias_kv = true; return *this; }
        make& zero_attn() { c.config.add_zero_attn = true; return *this; }
        make& padding(mask_type t) { c.inputs.key_padding = t; return *this; }
        make& attn(mask_type t, bool per_head) { c.inputs.attn = t; c.inputs.attn_per_head = per_head; return *this; }
        make& causal() { c.is_causal = true; return *this; }
        make& pad_first() { c.inputs.pad_first_item = true; return *this; }
        make& no_weights() { c.need_weights = false; return *this; }
        make& per_head_weights() { c.average = false; return *this; }
        operator mha_case() const { return c; }
    };

    constexpr mask_type bool_mask = mask_type::boolean, float_mask = mask_type::additive;

    // Head dims 3, 5, 7, 8, 16 (E6/H2, E15/H3, E7/H1, E16/H2, E32/H2).
    INSTANTIATE_TEST_SUITE_P(
        Grid, MultiHeadAttention,
        ::testing::Values<mha_case>(
            make(config(6, 2), 2, 3, 5), make(config(15, 3), 3, 4, 4).batch_first(), make(config(7, 1), 0, 5, 3),
            make(config(16, 2), 1, 6, 9).per_head_weights(), make(config(32, 2), 2, 5, 7).no_weights(),
            make(config(16, 2), 1, 40, 130).batch_first(), // 32-row query blocks, 64-key tiles
            // kdim / vdim != embed_dim: separate q/k/v_proj_weight
            make(config(10, 2, 4, 9), 2, 3, 6), make(config(10, 2, 4, 9), 3, 5, 2).batch_first(),
            make(config(15, 3, 7, 3), 0, 4, 6).per_head_weights(),
            make(config(8, 1), 2, 4, 3).no_bias(), make(config(10, 2, 3, 5), 1, 2, 5).no_bias().batch_first(),
            // appended keys, which masks and causality never touch
            make(config(6, 2), 2, 3, 5).bias_kv(), make(config(15, 3), 2, 4, 3).zero_attn().batch_first(),
            make(config(16, 2), 2, 5, 4).bias_kv().zero_attn().padding(bool_mask).attn(float_mask, true),
            make(config(14, 2), 0, 3, 6).bias_kv().zero_attn().causal().per_head_weights(),
            make(config(10, 2, 4, 9), 2, 3, 5).bias_kv().padding(bool_mask).pad_first(),
            // masks
            make(config(6, 2), 2, 3, 5).padding(bool_mask), make(config(15, 3), 3, 4, 6).padding(float_mask).batch_first(),
            make(config(7, 1), 0, 4, 6).padding(bool_mask), make(config(16, 2), 2, 5, 7).attn(bool_mask, false),
            make(config(16, 2), 2, 5, 7).attn(float_mask, false).batch_first(),
            make(config(6, 2), 3, 3, 4).attn(bool_mask, true).per_head_weights(),
            make(config(6, 2), 0, 3, 4).attn(float_mask, true).per_head_weights(),
            make(config(15, 3), 2, 6, 5).padding(float_mask).attn(bool_mask, true).no_weights(),
            make(config(16, 2), 2, 40, 130).padding(bool_mask).attn(float_mask, false),
            // causal alone and with masks, L > S and L < S
            make(config(6, 2), 2, 5, 3).causal(), make(config(15, 3), 1, 3, 7).causal().batch_first(),
            make(config(7, 1), 0, 6, 6).causal().padding(float_mask),
            make(config(16, 2), 2, 5, 8).causal().attn(bool_mask, true).per_head_weights(),
            make(config(32, 2), 1, 70, 70).causal().padding(bool_mask).no_weights(),
            // the last key tile holds the appended keys: above the diagonal for
            // query rows 0..31, yet it must not be skipped
            make(config(16, 2), 1, 40, 100).causal().bias_kv().zero_attn().no_weights(),
            // the same with weights, whose blocks score only the keys they can
            // see: that range must still reach the appended keys
            make(config(16, 2), 1, 40, 100).causal().bias_kv().zero_attn().per_head_weights(),
            // fully masked rows: every key of item 0 padded
            make(config(6, 2), 2, 3, 5).padding(bool_mask).pad_first(),
            make(config(15, 3), 3, 4, 6).padding(float_mask).pad_first().batch_first().per_head_weights(),
            make(config(16, 2), 2, 3, 70).padding(bool_mask).pad_first().no_weights(),
            make(config(7, 1), 0, 3, 4).padding(bool_mask).pad_first().causal(),
            make(config(8, 2), 2, 4, 4).padding(bool_mask).pad_first().no_bias()),
        [](const ::testing::TestParamInfo<mha_case>& info) { return case_name(info.param); });

    // One layer called with changing shapes, masks and flags (its scratch
    // grows and shrinks) gives bit-identical results to a fresh layer with the
    // same weights for each call.
    TEST(MultiHeadAttentionScratch, RepeatedForwardMatchesFreshLayers)
    {
        attention_config k = config(16, 2);
        k.add_zero_attn = true;
        multi_head_attention reused(k);
        const auto state = random_state_dict(reused, 99);
        ASSERT_TRUE(reused.load_weights(named_weights(reused, state)).ok());

        struct call
        {
            input_spec spec;
            bool causal, need_weights, average;
        };
        const call calls[] = {
            { { 2, 40, 130, mask_type::boolean, mask_type::additive, true, false }, false, true, false },
            { { 1, 3, 2, mask_type::none, mask_type::none, false, false }, false, true, true },
            { { 0, 5, 7, mask_type::additive, mask_type::boolean, false, false }, true, false, true },
            { { 3, 33, 65, mask_type::boolean, mask_type::none, false, true }, true, true, true },
            { { 1, 3, 2, mask_type::none, mask_type::none, false, false }, false, true, true },
            { { 2, 40, 130, mask_type::boolean, mask_type::additive, true, false }, false, false, true },
        };
        std::uint32_t seed = 500;
        for (const call& each : calls)
        {
            layer_inputs in = random_inputs(k, each.spec, ++seed);
            in.arguments.is_causal = each.causal;
            in.arguments.need_weights = each.need_weights;
            in.arguments.average_attn_weights = each.average;
            multi_head_attention fresh(k);
            ASSERT_TRUE(fresh.load_weights(named_weights(fresh, state)).ok());
            const layer_outputs a = run_forward(reused, in.arguments), b = run_forward(fresh, in.arguments);
            ASSERT_TRUE(a.result.ok() && b.result.ok()) << a.result.message() << b.result.message();
            SCOPED_TRACE(::testing::Message() << "call N=" << each.spec.batch << " L=" << each.spec.query_len
                                              << " S=" << each.spec.key_len);
            EXPECT_EQ(a.output_shape, b.output_shape);
            EXPECT_EQ(a.output, b.output);
            EXPECT_EQ(a.weights_shape, b.weights_shape);
            EXPECT_EQ(a.weights, b.weights);
        }
    }
} // namespace
} // namespace mha::test
