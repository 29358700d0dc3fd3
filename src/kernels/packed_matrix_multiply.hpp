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
#pragma once

#include <algorithm>
#include <cstddef>
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

#ifndef XSIMD_NO_SUPPORTED_ARCHITECTURE
namespace detail
{
    // rows[j] (j < 4) -> rows[j][i] at out[i * out_stride + j]: a 4 x 4
    // transpose from two rounds of interleaves (unpcklps/unpckhps, then the
    // 64-bit halves: i8x16.shuffle patterns V8 maps to single instructions).
    template <class Arch>
    void transpose_4x4(float* out, std::size_t out_stride, const xsimd::batch<float, Arch> (&rows)[4])
    {
        using double_batch = xsimd::batch<double, Arch>;
        using float_batch = xsimd::batch<float, Arch>;
        const auto t0 = xsimd::bitwise_cast<double_batch>(xsimd::zip_lo(rows[0], rows[1]));
        const auto t1 = xsimd::bitwise_cast<double_batch>(xsimd::zip_lo(rows[2], rows[3]));
        const auto t2 = xsimd::bitwise_cast<double_batch>(xsimd::zip_hi(rows[0], rows[1]));
        const auto t3 = xsimd::bitwise_cast<double_batch>(xsimd::zip_hi(rows[2], rows[3]));
        xsimd::bitwise_cast<float_batch>(xsimd::zip_lo(t0, t1)).store_unaligned(out);
        xsimd::bitwise_cast<float_batch>(xsimd::zip_hi(t0, t1)).store_unaligned(out + out_stride);
        xsimd::bitwise_cast<float_batch>(xsimd::zip_lo(t2, t3)).store_unaligned(out + 2 * out_stride);
        xsimd::bitwise_cast<float_batch>(xsimd::zip_hi(t2, t3)).store_unaligned(out + 3 * out_stride);
    }
} // namespace detail
#endif

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

    template <class Arch, std::size_t rows>
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
        const float* a_row[rows];
        for (std::size_t r = 0; r < rows; ++r)
            a_row[r] = a + r * lda;
        const float* b = panel;
        for (std::size_t p = 0; p < k; ++p, b += 2 * width)
        {
            const float_batch b0 = float_batch::load_unaligned(b);
            const float_batch b1 = float_batch::load_unaligned(b + width);
            for (std::size_t r = 0; r < rows; ++r)
            {
                const float_batch a_value(*a_row[r]++);
                acc0[r] = xsimd::fma(a_value, b0, acc0[r]);
                acc1[r] = xsimd::fma(a_value, b1, acc1[r]);
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
    template <class Arch, std::size_t panels>
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
            const float_batch a_value(a[p]);
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
} // namespace detail

// c = a . B + bias, or c += a . B when accumulate (bias may be null).
// panel_stride is the distance between panels, k * panel_width for a matrix
// packed whole; a row block of a larger packed matrix keeps that matrix's stride.
template <class Arch>
void packed_matrix_multiply(Arch arch, float* c, std::size_t ldc, const float* a, std::size_t lda,
                            const float* packed, std::size_t panel_stride, const float* bias, std::size_t m,
                            std::size_t n, std::size_t k, bool accumulate = false)
{
    constexpr std::size_t row_block = 4;
    constexpr std::size_t panel_block = 4;
    const std::size_t width = panel_width(arch);
    const std::size_t blocked_rows = m / row_block * row_block;
    if (blocked_rows > 0)
        for (std::size_t first = 0; first < n; first += width)
        {
            const float* panel = packed + (first / width) * panel_stride;
            const std::size_t columns = std::min(width, n - first);
            const float* panel_bias = bias ? bias + first : nullptr;
            for (std::size_t i = 0; i < blocked_rows; i += row_block)
                detail::multiply_panel_rows<Arch, row_block>(c + i * ldc + first, ldc, a + i * lda, lda, panel,
                                                              panel_bias, columns, k, accumulate);
        }
    for (std::size_t i = blocked_rows; i < m; ++i)
    {
        std::size_t first = 0;
        for (; first + panel_block * width <= n; first += panel_block * width)
            detail::multiply_row_panels<Arch, panel_block>(c + i * ldc + first, a + i * lda,
                                                           packed + (first / width) * panel_stride, panel_stride,
                                                           bias ? bias + first : nullptr, k, accumulate);
        for (; first < n; first += width)
            detail::multiply_panel_rows<Arch, 1>(c + i * ldc + first, ldc, a + i * lda, lda,
                                                  packed + (first / width) * panel_stride, bias ? bias + first : nullptr,
                                                  std::min(width, n - first), k, accumulate);
    }
}
} // namespace mha::kernels
