// The layer: orchestration only. Validation lives in validate.cpp, the
// arithmetic in kernels/ and attention_core.cpp.
//
// Shape glossary: N batch, L query length, S key length, S' = S + appended
// keys (or, with a cache, its length after the append), E embed_dim, H heads,
// D = E / H.
//
// plan(): validate, then lay out the call's memory in one workspace: staged
// inputs (from JavaScript), projected q/k/v, the concatenated heads, weights,
// output, attention scratch. run():
//   1. project query/key/value rows per batch item into (N, L|S', E) scratch,
//      appending bias_k/bias_v and the zero-attention row after the S keys;
//   2. with a cache, write the projected keys/values of the new tokens into it;
//   3. attention per (batch, head) on the head's D columns of those rows (or
//      over the cache's panels), writing the heads side by side (that is the
//      concatenation);
//   4. output projection straight into the caller's layout;
//   5. optionally average the per-head weights.
#include "mha/multi_head_attention.hpp"

#include <algorithm>
#include <cmath>

#include "attention_problem.hpp"
#include "layer_attention.hpp"
#include "kernels/packed_matrix_multiply.hpp"
#include "kernels/simd_arch.hpp"
#include "projection.hpp"
#include "thread_pool.hpp"
#include "validate.hpp"
#include "workspace.hpp"

namespace mha
{
namespace
{
    // Rows of one batch item inside a (L, N, dim), (N, L, dim) or (L, dim) tensor.
    struct batch_rows
    {
        std::size_t offset;
        std::size_t stride;
    };

    batch_rows rows_of_batch(const attention_config& c, bool batched, std::size_t batch_size, std::size_t length,
                             std::size_t n, std::size_t dim)
    {
        if (!batched)
            return { 0, dim };
        if (c.batch_first)
            return { n * length * dim, dim };
        return { n * dim, batch_size * dim };
    }

    std::size_t mask_bytes(const mask_tensor_view& mask)
    {
        return mask.present() ? element_count(mask.shape) * (mask.kind == mask_kind::boolean ? 1 : sizeof(float)) : 0;
    }
} // namespace

struct multi_head_attention::state
{
    detail::packed_projection query_projection, key_projection, value_projection, output_projection;
    detail::aligned_floats bias_k, bias_v;
    detail::workspace memory;
    detail::workspace staging;

