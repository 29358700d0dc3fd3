// Double-precision reference of scaled dot-product attention and of the whole
// multi-head attention layer, written straight from PyTorch's definitions
// (dense masks, explicit loops, weights in PyTorch's layout). It shares no
// code with the fast path, so the tests can compare the two.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "mha/attention_config.hpp"
#include "mha/multi_head_attention.hpp"
#include "mha/tensor_view.hpp"

namespace mha::reference
{
struct attention_output
{
    std::vector<double> output;
    shape_t output_shape;
    std::vector<double> weights; // empty when not requested
    shape_t weights_shape;
};

// query (B, H, Lq, D), key (B, H, Lk, D), value (B, H, Lk, Dv), contiguous.
// additive_mask is dense (B, H, Lq, Lk) or empty; -inf masks out.
// Rows with every key masked give zero weights and zero output.
attention_output scaled_dot_product_attention(const std::vector<float>& query, const std::vector<float>& key,
                                              const std::vector<float>& value, std::size_t batch, std::size_t heads,
                                              std::size_t query_len, std::size_t key_len, std::size_t head_dim,
                                              std::size_t value_dim, const std::vector<double>& additive_mask,
                                              bool is_causal, double scale, bool need_weights);

// The layer, from a PyTorch-style state_dict; arguments as for
// multi_head_attention::forward (assumed valid).
attention_output multi_head_attention(const attention_config& config,
                                      const std::map<std::string, std::vector<float>>& state_dict,
                                      const forward_arguments& arguments);
} // namespace mha::reference
