// Rotary position embeddings on their own: x (B, H, L, D) rotated at
// positions position_offset + l, for callers that rotate outside attention
// (the same rotation scaled_dot_product_attention's `rotary` applies).
#pragma once

#include <memory>

#include "call_plan.hpp"
#include "positional.hpp"
#include "status.hpp"
#include "tensor_view.hpp"

namespace mha
{
class rotary_embedding_op
{
public:
    rotary_embedding_op();
    ~rotary_embedding_op();
    rotary_embedding_op(const rotary_embedding_op&) = delete;
    rotary_embedding_op& operator=(const rotary_embedding_op&) = delete;

    // x: shape and length only. The input is staged (current_plan().inputs[0])
    // and rotated in place; the result is current_plan().outputs[0].
    status plan(const float_tensor_view& x, const rotary_options& options);
    const call_plan& current_plan() const { return plan_; }
    void run();

private:
    struct state;
    std::unique_ptr<state> state_;
    call_plan plan_;
};
} // namespace mha
