// c[m x n] (+)= a[m x k] . B (+ bias[n]), with B pre-packed: the Q/K/V and
// output projections (B = a weight matrix, packed once at loadWeights), and
// inside attention S = Q . K^T and O += P . V (B = a head's keys or values,
// packed once per head).
//
// Packing stores B as panels of `panel_width` columns; panel j holds rows
// p = 0..k-1 of panel_width contiguous floats at packed + j * panel_stride
// + p * panel_width, and the last panel is zero-padded. The inner loop then
// reads B sequentially, every load is a full SIMD batch, and a block of rows
// [p0, p1) of B is simply `packed + p0 * panel_width` with the same stride.
//
// Register blocking: row_block rows of c times 2 SIMD batches are kept in
// accumulators; each B batch loaded feeds row_block fmas, each broadcast of
// a[i][p] feeds 2. With 16 SIMD registers (SSE / SIMD128 on x64 engines),
// 4 x 2 accumulators + 2 B batches + 1 broadcast fit without spilling.
// Rows left over (all of them when m < 4: a decoding step's projections and
// attention) take 4 panels at a time instead, so that 8 independent
// accumulator chains hide the fma latency; one panel at a time, a 1-row
// product would wait on 2 chains of length k. Every element of c is computed
// by the same fmas in the same order either way.
//
// A may also come packed as row quads (pack_row_quads): the 4 rows of a
// block interleaved by step, so the 4 values a k step broadcasts sit side by
// side. The inner loop then advances one A pointer and reads at constant
// offsets; with A's rows apart by a run-time lda, V8's code for it spends an
// integer add per row per step, and on cores with four vector pipes (AMD Zen
// 4) those adds, not the muls and adds, bounded the loop (67-74 % of the SIMD
// peak loop for a Linear). The sums are the same, in the same order.
#pragma once

#include <algorithm>
#include <cstddef>
#include "transpose_4x4.hpp"
#include "xsimd_or_scalar.hpp"

