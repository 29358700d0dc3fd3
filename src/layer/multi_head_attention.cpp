// The layer: orchestration only. Validation lives in validate.cpp, the
// arithmetic in kernels/ and attention_core.cpp.
//
// Shape glossary: N batch, L query length, S key length, S' = S + appended
// keys, E embed_dim, H heads, D = E / H.
//
// forward():
//   1. project query/key/value rows per batch item into (N, L|S', E) scratch,
//      appending bias_k/bias_v and the zero-attention row after the S keys;
//   2. attention per (batch, head) on the head's D columns of those rows,
//      writing the heads side by side (that is the concatenation);
//   3. output projection straight into the caller's layout;
//   4. optionally average the per-head weights.
#include "mha/multi_head_attention.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "attention_problem.hpp"
#include "parallel_matrix_multiply.hpp"
#include "kernels/packed_matrix_multiply.hpp"
#include "kernels/simd_arch.hpp"
#include "validate.hpp"

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

    // PyTorch stores Linear weights as (out_features, in_features); the kernel
    // reads them as column panels of the transposed matrix (see
    // kernels/packed_matrix_multiply.hpp).
    std::vector<float> pack(const float* weight, std::size_t out_features, std::size_t in_features)
    {
        std::vector<float> packed(kernels::packed_size(kernel_arch {}, out_features, in_features));
        kernels::pack_columns(kernel_arch {}, packed.data(), weight, in_features, out_features, in_features);
        return packed;
    }
} // namespace

status multi_head_attention::check_config(const attention_config& config) { return detail::check_config(config); }

multi_head_attention::multi_head_attention(const attention_config& config)
    : config_(config)
    , config_ok_(detail::check_config(config).ok())
{
}

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
    const auto expected = expected_weights();
    std::string expected_list;
    for (const auto& [name, shape] : expected)
        expected_list += (expected_list.empty() ? "'" : ", '") + name + "'";

    std::set<std::string> seen;
    for (const named_weight& w : weights)
    {
        const auto match = std::find_if(expected.begin(), expected.end(), [&](const auto& e) { return e.first == w.name; });
        if (match == expected.end())
            return status::range_error("stateDict: unexpected key '" + w.name + "' for this configuration; expected "
                                       + expected_list);
        if (!seen.insert(w.name).second)
            return status::range_error("stateDict: key '" + w.name + "' given twice");
        if (status st = detail::check_weight(w, match->second); !st.ok())
            return st;
    }
    std::string missing;
    for (const auto& [name, shape] : expected)
        if (!seen.count(name))
            missing += (missing.empty() ? "'" : ", '") + name + "' " + detail::format_shape(shape);
    if (!missing.empty())
        return status::range_error("stateDict: missing " + missing + " (PyTorch state_dict names)");

    const std::size_t e = config_.embed_dim;
    const auto find = [&](const char* name) {
        return std::find_if(weights.begin(), weights.end(), [&](const named_weight& w) { return w.name == name; })
            ->tensor.data;
    };
    if (config_.packed_in_projection())
    {
        const float* packed = find("in_proj_weight");
        query_projection_.packed_weight = pack(packed, e, e);
        key_projection_.packed_weight = pack(packed + e * e, e, e);
        value_projection_.packed_weight = pack(packed + 2 * e * e, e, e);
    }
    else
    {
        query_projection_.packed_weight = pack(find("q_proj_weight"), e, e);
        key_projection_.packed_weight = pack(find("k_proj_weight"), e, config_.key_dim());
        value_projection_.packed_weight = pack(find("v_proj_weight"), e, config_.value_dim());
    }
    output_projection_.packed_weight = pack(find("out_proj.weight"), e, e);
    if (config_.bias)
    {
        const float* in_bias = find("in_proj_bias");
        query_projection_.bias.assign(in_bias, in_bias + e);
        key_projection_.bias.assign(in_bias + e, in_bias + 2 * e);
        value_projection_.bias.assign(in_bias + 2 * e, in_bias + 3 * e);
        const float* out_bias = find("out_proj.bias");
        output_projection_.bias.assign(out_bias, out_bias + e);
    }
    if (config_.add_bias_kv)
    {
        bias_k_.assign(find("bias_k"), find("bias_k") + e);
        bias_v_.assign(find("bias_v"), find("bias_v") + e);
    }
    weights_loaded_ = true;
    return {};
}

