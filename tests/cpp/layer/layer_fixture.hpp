// Random PyTorch-layout weights and inputs for mha::multi_head_attention
// tests, owned together with the views that point into them.
//
// Shape glossary: N batch, L query length, S key length, E embed_dim,
// H num_heads. Query (L, N, E), (N, L, E) with batch_first, or (L, E) when
// unbatched (batch = 0 here); key (S, N, kdim); value (S, N, vdim).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "comparison.hpp"
#include "mha/multi_head_attention.hpp"

namespace mha::test
{
// state_dict for `layer`'s expected keys: Linear weights uniform in
// +-1/sqrt(in_features) (PyTorch's default init scale, so projections of O(1)
// inputs stay O(1)), biases in +-0.5, bias_k / bias_v in +-1.
inline std::map<std::string, std::vector<float>> random_state_dict(const multi_head_attention& layer, std::uint32_t seed)
{
    std::mt19937 rng(seed);
    std::map<std::string, std::vector<float>> state;
    for (const auto& [name, shape] : layer.expected_weights())
    {
        float bound = 0.5f;
        if (shape.size() == 2)
            bound = 1.0f / std::sqrt(float(shape[1]));
        else if (shape.size() == 3)
            bound = 1.0f;
        state[name] = uniform_values(rng, element_count(shape), -bound, bound);
    }
    return state;
}

// Views of a state_dict with PyTorch's shapes, as load_weights takes them.
inline std::vector<named_weight> named_weights(const multi_head_attention& layer,
                                               const std::map<std::string, std::vector<float>>& state)
{
    std::vector<named_weight> weights;
    for (const auto& [name, shape] : layer.expected_weights())
    {
        const std::vector<float>& values = state.at(name);
        weights.push_back({ name, { values.data(), values.size(), shape } });
    }
    return weights;
}

enum class mask_type
{
    none,
    boolean,
    additive
};

struct layer_inputs
{
    std::vector<float> query, key, value;
    std::vector<std::uint8_t> padding_bool, attn_bool;
    std::vector<float> padding_float, attn_float;
    forward_arguments arguments;
};

struct input_spec
{
    std::size_t batch = 1; // 0 = unbatched
    std::size_t query_len = 1, key_len = 1;
    mask_type key_padding = mask_type::none;
    mask_type attn = mask_type::none;
    bool attn_per_head = false; // 3-D (N*H, L, S) instead of (L, S)
    bool pad_first_item = false; // every key of batch item 0 padded
};

// Masks: bool entries set with probability 0.25; float entries uniform in
// [-2, 2] with 15% at -inf.
inline void fill_mask(std::mt19937& rng, mask_type type, std::size_t count, std::vector<std::uint8_t>& bools,
                      std::vector<float>& floats, mask_tensor_view& view, shape_t shape)
{
    std::bernoulli_distribution pick(type == mask_type::boolean ? 0.25 : 0.15);
    if (type == mask_type::boolean)
    {
        for (std::size_t t = 0; t < count; ++t)
            bools.push_back(pick(rng));
        view = { mask_kind::boolean, bools.data(), count, shape };
    }
    else if (type == mask_type::additive)
    {
        floats = uniform_values(rng, count, -2.0f, 2.0f);
        for (float& f : floats)
            if (pick(rng))
                f = -std::numeric_limits<float>::infinity();
        view = { mask_kind::additive, floats.data(), count, shape };
    }
}

inline layer_inputs random_inputs(const attention_config& config, const input_spec& spec, std::uint32_t seed)
{
    std::mt19937 rng(seed);
    layer_inputs in;
    const bool batched = spec.batch > 0;
    const std::size_t n = batched ? spec.batch : 1, l = spec.query_len, s = spec.key_len;
    const auto layout = [&](std::size_t length, std::size_t dim) {
        if (!batched)
            return shape_t { length, dim };
        return config.batch_first ? shape_t { n, length, dim } : shape_t { length, n, dim };
    };
    in.query = uniform_values(rng, n * l * config.embed_dim, -1.0f, 1.0f);
    in.key = uniform_values(rng, n * s * config.key_dim(), -1.0f, 1.0f);
    in.value = uniform_values(rng, n * s * config.value_dim(), -1.0f, 1.0f);
    forward_arguments& a = in.arguments;
    a.query = { in.query.data(), in.query.size(), layout(l, config.embed_dim) };
    a.key = { in.key.data(), in.key.size(), layout(s, config.key_dim()) };
    a.value = { in.value.data(), in.value.size(), layout(s, config.value_dim()) };

    const shape_t padding_shape = batched ? shape_t { n, s } : shape_t { s };
    fill_mask(rng, spec.key_padding, n * s, in.padding_bool, in.padding_float, a.key_padding_mask, padding_shape);
    if (spec.pad_first_item)
    {
        if (spec.key_padding == mask_type::boolean)
            std::fill(in.padding_bool.begin(), in.padding_bool.begin() + s, 1);
        else
            std::fill(in.padding_float.begin(), in.padding_float.begin() + s, -std::numeric_limits<float>::infinity());
    }
    const shape_t attn_shape = spec.attn_per_head ? shape_t { n * config.num_heads, l, s } : shape_t { l, s };
    fill_mask(rng, spec.attn, element_count(attn_shape), in.attn_bool, in.attn_float, a.attn_mask, attn_shape);
    return in;
}

// Runs forward and copies the results out (they live in the layer's buffers
// only until its next call).
struct layer_outputs
{
    status result;
    std::vector<float> output, weights;
    shape_t output_shape, weights_shape;
};

inline layer_outputs run_forward(multi_head_attention& layer, const forward_arguments& arguments)
{
    layer_outputs out;
    attention_result result;
    out.result = layer.forward(arguments, result);
    if (!out.result.ok())
        return out;
    out.output.assign(result.output, result.output + element_count(result.output_shape));
    out.output_shape = result.output_shape;
    if (result.weights)
        out.weights.assign(result.weights, result.weights + element_count(result.weights_shape));
    out.weights_shape = result.weights_shape;
    return out;
}
} // namespace mha::test