namespace mha::kernels
{
template <class Arch>
constexpr std::size_t panel_width(Arch)
{
    return 2 * xsimd::batch<float, Arch>::size;
}

template <class Arch>
constexpr std::size_t packed_size(Arch arch, std::size_t n, std::size_t k)
{
    return (n + panel_width(arch) - 1) / panel_width(arch) * panel_width(arch) * k;
}


// B = source^T, where source is n rows of k floats, row stride ld: a Linear
// weight in PyTorch's (out_features, in_features) layout, or a head's keys
// (key, dim). packed needs packed_size(n, k) floats; panel stride k * width.
// With 4-float batches (SSE2, SIMD128) full panels are transposed 4 x 4 in
// registers; element by element, packing a head's keys took ~3% of a dense
// SDPA call at L = 128 in wasm.
template <class Arch>
void pack_columns(Arch arch, float* packed, const float* source, std::size_t ld, std::size_t n, std::size_t k)
{
    const std::size_t width = panel_width(arch);
    for (std::size_t first = 0; first < n; first += width)
    {
        float* panel = packed + first * k;
        std::size_t p = 0;
#ifndef XSIMD_NO_SUPPORTED_ARCHITECTURE
        using float_batch = xsimd::batch<float, Arch>;
        constexpr std::size_t lanes = float_batch::size;
        if constexpr (lanes == 4)
            if (first + width <= n)
                for (; p + lanes <= k; p += lanes)
                    for (std::size_t half = 0; half < width; half += lanes)
                    {
                        const float* rows = source + (first + half) * ld + p;
                        const float_batch block[4] = { float_batch::load_unaligned(rows),
                                                       float_batch::load_unaligned(rows + ld),
                                                       float_batch::load_unaligned(rows + 2 * ld),
                                                       float_batch::load_unaligned(rows + 3 * ld) };
                        detail::transpose_4x4<Arch>(panel + p * width + half, width, block);
                    }
#endif
        for (; p < k; ++p)
            for (std::size_t t = 0; t < width; ++t)
                panel[p * width + t] = first + t < n ? source[(first + t) * ld + p] : 0.0f;
    }
}

// B = source, k rows of n floats with row stride ld: a head's values
// (key, dim). packed needs packed_size(n, k) floats; panel stride k * width.
template <class Arch>
void pack_rows(Arch arch, float* packed, const float* source, std::size_t ld, std::size_t k, std::size_t n)
{
    const std::size_t width = panel_width(arch);
    for (std::size_t first = 0; first < n; first += width)
    {
        float* panel = packed + first * k;
        const std::size_t columns = std::min(width, n - first);
        if (columns == width)
        {
            // Whole batches: std::copy of 8 floats was a memmove call per row in wasm.
            using float_batch = xsimd::batch<float, Arch>;
            for (std::size_t p = 0; p < k; ++p)
                for (std::size_t t = 0; t < width; t += float_batch::size)
                    float_batch::load_unaligned(source + p * ld + first + t).store_unaligned(panel + p * width + t);
            continue;
        }
        for (std::size_t p = 0; p < k; ++p)
        {
            std::copy(source + p * ld + first, source + p * ld + first + columns, panel + p * width);
            std::fill(panel + p * width + columns, panel + (p + 1) * width, 0.0f);
        }
    }
}

// Row quads: rows 4g .. 4g + 3 of A (m x k, row stride lda) interleaved by
// step, quads[g * 4k + 4p + r] = a[(4g + r) * lda + p]. A last, partial quad
// holds its m % 4 rows at r < m % 4 and zeros in the other lanes.
constexpr std::size_t quad_rows = 4;

constexpr std::size_t row_quads_size(std::size_t m, std::size_t k)
{
    return (m + quad_rows - 1) / quad_rows * quad_rows * k;
}

template <class Arch>
void pack_row_quads(Arch, float* quads, const float* a, std::size_t lda, std::size_t m, std::size_t k)
{
    for (std::size_t first = 0; first < m; first += quad_rows)
    {
        float* quad = quads + first * k;
        const std::size_t rows = std::min(quad_rows, m - first);
        std::size_t p = 0;
#ifndef XSIMD_NO_SUPPORTED_ARCHITECTURE
        // A 4 x 4 block of A is a 4 x 4 transpose away from 4 steps of a quad.
        using float_batch = xsimd::batch<float, Arch>;
        if constexpr (float_batch::size == 4)
            if (rows == quad_rows)
                for (; p + 4 <= k; p += 4)
                {
                    const float* block = a + first * lda + p;
                    const float_batch rows_of_block[4] = { float_batch::load_unaligned(block),
                                                           float_batch::load_unaligned(block + lda),
                                                           float_batch::load_unaligned(block + 2 * lda),
                                                           float_batch::load_unaligned(block + 3 * lda) };
                    detail::transpose_4x4<Arch>(quad + p * quad_rows, quad_rows, rows_of_block);
                }
#endif
        for (; p < k; ++p)
            for (std::size_t r = 0; r < quad_rows; ++r)
                quad[p * quad_rows + r] = r < rows ? a[(first + r) * lda + p] : 0.0f;
    }
}

namespace detail
{
    // out[0 .. 2 * width) = acc0, acc1 (+ bias) (+ out): the epilogue of a full panel.
    template <class Arch>
    void store_panel(float* out, xsimd::batch<float, Arch> acc0, xsimd::batch<float, Arch> acc1, const float* bias,
                     bool accumulate)
    {
        using float_batch = xsimd::batch<float, Arch>;
        constexpr std::size_t width = float_batch::size;
        if (bias)
        {
            acc0 += float_batch::load_unaligned(bias);
            acc1 += float_batch::load_unaligned(bias + width);
        }
        if (accumulate)
        {
            acc0 += float_batch::load_unaligned(out);
            acc1 += float_batch::load_unaligned(out + width);
        }
        acc0.store_unaligned(out);
        acc1.store_unaligned(out + width);
    }

