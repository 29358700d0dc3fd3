// mha::scaled_dot_product_attention (online softmax over 64-key tiles, 32-row
// query blocks) against the double reference, over a grid of shapes, masks
// and scales named in the test names.
//
// Shapes: query (B, H, Lq, D), key (B, H, Lk, D), value (B, H, Lk, Dv).
// Every case runs the fast path twice, with and without weights (the two code
// paths differ), and compares both to the reference and to each other.
#include "mha/scaled_dot_product_attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string_view>
#include <type_traits>

#include "comparison.hpp"
#include "reference/reference_attention.hpp"

namespace mha::test
{
namespace
{
    constexpr double unit_roundoff = 0x1p-24;
    // The softmax exp's stated accuracy (exp_nonpositive, src/kernels/exp_minus_max_sum.hpp).
    constexpr double exp_relative_error = 2e-7;
    constexpr float minus_infinity = -std::numeric_limits<float>::infinity();
    // Large-logit cases rescale queries so the largest |score| is exactly this:
    // exp of it overflows float32 unless the row max is subtracted first.
    constexpr double large_logit = 100.0;

    enum class mask_type
    {
        none,
        boolean,
        additive
    };

    struct sdpa_case
    {
        std::size_t batch = 1, heads = 1, query_len = 1, key_len = 1, head_dim = 1, value_dim = 1;
        bool is_causal = false;
        mask_type mask = mask_type::none;
        shape_t mask_shape;
        bool has_scale = false;
        float scale = 1.0f;
        bool large_logits = false;
        bool mask_first_row = false; // mask every key of the mask's first row
        bool infinite_entries = false; // ~20% of additive entries are -inf

        sdpa_case causal() const { auto c = *this; c.is_causal = true; return c; }
        sdpa_case bool_mask(shape_t s) const { auto c = *this; c.mask = mask_type::boolean; c.mask_shape = s; return c; }
        sdpa_case add_mask(shape_t s) const { auto c = *this; c.mask = mask_type::additive; c.mask_shape = s; return c; }
        sdpa_case scaled(float s) const { auto c = *this; c.has_scale = true; c.scale = s; return c; }
        sdpa_case large() const { auto c = *this; c.large_logits = true; return c; }
        sdpa_case masked_row() const { auto c = *this; c.mask_first_row = true; return c; }
        sdpa_case with_inf() const { auto c = *this; c.infinite_entries = true; return c; }
    };

    sdpa_case shape(std::size_t b, std::size_t h, std::size_t lq, std::size_t lk, std::size_t d, std::size_t dv)
    {
        sdpa_case c;
        c.batch = b;
        c.heads = h;
        c.query_len = lq;
        c.key_len = lk;
        c.head_dim = d;
        c.value_dim = dv;
        return c;
    }

    std::string case_name(const sdpa_case& c)
    {
        std::ostringstream out;
        out << "B" << c.batch << "_H" << c.heads << "_Lq" << c.query_len << "_Lk" << c.key_len << "_D" << c.head_dim
            << "_Dv" << c.value_dim;
        if (c.is_causal)
            out << "_causal";
        if (c.mask != mask_type::none)
        {
            out << (c.mask == mask_type::boolean ? "_boolmask_" : "_addmask_");
            for (std::size_t i = 0; i < c.mask_shape.size(); ++i)
                out << (i ? "x" : "") << c.mask_shape[i];
        }
        if (c.infinite_entries)
            out << "_inf";
        if (c.mask_first_row)
            out << "_maskedrow";
        if (c.has_scale)
        {
            std::ostringstream s;
            s << c.scale;
            std::string text = s.str();
            std::replace(text.begin(), text.end(), '.', 'p');
            if (text[0] == '-')
                text = "neg" + text.substr(1);
            out << "_scale" << text;
        }
        if (c.large_logits)
            out << "_large";
        return out.str();
    }

