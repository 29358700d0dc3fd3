// Where a forward pass leaves its results, and the memory it reuses.
#pragma once

#include <vector>

#include "tensor_view.hpp"

namespace mha
{
// Memory owned by whoever runs attention repeatedly (a layer, or the
// bindings for the free function). Calls with the same shapes reuse it and
// allocate nothing.
struct attention_buffers
{
    std::vector<float> output;
    std::vector<float> weights;
    // Per worker thread: packed keys and values of one head, a block of
    // scaled queries, a tile of scores, and the per-row softmax state
    // (layer/attention_core.cpp).
    std::vector<std::vector<float>> scratch;
};

// Points into attention_buffers; valid until the next call that uses them.
struct attention_result
{
    const float* output = nullptr;
    shape_t output_shape;
    // Null unless weights were requested.
    const float* weights = nullptr;
    shape_t weights_shape;
};
} // namespace mha
