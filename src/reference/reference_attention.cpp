#include "reference_attention.hpp"

#include <cmath>
#include <cstdint>
#include <limits>

namespace mha::reference
{
namespace
{
    constexpr double minus_infinity = -std::numeric_limits<double>::infinity();

    // softmax of one row in place; an all -inf row becomes zeros.
    void softmax(std::vector<double>& row)
    {
        double max = minus_infinity;
        for (double x : row)
            max = std::max(max, x);
        if (max == minus_infinity)
        {
            std::fill(row.begin(), row.end(), 0.0);
            return;
        }
        double sum = 0.0;
        for (double& x : row)
        {
            x = std::exp(x - max);
            sum += x;
        }
        for (double& x : row)
            x /= sum;
    }

    double mask_value(const mask_tensor_view& mask, std::size_t index)
    {
        if (mask.kind == mask_kind::boolean)
            return static_cast<const std::uint8_t*>(mask.data)[index] ? minus_infinity : 0.0;
        return static_cast<const float*>(mask.data)[index];
    }
} // namespace

attention_output scaled_dot_product_attention(const std::vector<float>& query, const std::vector<float>& key,
                                              const std::vector<float>& value, std::size_t batch, std::size_t heads,
                                              std::size_t query_len, std::size_t key_len, std::size_t head_dim,
                                              std::size_t value_dim, const std::vector<double>& additive_mask,
                                              bool is_causal, double scale, bool need_weights)
{
    attention_output result;
    result.output.assign(batch * heads * query_len * value_dim, 0.0);
    result.output_shape = { batch, heads, query_len, value_dim };
    if (need_weights)
    {
        result.weights.assign(batch * heads * query_len * key_len, 0.0);
        result.weights_shape = { batch, heads, query_len, key_len };
    }
    std::vector<double> row(key_len);
    for (std::size_t bh = 0; bh < batch * heads; ++bh)
        for (std::size_t i = 0; i < query_len; ++i)
        {
            for (std::size_t j = 0; j < key_len; ++j)
            {
                double score = 0.0;
                for (std::size_t d = 0; d < head_dim; ++d)
                    score += double(query[(bh * query_len + i) * head_dim + d]) * double(key[(bh * key_len + j) * head_dim + d]);
                score *= scale;
                if (!additive_mask.empty())
                    score += additive_mask[(bh * query_len + i) * key_len + j];
                if (is_causal && j > i)
                    score = minus_infinity;
                row[j] = score;
            }
            softmax(row);
            for (std::size_t j = 0; j < key_len; ++j)
            {
                for (std::size_t d = 0; d < value_dim; ++d)
                    result.output[(bh * query_len + i) * value_dim + d] += row[j] * double(value[(bh * key_len + j) * value_dim + d]);
                if (need_weights)
                    result.weights[(bh * query_len + i) * key_len + j] = row[j];
            }
        }
    return result;
}

attention_output multi_head_attention(const attention_config& config,
                                      const std::map<std::string, std::vector<float>>& state_dict,
                                      const forward_arguments& a)
{
    const std::size_t e = config.embed_dim, h = config.num_heads, d = e / h;
    const std::size_t kdim = config.key_dim(), vdim = config.value_dim();
    const bool batched = a.query.shape.size() == 3;
    const std::size_t n_batch = batched ? a.query.shape[config.batch_first ? 0 : 1] : 1;
    const std::size_t l = batched ? a.query.shape[config.batch_first ? 1 : 0] : a.query.shape[0];
    const std::size_t s = batched ? a.key.shape[config.batch_first ? 1 : 0] : a.key.shape[0];
    const std::size_t total = s + (config.add_bias_kv ? 1 : 0) + (config.add_zero_attn ? 1 : 0);

    // Element (batch n, position i, channel c) of a (L, N, C) / (N, L, C) / (L, C) tensor.
    const auto at = [&](const float_tensor_view& t, std::size_t length, std::size_t n, std::size_t i, std::size_t c) {
        const std::size_t dim = t.shape.back();
        if (!batched)
            return double(t.data[i * dim + c]);
        return double(config.batch_first ? t.data[(n * length + i) * dim + c] : t.data[(i * n_batch + n) * dim + c]);
    };
    const auto weight = [&](const char* name) -> const std::vector<float>& { return state_dict.at(name); };
    const bool packed = config.packed_in_projection();
    const std::vector<float> no_bias(3 * e, 0.0f);
    const std::vector<float>& in_bias = config.bias ? weight("in_proj_bias") : no_bias;
    const std::vector<float>& out_weight = weight("out_proj.weight");
    const std::vector<float> no_out_bias(e, 0.0f);
    const std::vector<float>& out_bias = config.bias ? weight("out_proj.bias") : no_out_bias;

    // Projection p (0 = q, 1 = k, 2 = v) of output channel o from input channel c.
    const auto projection_weight = [&](int p, std::size_t o, std::size_t c) {
        if (packed)
            return double(weight("in_proj_weight")[(p * e + o) * e + c]);
        static const char* names[3] = { "q_proj_weight", "k_proj_weight", "v_proj_weight" };
        const std::size_t in_dim = p == 0 ? e : (p == 1 ? kdim : vdim);
        return double(weight(names[p])[o * in_dim + c]);
    };
    const auto project = [&](int p, const float_tensor_view& x, std::size_t length, std::size_t rows) {
        std::vector<double> y(n_batch * rows * e, 0.0);
        const std::size_t in_dim = x.shape.back();
        for (std::size_t n = 0; n < n_batch; ++n)
            for (std::size_t i = 0; i < length; ++i)
                for (std::size_t o = 0; o < e; ++o)
                {
                    double sum = in_bias[p * e + o];
                    for (std::size_t c = 0; c < in_dim; ++c)
                        sum += at(x, length, n, i, c) * projection_weight(p, o, c);
                    y[(n * rows + i) * e + o] = sum;
                }
        return y;
    };
    std::vector<double> q = project(0, a.query, l, l);
    std::vector<double> k = project(1, a.key, s, total);
    std::vector<double> v = project(2, a.value, s, total);
    if (config.add_bias_kv)
        for (std::size_t n = 0; n < n_batch; ++n)
            for (std::size_t o = 0; o < e; ++o)
            {
                k[(n * total + s) * e + o] = weight("bias_k")[o];
                v[(n * total + s) * e + o] = weight("bias_v")[o];
            }
    // The zero-attention row is already zero.

    attention_output result;
    std::vector<double> heads_output(n_batch * l * e, 0.0);
    std::vector<double> head_weights(n_batch * h * l * total, 0.0);
    std::vector<double> row(total);
    for (std::size_t n = 0; n < n_batch; ++n)
        for (std::size_t head = 0; head < h; ++head)
            for (std::size_t i = 0; i < l; ++i)
            {
                for (std::size_t j = 0; j < total; ++j)
                {
                    double score = 0.0;
                    for (std::size_t c = 0; c < d; ++c)
                        score += q[(n * l + i) * e + head * d + c] * k[(n * total + j) * e + head * d + c];
                    score /= std::sqrt(double(d));
                    if (j < s)
                    {
                        if (a.key_padding_mask.present())
                            score += mask_value(a.key_padding_mask, n * s + j);
                        if (a.attn_mask.present())
                        {
                            const std::size_t plane = a.attn_mask.shape.size() == 3 ? (n * h + head) : 0;
                            score += mask_value(a.attn_mask, (plane * l + i) * s + j);
                        }
                        if (a.is_causal && j > i)
                            score = minus_infinity;
                    }
                    row[j] = score;
                }
                softmax(row);
                for (std::size_t j = 0; j < total; ++j)
                {
                    head_weights[((n * h + head) * l + i) * total + j] = row[j];
                    for (std::size_t c = 0; c < d; ++c)
                        heads_output[(n * l + i) * e + head * d + c] += row[j] * v[(n * total + j) * e + head * d + c];
                }
            }

    result.output_shape = a.query.shape;
    result.output.assign(n_batch * l * e, 0.0);
    for (std::size_t n = 0; n < n_batch; ++n)
        for (std::size_t i = 0; i < l; ++i)
            for (std::size_t o = 0; o < e; ++o)
            {
                double sum = out_bias[o];
                for (std::size_t c = 0; c < e; ++c)
                    sum += heads_output[(n * l + i) * e + c] * double(out_weight[o * e + c]);
                const std::size_t index = !batched ? i * e + o
                    : config.batch_first          ? (n * l + i) * e + o
                                                  : (i * n_batch + n) * e + o;
                result.output[index] = sum;
            }

    if (a.need_weights)
    {
        if (a.average_attn_weights)
        {
            result.weights.assign(n_batch * l * total, 0.0);
            for (std::size_t n = 0; n < n_batch; ++n)
                for (std::size_t head = 0; head < h; ++head)
                    for (std::size_t t = 0; t < l * total; ++t)
                        result.weights[n * l * total + t] += head_weights[(n * h + head) * l * total + t] / double(h);
            result.weights_shape = batched ? shape_t { n_batch, l, total } : shape_t { l, total };
        }
        else
        {
            result.weights = head_weights;
            result.weights_shape = batched ? shape_t { n_batch, h, l, total } : shape_t { h, l, total };
        }
    }
    return result;
}
} // namespace mha::reference
