// The hyper-parameters of a multi-head attention layer, as in PyTorch's
// nn.MultiheadAttention constructor. Fixed once the layer is created.
#pragma once

#include <cstddef>

namespace mha
{
struct attention_config
{
    std::size_t embed_dim = 0;
    std::size_t num_heads = 0;
    // 0 means "same as embed_dim", as PyTorch's kdim=None / vdim=None.
    std::size_t kdim = 0;
    std::size_t vdim = 0;
    bool bias = true;
    bool add_bias_kv = false;
    bool add_zero_attn = false;
    bool batch_first = false;

    std::size_t key_dim() const { return kdim ? kdim : embed_dim; }
    std::size_t value_dim() const { return vdim ? vdim : embed_dim; }
    std::size_t head_dim() const { return num_heads ? embed_dim / num_heads : 0; }
    // PyTorch keeps one packed in_proj_weight exactly when kdim == vdim == embed_dim.
    bool packed_in_projection() const { return key_dim() == embed_dim && value_dim() == embed_dim; }
    // Keys appended by add_bias_kv and add_zero_attn; masks never apply to them.
    std::size_t appended_keys() const { return (add_bias_kv ? 1 : 0) + (add_zero_attn ? 1 : 0); }
};
} // namespace mha
