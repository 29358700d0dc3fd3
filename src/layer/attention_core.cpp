// The attention passes over a validated attention_problem.
//
// Shape glossary: B batch, H heads, Lq queries, Lk keys, D head dim, Dv value
// dim; Br rows of queries per block, Bc keys per tile.
//
// Keys and values are read as panels (kernels/packed_matrix_multiply.hpp), so
// both products below are register-blocked matrix multiplies rather than
// per-row dot products. A kv_cache holds them packed already; otherwise each
// head's are packed once per call. The left operands, a block's queries and
// a tile's probabilities, are packed as row quads (pack_row_quads), which the
// products read with fewer address computations.
//
// Prefill (more than decode_max_rows queries, or weights wanted): per block
// of Br query rows, pre-multiplied by the scale,
//   without weights (flash-attention style; the Lq x Lk matrix is never stored):
//   1. S = Q_block . K_tile^T for a tile of Bc keys, plus masks;
//   2. per row: if the tile's max exceeds the running max M, rescale the
//      running sum and the output row by exp(M_old - M_new);
//   3. P = exp(S - M), running sum += row sums, O += P . V_tile;
//   4. O /= running sum, or zeros when every key was masked (sum == 0).
//   Only the keys the block can see are tiled (visible_keys): those above
//   the causal diagonal of the block, or before its sliding window, are not
//   scored, so causal attention costs about half of L^2 and a window of W
//   about L * W.
//   With weights: S for the keys the block can see is written straight into
//   the weights rows, softmaxed in place, and O = P . V in one product per
//   range of visible keys.
//
// Decoding (a few query rows, no weights): split-key ("flash-decoding"). The
// keys are cut into chunks of a fixed size, each (head, chunk) is a task that
// leaves a partial state (row max m, row sum l, unnormalised P . V), and the
// partials of a head are merged in chunk order: O = sum_c e^(m_c - M) acc_c /
// sum_c e^(m_c - M) l_c with M = max_c m_c. Chunks do not depend on the number
// of threads, so neither do the results; a single query over one head keeps
// every thread busy.
#include "attention_problem.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/all_finite.hpp"
#include "kernels/exp_minus_max_sum.hpp"
#include "kernels/packed_matrix_multiply.hpp"
#include "kernels/row_max.hpp"
#include "kernels/scale_in_place.hpp"
#include "kernels/softcap_in_place.hpp"
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
    // Decoding: up to this many query rows, keys in chunks of decode_chunk.
    constexpr std::size_t decode_max_rows = 16;
    constexpr std::size_t decode_chunk = 256;
    constexpr std::size_t width = kernels::panel_width(kernel_arch {});
    static_assert(key_tile % width == 0 && decode_chunk % width == 0, "key ranges must start on a panel boundary");

    constexpr std::size_t round_up(std::size_t n) { return (n + 15) / 16 * 16; }

    // A left operand of fewer than 4 rows (a decoding step's one query) stays
    // in plain rows: packing it as a quad would cost more scalar stores than
    // its product saves.
    constexpr bool as_quads(std::size_t rows) { return rows >= kernels::quad_rows; }

    bool splits_keys(const attention_problem& p) { return p.weights == nullptr && p.query_len <= decode_max_rows; }
    std::size_t key_chunks(const attention_problem& p) { return (p.key_len + decode_chunk - 1) / decode_chunk; }
    std::size_t partial_floats(const attention_problem& p) { return p.query_len * (p.value_dim + 2); }

    // Keys and values of one head (or of one chunk of it) as panels: keys of
    // position t at keys + t * D (t a multiple of the width); value rows t at
    // values + t * width, value panels value_panel_stride apart.
    struct head_panels
    {
        const float* keys;
        const float* values;
        std::size_t value_panel_stride;
        // No NaN or inf among the values: P . V may be a plain matrix multiply.
        bool values_finite;
    };

    // out (rows x Dv, leading dimension ldo) (+)= P (rows x count, leading
    // dimension ldp) . V[first, first + count). With non-finite values, keys
    // of weight exactly 0 are left out, so a masked key holding NaN or inf
    // still contributes nothing (0 * NaN would be NaN).
    void weighted_values(float* out, std::size_t ldo, const float* p, std::size_t ldp, const head_panels& kv,
                         std::size_t first, std::size_t rows, std::size_t value_dim, std::size_t count, bool accumulate)
    {
        if (kv.values_finite)
        {
            kernels::packed_matrix_multiply(kernel_arch {}, out, ldo, p, ldp, kv.values + first * width,
                                            kv.value_panel_stride, nullptr, rows, value_dim, count, accumulate);
            return;
        }
        for (std::size_t r = 0; r < rows; ++r)
        {
            float* o = out + r * ldo;
            if (!accumulate)
                std::fill(o, o + value_dim, 0.0f);
            for (std::size_t t = 0; t < count; ++t)
            {
                const float weight = p[r * ldp + t];
                if (weight == 0.0f)
                    continue;
                for (std::size_t c = 0; c < value_dim; ++c)
                    o[c] += weight * kv.values[c / width * kv.value_panel_stride + (first + t) * width + c % width];
            }
        }
    }

    // One worker's scratch.
    struct scratch_views
    {
        float* packed_keys;   // the head's (or chunk's) keys when not cached
        float* packed_values; // its values
        float* queries;       // rows x D, scaled, as row quads when as_quads(rows)
        float* scores;        // rows x score_stride
        float* probability_quads; // a tile's probabilities as row quads (query blocks only)
        float* row_max;       // rows
        float* row_sum;       // rows
    };

    struct scratch_plan
    {
        std::size_t packed_keys, packed_values, queries, scores, probability_quads, rows, score_stride, per_worker;
    };

    scratch_plan plan_scratch(const attention_problem& p)
    {
        scratch_plan s {};
        const bool split = splits_keys(p);
        const std::size_t keys = split ? std::min(p.key_len, decode_chunk) : p.key_len;
        if (!p.cache)
        {
            s.packed_keys = round_up(kernels::packed_size(kernel_arch {}, keys, p.head_dim));
            s.packed_values = round_up(kernels::packed_size(kernel_arch {}, p.value_dim, keys));
        }
        s.rows = split ? p.query_len : query_block;
        s.score_stride = split ? decode_chunk : key_tile;
        s.queries = round_up(kernels::row_quads_size(s.rows, p.head_dim));
        s.scores = round_up(s.rows * s.score_stride);
        s.probability_quads = split ? 0 : round_up(kernels::row_quads_size(s.rows, s.score_stride));
        s.per_worker = s.packed_keys + s.packed_values + s.queries + s.scores + s.probability_quads + 2 * round_up(s.rows);
        return s;
    }

    scratch_views carve(const scratch_plan& s, float* base)
    {
        scratch_views v;
        v.packed_keys = base;
        v.packed_values = v.packed_keys + s.packed_keys;
        v.queries = v.packed_values + s.packed_values;
        v.scores = v.queries + s.queries;
        v.probability_quads = v.scores + s.scores;
        v.row_max = v.probability_quads + s.probability_quads;
        v.row_sum = v.row_max + round_up(s.rows);
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
            // -inf replaces the score rather than being added to it, so a
            // masked key is masked even when its score is NaN or +inf, exactly
            // as with a boolean mask.
            const auto* data = static_cast<const float*>(mask.data) + base;
            for (std::size_t t = 0; t < count; ++t)
            {
                const float bias = data[static_cast<std::ptrdiff_t>(t) * mask.column_stride];
                scores[t] = bias == minus_infinity ? minus_infinity : scores[t] + bias;
            }
        }
    }

    // ALiBi, masks, causality and the window for query row i over keys
    // [first_key, first_key + count) of query head h.
    void mask_row(float* scores, const attention_problem& p, std::size_t b, std::size_t h, std::size_t i,
                  std::size_t first_key, std::size_t count)
    {
        if (first_key >= p.masked_key_len)
            return;
        const std::size_t masked = std::min(count, p.masked_key_len - first_key);
        const std::ptrdiff_t position = static_cast<std::ptrdiff_t>(i) + p.query_offset; // in key positions
        const auto first = static_cast<std::ptrdiff_t>(first_key);
        if (p.alibi_slopes)
        {
            const float slope = p.alibi_slopes[h];
            for (std::size_t t = 0; t < masked; ++t)
                scores[t] += slope * static_cast<float>(first + static_cast<std::ptrdiff_t>(t) - position);
        }
        for (const strided_mask& mask : p.masks)
            add_mask(scores, mask, b, h, i, first_key, masked);
        if (p.is_causal)
        {
            // Keys after `position` are in the future of query i.
            const std::ptrdiff_t from = std::max<std::ptrdiff_t>(position + 1 - first, 0);
            if (from < static_cast<std::ptrdiff_t>(masked))
                std::fill(scores + from, scores + masked, minus_infinity);
        }
        if (p.window)
        {
            // Keys at or before position - window have left the window.
            const std::ptrdiff_t end = position - static_cast<std::ptrdiff_t>(p.window) + 1 - first;
            if (end > 0)
                std::fill(scores, scores + std::min<std::ptrdiff_t>(end, static_cast<std::ptrdiff_t>(masked)), minus_infinity);
        }
    }

    struct key_range
    {
        std::size_t begin, end;
        std::size_t size() const { return end - begin; }
    };

    // The keys that some row of the block [first_row, last_row] may see, as
    // at most two ranges in key order. The others are hidden from every row
    // of the block: their scores are not computed, their weights are 0.
    // Causality hides the keys after the last row's position, the sliding
    // window those before the first row's reach. Keys from masked_key_len on
    // (add_bias_kv, add_zero_attn) are seen by every row; they form the second
    // range. Ranges start on panel boundaries, since packed keys and values are
    // addressed by panels, so they may take in a few hidden keys, which
    // mask_row masks as it does inside a range.
    struct visible_key_ranges
    {
        key_range ranges[2];
        std::size_t count;
        const key_range* begin() const { return ranges; }
        const key_range* end() const { return ranges + count; }
    };

    visible_key_ranges visible_keys(const attention_problem& p, std::size_t first_row, std::size_t last_row)
    {
        const std::size_t appended = p.masked_key_len == p.key_len ? p.key_len : p.masked_key_len / width * width;
        const auto position = [&](std::size_t row) { return static_cast<std::ptrdiff_t>(row) + p.query_offset; };
        std::ptrdiff_t begin = 0, end = static_cast<std::ptrdiff_t>(p.masked_key_len);
        if (p.is_causal)
            end = std::min(end, position(last_row) + 1);
        if (p.window)
            begin = std::max(begin, position(first_row) - static_cast<std::ptrdiff_t>(p.window) + 1);
        visible_key_ranges visible {};
        if (begin < end)
        {
            const std::size_t first = static_cast<std::size_t>(begin) / width * width;
            const std::size_t last = std::min((static_cast<std::size_t>(end) + width - 1) / width * width, appended);
            if (first < last)
                visible.ranges[visible.count++] = { first, last };
        }
        if (appended < p.key_len)
            visible.ranges[visible.count++] = { appended, p.key_len };
        return visible;
    }

    // S (rows x count, leading dimension lds) = queries (as load_queries left them) . K[first_key ..)^T, masked.
    void block_scores(float* s, std::size_t lds, const float* queries, const float* key_panels,
                      const attention_problem& p, std::size_t b, std::size_t h, std::size_t i0, std::size_t rows,
                      std::size_t first_key, std::size_t count)
    {
        if (as_quads(rows))
            kernels::quad_packed_matrix_multiply(kernel_arch {}, s, lds, queries, key_panels, p.head_dim * width,
                                                 nullptr, rows, count, p.head_dim);
        else
            kernels::packed_matrix_multiply(kernel_arch {}, s, lds, queries, p.head_dim, key_panels, p.head_dim * width,
                                            nullptr, rows, count, p.head_dim);
        for (std::size_t r = 0; r < rows; ++r)
        {
            if (p.softcap != 0.0f)
                kernels::softcap_in_place(kernel_arch {}, s + r * lds, p.softcap, count);
            mask_row(s + r * lds, p, b, h, i0 + r, first_key, count);
        }
    }

    // The block's query rows, times the scale: as row quads, or as plain rows (D apart) below 4 rows.
    void load_queries(const attention_problem& p, float* queries, std::size_t b, std::size_t h, std::size_t i0,
                      std::size_t rows)
    {
        if (as_quads(rows))
        {
            kernels::pack_row_quads(kernel_arch {}, queries, p.query.row(b, h, i0),
                                    static_cast<std::size_t>(p.query.row_stride), rows, p.head_dim);
            kernels::scale_in_place(kernel_arch {}, queries, p.scale, kernels::row_quads_size(rows, p.head_dim));
            return;
        }
        for (std::size_t r = 0; r < rows; ++r)
        {
            float* q = queries + r * p.head_dim;
            std::memcpy(q, p.query.row(b, h, i0 + r), p.head_dim * sizeof(float));
            kernels::scale_in_place(kernel_arch {}, q, p.scale, p.head_dim);
        }
    }

    // Steps 2 and 3 of the online softmax for rows [r0, r0 + group) of a
    // tile's scores (group <= 4): the running max and sum of each row, its
    // output row rescaled when the max grows, and P = exp(S - M). P goes
    // straight into the block's row quads at quads + r0 * count when quads is
    // given and the group is a whole quad, else back into the scores. A row
    // masked over the whole tile contributes zeros; NaN poisons its sum.
    void softmax_tile_rows(const attention_problem& p, const scratch_views& v, float* out, std::size_t ldo,
                           std::size_t r0, std::size_t group, std::size_t count, float* quads)
    {
        float subtract[kernels::quad_rows];
        bool live[kernels::quad_rows];
        for (std::size_t g = 0; g < group; ++g)
        {
            const std::size_t r = r0 + g;
            float* s = v.scores + r * key_tile;
            const float tile_max = kernels::row_max(kernel_arch {}, s, count);
            live[g] = !(tile_max == minus_infinity || std::isnan(tile_max));
            if (!live[g])
            {
                if (std::isnan(tile_max))
                    v.row_sum[r] = tile_max;
                // Zeros minus +inf: the fused exp then writes this row's zeros too.
                subtract[g] = std::numeric_limits<float>::infinity();
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
            subtract[g] = v.row_max[r];
        }
        if (quads && group == kernels::quad_rows)
        {
            float sums[kernels::quad_rows];
            kernels::exp_minus_max_sum_quad(kernel_arch {}, quads + r0 * count, v.scores + r0 * key_tile, key_tile,
                                            subtract, count, sums);
            for (std::size_t g = 0; g < group; ++g)
                if (live[g])
                    v.row_sum[r0 + g] += sums[g];
            return;
        }
        for (std::size_t g = 0; g < group; ++g)
            if (live[g])
            {
                float* s = v.scores + (r0 + g) * key_tile;
                v.row_sum[r0 + g] += kernels::exp_minus_max_sum(kernel_arch {}, s, s, subtract[g], count);
            }
        if (quads)
            kernels::pack_row_quads(kernel_arch {}, quads + r0 * count, v.scores + r0 * key_tile, key_tile, group, count);
    }

    void attend_block_online(const attention_problem& p, const scratch_views& v, const head_panels& kv,
                             std::size_t b, std::size_t h, std::size_t i0, std::size_t rows)
    {
        float* out = p.output.row(b, h, i0);
        const auto ldo = static_cast<std::size_t>(p.output.row_stride);
        for (std::size_t r = 0; r < rows; ++r)
            std::fill(out + r * ldo, out + r * ldo + p.value_dim, 0.0f);
        std::fill(v.row_max, v.row_max + rows, minus_infinity);
        std::fill(v.row_sum, v.row_sum + rows, 0.0f);
        // P . V reads P as row quads, written by the softmax itself; with
        // non-finite values it needs P in rows (weighted_values skips zero weights).
        float* quads = kv.values_finite && as_quads(rows) ? v.probability_quads : nullptr;

        for (const key_range& keys : visible_keys(p, i0, i0 + rows - 1))
            for (std::size_t first = keys.begin; first < keys.end; first += key_tile)
            {
                const std::size_t count = std::min(key_tile, keys.end - first);
                block_scores(v.scores, key_tile, v.queries, kv.keys + first * p.head_dim, p, b, h, i0, rows, first, count);
                for (std::size_t r0 = 0; r0 < rows; r0 += kernels::quad_rows)
                    softmax_tile_rows(p, v, out, ldo, r0, std::min(kernels::quad_rows, rows - r0), count, quads);
                if (quads)
                    kernels::quad_packed_matrix_multiply(kernel_arch {}, out, ldo, quads, kv.values + first * width,
                                                         kv.value_panel_stride, nullptr, rows, p.value_dim, count, true);
                else
                    weighted_values(out, ldo, v.scores, key_tile, kv, first, rows, p.value_dim, count, true);
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

    // Only the keys some row of the block can see are scored and multiplied;
    // the rest of each weights row is zero. Causal attention with weights
    // then costs about half of the full square, as it does without them.
    void attend_block_with_weights(const attention_problem& p, const scratch_views& v, const head_panels& kv,
                                   std::size_t b, std::size_t h, std::size_t i0, std::size_t rows)
    {
        float* weights = p.weights + ((b * p.num_heads + h) * p.query_len + i0) * p.key_len;
        const visible_key_ranges visible = visible_keys(p, i0, i0 + rows - 1);
        for (std::size_t r = 0; r < rows; ++r)
        {
            float* w = weights + r * p.key_len;
            std::size_t hidden_from = 0;
            for (const key_range& keys : visible)
            {
                std::fill(w + hidden_from, w + keys.begin, 0.0f);
                hidden_from = keys.end;
            }
            std::fill(w + hidden_from, w + p.key_len, 0.0f);
        }
        for (const key_range& keys : visible)
            block_scores(weights + keys.begin, p.key_len, v.queries, kv.keys + keys.begin * p.head_dim, p, b, h, i0,
                         rows, keys.begin, keys.size());
        for (std::size_t r = 0; r < rows; ++r)
        {
            float* w = weights + r * p.key_len;
            float max = minus_infinity;
            for (const key_range& keys : visible)
            {
                // NaN wins (and then stays: NaN > max is false), so that it reaches every weight of the row.
                const float range_max = kernels::row_max(kernel_arch {}, w + keys.begin, keys.size());
                max = std::isnan(range_max) || range_max > max ? range_max : max;
            }
            if (max == minus_infinity)
            {
                for (const key_range& keys : visible)
                    std::fill(w + keys.begin, w + keys.end, 0.0f);
                continue;
            }
            float sum = 0.0f;
            for (const key_range& keys : visible)
                sum += kernels::exp_minus_max_sum(kernel_arch {}, w + keys.begin, w + keys.begin, max, keys.size());
            for (const key_range& keys : visible)
                kernels::scale_in_place(kernel_arch {}, w + keys.begin, 1.0f / sum, keys.size());
        }
        float* out = p.output.row(b, h, i0);
        const auto ldo = static_cast<std::size_t>(p.output.row_stride);
        if (visible.count == 0)
            for (std::size_t r = 0; r < rows; ++r)
                std::fill(out + r * ldo, out + r * ldo + p.value_dim, 0.0f);
        bool accumulate = false;
        for (const key_range& keys : visible)
        {
            weighted_values(out, ldo, weights + keys.begin, p.key_len, kv, keys.begin, rows, p.value_dim, keys.size(),
                            accumulate);
            accumulate = true;
        }
    }

    // Keys and values [first, first + count) of kv head (b, kv): the cache's
    // panels, or packed now into the worker's scratch.
    head_panels panels_of(const attention_problem& p, const scratch_views& v, std::size_t b, std::size_t kv,
                          std::size_t first, std::size_t count)
    {
        if (p.cache)
            return { p.cache->key_panels(b, kv) + first * p.head_dim, p.cache->value_panels(b, kv) + first * width,
                     p.cache->value_panel_stride(), p.cache->values_finite(b, kv) };
        kernels::pack_columns(kernel_arch {}, v.packed_keys, p.key.row(b, kv, first),
                              static_cast<std::size_t>(p.key.row_stride), count, p.head_dim);
        kernels::pack_rows(kernel_arch {}, v.packed_values, p.value.row(b, kv, first),
                           static_cast<std::size_t>(p.value.row_stride), count, p.value_dim);
        const bool finite = kernels::all_finite(kernel_arch {}, v.packed_values,
                                                kernels::packed_size(kernel_arch {}, p.value_dim, count));
        return { v.packed_keys, v.packed_values, count * width, finite };
    }

    // Split-key task: the partial state of all query rows of (b, h) over one chunk of keys.
    void attend_chunk(const attention_problem& p, const scratch_views& v, std::size_t b, std::size_t h,
                      std::size_t chunk, float* partial)
    {
        const std::size_t rows = p.query_len;
        const std::size_t first = chunk * decode_chunk;
        const std::size_t count = std::min(decode_chunk, p.key_len - first);
        float* part_max = partial;
        float* part_sum = partial + rows;
        float* part_acc = partial + 2 * rows;
        const visible_key_ranges visible = visible_keys(p, 0, rows - 1);
        if (std::none_of(visible.begin(), visible.end(),
                         [&](const key_range& keys) { return keys.begin < first + count && first < keys.end; }))
        {
            std::fill(part_max, part_max + rows, minus_infinity);
            std::fill(part_sum, part_sum + rows, 0.0f);
            return;
        }
        const head_panels kv = panels_of(p, v, b, h / p.kv_group, first, count);
        load_queries(p, v.queries, b, h, 0, rows);
        block_scores(v.scores, decode_chunk, v.queries, kv.keys, p, b, h, 0, rows, first, count);
        for (std::size_t r = 0; r < rows; ++r)
        {
            float* s = v.scores + r * decode_chunk;
            const float max = kernels::row_max(kernel_arch {}, s, count);
            part_max[r] = minus_infinity;
            part_sum[r] = 0.0f;
            if (max == minus_infinity || std::isnan(max))
            {
                if (std::isnan(max))
                    part_sum[r] = max;
                std::fill(s, s + count, 0.0f);
                continue;
            }
            part_max[r] = max;
            part_sum[r] = kernels::exp_minus_max_sum(kernel_arch {}, s, s, max, count);
        }
        weighted_values(part_acc, p.value_dim, v.scores, decode_chunk, kv, 0, rows, p.value_dim, count, false);
    }

    // Combines the chunks' partial states of (b, h), in chunk order, into the output rows.
    void merge_chunks(const attention_problem& p, std::size_t b, std::size_t h, const float* partials,
                      std::size_t chunks)
    {
        const std::size_t rows = p.query_len, stride = partial_floats(p);
        for (std::size_t r = 0; r < rows; ++r)
        {
            float* out = p.output.row(b, h, r);
            float max = minus_infinity;
            bool poisoned = false;
            for (std::size_t c = 0; c < chunks; ++c)
            {
                const float* part = partials + c * stride;
                max = std::max(max, part[r]);
                poisoned = poisoned || std::isnan(part[rows + r]);
            }
            std::fill(out, out + p.value_dim, 0.0f);
            if (poisoned)
            {
                std::fill(out, out + p.value_dim, std::numeric_limits<float>::quiet_NaN());
                continue;
            }
            if (max == minus_infinity)
                continue; // every key masked: zeros
            float sum = 0.0f;
            for (std::size_t c = 0; c < chunks; ++c)
            {
                const float* part = partials + c * stride;
                if (part[r] == minus_infinity)
                    continue;
                const float factor = std::exp(part[r] - max);
                sum += factor * part[rows + r];
                const float* acc = part + 2 * rows + r * p.value_dim;
                for (std::size_t t = 0; t < p.value_dim; ++t)
                    out[t] += factor * acc[t];
            }
            kernels::scale_in_place(kernel_arch {}, out, 1.0f / sum, p.value_dim);
        }
    }

    void run_split_keys(const attention_problem& p, const scratch_views* views, std::size_t workers, float* partials)
    {
        const std::size_t pairs = p.batch_size * p.num_heads, chunks = key_chunks(p), stride = partial_floats(p);
        parallel_for_within(workers, pairs * chunks, [&](std::size_t task, std::size_t worker) {
            const std::size_t pair = task / chunks, chunk = task % chunks;
            attend_chunk(p, views[worker], pair / p.num_heads, pair % p.num_heads, chunk, partials + task * stride);
        });
        for (std::size_t pair = 0; pair < pairs; ++pair)
            merge_chunks(p, pair / p.num_heads, pair % p.num_heads, partials + pair * chunks * stride, chunks);
    }

    void run_query_blocks(const attention_problem& p, const scratch_views* views, std::size_t workers)
    {
        // Tasks are (batch, head) pairs, each cut into `chunks` ranges of query
        // blocks when there are too few pairs to keep every thread busy (a
        // single large head). A worker packs a kv head's keys and values only
        // when its previous task was on another one.
        const std::size_t pairs = p.batch_size * p.num_heads;
        const std::size_t blocks = (p.query_len + query_block - 1) / query_block;
        const std::size_t wanted_tasks = workers == 1 ? 1 : 4 * workers;
        const std::size_t chunks
            = std::clamp<std::size_t>((wanted_tasks + pairs - 1) / pairs, 1, std::max<std::size_t>(blocks, 1));
        const std::size_t kv_heads = p.num_heads / p.kv_group;
        std::size_t packed_pair[max_workers];
        head_panels panels[max_workers];
        std::fill(packed_pair, packed_pair + max_workers, pairs);

        parallel_for_within(workers, pairs * chunks, [&](std::size_t task, std::size_t worker) {
            const std::size_t pair = task / chunks, chunk = task % chunks;
            const std::size_t b = pair / p.num_heads, h = pair % p.num_heads;
            const std::size_t kv_pair = b * kv_heads + h / p.kv_group;
            const scratch_views& v = views[worker];
            if (packed_pair[worker] != kv_pair)
            {
                panels[worker] = panels_of(p, v, b, h / p.kv_group, 0, p.key_len);
                packed_pair[worker] = kv_pair;
            }
            const std::size_t first_block = blocks * chunk / chunks, last_block = blocks * (chunk + 1) / chunks;
            for (std::size_t i0 = first_block * query_block; i0 < last_block * query_block; i0 += query_block)
            {
                const std::size_t rows = std::min(query_block, p.query_len - i0);
                load_queries(p, v.queries, b, h, i0, rows);
                if (p.weights)
                    attend_block_with_weights(p, v, panels[worker], b, h, i0, rows);
                else
                    attend_block_online(p, v, panels[worker], b, h, i0, rows);
            }
        });
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

std::uint64_t attention_scratch_floats(const attention_problem& p, std::size_t workers)
{
    const scratch_plan s = plan_scratch(p);
    std::uint64_t total = std::uint64_t(s.per_worker) * workers;
    if (splits_keys(p))
        total += std::uint64_t(p.batch_size) * p.num_heads * key_chunks(p) * partial_floats(p);
    return total;
}

void run_attention(const attention_problem& p, float* scratch, std::size_t workers)
{
    const scratch_plan s = plan_scratch(p);
    scratch_views views[max_workers];
    for (std::size_t w = 0; w < workers; ++w)
        views[w] = carve(s, scratch + w * s.per_worker);
    if (splits_keys(p))
        run_split_keys(p, views, workers, scratch + workers * s.per_worker);
    else
        run_query_blocks(p, views, workers);
}
} // namespace mha::detail
