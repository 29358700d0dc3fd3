// The attention passes over a validated attention_problem.
//
// Shape glossary: B batch, H heads, Lq queries, Lk keys, D head dim, Dv value dim.
//
// Without weights, each query row streams over key tiles with an online
// softmax (running max M, running sum S, accumulator A):
//   1. scores of the tile: s_j = q . k_j * scale + mask_j
//   2. if the tile's max exceeds M, rescale S and A by exp(M_old - M_new)
//   3. p_j = exp(s_j - M), S += sum p_j, A += sum p_j v_j
//   4. output = A / S, or zeros when every key was masked (S == 0).
// So the Lq x Lk matrix is never stored. Tiles wholly above the causal
// diagonal are never visited, and fully masked tiles add nothing.
//
// With weights, the full score row is the weights row: scores, max,
// exp-minus-max, normalise, then the weighted sum of values.
#include "attention_problem.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/dot_product.hpp"
#include "kernels/exp_minus_max_sum.hpp"
#include "kernels/row_max.hpp"
#include "kernels/scale_accumulate.hpp"
#include "kernels/scale_in_place.hpp"
#include "kernels/simd_arch.hpp"

namespace mha::detail
{
namespace
{
    constexpr float minus_infinity = -std::numeric_limits<float>::infinity();
    // 64 keys: a tile of scores stays in registers/L1 and amortises the
    // per-tile max/rescale bookkeeping.
    constexpr std::size_t key_tile = 64;

    void add_mask(float* scores, const strided_mask& mask, std::size_t b, std::size_t h, std::size_t i,
                  std::size_t first_key, std::size_t count)
    {
        if (mask.kind == mask_kind::none)
            return;
        const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(b) * mask.batch_stride
            + static_cast<std::ptrdiff_t>(h) * mask.head_stride + static_cast<std::ptrdiff_t>(i) * mask.row_stride
            + static_cast<std::ptrdiff_t>(first_key) * mask.column_stride;
        if (mask.kind == mask_kind::boolean)
        {
            const auto* data = static_cast<const std::uint8_t*>(mask.data) + base;
            for (std::size_t t = 0; t < count; ++t)
                if (data[static_cast<std::ptrdiff_t>(t) * mask.column_stride])
                    scores[t] = minus_infinity;
        }
        else
        {
            const auto* data = static_cast<const float*>(mask.data) + base;
            for (std::size_t t = 0; t < count; ++t)
                scores[t] += data[static_cast<std::ptrdiff_t>(t) * mask.column_stride];
        }
    }

    // Scores for keys [first_key, first_key + count) of query row i.
    void compute_scores(float* scores, const attention_problem& p, std::size_t b, std::size_t h, std::size_t i,
                        std::size_t first_key, std::size_t count)
    {
        const float* q = p.query.row(b, h, i);
        for (std::size_t t = 0; t < count; ++t)
            scores[t] = kernels::dot_product(kernel_arch {}, q, p.key.row(b, h, first_key + t), p.head_dim) * p.scale;
        if (first_key < p.masked_key_len)
        {
            const std::size_t masked = std::min(count, p.masked_key_len - first_key);
            for (const strided_mask& mask : p.masks)
                add_mask(scores, mask, b, h, i, first_key, masked);
        }
    }

    // Visible key ranges of query row i: [0, causal end) and the appended keys.
    std::size_t causal_end(const attention_problem& p, std::size_t i)
    {
        return p.is_causal ? std::min(i + 1, p.masked_key_len) : p.masked_key_len;
    }

