// softmax(Q K^T * scale + mask) V for every (batch, head), PyTorch's
// F.scaled_dot_product_attention without dropout.
//
// Shapes: query (B, H, Lq, D), key (B, H, Lk, D), value (B, H, Lk, Dv);
// output (B, H, Lq, Dv); weights (B, H, Lq, Lk) when requested.
// attn_mask broadcasts to (B, H, Lq, Lk) with NumPy rules (rank 1 to 4,
// right-aligned, each dimension 1 or full).
//
// Differences from PyTorch, on purpose: is_causal may be combined with
// attn_mask (both apply; causal is top-left aligned, key j visible to query i
// iff j <= i), and a query row with every key masked yields zeros instead of NaN.
#pragma once

#include "attention_result.hpp"
#include "status.hpp"
#include "tensor_view.hpp"

namespace mha
{
struct sdpa_arguments
{
    float_tensor_view query;
    float_tensor_view key;
    float_tensor_view value;
    mask_tensor_view attn_mask;
    bool is_causal = false;
    // When has_scale is false the scale is 1 / sqrt(D).
    bool has_scale = false;
    float scale = 1.0f;
    bool need_weights = false;
};

status scaled_dot_product_attention(const sdpa_arguments& arguments, attention_buffers& buffers,
                                    attention_result& result);

// The argument checks of scaled_dot_product_attention alone; reads shapes and
// lengths, never the data (callers that compute head by head check the whole
// call first).
status check_scaled_dot_product_attention(const sdpa_arguments& arguments);
} // namespace mha
