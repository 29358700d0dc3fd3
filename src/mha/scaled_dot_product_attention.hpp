// softmax(Q K^T * scale + mask) V for every (batch, head), PyTorch's
// F.scaled_dot_product_attention without dropout.
//
// Shapes: query (B, H, Lq, D), key (B, Hkv, Lk, D), value (B, Hkv, Lk, Dv)
// with Hkv dividing H (grouped-query attention: query head h reads kv head
// h / (H / Hkv), PyTorch's enable_gqa); output (B, H, Lq, Dv); weights
// (B, H, Lq, Lk) when requested.
//
// Per head: s = q.k^T * scale; s = softcap * tanh(s / softcap); s += ALiBi
// slope * (key position - query position); masks, causality and the sliding
// window; softmax; . v. Rotary embeddings rotate q and the new k first
// (positions: mha/positional.hpp).
// attn_mask broadcasts to (B, H, Lq, Lk) with NumPy rules (rank 1 to 4,
// right-aligned, each dimension 1 or full).
//
// With a kv_cache, key and value are the T = Lq new tokens: they are appended
// to the cache, and the queries attend over every cached key, Lk = cached
// length after the append. Causality is then bottom-right aligned (query i
// sits at position length_before + i), and masks and weights cover Lk.
//
// Differences from PyTorch, on purpose: is_causal may be combined with
// attn_mask (both apply), and a query row with every key masked yields zeros
// instead of NaN.
#pragma once

#include <cstdint>
#include <memory>

#include "attention_result.hpp"
#include "call_plan.hpp"
#include "kv_cache.hpp"
#include "positional.hpp"
#include "status.hpp"
#include "tensor_view.hpp"

namespace mha
{
struct sdpa_arguments
{
    float_tensor_view query;
    float_tensor_view key;
    float_tensor_view value;
    mask_tensor_view attn_mask;
    bool is_causal = false;
    causal_alignment alignment = causal_alignment::automatic;
    // When has_scale is false the scale is 1 / sqrt(D).
    bool has_scale = false;
    float scale = 1.0f;
    bool need_weights = false;
    kv_cache* cache = nullptr;
    rotary_options rotary;
    alibi_options alibi;
    // Keys at positions <= query position - window are masked; 0 = no window.
    std::size_t window = 0;
    // 0 = no softcap.
    float softcap = 0.0f;
    // Lengths of the caller's result arrays, when it has its own (checked
    // against the result shapes by plan; -1 = none).
    std::int64_t out_output_length = -1;
    std::int64_t out_weights_length = -1;
};

// The free function as plan + run, with the memory its calls reuse: calls
// with the same shapes allocate nothing.
class scaled_dot_product_attention_op
{
public:
    scaled_dot_product_attention_op();
    ~scaled_dot_product_attention_op();
    scaled_dot_product_attention_op(const scaled_dot_product_attention_op&) = delete;
    scaled_dot_product_attention_op& operator=(const scaled_dot_product_attention_op&) = delete;

    // Checks the call from its shapes, lengths, flags and cache (data
    // pointers are not read) and reserves its memory. With stage_inputs the
    // inputs are to be written into that memory (plan().inputs) rather than
    // read from the arguments' pointers. A failed plan changes nothing, the
    // cache included.
    status plan(const sdpa_arguments& arguments, bool stage_inputs);
    const call_plan& current_plan() const { return plan_; }

    // Points current_plan()'s ranges at `step` (plan points them at step 0).
    void stage(std::size_t step);
    // Runs `step` of the last successful staged plan, after stage(step) and
    // after the caller wrote current_plan().inputs.
    void run_step(std::size_t step);
    // Runs an unstaged plan (one step) on `arguments`: the planned shapes, with data.
    void run(const sdpa_arguments& arguments);

    // Gives the reserved memory back (the next plan reserves it again).
    void release();

private:
    struct state;
    std::unique_ptr<state> state_;
    call_plan plan_;
};

// Plan and run in one call on the arguments' own data; result points into op.
status scaled_dot_product_attention(const sdpa_arguments& arguments, scaled_dot_product_attention_op& op,
                                    attention_result& result);
} // namespace mha
