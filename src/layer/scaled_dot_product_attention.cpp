// The free attention function as plan + run: validate, lay out the call's
// memory, describe contiguous (B, H, L, D) tensors as an attention_problem,
// run it, and (with a cache) append the new keys and values first.
#include "mha/scaled_dot_product_attention.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "attention_problem.hpp"
#include "layer_attention.hpp"
#include "rotary.hpp"
#include "thread_pool.hpp"
#include "validate.hpp"
#include "workspace.hpp"

namespace mha
{
namespace
{
    // Above this many input bytes (staged, no weights, no cache), a call runs
    // one (batch, head) per step: WebAssembly memory never shrinks, so staging
    // a whole (B, H, L, D) query, key and value at once would leave the heap at
    // their full size for the rest of the page's life.
    constexpr std::uint64_t head_by_head_bytes = std::uint64_t(32) << 20;

    detail::strided_rows<const float> contiguous_rows(const float* data, std::size_t heads, std::size_t length,
                                                      std::size_t dim)
    {
        const auto row = static_cast<std::ptrdiff_t>(dim);
        const auto head = row * static_cast<std::ptrdiff_t>(length);
        return { data, head * static_cast<std::ptrdiff_t>(heads), head, row };
    }

    std::size_t mask_element_bytes(mask_kind kind) { return kind == mask_kind::boolean ? 1 : sizeof(float); }
} // namespace

struct scaled_dot_product_attention_op::state
{
    detail::workspace memory;
    detail::sdpa_shapes shapes;
    bool staged = false;
    bool head_by_head = false;
    bool need_weights = false;
    bool is_causal = false;
    float scale = 1.0f;
    kv_cache* cache = nullptr;
    rotary_options rotary;
    alibi_mode alibi = alibi_mode::none;
    std::size_t window = 0;
    float softcap = 0.0f;
    // Rotary table positions start here; queries and new keys start at these positions.
    std::int64_t table_first = 0, query_position = 0, key_position = 0;
    std::size_t table_positions = 0;
    mask_kind mask = mask_kind::none;
    // The mask broadcast to (B, H, Lq, Lk), data pointer unset.
    detail::strided_mask mask_strides;
    // Elements of the mask one step reads (all of it, or one (b, h) plane).
    std::uint64_t mask_step_elements = 0;
    std::size_t workers = 1;
    // Byte offsets in `memory`.
    std::size_t query = 0, key = 0, value = 0, attn_mask = 0, slopes = 0, output = 0, weights = 0, scratch = 0;
    // With rotary embeddings: the rotated copies of query and key, and the table.
    std::size_t rotated_query = 0, rotated_key = 0, rotary_table = 0;

    // (batch, heads) of one step.
    std::size_t step_batch() const { return head_by_head ? 1 : shapes.batch_size; }
    std::size_t step_heads() const { return head_by_head ? 1 : shapes.num_heads; }
    std::size_t step_kv_heads() const { return head_by_head ? 1 : shapes.kv_heads; }
    std::uint64_t query_elements() const { return std::uint64_t(step_batch()) * step_heads() * shapes.query_len * shapes.head_dim; }
    std::uint64_t key_elements() const { return std::uint64_t(step_batch()) * step_kv_heads() * shapes.new_keys * shapes.head_dim; }
    std::uint64_t value_elements() const { return std::uint64_t(step_batch()) * step_kv_heads() * shapes.new_keys * shapes.value_dim; }
    std::uint64_t output_elements() const { return std::uint64_t(step_batch()) * step_heads() * shapes.query_len * shapes.value_dim; }