    // The last successful plan.
    detail::layer_shapes shapes;
    shape_t query_shape;
    bool staged = false;
    bool need_weights = false;
    bool average = false;
    bool is_causal = false;
    kv_cache* cache = nullptr;
    mask_kind padding_kind = mask_kind::none, attn_kind = mask_kind::none;
    bool attn_per_head = false;
    std::size_t workers = 1;
    std::size_t query = 0, key = 0, value = 0, padding = 0, attn = 0;
    std::size_t projected_query = 0, projected_key = 0, projected_value = 0, heads_out = 0, head_weights = 0,
                averaged = 0, output = 0, scratch = 0;
    // The row quads of one projection's input (reused by each projection in turn).
    std::size_t input_quads = 0;
    // Rows of projected keys/values per batch item: S' without a cache, the
    // new tokens with one.
    std::size_t projected_keys_per_batch = 0;
};

status multi_head_attention::check_config(const attention_config& config) { return detail::check_config(config); }

multi_head_attention::multi_head_attention(const attention_config& config)
    : config_(config)
    , config_ok_(detail::check_config(config).ok())
    , id_(detail::next_layer_id())
    , state_(new state)
{
}

multi_head_attention::~multi_head_attention() = default;

std::vector<std::pair<std::string, shape_t>> multi_head_attention::expected_weights() const
{
    const std::size_t e = config_.embed_dim;
    std::vector<std::pair<std::string, shape_t>> names;
    if (config_.packed_in_projection())
    {
        names.push_back({ "in_proj_weight", { 3 * e, e } });
    }
    else
    {
        names.push_back({ "q_proj_weight", { e, e } });
        names.push_back({ "k_proj_weight", { e, config_.key_dim() } });
        names.push_back({ "v_proj_weight", { e, config_.value_dim() } });
    }
    if (config_.bias)
        names.push_back({ "in_proj_bias", { 3 * e } });
    if (config_.add_bias_kv)
    {
        names.push_back({ "bias_k", { 1, 1, e } });
        names.push_back({ "bias_v", { 1, 1, e } });
    }
    names.push_back({ "out_proj.weight", { e, e } });
    if (config_.bias)
        names.push_back({ "out_proj.bias", { e } });
    return names;
}

status multi_head_attention::load_weights(const std::vector<named_weight>& weights)
{
    if (!config_ok_)
        return detail::check_config(config_);
    if (status st = detail::check_state_dict(expected_weights(), weights); !st.ok())
        return st;

    const std::size_t e = config_.embed_dim;
    const auto find = [&](const char* name) { return detail::find_weight(weights, name); };
    // Everything is allocated before anything is replaced: out of memory
    // leaves the layer as it was.
    detail::packed_projection q, k, v, o;
    detail::aligned_floats bias_k, bias_v;
    bool allocated = q.allocate(e, e, config_.bias) && k.allocate(config_.key_dim(), e, config_.bias)
        && v.allocate(config_.value_dim(), e, config_.bias) && o.allocate(e, e, config_.bias);
    if (config_.add_bias_kv)
        allocated = allocated && bias_k.allocate(e) && bias_v.allocate(e);
    if (!allocated)
        return status::range_error("could not allocate the packed weights in the WebAssembly heap (out of memory)");

    const float* in_bias = config_.bias ? find("in_proj_bias") : nullptr;
    const auto bias_part = [&](std::size_t part) { return in_bias ? in_bias + part * e : nullptr; };
    if (config_.packed_in_projection())
    {
        const float* packed = find("in_proj_weight");
        q.pack(packed, e, bias_part(0));
        k.pack(packed + e * e, e, bias_part(1));
        v.pack(packed + 2 * e * e, e, bias_part(2));
    }
    else
    {
        q.pack(find("q_proj_weight"), e, bias_part(0));
        k.pack(find("k_proj_weight"), config_.key_dim(), bias_part(1));
        v.pack(find("v_proj_weight"), config_.value_dim(), bias_part(2));
    }
    o.pack(find("out_proj.weight"), e, config_.bias ? find("out_proj.bias") : nullptr);
    if (config_.add_bias_kv)
    {
        std::copy(find("bias_k"), find("bias_k") + e, bias_k.data());
        std::copy(find("bias_v"), find("bias_v") + e, bias_v.data());
    }
    state& st = *state_;
    st.query_projection = std::move(q);
    st.key_projection = std::move(k);
    st.value_projection = std::move(v);
    st.output_projection = std::move(o);
    st.bias_k = std::move(bias_k);
    st.bias_v = std::move(bias_v);
    weights_loaded_ = true;
    return {};
}

std::unique_ptr<kv_cache> multi_head_attention::create_cache(std::size_t batch_size, std::size_t max_length) const
{
    const std::size_t d = config_ok_ ? config_.head_dim() : 0;
    return std::make_unique<kv_cache>(kv_cache_config { batch_size, config_.num_heads, d, d, max_length }, id_);
}

void* multi_head_attention::staging_area(std::uint64_t bytes)
{
    return state_->staging.reserve(bytes) ? state_->staging.bytes() : nullptr;
}

void multi_head_attention::release_call_memory()
{
    state_->memory.release();
    state_->staging.release();
}

status multi_head_attention::plan(const forward_arguments& a, bool stage_inputs)
{
    if (!config_ok_)
        return detail::check_config(config_);
    detail::layer_shapes s;
    if (status st = detail::check_forward(config_, id_, a, s); !st.ok())
        return st;
    if (!weights_loaded_)
        return status::state_error("weights are not loaded; call loadWeights(stateDict) first");

    const std::size_t n_batch = s.batch_size, l = s.query_len, e = config_.embed_dim, h = config_.num_heads;
    const shape_t weights_shape = detail::layer_weights_shape(s, h, a.need_weights, a.average_attn_weights);
    if (status st = detail::check_out_lengths("", a.out_output_length, a.query.shape, a.out_weights_length,
                                              weights_shape, a.need_weights);
        !st.ok())
        return st;

    state& st = *state_;
    const std::size_t projected_keys = a.cache ? s.key_len : s.total_keys;
    const std::uint64_t plane = std::uint64_t(l) * s.total_keys;
    detail::workspace_layout layout;
    std::size_t query = 0, key = 0, value = 0, padding = 0, attn = 0;
    if (stage_inputs)
    {
        query = layout.add_floats(element_count(a.query.shape));
        key = layout.add_floats(element_count(a.key.shape));
        value = layout.add_floats(element_count(a.value.shape));
        padding = layout.add(mask_bytes(a.key_padding_mask));
        attn = layout.add(mask_bytes(a.attn_mask));
    }
    const std::size_t projected_query = layout.add_floats(std::uint64_t(n_batch) * l * e);
    const std::size_t projected_key = layout.add_floats(std::uint64_t(n_batch) * projected_keys * e);
    const std::size_t projected_value = layout.add_floats(std::uint64_t(n_batch) * projected_keys * e);
    const std::size_t heads_out = layout.add_floats(std::uint64_t(n_batch) * l * e);
    const std::size_t head_weights = a.need_weights ? layout.add_floats(std::uint64_t(n_batch) * h * plane) : 0;
    const std::size_t averaged = a.need_weights && a.average_attn_weights ? layout.add_floats(std::uint64_t(n_batch) * plane) : 0;
    const std::size_t output = layout.add_floats(std::uint64_t(n_batch) * l * e);

    detail::attention_problem sizing;
    sizing.batch_size = n_batch;
    sizing.num_heads = h;
    sizing.query_len = l;
    sizing.key_len = s.total_keys;
    sizing.head_dim = sizing.value_dim = config_.head_dim();
    sizing.cache = a.cache;
    float weights_placeholder = 0.0f;
    sizing.weights = a.need_weights ? &weights_placeholder : nullptr;
    const std::size_t workers = thread_count();
    const std::size_t scratch = layout.add_floats(detail::attention_scratch_floats(sizing, workers));
    const std::size_t input_quads = layout.add_floats(std::max({ detail::input_quads_floats(l, e),
                                                                 detail::input_quads_floats(s.key_len, config_.key_dim()),
                                                                 detail::input_quads_floats(s.key_len, config_.value_dim()) }));
    if (status reserved = detail::reserve(st.memory, layout); !reserved.ok())
        return reserved;

    st.shapes = s;
    st.query_shape = a.query.shape;
    st.staged = stage_inputs;
    st.need_weights = a.need_weights;
    st.average = a.average_attn_weights;
    st.is_causal = a.is_causal;
    st.cache = a.cache;
    st.padding_kind = a.key_padding_mask.kind;
    st.attn_kind = a.attn_mask.kind;
    st.attn_per_head = a.attn_mask.present() && a.attn_mask.shape.size() == 3;
    st.workers = workers;
    st.query = query;
    st.key = key;
    st.value = value;
    st.padding = padding;
    st.attn = attn;
    st.projected_query = projected_query;
    st.projected_key = projected_key;
    st.projected_value = projected_value;
    st.heads_out = heads_out;
    st.head_weights = head_weights;
    st.averaged = averaged;
    st.output = output;
    st.scratch = scratch;
    st.input_quads = input_quads;
    st.projected_keys_per_batch = projected_keys;

    plan_.workspace_bytes = layout.total();
    detail::stage_layer_plan(plan_, st.memory.bytes(),
                             { query, key, value, attn, padding, output, a.average_attn_weights ? averaged : head_weights },
                             a, stage_inputs, true, weights_shape);
    return {};
}

void multi_head_attention::run_staged()
{
    const state& st = *state_;
    forward_arguments data;
    data.query.data = st.memory.at<float>(st.query);
    data.key.data = st.memory.at<float>(st.key);
    data.value.data = st.memory.at<float>(st.value);
    data.key_padding_mask.data = st.memory.at<void>(st.padding);
    data.attn_mask.data = st.memory.at<void>(st.attn);
    run(data);
}

void multi_head_attention::run(const forward_arguments& a)
{
    state& st = *state_;
    const detail::layer_shapes& s = st.shapes;
    const std::size_t n_batch = s.batch_size, l = s.query_len, sk = s.key_len;
    const std::size_t e = config_.embed_dim, h = config_.num_heads, d = config_.head_dim();
    const std::size_t rows_per_batch = st.projected_keys_per_batch;
    float* projected_query = st.memory.at<float>(st.projected_query);
    float* projected_key = st.memory.at<float>(st.projected_key);
    float* projected_value = st.memory.at<float>(st.projected_value);
    float* heads_out = st.memory.at<float>(st.heads_out);
    float* output = st.memory.at<float>(st.output);

    // c (rows x E) = a (rows x in_dim) . W^T + b, W packed at load time.
    float* input_quads = st.memory.at<float>(st.input_quads);
    const auto project = [&](const detail::packed_projection& proj, float* c, std::size_t ldc, const float* x,
                             std::size_t lda, std::size_t rows, std::size_t) { proj.apply(c, ldc, x, lda, rows, input_quads); };
    // Keys or values of batch item n: S projected rows, then the appended ones.
    const auto project_sequence = [&](const float* input, std::size_t in_dim, const detail::packed_projection& proj,
                                      const detail::aligned_floats& appended_bias, float* projected, std::size_t n) {
        const batch_rows rows = rows_of_batch(config_, s.batched, n_batch, sk, n, in_dim);
        float* target = projected + n * rows_per_batch * e;
        project(proj, target, e, input + rows.offset, rows.stride, sk, in_dim);
        if (st.cache)
            return;
        float* next_row = target + sk * e;
        if (config_.add_bias_kv)
        {
            std::copy(appended_bias.data(), appended_bias.data() + e, next_row);
            next_row += e;
        }
        if (config_.add_zero_attn)
            std::fill(next_row, next_row + e, 0.0f);
    };
    for (std::size_t n = 0; n < n_batch; ++n)
    {
        const batch_rows q_rows = rows_of_batch(config_, s.batched, n_batch, l, n, e);
        project(st.query_projection, projected_query + n * l * e, e, a.query.data + q_rows.offset, q_rows.stride, l, e);
        project_sequence(a.key.data, config_.key_dim(), st.key_projection, st.bias_k, projected_key, n);
        project_sequence(a.value.data, config_.value_dim(), st.value_projection, st.bias_v, projected_value, n);
    }
    if (st.cache)
        for (std::size_t n = 0; n < n_batch; ++n)
            for (std::size_t head = 0; head < h; ++head)
                st.cache->write(n, head, projected_key + n * sk * e + head * d, e,
                                projected_value + n * sk * e + head * d, e, sk);

    detail::attention_problem p;
    p.batch_size = n_batch;
    p.num_heads = h;
    p.query_len = l;
    p.key_len = s.total_keys;
    p.head_dim = d;
    p.value_dim = d;
    const auto ld = static_cast<std::ptrdiff_t>(e), dd = static_cast<std::ptrdiff_t>(d);
    const auto key_rows = static_cast<std::ptrdiff_t>(rows_per_batch);
    p.query = { projected_query, static_cast<std::ptrdiff_t>(l) * ld, dd, ld };
    p.key = { projected_key, key_rows * ld, dd, ld };
    p.value = { projected_value, key_rows * ld, dd, ld };
    p.cache = st.cache;
    p.output = { heads_out, static_cast<std::ptrdiff_t>(l) * ld, dd, ld };
    float* head_weights = st.need_weights ? st.memory.at<float>(st.head_weights) : nullptr;
    p.weights = head_weights;
    p.scale = 1.0f / std::sqrt(static_cast<float>(d));
    p.is_causal = st.is_causal;
    p.query_offset = s.query_offset;
    p.masked_key_len = s.masked_keys;
    detail::set_layer_masks(p, st.padding_kind, a.key_padding_mask.data, st.attn_kind, a.attn_mask.data, st.attn_per_head,
                            s.masked_keys);
    detail::run_attention(p, st.memory.at<float>(st.scratch), st.workers);
    if (st.cache)
        st.cache->commit(sk);

    for (std::size_t n = 0; n < n_batch; ++n)
    {
        const batch_rows out_rows = rows_of_batch(config_, s.batched, n_batch, l, n, e);
        project(st.output_projection, output + out_rows.offset, out_rows.stride, heads_out + n * l * e, e, l, e);
    }

    if (st.need_weights && st.average)
        detail::average_heads(st.memory.at<float>(st.averaged), head_weights, n_batch, h, l * s.total_keys);
}

status multi_head_attention::forward(const forward_arguments& arguments, attention_result& result)
{
    if (status st = plan(arguments, false); !st.ok())
        return st;
    run(arguments);
    result = detail::planned_result(plan_, arguments.need_weights);
    return {};
}
} // namespace mha