    // The case's seed: 32-bit FNV-1a of its name (offset basis 2166136261,
    // prime 16777619), fixed by this definition rather than by a standard
    // library's std::hash, so a failing case draws the same inputs with
    // libstdc++ (native) and libc++ (WebAssembly). E.g. "a" -> 0xe40c292c.
    constexpr std::uint32_t fnv1a_32(std::string_view text)
    {
        std::uint32_t hash = 2166136261u;
        for (const char c : text)
        {
            hash ^= static_cast<unsigned char>(c);
            hash *= 16777619u;
        }
        return hash;
    }
    static_assert(fnv1a_32("") == 2166136261u && fnv1a_32("a") == 0xe40c292cu, "FNV-1a test vectors");

    // gtest prints a failing parameter with this instead of its bytes.
    void PrintTo(const sdpa_case& c, std::ostream* out) { *out << case_name(c); }

    // Dense (B, H, Lq, Lk) additive mask for the reference, broadcast from the
    // case's mask with NumPy rules (right-aligned, extent 1 repeats).
    template <class T>
    std::vector<double> dense_mask(const sdpa_case& c, const std::vector<T>& data)
    {
        const std::size_t full[4] = { c.batch, c.heads, c.query_len, c.key_len };
        std::size_t stride[4] = { 0, 0, 0, 0 };
        std::size_t step = 1;
        for (std::size_t k = 0; k < c.mask_shape.size(); ++k)
        {
            const std::size_t extent = c.mask_shape[c.mask_shape.size() - 1 - k];
            stride[3 - k] = extent == 1 ? 0 : step;
            step *= extent;
        }
        std::vector<double> dense;
        for (std::size_t b = 0; b < full[0]; ++b)
            for (std::size_t h = 0; h < full[1]; ++h)
                for (std::size_t i = 0; i < full[2]; ++i)
                    for (std::size_t j = 0; j < full[3]; ++j)
                    {
                        const T value = data[b * stride[0] + h * stride[1] + i * stride[2] + j * stride[3]];
                        if constexpr (std::is_same_v<T, std::uint8_t>)
                            dense.push_back(value ? -std::numeric_limits<double>::infinity() : 0.0);
                        else
                            dense.push_back(value);
                    }
        return dense;
    }

    class ScaledDotProductAttention : public ::testing::TestWithParam<sdpa_case>
    {
    };