    // A's rows start lda apart and advance by a_step per k step: (lda, 1)
    // for plain rows; (1, 4) inside a row quad, where the rows = 4 case reads
    // one pointer at offsets 0..3.
    template <class Arch, std::size_t rows, std::size_t a_step = 1>
    void multiply_panel_rows(float* c, std::size_t ldc, const float* a, std::size_t lda, const float* panel,
                             const float* bias, std::size_t columns, std::size_t k, bool accumulate)
    {
        using float_batch = xsimd::batch<float, Arch>;
        constexpr std::size_t width = float_batch::size;
        float_batch acc0[rows], acc1[rows];
        for (std::size_t r = 0; r < rows; ++r)
        {
            acc0[r] = float_batch(0.0f);
            acc1[r] = float_batch(0.0f);
        }
        // Row pointers that advance with p: recomputing a + r * lda + p for
        // every element costs V8's wasm code several integer operations per fma.
        // One k step per iteration: unrolled, LLVM's wasm backend folds each
        // accumulator's updates into one expression tree and so loads every B
        // batch of the unrolled steps first, more live batches than x64's 16
        // registers; V8 then spills.
        const float* b = panel;
        if constexpr (a_step == quad_rows && rows == quad_rows)
        {
            const float* quad = a;
            for (std::size_t p = 0; p < k; ++p, b += 2 * width, quad += quad_rows)
            {
                const float_batch b0 = float_batch::load_unaligned(b);
                const float_batch b1 = float_batch::load_unaligned(b + width);
                for (std::size_t r = 0; r < rows; ++r)
                {
                    const float_batch a_value(quad[r]);
                    acc0[r] = xsimd::fma(a_value, b0, acc0[r]);
                    acc1[r] = xsimd::fma(a_value, b1, acc1[r]);
                }
            }
        }
        else
        {
            const float* a_row[rows];
            for (std::size_t r = 0; r < rows; ++r)
                a_row[r] = a + r * lda;
            for (std::size_t p = 0; p < k; ++p, b += 2 * width)
            {
                const float_batch b0 = float_batch::load_unaligned(b);
                const float_batch b1 = float_batch::load_unaligned(b + width);
                for (std::size_t r = 0; r < rows; ++r)
                {
                    const float_batch a_value(*a_row[r]);
                    a_row[r] += a_step;
                    acc0[r] = xsimd::fma(a_value, b0, acc0[r]);
                    acc1[r] = xsimd::fma(a_value, b1, acc1[r]);
                }
            }
        }
        alignas(64) float lanes[2 * width];
        for (std::size_t r = 0; r < rows; ++r)
        {
            float* out = c + r * ldc;
            if (columns == 2 * width)
            {
                store_panel<Arch>(out, acc0[r], acc1[r], bias, accumulate);
                continue;
            }
            // The last, zero-padded panel: keep only the real columns.
            acc0[r].store_aligned(lanes);
            acc1[r].store_aligned(lanes + width);
            for (std::size_t t = 0; t < columns; ++t)
                out[t] = lanes[t] + (bias ? bias[t] : 0.0f) + (accumulate ? out[t] : 0.0f);
        }
    }

    // One row of c over `panels` full panels (panel_stride apart).
    template <class Arch, std::size_t panels, std::size_t a_step = 1>
    void multiply_row_panels(float* c, const float* a, const float* packed, std::size_t panel_stride,
                             const float* bias, std::size_t k, bool accumulate)
    {
        using float_batch = xsimd::batch<float, Arch>;
        constexpr std::size_t width = float_batch::size;
        float_batch acc0[panels], acc1[panels];
        for (std::size_t j = 0; j < panels; ++j)
        {
            acc0[j] = float_batch(0.0f);
            acc1[j] = float_batch(0.0f);
        }
        // One k step per iteration, as in multiply_panel_rows.
        const float* b = packed;
        for (std::size_t p = 0; p < k; ++p, b += 2 * width)
        {
            const float_batch a_value(a[p * a_step]);
            for (std::size_t j = 0; j < panels; ++j)
            {
                const float* row = b + j * panel_stride;
                acc0[j] = xsimd::fma(a_value, float_batch::load_unaligned(row), acc0[j]);
                acc1[j] = xsimd::fma(a_value, float_batch::load_unaligned(row + width), acc1[j]);
            }
        }
        for (std::size_t j = 0; j < panels; ++j)
            store_panel<Arch>(c + j * 2 * width, acc0[j], acc1[j], bias ? bias + j * 2 * width : nullptr, accumulate);
    }

