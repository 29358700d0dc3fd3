// Every argument check of the library, in one place.
//
// Messages follow "<argument>: expected <rule>, got <value>" and use the
// JavaScript API's names, so the error a user sees points at their call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "mha/attention_config.hpp"
#include "mha/kv_cache.hpp"
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
    // The key/value rows given (the new tokens, with a cache).
    std::size_t key_len = 0;
    // Keys attended over: key_len plus the appended bias/zero rows, or with a
    // cache its length after the append.
    std::size_t total_keys = 0;
    // Keys that masks and causality apply to.
    std::size_t masked_keys = 0;
    // With is_causal: query i sees key j iff j <= i + causal_offset.
    std::ptrdiff_t causal_offset = 0;
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
    std::ptrdiff_t causal_offset = 0;
};
status check_sdpa(const sdpa_arguments& arguments, sdpa_shapes& shapes);

// Result arrays the caller brought (lengths, -1 = none) against the result shapes.
status check_out_lengths(const char* context, std::int64_t output_length, const shape_t& output_shape,
                         std::int64_t weights_length, const shape_t& weights_shape, bool need_weights);

status check_kv_cache_config(const kv_cache_config& config);
std::uint64_t kv_cache_bytes(const kv_cache_config& config);

// `expected` is the PyTorch shape; a weight given with an empty shape is
// checked by length only.
status check_weight(const named_weight& weight, const shape_t& expected);
} // namespace mha::detail
