// Options that make attention depend on token positions, as today's decoders
// use them. Shared by scaled_dot_product_attention and the self-attention layer.
//
// Positions: without a cache, key j sits at position_offset + j and query i at
// position_offset + i (top-left alignment) or position_offset + (Lk - Lq) + i
// (bottom-right); with a cache, positions are the cache's (the new tokens
// start at its length).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor_view.hpp"

namespace mha
{
// Rotary position embeddings (RoPE), applied to the queries and the new keys.
// Frequencies base^(-2i / rotary_dim), i < rotary_dim / 2, as in Hugging Face;
// only the first rotary_dim dims of each head rotate (partial rotary: GPT-NeoX, Phi).
struct rotary_options
{
    bool enabled = false;
    double base = 10000.0;
    // 0 = the head dim.
    std::size_t rotary_dim = 0;
    // false: half-split pairs (i, i + rotary_dim / 2), Hugging Face's rotate_half
    // (GPT-NeoX, Llama); true: adjacent pairs (2i, 2i + 1) (GPT-J, Meta's complex form).
    bool interleaved = false;
    bool has_position_offset = false;
    std::int64_t position_offset = 0;
    // rotary_dim / 2 inverse frequencies to use instead of base^(-2i / rotary_dim)
    // (scaled RoPE, e.g. Llama 3's rope_scaling); null = from base.
    const float* frequencies = nullptr;
    std::size_t frequency_count = 0;
};

enum class alibi_mode
{
    none,
    // The slopes of Press et al.: geometric for a power-of-two head count,
    // BLOOM's interpolation otherwise.
    standard,
    // One slope per query head, given.
    given,
};

struct alibi_options
{
    alibi_mode mode = alibi_mode::none;
    // Used with alibi_mode::given: H floats.
    float_tensor_view slopes;
};

// The standard ALiBi slope of query head h among num_heads.
float standard_alibi_slope(std::size_t h, std::size_t num_heads);
} // namespace mha
