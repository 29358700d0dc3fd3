#include "layer_attention.hpp"

#include <algorithm>

namespace mha::detail
{
void set_layer_masks(attention_problem& p, mask_kind padding_kind, const void* padding, mask_kind attn_kind,
                     const void* attn, bool attn_per_head, std::size_t keys)
{
    const auto masked = static_cast<std::ptrdiff_t>(keys);
    if (padding_kind != mask_kind::none)
        p.masks[0] = { padding_kind, padding, masked, 0, 0, 1 };
    if (attn_kind != mask_kind::none)
    {
        const auto plane = static_cast<std::ptrdiff_t>(p.query_len) * masked;
        p.masks[1] = { attn_kind, attn, attn_per_head ? plane * static_cast<std::ptrdiff_t>(p.num_heads) : 0,
                       attn_per_head ? plane : 0, masked, 1 };
    }
}

shape_t layer_weights_shape(const layer_shapes& s, std::size_t heads, bool need_weights, bool average)
{
    if (!need_weights)
        return {};
    shape_t shape { s.batch_size, heads, s.query_len, s.total_keys };
    if (average)
        shape.erase(shape.begin() + 1);
    if (!s.batched)
        shape.erase(shape.begin());
    return shape;
}

attention_result planned_result(const call_plan& plan, bool need_weights)
{
    attention_result result;
    result.output = static_cast<const float*>(plan.outputs[0].heap);
    result.output_shape = plan.output_shape;
    result.weights = need_weights ? static_cast<const float*>(plan.outputs[1].heap) : nullptr;
    result.weights_shape = plan.weights_shape;
    return result;
}

void stage_layer_plan(call_plan& plan, unsigned char* base, const layer_staging& at, const forward_arguments& a,
                      bool stage_inputs, bool with_key_value, const shape_t& weights_shape)
{
    plan.steps = 1;
    plan.output_shape = a.query.shape;
    plan.weights_shape = weights_shape;
    for (staged_range& r : plan.inputs)
        r = {};
    if (stage_inputs)
    {
        plan.inputs[0] = { base + at.query, 0, element_count(a.query.shape) };
        if (with_key_value)
        {
            plan.inputs[1] = { base + at.key, 0, element_count(a.key.shape) };
            plan.inputs[2] = { base + at.value, 0, element_count(a.value.shape) };
        }
        if (a.attn_mask.present())
            plan.inputs[3] = { base + at.attn_mask, 0, element_count(a.attn_mask.shape) };
        if (a.key_padding_mask.present())
            plan.inputs[4] = { base + at.key_padding_mask, 0, element_count(a.key_padding_mask.shape) };
    }
    plan.outputs[0] = { base + at.output, 0, element_count(a.query.shape) };
    plan.outputs[1] = {};
    if (!weights_shape.empty())
        plan.outputs[1] = { base + at.weights, 0, element_count(weights_shape) };
}

std::uint64_t next_layer_id()
{
    static std::uint64_t next = 1;
    return next++;
}

void average_heads(float* averaged, const float* per_head, std::size_t batch, std::size_t heads, std::size_t plane)
{
    std::fill(averaged, averaged + batch * plane, 0.0f);
    const float inverse_heads = 1.0f / static_cast<float>(heads);
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t h = 0; h < heads; ++h)
        {
            const float* source = per_head + (n * heads + h) * plane;
            float* target = averaged + n * plane;
            for (std::size_t t = 0; t < plane; ++t)
                target[t] += source[t] * inverse_heads;
        }
}
} // namespace mha::detail
