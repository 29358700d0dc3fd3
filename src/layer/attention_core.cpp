// The attention passes over a validated attention_problem.
//
// Shape glossary: B batch, H heads, Lq queries, Lk keys, D head dim, Dv value
// dim; Br rows of queries per block, Bc keys per tile.
//
// Per (batch, head), the head's keys and values are packed once into the
// panel layout of kernels/packed_matrix_multiply.hpp, so both products below
// are register-blocked matrix multiplies rather than per-row dot products.
// Then, per block of Br query rows (pre-multiplied by the scale):
//
// Without weights (flash-attention style; the Lq x Lk matrix is never stored):
//   1. S = Q_block . K_tile^T for a tile of Bc keys, plus masks;
//   2. per row: if the tile's max exceeds the running max M, rescale the
//      running sum and the output row by exp(M_old - M_new);
//   3. P = exp(S - M), running sum += row sums, O += P . V_tile;
//   4. O /= running sum, or zeros when every key was masked (sum == 0).
//   Tiles wholly above the causal diagonal of the block are skipped.
// With weights: S for all keys is written straight into the weights rows,
// softmaxed in place, and O = P . V in one product.
#include "attention_problem.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/exp_minus_max_sum.hpp"
#include "kernels/packed_matrix_multiply.hpp"
#include "kernels/row_max.hpp"
#include "kernels/scale_in_place.hpp"
#include "kernels/simd_arch.hpp"
#include "thread_pool.hpp"

namespace mha::detail
{
namespace
{
    constexpr float minus_infinity = -std::numeric_limits<float>::infinity();
    // Br = 32 query rows by Bc = 64 keys: the score tile (8 KiB) and the
    // block's queries stay in L1 while the packed key/value panels stream.
    // Bc must be a multiple of the panel width (8 for SSE2, 16 for AVX2).
    constexpr std::size_t query_block = 32;
    constexpr std::size_t key_tile = 64;
    constexpr std::size_t width = kernels::panel_width(kernel_arch {});
    static_assert(key_tile % width == 0, "key tiles must start on a panel boundary");

    struct scratch_views
    {
        float* packed_keys;   // panels of keys: B = K^T, n = Lk, k = D
        float* packed_values; // panels of values: B = V, n = Dv, k = Lk
        float* queries;       // Br x D, scaled
        float* scores;        // Br x Bc
        float* row_max;       // Br
        float* row_sum;       // Br
    };

    scratch_views carve(const attention_problem& p, std::vector<float>& scratch)
    {
        const std::size_t keys = kernels::packed_size(kernel_arch {}, p.key_len, p.head_dim);
        const std::size_t values = kernels::packed_size(kernel_arch {}, p.value_dim, p.key_len);
        const std::size_t total = keys + values + query_block * (p.head_dim + key_tile + 2);
        if (scratch.size() < total)
            scratch.resize(total);
        float* base = scratch.data();
        scratch_views v;
        v.packed_keys = base;
        v.packed_values = v.packed_keys + keys;
        v.queries = v.packed_values + values;
        v.scores = v.queries + query_block * p.head_dim;
        v.row_max = v.scores + query_block * key_tile;
        v.row_sum = v.row_max + query_block;
        return v;
    }

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

    // Masks and causality for query row i over keys [first_key, first_key + count).
    void mask_row(float* scores, const attention_problem& p, std::size_t b, std::size_t h, std::size_t i,
                  std::size_t first_key, std::size_t count)
    {
        if (first_key >= p.masked_key_len)
            return;
        const std::size_t masked = std::min(count, p.masked_key_len - first_key);
        for (const strided_mask& mask : p.masks)
            add_mask(scores, mask, b, h, i, first_key, masked);
        if (p.is_causal && first_key + masked > i + 1)
        {
            const std::size_t from = std::max(first_key, i + 1) - first_key;
            std::fill(scores + from, scores + masked, minus_infinity);
        }
    }

    // S (rows x count, leading dimension lds) = queries . K[first_key ..)^T, masked.
    void block_scores(float* s, std::size_t lds, const scratch_views& v, const attention_problem& p, std::size_t b,
                      std::size_t h, std::size_t i0, std::size_t rows, std::size_t first_key, std::size_t count)
    {
        kernels::packed_matrix_multiply(kernel_arch {}, s, lds, v.queries, p.head_dim,
                                        v.packed_keys + first_key * p.head_dim, p.head_dim * width, nullptr, rows, count,
                                        p.head_dim);
        for (std::size_t r = 0; r < rows; ++r)
            mask_row(s + r * lds, p, b, h, i0 + r, first_key, count);
    }

