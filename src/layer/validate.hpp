// Every argument check of the library, in one place.
//
// Messages follow "<argument>: expected <rule>, got <value>" and use the
// JavaScript API's names, so the error a user sees points at their call.
#pragma once

#include <cstddef>
#include <string>

#include "mha/attention_config.hpp"
#include "mha/multi_head_attention.hpp"
#include "mha/scaled_dot_product_attention.hpp"
#include "mha/status.hpp"
#include "mha/tensor_view.hpp"

namespace mha::detail
{
std::string format_shape(const shape_t& shape);

status check_config(const attention_config& config);

struct layer_shapes
{
    bool batched = false;
    std::size_t batch_size = 0;
    std::size_t query_len = 0;
    std::size_t key_len = 0;
};
status check_forward(const attention_config& config, const forward_arguments& arguments, layer_shapes& shapes);

struct sdpa_shapes
{
    std::size_t batch_size = 0;
    std::size_t num_heads = 0;
    std::size_t query_len = 0;
    std::size_t key_len = 0;
    std::size_t head_dim = 0;
    std::size_t value_dim = 0;
};
status check_sdpa(const sdpa_arguments& arguments, sdpa_shapes& shapes);

// `expected` is the PyTorch shape; a weight given with an empty shape is
// checked by length only.
status check_weight(const named_weight& weight, const shape_t& expected);
} // namespace mha::detail