    void attend_row_online(const attention_problem& p, std::size_t b, std::size_t h, std::size_t i, float* scores,
                           float* accumulator)
    {
        std::fill(accumulator, accumulator + p.value_dim, 0.0f);
        float running_max = minus_infinity;
        float running_sum = 0.0f;
        const std::pair<std::size_t, std::size_t> ranges[2] = { { 0, causal_end(p, i) }, { p.masked_key_len, p.key_len } };
        for (const auto& [range_begin, range_end] : ranges)
            for (std::size_t first = range_begin; first < range_end; first += key_tile)
            {
                const std::size_t count = std::min(key_tile, range_end - first);
                compute_scores(scores, p, b, h, i, first, count);
                const float tile_max = kernels::row_max(kernel_arch {}, scores, count);
                if (tile_max == minus_infinity)
                    continue;
                if (std::isnan(tile_max))
                {
                    float* out = p.output.row(b, h, i);
                    std::fill(out, out + p.value_dim, tile_max);
                    return;
                }
                if (tile_max > running_max)
                {
                    const float correction = std::exp(running_max - tile_max);
                    kernels::scale_in_place(kernel_arch {}, accumulator, correction, p.value_dim);
                    running_sum *= correction;
                    running_max = tile_max;
                }
                running_sum += kernels::exp_minus_max_sum(kernel_arch {}, scores, scores, running_max, count);
                for (std::size_t t = 0; t < count; ++t)
                    if (scores[t] != 0.0f)
                        kernels::scale_accumulate(kernel_arch {}, accumulator, scores[t], p.value.row(b, h, first + t),
                                                  p.value_dim);
            }
        float* out = p.output.row(b, h, i);
        // running_sum is 0 only when every key was masked; NaN still propagates.
        if (running_sum != 0.0f)
        {
            std::memcpy(out, accumulator, p.value_dim * sizeof(float));
            kernels::scale_in_place(kernel_arch {}, out, 1.0f / running_sum, p.value_dim);
        }
        else
        {
            std::fill(out, out + p.value_dim, 0.0f);
        }
    }

    void attend_row_with_weights(const attention_problem& p, std::size_t b, std::size_t h, std::size_t i)
    {
        float* weights = p.weights + ((b * p.num_heads + h) * p.query_len + i) * p.key_len;
        float* out = p.output.row(b, h, i);
        compute_scores(weights, p, b, h, i, 0, p.key_len);
        const std::size_t causal_limit = causal_end(p, i);
        std::fill(weights + causal_limit, weights + p.masked_key_len, minus_infinity);
        std::fill(out, out + p.value_dim, 0.0f);

        const float max = kernels::row_max(kernel_arch {}, weights, p.key_len);
        if (max == minus_infinity)
        {
            std::fill(weights, weights + p.key_len, 0.0f);
            return;
        }
        const float sum = kernels::exp_minus_max_sum(kernel_arch {}, weights, weights, max, p.key_len);
        kernels::scale_in_place(kernel_arch {}, weights, 1.0f / sum, p.key_len);
        for (std::size_t j = 0; j < p.key_len; ++j)
            if (weights[j] != 0.0f)
                kernels::scale_accumulate(kernel_arch {}, out, weights[j], p.value.row(b, h, j), p.value_dim);
    }
} // namespace

strided_mask broadcast_mask(const mask_tensor_view& mask)
{
    strided_mask result;
    result.kind = mask.kind;
    result.data = mask.data;
    if (!mask.present())
        return result;
    std::ptrdiff_t* strides[4] = { &result.batch_stride, &result.head_stride, &result.row_stride, &result.column_stride };
    const std::size_t rank = mask.shape.size();
    std::ptrdiff_t stride = 1;
    for (std::size_t k = 0; k < rank; ++k)
    {
        const std::size_t axis = rank - 1 - k;
        const std::size_t extent = mask.shape[axis];
        *strides[3 - k] = extent == 1 ? 0 : stride;
        stride *= static_cast<std::ptrdiff_t>(extent);
    }
    return result;
}

void run_attention(const attention_problem& p, std::vector<float>& scores, std::vector<float>& accumulator)
{
    if (scores.size() < key_tile)
        scores.resize(key_tile);
    if (accumulator.size() < p.value_dim)
        accumulator.resize(p.value_dim);
    for (std::size_t b = 0; b < p.batch_size; ++b)
        for (std::size_t h = 0; h < p.num_heads; ++h)
            for (std::size_t i = 0; i < p.query_len; ++i)
            {
                if (p.weights)
                    attend_row_with_weights(p, b, h, i);
                else
                    attend_row_online(p, b, h, i, scores.data(), accumulator.data());
            }
}
} // namespace mha::detail
