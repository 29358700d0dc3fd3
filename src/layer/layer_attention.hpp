// What the two attention layers (multi_head_attention, self_attention) do the
// same way around the attention core: their masks as strides, and weights
// averaged over heads.
#pragma once

#include <cstddef>
#include <cstdint>

#include "attention_problem.hpp"
#include "layer/validate.hpp"
#include "mha/attention_result.hpp"
#include "mha/call_plan.hpp"

namespace mha::detail
{
// keyPaddingMask (N, S) into masks[0] and attnMask (L, S) or (N*H, L, S)
// into masks[1] of an attention problem over `keys` masked keys.
void set_layer_masks(attention_problem& p, mask_kind padding_kind, const void* padding, mask_kind attn_kind,
                     const void* attn, bool attn_per_head, std::size_t keys);

// Weights' shape for a layer call: (N, L, S) averaged or (N, H, L, S) per
// head, without N when unbatched; empty without weights.
shape_t layer_weights_shape(const layer_shapes& shapes, std::size_t heads, bool need_weights, bool average);

// Where a successful plan put the results, as an attention_result (native forward()).
attention_result planned_result(const call_plan& plan, bool need_weights);

// The staged ranges of a layer call: query (or x), key, value, the two
// masks, in `base` at those offsets (key/value offsets unused when 0 elements).
struct layer_staging
{
    std::size_t query, key, value, attn_mask, key_padding_mask, output, weights;
};
void stage_layer_plan(call_plan& plan, unsigned char* base, const layer_staging& at, const forward_arguments& a,
                      bool stage_inputs, bool with_key_value, const shape_t& weights_shape);

// A process-wide unique id for a new layer of any kind (the owner its caches carry).
std::uint64_t next_layer_id();

// averaged (N, L, S) = mean over heads of per_head (N, H, L, S).
void average_heads(float* averaged, const float* per_head, std::size_t batch, std::size_t heads, std::size_t plane);
} // namespace mha::detail
