// Where a forward pass leaves its results.
#pragma once

#include "tensor_view.hpp"

namespace mha
{
// Points into the memory of the op or layer that computed it; valid until
// its next call.
struct attention_result
{
    const float* output = nullptr;
    shape_t output_shape;
    // Null unless weights were requested.
    const float* weights = nullptr;
    shape_t weights_shape;
};
} // namespace mha
