// Every argument check of the library, in one place.
//
// Messages follow "<argument>: expected <rule>, got <value>" and use the
// JavaScript API's names, so the error a user sees points at their call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mha/attention_config.hpp"
#include "mha/kv_cache.hpp"
#include "mha/linear.hpp"
#include "mha/multi_head_attention.hpp"
#include "mha/positional.hpp"
#include "mha/scaled_dot_product_attention.hpp"
#include "mha/self_attention.hpp"
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
    // The key/value rows given (the new tokens, with a cache).
    std::size_t key_len = 0;
    // Keys attended over: key_len plus the appended bias/zero rows, or with a
    // cache its length after the append.
    std::size_t total_keys = 0;
    // Keys that masks and causality apply to.
    std::size_t masked_keys = 0;
    // Query i sits at the position of key i + query_offset (see attention_problem.hpp).
    std::ptrdiff_t query_offset = 0;
};
// layer_id: the id a layer's own caches carry.
status check_forward(const attention_config& config, std::uint64_t layer_id, const forward_arguments& arguments,
                     layer_shapes& shapes);

struct sdpa_shapes
{
    std::size_t batch_size = 0;
    std::size_t num_heads = 0;
    std::size_t kv_heads = 0;
    std::size_t query_len = 0;
    // Key/value rows given (the new tokens, with a cache).
    std::size_t new_keys = 0;
    // Keys attended over (with a cache: its length after the append).
    std::size_t key_len = 0;
    std::size_t head_dim = 0;
    std::size_t value_dim = 0;
    std::ptrdiff_t query_offset = 0;
};
status check_sdpa(const sdpa_arguments& arguments, sdpa_shapes& shapes);

// Result arrays the caller brought (lengths, -1 = none) against the result shapes.
status check_out_lengths(const char* context, std::int64_t output_length, const shape_t& output_shape,
                         std::int64_t weights_length, const shape_t& weights_shape, bool need_weights);

status check_kv_cache_config(const kv_cache_config& config);

status check_self_attention_config(const self_attention_config& config);
// arguments.query is x (N, L, E) or (L, E); key and value are not read.
status check_self_attention_forward(const self_attention_config& config, std::uint64_t layer_id,
                                    const forward_arguments& arguments, layer_shapes& shapes);

status check_linear_config(const linear_config& config);
// x (..., in_features), rank 1 to 8.
status check_linear_input(const linear_config& config, const float_tensor_view& x);

// x of applyRotaryEmbedding: (B, H, L, D).
status check_rotary_input(const float_tensor_view& x);

// rotary_dim and the cache's positions, and a given ALiBi slope per query head.
status check_positional(const rotary_options& rotary, const alibi_options& alibi, std::size_t head_dim,
                        std::size_t num_heads, bool cached);
std::uint64_t kv_cache_bytes(const kv_cache_config& config);

// `expected` is the PyTorch shape; a weight given with an empty shape is
// checked by length only.
status check_weight(const named_weight& weight, const shape_t& expected);

using weight_specs = std::vector<std::pair<std::string, shape_t>>;
// A whole state_dict, all or nothing: every expected key exactly once, no
// unknown key, every shape or length right.
status check_state_dict(const weight_specs& expected, const std::vector<named_weight>& weights);
// The data of the weight called `name` (present: check_state_dict passed).
const float* find_weight(const std::vector<named_weight>& weights, const std::string& name);
} // namespace mha::detail