    detail::attention_problem problem(const float* q, const float* k, const float* v, const void* mask,
                                      const float* slopes, float* out, float* w, std::size_t step) const
    {
        const detail::sdpa_shapes& s = shapes;
        detail::attention_problem p;
        p.batch_size = step_batch();
        p.num_heads = step_heads();
        p.kv_group = s.num_heads / s.kv_heads;
        p.query_len = s.query_len;
        p.key_len = s.key_len;
        p.head_dim = s.head_dim;
        p.value_dim = s.value_dim;
        p.query = contiguous_rows(q, p.num_heads, s.query_len, s.head_dim);
        p.key = contiguous_rows(k, step_kv_heads(), s.new_keys, s.head_dim);
        p.value = contiguous_rows(v, step_kv_heads(), s.new_keys, s.value_dim);
        p.cache = cache;
        const auto o = contiguous_rows(out, p.num_heads, s.query_len, s.value_dim);
        p.output = { out, o.batch_stride, o.head_stride, o.row_stride };
        p.weights = w;
        p.scale = scale;
        p.masks[0] = mask_strides;
        p.masks[0].data = mask;
        if (head_by_head)
        {
            // This step's mask plane was staged on its own.
            p.masks[0].batch_stride = 0;
            p.masks[0].head_stride = 0;
        }
        p.is_causal = is_causal;
        p.query_offset = s.query_offset;
        p.masked_key_len = s.key_len;
        p.alibi_slopes = alibi == alibi_mode::none ? nullptr : slopes + (head_by_head ? step % s.num_heads : 0);
        p.window = window;
        p.softcap = softcap;
        return p;
    }

    // First element of the caller's key/value that step (b, h) reads: kv head h / group.
    std::uint64_t kv_step(std::size_t step) const
    {
        if (!head_by_head)
            return 0;
        const std::size_t b = step / shapes.num_heads, h = step % shapes.num_heads;
        return b * shapes.kv_heads + h / (shapes.num_heads / shapes.kv_heads);
    }

    // First element of the caller's mask that (b, h) = step reads.
    std::uint64_t mask_first(std::size_t step) const
    {
        if (!head_by_head)
            return 0;
        const std::size_t b = step / shapes.num_heads, h = step % shapes.num_heads;
        return std::uint64_t(b) * static_cast<std::uint64_t>(mask_strides.batch_stride)
            + std::uint64_t(h) * static_cast<std::uint64_t>(mask_strides.head_stride);
    }

    // Copies q and k into the rotated buffers and rotates them at their positions.
    void rotate(const float*& q, const float*& k) const
    {
        if (!rotary.enabled)
            return;
        const detail::sdpa_shapes& s = shapes;
        const float* table = memory.at<float>(rotary_table);
        float* rq = memory.at<float>(rotated_query);
        float* rk = memory.at<float>(rotated_key);
        std::copy(q, q + query_elements(), rq);
        std::copy(k, k + key_elements(), rk);
        for (std::size_t head = 0; head < step_batch() * step_heads(); ++head)
            detail::apply_rotary(rotary, s.head_dim, table, std::size_t(query_position - table_first),
                                 rq + head * s.query_len * s.head_dim, s.query_len, s.head_dim);
        for (std::size_t head = 0; head < step_batch() * step_kv_heads(); ++head)
            detail::apply_rotary(rotary, s.head_dim, table, std::size_t(key_position - table_first),
                                 rk + head * s.new_keys * s.head_dim, s.new_keys, s.head_dim);
        q = rq;
        k = rk;
    }