    void attend_block_online(const attention_problem& p, const scratch_views& v, std::size_t b, std::size_t h,
                             std::size_t i0, std::size_t rows)
    {
        float* out = p.output.row(b, h, i0);
        const auto ldo = static_cast<std::size_t>(p.output.row_stride);
        for (std::size_t r = 0; r < rows; ++r)
            std::fill(out + r * ldo, out + r * ldo + p.value_dim, 0.0f);
        std::fill(v.row_max, v.row_max + rows, minus_infinity);
        std::fill(v.row_sum, v.row_sum + rows, 0.0f);

        const std::size_t last_row = i0 + rows - 1;
        for (std::size_t first = 0; first < p.key_len; first += key_tile)
        {
            const std::size_t count = std::min(key_tile, p.key_len - first);
            // Above the diagonal for every row of the block: nothing to add.
            if (p.is_causal && first > last_row && first + count <= p.masked_key_len)
                continue;
            block_scores(v.scores, key_tile, v, p, b, h, i0, rows, first, count);
            for (std::size_t r = 0; r < rows; ++r)
            {
                float* s = v.scores + r * key_tile;
                const float tile_max = kernels::row_max(kernel_arch {}, s, count);
                if (tile_max == minus_infinity || std::isnan(tile_max))
                {
                    // Fully masked here: contributes nothing. NaN poisons the row's sum.
                    if (std::isnan(tile_max))
                        v.row_sum[r] = tile_max;
                    std::fill(s, s + count, 0.0f);
                    continue;
                }
                if (tile_max > v.row_max[r])
                {
                    const float correction = std::exp(v.row_max[r] - tile_max);
                    kernels::scale_in_place(kernel_arch {}, out + r * ldo, correction, p.value_dim);
                    v.row_sum[r] *= correction;
                    v.row_max[r] = tile_max;
                }
                v.row_sum[r] += kernels::exp_minus_max_sum(kernel_arch {}, s, s, v.row_max[r], count);
            }
            kernels::packed_matrix_multiply(kernel_arch {}, out, ldo, v.scores, key_tile, v.packed_values + first * width,
                                            p.key_len * width, nullptr, rows, p.value_dim, count, true);
        }
        for (std::size_t r = 0; r < rows; ++r)
        {
            float* row = out + r * ldo;
            // The sum is 0 only when every key was masked; then the row is zeros.
            if (v.row_sum[r] == 0.0f)
                std::fill(row, row + p.value_dim, 0.0f);
            else
                kernels::scale_in_place(kernel_arch {}, row, 1.0f / v.row_sum[r], p.value_dim);
        }
    }

    void attend_block_with_weights(const attention_problem& p, const scratch_views& v, std::size_t b, std::size_t h,
                                   std::size_t i0, std::size_t rows)
    {
        float* weights = p.weights + ((b * p.num_heads + h) * p.query_len + i0) * p.key_len;
        block_scores(weights, p.key_len, v, p, b, h, i0, rows, 0, p.key_len);
        for (std::size_t r = 0; r < rows; ++r)
        {
            float* w = weights + r * p.key_len;
            const float max = kernels::row_max(kernel_arch {}, w, p.key_len);
            if (max == minus_infinity)
            {
                std::fill(w, w + p.key_len, 0.0f);
                continue;
            }
            const float sum = kernels::exp_minus_max_sum(kernel_arch {}, w, w, max, p.key_len);
            kernels::scale_in_place(kernel_arch {}, w, 1.0f / sum, p.key_len);
        }
        kernels::packed_matrix_multiply(kernel_arch {}, p.output.row(b, h, i0),
                                        static_cast<std::size_t>(p.output.row_stride), weights, p.key_len,
                                        v.packed_values, p.key_len * width, nullptr, rows, p.value_dim, p.key_len);
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
        const std::size_t extent = mask.shape[rank - 1 - k];
        *strides[3 - k] = extent == 1 ? 0 : stride;
        stride *= static_cast<std::ptrdiff_t>(extent);
    }
    return result;
}

void run_attention(const attention_problem& p, std::vector<std::vector<float>>& scratch)
{
    // Tasks are (batch, head) pairs, each cut into `chunks` ranges of query
    // blocks when there are too few pairs to keep every thread busy (decoding
    // one sequence, or a single large head). A worker packs a head's keys and
    // values only when its previous task was on another head.
    const std::size_t workers = thread_count();
    const std::size_t pairs = p.batch_size * p.num_heads;
    const std::size_t blocks = (p.query_len + query_block - 1) / query_block;
    const std::size_t wanted_tasks = workers == 1 ? 1 : 4 * workers;
    const std::size_t chunks = std::clamp<std::size_t>((wanted_tasks + pairs - 1) / pairs, 1, std::max<std::size_t>(blocks, 1));

    // All scratch is sized here, on the calling thread: workers never allocate.
    scratch.resize(workers);
    scratch_views views[max_workers];
    std::size_t packed_pair[max_workers];
    for (std::size_t w = 0; w < workers; ++w)
    {
        views[w] = carve(p, scratch[w]);
        packed_pair[w] = pairs;
    }

    parallel_for(pairs * chunks, [&](std::size_t task, std::size_t worker) {
        const std::size_t pair = task / chunks, chunk = task % chunks;
        const std::size_t b = pair / p.num_heads, h = pair % p.num_heads;
        const scratch_views& v = views[worker];
        if (packed_pair[worker] != pair)
        {
            kernels::pack_columns(kernel_arch {}, v.packed_keys, p.key.row(b, h, 0),
                                  static_cast<std::size_t>(p.key.row_stride), p.key_len, p.head_dim);
            kernels::pack_rows(kernel_arch {}, v.packed_values, p.value.row(b, h, 0),
                               static_cast<std::size_t>(p.value.row_stride), p.key_len, p.value_dim);
            packed_pair[worker] = pair;
        }
        const std::size_t first_block = blocks * chunk / chunks, last_block = blocks * (chunk + 1) / chunks;
        for (std::size_t i0 = first_block * query_block; i0 < last_block * query_block; i0 += query_block)
        {
            const std::size_t rows = std::min(query_block, p.query_len - i0);
            for (std::size_t r = 0; r < rows; ++r)
            {
                float* q = v.queries + r * p.head_dim;
                std::memcpy(q, p.query.row(b, h, i0 + r), p.head_dim * sizeof(float));
                kernels::scale_in_place(kernel_arch {}, q, p.scale, p.head_dim);
            }
            if (p.weights)
                attend_block_with_weights(p, v, b, h, i0, rows);
            else
                attend_block_online(p, v, b, h, i0, rows);
        }
    });
}
} // namespace mha::detail
