// A decoder's attention layer with Hugging Face Llama-family weight names
// (Llama, Mistral, Qwen2, Gemma, ...): grouped-query attention, rotary
// embeddings, ALiBi, a sliding window and a logit softcap.
//
// Shapes: x (N, L, E) (or (L, E) unbatched); H query heads and Hkv key/value
// heads of D dims each (H·D need not equal E). Weights: q_proj.weight (H·D, E),
// k_proj.weight and v_proj.weight (Hkv·D, E), o_proj.weight (E, H·D); with
// bias, q_proj.bias, k_proj.bias, v_proj.bias; with out_bias, o_proj.bias.
//
// forward: q, k, v = projections of x; RoPE on q and k at their positions;
// attention per query head h over kv head h / (H / Hkv) (causal by default);
// heads concatenated; o_proj. With a cache from create_cache, x holds the new
// tokens; their keys and values are appended (rotated) and the queries
// attend over every cached key.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "attention_result.hpp"
#include "call_plan.hpp"
#include "kv_cache.hpp"
#include "multi_head_attention.hpp"
#include "positional.hpp"
#include "status.hpp"

namespace mha
{
struct self_attention_config
{
    std::size_t embed_dim = 0;
    std::size_t num_heads = 0;
    // 0 = num_heads.
    std::size_t num_kv_heads = 0;
    // 0 = embed_dim / num_heads.
    std::size_t head_dim = 0;
    bool bias = false;
    bool out_bias = false;
    bool has_scale = false;
    float scale = 1.0f;
    rotary_options rotary;
    // Storage behind rotary.frequencies (set by the constructor when not empty).
    std::vector<float> rotary_frequencies;
    alibi_mode alibi = alibi_mode::none;
    // alibi_mode::given: num_heads slopes.
    std::vector<float> alibi_slopes;
    std::size_t window = 0;
    float softcap = 0.0f;

    std::size_t kv_heads() const { return num_kv_heads ? num_kv_heads : num_heads; }
    std::size_t dims() const { return head_dim ? head_dim : (num_heads ? embed_dim / num_heads : 0); }
};

class self_attention
{
public:
    static status check_config(const self_attention_config& config);
    explicit self_attention(const self_attention_config& config);
    ~self_attention();
    self_attention(const self_attention&) = delete;
    self_attention& operator=(const self_attention&) = delete;

    const self_attention_config& config() const { return config_; }
    std::uint64_t id() const { return id_; }
    std::vector<std::pair<std::string, shape_t>> expected_weights() const;
    status load_weights(const std::vector<named_weight>& weights);
    void* staging_area(std::uint64_t bytes);

    // A cache of Hkv heads of D for this layer's rotated keys and values.
    std::unique_ptr<kv_cache> create_cache(std::size_t batch_size, std::size_t max_length) const;

    // arguments.query is x; key and value are ignored. Plan/run as for
    // multi_head_attention (mha/call_plan.hpp).
    status plan(const forward_arguments& arguments, bool stage_inputs);
    const call_plan& current_plan() const { return plan_; }
    void run_staged();
    void run(const forward_arguments& arguments);
    void release_call_memory();
    status forward(const forward_arguments& arguments, attention_result& result);

private:
    struct state;
    self_attention_config config_;
    bool config_ok_ = false;
    bool weights_loaded_ = false;
    std::uint64_t id_;
    std::unique_ptr<state> state_;
    call_plan plan_;
};
} // namespace mha
