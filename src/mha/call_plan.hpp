// What a planned call reads and writes, for callers that hand the library
// memory rather than pointers (the JavaScript bindings).
//
// plan() validates a call from its shapes alone and reserves all of its
// memory, inputs included, so the heap grows (or fails to) before the caller
// takes any view of it. The caller then writes each input's elements
// [first, first + count) at `heap`, runs the step, and reads each result's
// elements back the same way. A call is usually one step; a large
// scaled_dot_product_attention without weights runs one (batch, head) per
// step, so the heap only ever holds one head's inputs.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor_view.hpp"

namespace mha
{
enum class call_input
{
    query,
    key,
    value,
    attn_mask,
    key_padding_mask,
    // One ALiBi slope per query head, when given.
    alibi_slopes,
};
constexpr std::size_t call_input_count = 6;

enum class call_output
{
    output,
    weights,
};
constexpr std::size_t call_output_count = 2;

// count == 0: nothing to copy for this slot in this step.
struct staged_range
{
    void* heap = nullptr;
    std::uint64_t first = 0;
    std::uint64_t count = 0;
};

struct call_plan
{
    std::size_t steps = 1;
    shape_t output_shape;
    // Empty when no weights are returned.
    shape_t weights_shape;
    // For the step about to run.
    staged_range inputs[call_input_count];
    staged_range outputs[call_output_count];
    std::uint64_t workspace_bytes = 0;
};

// Which way a causal mask lines up when there are fewer queries than keys.
enum class causal_alignment
{
    // Top-left without a cache, bottom-right with one.
    automatic,
    // Query i sees keys j <= i (PyTorch's is_causal).
    top_left,
    // Query i sees keys j <= i + (keys - queries): the queries are the last
    // positions (torch.nn.attention.bias.causal_lower_right; FlashAttention >= 2.1).
    bottom_right,
};
} // namespace mha