    // Rotates, appends the new keys and values (all heads), attends, then
    // makes them part of the cache.
    void execute(const float* q, const float* k, const float* v, const void* mask, const float* slopes, std::size_t step) const
    {
        rotate(q, k);
        const detail::attention_problem p = problem(q, k, v, mask, slopes, memory.at<float>(output),
                                                    need_weights ? memory.at<float>(weights) : nullptr, step);
        if (cache)
            for (std::size_t b = 0; b < shapes.batch_size; ++b)
                for (std::size_t h = 0; h < shapes.kv_heads; ++h)
                {
                    const std::size_t head = b * shapes.kv_heads + h;
                    cache->write(b, h, k + head * shapes.new_keys * shapes.head_dim, shapes.head_dim,
                                 v + head * shapes.new_keys * shapes.value_dim, shapes.value_dim, shapes.new_keys);
                }
        detail::run_attention(p, memory.at<float>(scratch), workers);
        if (cache)
            cache->commit(shapes.new_keys);
    }
};

scaled_dot_product_attention_op::scaled_dot_product_attention_op()
    : state_(new state)
{
}

scaled_dot_product_attention_op::~scaled_dot_product_attention_op() = default;

void scaled_dot_product_attention_op::release() { state_->memory.release(); }

status scaled_dot_product_attention_op::plan(const sdpa_arguments& a, bool stage_inputs)
{
    detail::sdpa_shapes s;
    if (status st = detail::check_sdpa(a, s); !st.ok())
        return st;
    const shape_t output_shape { s.batch_size, s.num_heads, s.query_len, s.value_dim };
    const shape_t weights_shape = a.need_weights ? shape_t { s.batch_size, s.num_heads, s.query_len, s.key_len } : shape_t {};
    if (status st = detail::check_out_lengths("", a.out_output_length, output_shape, a.out_weights_length,
                                              weights_shape, a.need_weights);
        !st.ok())
        return st;

    state next;
    next.shapes = s;
    next.staged = stage_inputs;
    next.need_weights = a.need_weights;
    next.is_causal = a.is_causal;
    next.scale = a.has_scale ? a.scale : 1.0f / std::sqrt(static_cast<float>(s.head_dim));
    next.cache = a.cache;
    next.rotary = a.rotary;
    next.alibi = a.alibi.mode;
    next.window = a.window;
    next.softcap = a.softcap;
    next.mask = a.attn_mask.kind;
    next.mask_strides = detail::broadcast_mask(a.attn_mask);
    const std::uint64_t mask_elements = a.attn_mask.present() ? element_count(a.attn_mask.shape) : 0;
    const std::uint64_t input_bytes = (a.query.length + a.key.length + a.value.length) * sizeof(float)
        + mask_elements * mask_element_bytes(a.attn_mask.kind);
    next.head_by_head = stage_inputs && !a.need_weights && !a.cache && s.batch_size * s.num_heads > 1
        && input_bytes > head_by_head_bytes;
    if (a.attn_mask.present())
    {
        // One step reads the mask's last two dimensions (rows x columns) at the
        // (b, h) offset its broadcast strides give.
        const shape_t& m = a.attn_mask.shape;
        const std::uint64_t rows = m.size() >= 2 ? m[m.size() - 2] : 1;
        next.mask_step_elements = next.head_by_head ? rows * m.back() : mask_elements;
    }
    next.workers = thread_count();
    if (a.rotary.enabled)
    {
        // Key j at key_position + j, query i at key_position + query_offset + i
        // (mha/positional.hpp); the table spans both ranges.
        next.key_position = a.cache ? static_cast<std::int64_t>(a.cache->length()) : a.rotary.position_offset;
        const std::int64_t keys_origin = a.cache ? 0 : a.rotary.position_offset;
        next.query_position = keys_origin + s.query_offset;
        next.table_first = std::min(next.query_position, next.key_position);
        const std::int64_t end = std::max(next.query_position + std::int64_t(s.query_len), next.key_position + std::int64_t(s.new_keys));
        next.table_positions = static_cast<std::size_t>(end - next.table_first);
    }

    detail::workspace_layout layout;
    if (stage_inputs)
    {
        next.query = layout.add_floats(next.query_elements());
        next.key = layout.add_floats(next.key_elements());
        next.value = layout.add_floats(next.value_elements());
        next.attn_mask = layout.add(next.mask_step_elements * mask_element_bytes(next.mask));
    }
    if (a.alibi.mode == alibi_mode::standard || (a.alibi.mode == alibi_mode::given && stage_inputs))
        next.slopes = layout.add_floats(s.num_heads);
    if (a.rotary.enabled)
    {
        next.rotated_query = layout.add_floats(next.query_elements());
        next.rotated_key = layout.add_floats(next.key_elements());
        next.rotary_table = layout.add_floats(detail::rotary_table_floats(a.rotary, s.head_dim, next.table_positions));
    }
    next.output = layout.add_floats(next.output_elements());
    if (a.need_weights)
        next.weights = layout.add_floats(element_count(weights_shape));
    // Sized from the shapes alone; the weights pointer only says whether there are weights.
    float weights_placeholder = 0.0f;
    next.scratch = layout.add_floats(detail::attention_scratch_floats(
        next.problem(nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, a.need_weights ? &weights_placeholder : nullptr, 0),
        next.workers));
    if (status reserved = detail::reserve(state_->memory, layout); !reserved.ok())
        return reserved;

    // Committed: the workspace moves into the new state.
    next.memory = std::move(state_->memory);
    *state_ = std::move(next);
    const state& st = *state_;
    if (st.alibi == alibi_mode::standard)
        for (std::size_t h = 0; h < s.num_heads; ++h)
            st.memory.at<float>(st.slopes)[h] = standard_alibi_slope(h, s.num_heads);
    if (st.rotary.enabled)
        detail::build_rotary_table(st.rotary, s.head_dim, st.table_first, st.table_positions, st.memory.at<float>(st.rotary_table));
    plan_.steps = state_->head_by_head ? s.batch_size * s.num_heads : 1;
    plan_.output_shape = output_shape;
    plan_.weights_shape = weights_shape;
    plan_.workspace_bytes = layout.total();
    stage(0);
    return {};
}

void scaled_dot_product_attention_op::stage(std::size_t step)
{
    const state& st = *state_;
    unsigned char* base = st.memory.bytes();
    for (staged_range& r : plan_.inputs)
        r = {};
    if (st.staged)
    {
        plan_.inputs[0] = { base + st.query, step * st.query_elements(), st.query_elements() };
        plan_.inputs[1] = { base + st.key, st.kv_step(step) * st.key_elements(), st.key_elements() };
        plan_.inputs[2] = { base + st.value, st.kv_step(step) * st.value_elements(), st.value_elements() };
        if (st.mask != mask_kind::none)
            plan_.inputs[3] = { base + st.attn_mask, st.mask_first(step), st.mask_step_elements };
        if (st.alibi == alibi_mode::given)
            plan_.inputs[5] = { base + st.slopes, 0, st.shapes.num_heads };
    }
    plan_.outputs[0] = { base + st.output, step * st.output_elements(), st.output_elements() };
    plan_.outputs[1] = {};
    if (st.need_weights)
        plan_.outputs[1] = { base + st.weights, 0, element_count(plan_.weights_shape) };
}

void scaled_dot_product_attention_op::run_step(std::size_t step)
{
    const state& st = *state_;
    st.execute(st.memory.at<float>(st.query), st.memory.at<float>(st.key), st.memory.at<float>(st.value),
               st.memory.at<void>(st.attn_mask), st.memory.at<float>(st.slopes), step);
}

void scaled_dot_product_attention_op::run(const sdpa_arguments& a)
{
    const state& st = *state_;
    const float* slopes = st.alibi == alibi_mode::given ? a.alibi.slopes.data : st.memory.at<float>(st.slopes);
    st.execute(a.query.data, a.key.data, a.value.data, a.attn_mask.data, slopes, 0);
}

status scaled_dot_product_attention(const sdpa_arguments& arguments, scaled_dot_product_attention_op& op,
                                    attention_result& result)
{
    if (status st = op.plan(arguments, false); !st.ok())
        return st;
    op.run(arguments);
    result = detail::planned_result(op.current_plan(), arguments.need_weights);
    return {};
}
} // namespace mha
