// The Llama-family attention layer: orchestration only (validation in
// validate.cpp, arithmetic in kernels/, attention_core.cpp and rotary.cpp).
//
// Shape glossary: N batch, L new tokens, S keys attended (L, or with a cache
// its length after the append), E embed_dim, H query heads, Hkv kv heads, D head dim.
//
// run(): q (N·L, H·D), k and v (N·L, Hkv·D) = projections of x; RoPE on q and
// k rows at their positions; with a cache, append k and v; attention with
// query head h reading kv head h / (H / Hkv), heads written side by side into
// (N·L, H·D); o_proj into (N·L, E); weights averaged if asked.
#include "mha/self_attention.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "attention_problem.hpp"
#include "layer_attention.hpp"
#include "projection.hpp"
#include "rotary.hpp"
#include "thread_pool.hpp"
#include "validate.hpp"
#include "workspace.hpp"

namespace mha
{
namespace
{
    std::size_t mask_bytes(const mask_tensor_view& mask)
    {
        return mask.present() ? element_count(mask.shape) * (mask.kind == mask_kind::boolean ? 1 : sizeof(float)) : 0;
    }
} // namespace

struct self_attention::state
{
    detail::packed_projection q_proj, k_proj, v_proj, o_proj;
    detail::workspace memory;
    detail::workspace staging;