status multi_head_attention::forward(const forward_arguments& a, attention_result& result)
{
    if (!config_ok_)
        return detail::check_config(config_);
    detail::layer_shapes s;
    if (status st = detail::check_forward(config_, a, s); !st.ok())
        return st;
    if (!weights_loaded_)
        return status::state_error("weights are not loaded; call loadWeights(stateDict) first");

    const std::size_t n_batch = s.batch_size, l = s.query_len, sk = s.key_len;
    const std::size_t e = config_.embed_dim, h = config_.num_heads, d = config_.head_dim();
    const std::size_t total_keys = sk + config_.appended_keys();

    projected_query_.resize(n_batch * l * e);
    projected_key_.resize(n_batch * total_keys * e);
    projected_value_.resize(n_batch * total_keys * e);
    attention_output_.resize(n_batch * l * e);
    buffers_.output.resize(n_batch * l * e);

    // c (rows x E) = a (rows x in_dim) . W^T + b, W packed at load time.
    const auto project = [&](const projection& proj, float* c, std::size_t ldc, const float* a, std::size_t lda,
                             std::size_t rows, std::size_t in_dim) {
        detail::parallel_matrix_multiply(c, ldc, a, lda, proj.packed_weight.data(),
                                         proj.bias.empty() ? nullptr : proj.bias.data(), rows, e, in_dim);
    };
    // Keys or values of batch item n: S projected rows, then the appended ones.
    const auto project_sequence = [&](const float_tensor_view& input, const projection& proj,
                                      const std::vector<float>& appended_bias, std::vector<float>& projected,
                                      std::size_t n) {
        const std::size_t in_dim = input.shape.back();
        const batch_rows rows = rows_of_batch(config_, s.batched, n_batch, sk, n, in_dim);
        float* target = projected.data() + n * total_keys * e;
        project(proj, target, e, input.data + rows.offset, rows.stride, sk, in_dim);
        float* next_row = target + sk * e;
        if (config_.add_bias_kv)
        {
            std::copy(appended_bias.begin(), appended_bias.end(), next_row);
            next_row += e;
        }
        if (config_.add_zero_attn)
            std::fill(next_row, next_row + e, 0.0f);
    };
    for (std::size_t n = 0; n < n_batch; ++n)
    {
        const batch_rows q_rows = rows_of_batch(config_, s.batched, n_batch, l, n, e);
        project(query_projection_, projected_query_.data() + n * l * e, e, a.query.data + q_rows.offset, q_rows.stride,
                l, e);
        project_sequence(a.key, key_projection_, bias_k_, projected_key_, n);
        project_sequence(a.value, value_projection_, bias_v_, projected_value_, n);
    }

    detail::attention_problem p;
    p.batch_size = n_batch;
    p.num_heads = h;
    p.query_len = l;
    p.key_len = total_keys;
    p.head_dim = d;
    p.value_dim = d;
    const auto ld = static_cast<std::ptrdiff_t>(e), dd = static_cast<std::ptrdiff_t>(d);
    p.query = { projected_query_.data(), static_cast<std::ptrdiff_t>(l) * ld, dd, ld };
    p.key = { projected_key_.data(), static_cast<std::ptrdiff_t>(total_keys) * ld, dd, ld };
    p.value = { projected_value_.data(), static_cast<std::ptrdiff_t>(total_keys) * ld, dd, ld };
    p.output = { attention_output_.data(), static_cast<std::ptrdiff_t>(l) * ld, dd, ld };
    if (a.need_weights)
    {
        head_weights_.resize(n_batch * h * l * total_keys);
        p.weights = head_weights_.data();
    }
    p.scale = 1.0f / std::sqrt(static_cast<float>(d));
    p.is_causal = a.is_causal;
    p.masked_key_len = sk;
    if (a.key_padding_mask.present())
        p.masks[0] = { a.key_padding_mask.kind, a.key_padding_mask.data, static_cast<std::ptrdiff_t>(sk), 0, 0, 1 };
    if (a.attn_mask.present())
    {
        const auto plane = static_cast<std::ptrdiff_t>(l * sk);
        const bool per_head = a.attn_mask.shape.size() == 3;
        p.masks[1] = { a.attn_mask.kind, a.attn_mask.data, per_head ? plane * static_cast<std::ptrdiff_t>(h) : 0,
                       per_head ? plane : 0, static_cast<std::ptrdiff_t>(sk), 1 };
    }
    detail::run_attention(p, buffers_.scratch);

    for (std::size_t n = 0; n < n_batch; ++n)
    {
        const batch_rows out_rows = rows_of_batch(config_, s.batched, n_batch, l, n, e);
        project(output_projection_, buffers_.output.data() + out_rows.offset, out_rows.stride,
                attention_output_.data() + n * l * e, e, l, e);
    }

    result.output = buffers_.output.data();
    result.output_shape = a.query.shape;
    result.weights = nullptr;
    result.weights_shape.clear();
    if (a.need_weights)
    {
        if (a.average_attn_weights)
        {
            const std::size_t plane = l * total_keys;
            buffers_.weights.assign(n_batch * plane, 0.0f);
            const float inverse_heads = 1.0f / static_cast<float>(h);
            for (std::size_t n = 0; n < n_batch; ++n)
                for (std::size_t head = 0; head < h; ++head)
                {
                    const float* source = head_weights_.data() + (n * h + head) * plane;
                    float* target = buffers_.weights.data() + n * plane;
                    for (std::size_t t = 0; t < plane; ++t)
                        target[t] += source[t] * inverse_heads;
                }
            result.weights = buffers_.weights.data();
            result.weights_shape = s.batched ? shape_t { n_batch, l, total_keys } : shape_t { l, total_keys };
        }
        else
        {
            result.weights = head_weights_.data();
            result.weights_shape = s.batched ? shape_t { n_batch, h, l, total_keys } : shape_t { h, l, total_keys };
        }
    }
    return {};
}
} // namespace mha