    TEST_P(ScaledDotProductAttention, MatchesReference)
    {
        const sdpa_case& c = GetParam();
        const std::string name = case_name(c);
        std::mt19937 rng(fnv1a_32(name));
        std::vector<float> query = uniform_values(rng, c.batch * c.heads * c.query_len * c.head_dim, -1.0f, 1.0f);
        const std::vector<float> key = uniform_values(rng, c.batch * c.heads * c.key_len * c.head_dim, -1.0f, 1.0f);
        const std::vector<float> value = uniform_values(rng, c.batch * c.heads * c.key_len * c.value_dim, -1.0f, 1.0f);
        const double scale = c.has_scale ? double(c.scale) : 1.0 / std::sqrt(double(c.head_dim));

        // max over (b, h, i, j) of |scale| * sum_d |q_d k_d|: the magnitude the
        // score's rounding errors scale with.
        const auto max_score_magnitude = [&] {
            double worst = 0.0;
            for (std::size_t bh = 0; bh < c.batch * c.heads; ++bh)
                for (std::size_t i = 0; i < c.query_len; ++i)
                    for (std::size_t j = 0; j < c.key_len; ++j)
                    {
                        double sum = 0.0;
                        for (std::size_t d = 0; d < c.head_dim; ++d)
                            sum += std::fabs(double(query[(bh * c.query_len + i) * c.head_dim + d])
                                             * key[(bh * c.key_len + j) * c.head_dim + d]);
                        worst = std::max(worst, std::fabs(scale) * sum);
                    }
            return worst;
        };
        if (c.large_logits)
        {
            const double factor = large_logit / max_score_magnitude();
            for (float& q : query)
                q = float(q * factor);
        }

        std::vector<std::uint8_t> bool_mask;
        std::vector<float> add_mask;
        std::vector<double> dense;
        mask_tensor_view mask_view;
        double max_finite_mask = 0.0;
        if (c.mask != mask_type::none)
        {
            const std::size_t count = element_count(c.mask_shape);
            std::bernoulli_distribution masked(c.mask == mask_type::boolean ? 0.3 : 0.2);
            if (c.mask == mask_type::boolean)
            {
                for (std::size_t t = 0; t < count; ++t)
                    bool_mask.push_back(masked(rng) || (c.mask_first_row && t < c.mask_shape.back()));
                dense = dense_mask(c, bool_mask);
                mask_view = { mask_kind::boolean, bool_mask.data(), count, c.mask_shape };
            }
            else
            {
                add_mask = uniform_values(rng, count, -3.0f, 3.0f);
                for (std::size_t t = 0; t < count; ++t)
                    if ((c.infinite_entries && masked(rng)) || (c.mask_first_row && t < c.mask_shape.back()))
                        add_mask[t] = minus_infinity;
                    else
                        max_finite_mask = std::max(max_finite_mask, std::fabs(double(add_mask[t])));
                dense = dense_mask(c, add_mask);
                mask_view = { mask_kind::additive, add_mask.data(), count, c.mask_shape };
            }
        }
        const reference::attention_output expected
            = reference::scaled_dot_product_attention(query, key, value, c.batch, c.heads, c.query_len, c.key_len,
                                                      c.head_dim, c.value_dim, dense, c.is_causal, scale, true);

        // Tolerances, from the float32 error of each step:
        // a score is a D-term dot product of pre-scaled queries plus a mask
        // entry: |error| <= score_error; a weight's relative error is at most
        // twice that (numerator and normaliser), plus exp's error twice, plus
        // (Lk + 8) u for the float sum of Lk terms and the 1 / sum scaling;
        // the output sums Lk weighted values: weights' error times max |v|,
        // plus (Lk + 2) u max |v| for the accumulation.
        const double score_error = double(c.head_dim + 4) * unit_roundoff * max_score_magnitude()
            + 2.0 * unit_roundoff * max_finite_mask;
        const double weights_allowed
            = 2.0 * score_error + 2.0 * exp_relative_error + double(c.key_len + 8) * unit_roundoff;
        const double output_allowed = weights_allowed + double(c.key_len + 2) * unit_roundoff; // |v| <= 1

        sdpa_arguments arguments;
        arguments.query = { query.data(), query.size(), { c.batch, c.heads, c.query_len, c.head_dim } };
        arguments.key = { key.data(), key.size(), { c.batch, c.heads, c.key_len, c.head_dim } };
        arguments.value = { value.data(), value.size(), { c.batch, c.heads, c.key_len, c.value_dim } };
        arguments.attn_mask = mask_view;
        arguments.is_causal = c.is_causal;
        arguments.has_scale = c.has_scale;
        arguments.scale = c.scale;

        std::vector<float> outputs[2];
        for (bool need_weights : { false, true })
        {
            SCOPED_TRACE(need_weights ? "needWeights=true" : "needWeights=false");
            arguments.need_weights = need_weights;
            scaled_dot_product_attention_op buffers;
            attention_result result;
            const status st = scaled_dot_product_attention(arguments, buffers, result);
            ASSERT_TRUE(st.ok()) << st.message();
            ASSERT_EQ(result.output_shape, expected.output_shape);
            outputs[need_weights].assign(result.output, result.output + expected.output.size());
            error_stats stats;
            EXPECT_TRUE(all_near("output", result.output, expected.output, output_allowed, 0.0, &stats));
            record(need_weights ? "output_with_weights" : "output", stats);
            if (need_weights)
            {
                ASSERT_NE(result.weights, nullptr);
                ASSERT_EQ(result.weights_shape, expected.weights_shape);
                EXPECT_TRUE(all_near("weights", result.weights, expected.weights, weights_allowed, 0.0, &stats));
                record("weights", stats);
            }
            else
            {
                EXPECT_EQ(result.weights, nullptr);
            }

            // A row whose every key is masked (the reference's weights are all
            // exactly 0) must be exactly 0 in the output and the weights, not NaN.
            for (std::size_t row = 0; row < c.batch * c.heads * c.query_len; ++row)
            {
                const auto w = expected.weights.begin() + row * c.key_len;
                if (std::any_of(w, w + c.key_len, [](double x) { return x != 0.0; }))
                    continue;
                for (std::size_t d = 0; d < c.value_dim; ++d)
                    EXPECT_EQ(result.output[row * c.value_dim + d], 0.0f) << "fully masked row " << row << ", column " << d;
                for (std::size_t j = 0; need_weights && j < c.key_len; ++j)
                    EXPECT_EQ(result.weights[row * c.key_len + j], 0.0f) << "fully masked row " << row << ", key " << j;
            }
        }
        const std::vector<double> without_weights(outputs[0].begin(), outputs[0].end());
        EXPECT_TRUE(all_near("output with weights vs without", outputs[1].data(), without_weights, 2.0 * output_allowed, 0.0));
    }