    detail::layer_shapes shapes;
    bool need_weights = false, average = false, is_causal = false, attn_per_head = false;
    kv_cache* cache = nullptr;
    mask_kind padding_kind = mask_kind::none, attn_kind = mask_kind::none;
    std::size_t workers = 1;
    std::int64_t first_position = 0; // of the new tokens
    // Byte offsets in `memory`.
    struct offsets
    {
        std::size_t x = 0, padding = 0, attn = 0, q = 0, k = 0, v = 0, heads_out = 0, head_weights = 0, averaged = 0,
                    output = 0, table = 0, slopes = 0, scratch = 0, input_quads = 0;
    } at;
};

status self_attention::check_config(const self_attention_config& config)
{
    self_attention_config c = config;
    c.rotary.frequencies = c.rotary_frequencies.empty() ? nullptr : c.rotary_frequencies.data();
    c.rotary.frequency_count = c.rotary_frequencies.size();
    return detail::check_self_attention_config(c);
}

namespace
{
    self_attention_config with_frequencies(self_attention_config c)
    {
        c.rotary.frequencies = c.rotary_frequencies.empty() ? nullptr : c.rotary_frequencies.data();
        c.rotary.frequency_count = c.rotary_frequencies.size();
        return c;
    }
} // namespace

self_attention::self_attention(const self_attention_config& config)
    : config_(with_frequencies(config))
    , config_ok_(detail::check_self_attention_config(config_).ok())
    , id_(detail::next_layer_id())
    , state_(new state)
{
}

self_attention::~self_attention() = default;

std::vector<std::pair<std::string, shape_t>> self_attention::expected_weights() const
{
    const std::size_t e = config_.embed_dim, q = config_.num_heads * config_.dims(), kv = config_.kv_heads() * config_.dims();
    std::vector<std::pair<std::string, shape_t>> names { { "q_proj.weight", { q, e } },
                                                         { "k_proj.weight", { kv, e } },
                                                         { "v_proj.weight", { kv, e } },
                                                         { "o_proj.weight", { e, q } } };
    if (config_.bias)
    {
        names.push_back({ "q_proj.bias", { q } });
        names.push_back({ "k_proj.bias", { kv } });
        names.push_back({ "v_proj.bias", { kv } });
    }
    if (config_.out_bias)
        names.push_back({ "o_proj.bias", { e } });
    return names;
}

status self_attention::load_weights(const std::vector<named_weight>& weights)
{
    if (!config_ok_)
        return detail::check_self_attention_config(config_);
    if (status st = detail::check_state_dict(expected_weights(), weights); !st.ok())
        return st;
    const std::size_t e = config_.embed_dim, q = config_.num_heads * config_.dims(), kv = config_.kv_heads() * config_.dims();
    detail::packed_projection qp, kp, vp, op;
    if (!(qp.allocate(e, q, config_.bias) && kp.allocate(e, kv, config_.bias) && vp.allocate(e, kv, config_.bias)
          && op.allocate(q, e, config_.out_bias)))
        return status::range_error("could not allocate the packed weights in the WebAssembly heap (out of memory)");
    const auto find = [&](const char* name) { return detail::find_weight(weights, name); };
    qp.pack(find("q_proj.weight"), e, config_.bias ? find("q_proj.bias") : nullptr);
    kp.pack(find("k_proj.weight"), e, config_.bias ? find("k_proj.bias") : nullptr);
    vp.pack(find("v_proj.weight"), e, config_.bias ? find("v_proj.bias") : nullptr);
    op.pack(find("o_proj.weight"), q, config_.out_bias ? find("o_proj.bias") : nullptr);
    state& st = *state_;
    st.q_proj = std::move(qp);
    st.k_proj = std::move(kp);
    st.v_proj = std::move(vp);
    st.o_proj = std::move(op);
    weights_loaded_ = true;
    return {};
}

void* self_attention::staging_area(std::uint64_t bytes)
{
    return state_->staging.reserve(bytes) ? state_->staging.bytes() : nullptr;
}

void self_attention::release_call_memory()
{
    state_->memory.release();
    state_->staging.release();
}

std::unique_ptr<kv_cache> self_attention::create_cache(std::size_t batch_size, std::size_t max_length) const
{
    const std::size_t d = config_ok_ ? config_.dims() : 0;
    return std::make_unique<kv_cache>(kv_cache_config { batch_size, config_.kv_heads(), d, d, max_length }, id_);
}

status self_attention::plan(const forward_arguments& a, bool stage_inputs)
{
    if (!config_ok_)
        return detail::check_self_attention_config(config_);
    detail::layer_shapes s;
    if (status st = detail::check_self_attention_forward(config_, id_, a, s); !st.ok())
        return st;
    if (!weights_loaded_)
        return status::state_error("weights are not loaded; call loadWeights(stateDict) first");
    const std::size_t n = s.batch_size, l = s.query_len, h = config_.num_heads, d = config_.dims();
    const std::size_t hkv = config_.kv_heads();
    const shape_t weights_shape = detail::layer_weights_shape(s, h, a.need_weights, a.average_attn_weights);
    if (status st = detail::check_out_lengths("", a.out_output_length, a.query.shape, a.out_weights_length,
                                              weights_shape, a.need_weights);
        !st.ok())
        return st;

    const std::uint64_t rows = std::uint64_t(n) * l, plane = std::uint64_t(l) * s.total_keys;
    detail::workspace_layout layout;
    state::offsets next_offsets;
    if (stage_inputs)
    {
        next_offsets.x = layout.add_floats(element_count(a.query.shape));
        next_offsets.padding = layout.add(mask_bytes(a.key_padding_mask));
        next_offsets.attn = layout.add(mask_bytes(a.attn_mask));
    }
    next_offsets.q = layout.add_floats(rows * h * d);
    next_offsets.k = layout.add_floats(rows * hkv * d);
    next_offsets.v = layout.add_floats(rows * hkv * d);
    next_offsets.heads_out = layout.add_floats(rows * h * d);
    next_offsets.head_weights = a.need_weights ? layout.add_floats(std::uint64_t(n) * h * plane) : 0;
    next_offsets.averaged = a.need_weights && a.average_attn_weights ? layout.add_floats(std::uint64_t(n) * plane) : 0;
    next_offsets.output = layout.add_floats(rows * config_.embed_dim);
    next_offsets.table = layout.add_floats(detail::rotary_table_floats(config_.rotary, d, l));
    next_offsets.slopes = config_.alibi != alibi_mode::none ? layout.add_floats(h) : 0;
    detail::attention_problem sizing;
    sizing.batch_size = n;
    sizing.num_heads = h;
    sizing.query_len = l;
    sizing.key_len = s.total_keys;
    sizing.head_dim = sizing.value_dim = d;
    sizing.cache = a.cache;
    float weights_placeholder = 0.0f;
    sizing.weights = a.need_weights ? &weights_placeholder : nullptr;
    const std::size_t workers = thread_count();
    next_offsets.scratch = layout.add_floats(detail::attention_scratch_floats(sizing, workers));
    // One input's row quads at a time: x (read by the Q, K and V projections), then the heads' outputs.
    next_offsets.input_quads = layout.add_floats(std::max(detail::input_quads_floats(static_cast<std::size_t>(rows), config_.embed_dim),
                                                          detail::input_quads_floats(static_cast<std::size_t>(rows), h * d)));
    state& st = *state_;
    if (status reserved = detail::reserve(st.memory, layout); !reserved.ok())
        return reserved;
    st.at = next_offsets;
    st.shapes = s;
    st.need_weights = a.need_weights;
    st.average = a.average_attn_weights;
    st.is_causal = a.is_causal;
    st.cache = a.cache;
    st.padding_kind = a.key_padding_mask.kind;
    st.attn_kind = a.attn_mask.kind;
    st.attn_per_head = a.attn_mask.present() && a.attn_mask.shape.size() == 3;
    st.workers = workers;
    st.first_position = a.cache ? static_cast<std::int64_t>(a.cache->length()) : config_.rotary.position_offset;
    if (config_.rotary.enabled)
        detail::build_rotary_table(config_.rotary, d, st.first_position, l, st.memory.at<float>(st.at.table));
    if (config_.alibi != alibi_mode::none)
        for (std::size_t head = 0; head < h; ++head)
            st.memory.at<float>(st.at.slopes)[head]
                = config_.alibi == alibi_mode::given ? config_.alibi_slopes[head] : standard_alibi_slope(head, h);

    plan_.workspace_bytes = layout.total();
    detail::stage_layer_plan(plan_, st.memory.bytes(),
                             { st.at.x, 0, 0, st.at.attn, st.at.padding, st.at.output, a.average_attn_weights ? st.at.averaged : st.at.head_weights },
                             a, stage_inputs, false, weights_shape);
    return {};
}

void self_attention::run_staged()
{
    const state& st = *state_;
    forward_arguments data;
    data.query.data = st.memory.at<float>(st.at.x);
    data.key_padding_mask.data = st.memory.at<void>(st.at.padding);
    data.attn_mask.data = st.memory.at<void>(st.at.attn);
    run(data);
}

void self_attention::run(const forward_arguments& a)
{
    const state& st = *state_;
    const detail::layer_shapes& s = st.shapes;
    const std::size_t n = s.batch_size, l = s.query_len, h = config_.num_heads, hkv = config_.kv_heads(), d = config_.dims();
    const std::size_t rows = n * l, qw = h * d, kvw = hkv * d;
    float* q = st.memory.at<float>(st.at.q);
    float* k = st.memory.at<float>(st.at.k);
    float* v = st.memory.at<float>(st.at.v);
    float* heads_out = st.memory.at<float>(st.at.heads_out);
    float* input_quads = st.memory.at<float>(st.at.input_quads);
    if (detail::packs_input(rows))
    {
        detail::pack_input(input_quads, a.query.data, config_.embed_dim, rows, config_.embed_dim);
        st.q_proj.apply_quads(q, qw, input_quads, rows);
        st.k_proj.apply_quads(k, kvw, input_quads, rows);
        st.v_proj.apply_quads(v, kvw, input_quads, rows);
    }
    else
    {
        st.q_proj.apply(q, qw, a.query.data, config_.embed_dim, rows, input_quads);
        st.k_proj.apply(k, kvw, a.query.data, config_.embed_dim, rows, input_quads);
        st.v_proj.apply(v, kvw, a.query.data, config_.embed_dim, rows, input_quads);
    }
    if (config_.rotary.enabled)
    {
        const float* table = st.memory.at<float>(st.at.table);
        for (std::size_t b = 0; b < n; ++b)
        {
            for (std::size_t head = 0; head < h; ++head)
                detail::apply_rotary(config_.rotary, d, table, 0, q + b * l * qw + head * d, l, qw);
            for (std::size_t head = 0; head < hkv; ++head)
                detail::apply_rotary(config_.rotary, d, table, 0, k + b * l * kvw + head * d, l, kvw);
        }
    }
    if (st.cache)
        for (std::size_t b = 0; b < n; ++b)
            for (std::size_t head = 0; head < hkv; ++head)
                st.cache->write(b, head, k + b * l * kvw + head * d, kvw, v + b * l * kvw + head * d, kvw, l);

    detail::attention_problem p;
    p.batch_size = n;
    p.num_heads = h;
    p.kv_group = h / hkv;
    p.query_len = l;
    p.key_len = s.total_keys;
    p.head_dim = p.value_dim = d;
    const auto dd = static_cast<std::ptrdiff_t>(d), len = static_cast<std::ptrdiff_t>(l);
    p.query = { q, len * static_cast<std::ptrdiff_t>(qw), dd, static_cast<std::ptrdiff_t>(qw) };
    p.key = { k, len * static_cast<std::ptrdiff_t>(kvw), dd, static_cast<std::ptrdiff_t>(kvw) };
    p.value = { v, len * static_cast<std::ptrdiff_t>(kvw), dd, static_cast<std::ptrdiff_t>(kvw) };
    p.cache = st.cache;
    p.output = { heads_out, len * static_cast<std::ptrdiff_t>(qw), dd, static_cast<std::ptrdiff_t>(qw) };
    float* head_weights = st.need_weights ? st.memory.at<float>(st.at.head_weights) : nullptr;
    p.weights = head_weights;
    p.scale = config_.has_scale ? config_.scale : 1.0f / std::sqrt(static_cast<float>(d));
    p.is_causal = st.is_causal;
    p.query_offset = s.query_offset;
    p.masked_key_len = s.masked_keys;
    p.alibi_slopes = config_.alibi != alibi_mode::none ? st.memory.at<float>(st.at.slopes) : nullptr;
    p.window = config_.window;
    p.softcap = config_.softcap;
    detail::set_layer_masks(p, st.padding_kind, a.key_padding_mask.data, st.attn_kind, a.attn_mask.data, st.attn_per_head,
                            s.masked_keys);
    detail::run_attention(p, st.memory.at<float>(st.at.scratch), st.workers);
    if (st.cache)
        st.cache->commit(l);
    st.o_proj.apply(st.memory.at<float>(st.at.output), config_.embed_dim, heads_out, qw, rows, input_quads);
    if (st.need_weights && st.average)
        detail::average_heads(st.memory.at<float>(st.at.averaged), head_weights, n, h, l * s.total_keys);
}

status self_attention::forward(const forward_arguments& arguments, attention_result& result)
{
    if (status st = plan(arguments, false); !st.ok())
        return st;
    run(arguments);
    result = detail::planned_result(plan_, arguments.need_weights);
    return {};
}
} // namespace mha
