// A multi-head attention layer with the semantics of PyTorch's
// nn.MultiheadAttention (eval mode, no dropout).
//
// Shape glossary: N batch, L query length, S key length, E embed_dim,
// H num_heads, D = E / H head_dim. Query (L, N, E) or (N, L, E) with
// batch_first, or (L, E) unbatched; key (S, N, kdim); value (S, N, vdim).
// Output like query; weights (N, L, S') averaged over heads or (N, H, L, S'),
// S' = S + 1 per add_bias_kv / add_zero_attn.
//
// With one of the layer's own caches (create_cache), key and value are the
// L new tokens: they are projected once, appended, and the queries attend
// over every cached key (S' = cache length after the append), causally
// bottom-right aligned.
//
// Weights use PyTorch's state_dict names and layouts. They are repacked once
// at load time into the column panels the matrix multiply kernel streams.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attention_config.hpp"
#include "attention_result.hpp"
#include "call_plan.hpp"
#include "kv_cache.hpp"
#include "status.hpp"
#include "tensor_view.hpp"

namespace mha
{
struct named_weight
{
    std::string name;
    // An empty shape means "a flat array"; only its length is checked.
    float_tensor_view tensor;
};

struct forward_arguments
{
    float_tensor_view query;
    float_tensor_view key;
    float_tensor_view value;
    mask_tensor_view key_padding_mask;
    mask_tensor_view attn_mask;
    bool need_weights = true;
    bool average_attn_weights = true;
    bool is_causal = false;
    causal_alignment alignment = causal_alignment::automatic;
    kv_cache* cache = nullptr;
    // Lengths of the caller's result arrays (-1 = none), checked by plan.
    std::int64_t out_output_length = -1;
    std::int64_t out_weights_length = -1;
};

class multi_head_attention
{
public:
    // Returns an error for a config the layer cannot be built from
    // (e.g. embed_dim not divisible by num_heads).
    static status check_config(const attention_config& config);

    // A config that fails check_config gives a layer whose every call fails.
    explicit multi_head_attention(const attention_config& config);
    ~multi_head_attention();
    multi_head_attention(const multi_head_attention&) = delete;
    multi_head_attention& operator=(const multi_head_attention&) = delete;

    const attention_config& config() const { return config_; }
    // Unique within the process; the owner of the layer's caches.
    std::uint64_t id() const { return id_; }

    // The state_dict keys this layer expects, with their PyTorch shapes.
    std::vector<std::pair<std::string, shape_t>> expected_weights() const;

    // All-or-nothing: every expected key must be present, no unknown key, and
    // every length must match; otherwise nothing is changed. A RangeError if
    // the heap cannot hold the packed weights.
    status load_weights(const std::vector<named_weight>& weights);
    bool weights_loaded() const { return weights_loaded_; }

    // A cache for this layer's projected keys and values (heads H, dims D).
    // Call allocate() on it before use.
    std::unique_ptr<kv_cache> create_cache(std::size_t batch_size, std::size_t max_length) const;

    // Plan and run: see mha/call_plan.hpp. plan reads shapes, lengths, flags
    // and the cache, never data; a failed plan changes nothing.
    status plan(const forward_arguments& arguments, bool stage_inputs);
    const call_plan& current_plan() const { return plan_; }
    // After the caller wrote current_plan().inputs (staged plan).
    void run_staged();
    // On the arguments' own data (unstaged plan): the planned shapes, with data.
    void run(const forward_arguments& arguments);
    // Gives the call memory back (the next plan reserves it again).
    void release_call_memory();

    // plan + run on the arguments' data; result points into the layer.
    status forward(const forward_arguments& arguments, attention_result& result);

    // Memory for staging data in (loadWeights): `bytes` at the returned
    // address until the next call, or null when the heap cannot provide them.
    void* staging_area(std::uint64_t bytes);

private:
    struct state;

    attention_config config_;
    bool config_ok_ = false;
    bool weights_loaded_ = false;
    std::uint64_t id_;
    std::unique_ptr<state> state_;
    call_plan plan_;
};
} // namespace mha