    // Lk = 130 spans three 64-key tiles (64, 64, 2); Lq = 40 and 130 span two
    // and five 32-row query blocks; D, Dv avoid multiples of 4 and 8.
    const sdpa_case base = shape(2, 3, 5, 7, 5, 3);
    const sdpa_case tiled = shape(1, 2, 40, 130, 7, 9);
    INSTANTIATE_TEST_SUITE_P(
        Grid, ScaledDotProductAttention,
        ::testing::Values(
            shape(1, 1, 1, 1, 1, 1), base, shape(1, 2, 7, 5, 3, 6), shape(1, 1, 3, 130, 16, 7), tiled,
            shape(2, 1, 33, 65, 13, 1),
            // causal: Lq > Lk, Lq < Lk, and square over several tiles and blocks
            shape(1, 2, 9, 4, 5, 5).causal(), shape(2, 2, 5, 11, 6, 3).causal(), shape(1, 1, 130, 130, 8, 5).causal(),
            shape(1, 1, 70, 200, 3, 2).causal(),
            // masks of every broadcast shape, both kinds
            base.bool_mask({ 5, 7 }), base.add_mask({ 5, 7 }), base.bool_mask({ 2, 1, 5, 7 }),
            base.add_mask({ 2, 1, 5, 7 }), base.bool_mask({ 1, 3, 1, 7 }), base.add_mask({ 1, 3, 1, 7 }),
            base.bool_mask({ 7 }), base.add_mask({ 7 }), base.bool_mask({ 2, 3, 5, 7 }), base.add_mask({ 1, 7 }),
            tiled.bool_mask({ 40, 130 }), tiled.add_mask({ 1, 2, 1, 130 }).with_inf(),
            base.add_mask({ 2, 3, 5, 7 }).with_inf(), base.bool_mask({ 5, 7 }).causal(),
            shape(1, 2, 9, 4, 5, 5).add_mask({ 9, 4 }).with_inf().causal(),
            // explicit scales (0 gives uniform weights)
            base.scaled(0.3f), base.scaled(-0.5f), base.scaled(0.0f), tiled.scaled(2.0f).causal(),
            // scores up to +-100
            shape(2, 2, 6, 70, 16, 4).large(), shape(1, 1, 40, 130, 5, 3).large().causal(),
            shape(2, 2, 6, 70, 16, 4).large().add_mask({ 6, 70 }).with_inf(),
            // fully masked rows (every key of some query row)
            base.bool_mask({ 5, 7 }).masked_row(), base.add_mask({ 2, 1, 5, 7 }).masked_row(),
            base.bool_mask({ 1, 3, 1, 7 }).masked_row(), base.add_mask({ 7 }).masked_row(),
            tiled.bool_mask({ 40, 130 }).masked_row(), tiled.add_mask({ 40, 130 }).masked_row().causal(),
            shape(1, 1, 40, 130, 5, 3).large().bool_mask({ 40, 130 }).masked_row()),
        [](const ::testing::TestParamInfo<sdpa_case>& info) { return case_name(info.param); });

} // namespace
} // namespace mha::test