    // The blocking of packed_matrix_multiply over either layout of A: plain
    // rows (quads = false; row i at a + i * lda) or row quads (row i at
    // a + (i / 4) * 4k + i % 4, advancing by 4 per step).
    template <class Arch, bool quads>
    void multiply_blocked(float* c, std::size_t ldc, const float* a, std::size_t lda, const float* packed,
                          std::size_t panel_stride, const float* bias, std::size_t m, std::size_t n, std::size_t k,
                          bool accumulate)
    {
        constexpr std::size_t row_block = 4;
        constexpr std::size_t panel_block = 4;
        constexpr std::size_t a_step = quads ? quad_rows : 1;
        static_assert(!quads || row_block == quad_rows, "a row block must be one quad");
        const std::size_t width = panel_width(Arch {});
        const auto row_of = [&](std::size_t i) { return quads ? a + i / quad_rows * quad_rows * k + i % quad_rows : a + i * lda; };
        const std::size_t row_stride = quads ? 1 : lda; // between the rows of one block
        const std::size_t blocked_rows = m / row_block * row_block;
        if (blocked_rows > 0)
            for (std::size_t first = 0; first < n; first += width)
            {
                const float* panel = packed + (first / width) * panel_stride;
                const std::size_t columns = std::min(width, n - first);
                const float* panel_bias = bias ? bias + first : nullptr;
                for (std::size_t i = 0; i < blocked_rows; i += row_block)
                    multiply_panel_rows<Arch, row_block, a_step>(c + i * ldc + first, ldc, row_of(i), row_stride, panel,
                                                                 panel_bias, columns, k, accumulate);
            }
        for (std::size_t i = blocked_rows; i < m; ++i)
        {
            std::size_t first = 0;
            for (; first + panel_block * width <= n; first += panel_block * width)
                multiply_row_panels<Arch, panel_block, a_step>(c + i * ldc + first, row_of(i),
                                                               packed + (first / width) * panel_stride, panel_stride,
                                                               bias ? bias + first : nullptr, k, accumulate);
            for (; first < n; first += width)
                multiply_panel_rows<Arch, 1, a_step>(c + i * ldc + first, ldc, row_of(i), row_stride,
                                                     packed + (first / width) * panel_stride,
                                                     bias ? bias + first : nullptr, std::min(width, n - first), k,
                                                     accumulate);
        }
    }
} // namespace detail

// c = a . B + bias, or c += a . B when accumulate (bias may be null).
// panel_stride is the distance between panels, k * panel_width for a matrix
// packed whole; a row block of a larger packed matrix keeps that matrix's stride.
template <class Arch>
void packed_matrix_multiply(Arch, float* c, std::size_t ldc, const float* a, std::size_t lda,
                            const float* packed, std::size_t panel_stride, const float* bias, std::size_t m,
                            std::size_t n, std::size_t k, bool accumulate = false)
{
    detail::multiply_blocked<Arch, false>(c, ldc, a, lda, packed, panel_stride, bias, m, n, k, accumulate);
}

// The same product with A as row quads (pack_row_quads of its m x k).
template <class Arch>
void quad_packed_matrix_multiply(Arch, float* c, std::size_t ldc, const float* quads, const float* packed,
                                 std::size_t panel_stride, const float* bias, std::size_t m, std::size_t n,
                                 std::size_t k, bool accumulate = false)
{
    detail::multiply_blocked<Arch, true>(c, ldc, quads, 0, packed, panel_stride, bias, m, n, k, accumulate);
}
} // namespace mha::kernels
