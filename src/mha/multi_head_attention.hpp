// A multi-head attention layer with the semantics of PyTorch's
// nn.MultiheadAttention (eval mode, no dropout).
//
// Shape glossary: N batch, L query length, S key length, E embed_dim,
// H num_heads, D = E / H head_dim. Query (L, N, E) or (N, L, E) with
// batch_first, or (L, E) unbatched; key (S, N, kdim); value (S, N, vdim).
// Output like query; weights (N, L, S') averaged over heads or (N, H, L, S'),
// S' = S + 1 per add_bias_kv / add_zero_attn.
//
// Weights use PyTorch's state_dict names and layouts. They are repacked once
// at load time into the column panels the matrix multiply kernel streams.
#pragma once

#include <string>
#include <vector>

#include "attention_config.hpp"
#include "attention_result.hpp"
#include "status.hpp"
#include "tensor_view.hpp"

namespace mha
{
struct named_weight
{
    std::string name;
    // An empty shape means "a flat array"; only its length is checked.
    float_tensor_view tensor;
};

struct forward_arguments
{
    float_tensor_view query;
    float_tensor_view key;
    float_tensor_view value;
    mask_tensor_view key_padding_mask;
    mask_tensor_view attn_mask;
    bool need_weights = true;
    bool average_attn_weights = true;
    bool is_causal = false;
};

class multi_head_attention
{
public:
    // Returns an error for a config the layer cannot be built from
    // (e.g. embed_dim not divisible by num_heads).
    static status check_config(const attention_config& config);

    // A config that fails check_config gives a layer whose every call fails.
    explicit multi_head_attention(const attention_config& config);

    const attention_config& config() const { return config_; }

    // The state_dict keys this layer expects, with their PyTorch shapes.
    std::vector<std::pair<std::string, shape_t>> expected_weights() const;

    // All-or-nothing: every expected key must be present, no unknown key, and
    // every length must match; otherwise nothing is changed.
    status load_weights(const std::vector<named_weight>& weights);
    bool weights_loaded() const { return weights_loaded_; }

    status forward(const forward_arguments& arguments, attention_result& result);

private:
    struct projection
    {
        // Column panels of the (in_features, out_features) matrix, as
        // kernels::pack_columns lays them out.
        std::vector<float> packed_weight;
        std::vector<float> bias;
    };

    attention_config config_;
    bool config_ok_ = false;
    bool weights_loaded_ = false;
    projection query_projection_;
    projection key_projection_;
    projection value_projection_;
    projection output_projection_;
    std::vector<float> bias_k_;
    std::vector<float> bias_v_;

    // Scratch reused across calls: projected q, k, v and the concatenated heads.
    std::vector<float> projected_query_;
    std::vector<float> projected_key_;
    std::vector<float> projected_value_;
    std::vector<float> attention_output_;
    std::vector<float> head_weights_;
    attention_buffers buffers_;
};
} // namespace mha
