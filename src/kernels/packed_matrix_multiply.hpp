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
#pragma once

#include <algorithm>
#include <cstddef>
#include <xsimd/xsimd.hpp>

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
template <class Arch>
void pack_columns(Arch arch, float* packed, const float* source, std::size_t ld, std::size_t n, std::size_t k)
{
    const std::size_t width = panel_width(arch);
    for (std::size_t first = 0; first < n; first += width)
    {
        float* panel = packed + first * k;
        for (std::size_t p = 0; p < k; ++p)
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
        for (std::size_t p = 0; p < k; ++p)
        {
            std::copy(source + p * ld + first, source + p * ld + first + columns, panel + p * width);
            std::fill(panel + p * width + columns, panel + (p + 1) * width, 0.0f);
        }
    }
}

namespace detail
{
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
        for (std::size_t p = 0; p < k; ++p)
        {
            const float_batch b0 = float_batch::load_unaligned(panel + p * 2 * width);
            const float_batch b1 = float_batch::load_unaligned(panel + p * 2 * width + width);
            for (std::size_t r = 0; r < rows; ++r)
            {
                const float_batch a_value(a[r * lda + p]);
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
                if (bias)
                {
                    acc0[r] += float_batch::load_unaligned(bias);
                    acc1[r] += float_batch::load_unaligned(bias + width);
                }
                if (accumulate)
                {
                    acc0[r] += float_batch::load_unaligned(out);
                    acc1[r] += float_batch::load_unaligned(out + width);
                }
                acc0[r].store_unaligned(out);
                acc1[r].store_unaligned(out + width);
                continue;
            }
            // The last, zero-padded panel: keep only the real columns.
            acc0[r].store_aligned(lanes);
            acc1[r].store_aligned(lanes + width);
            for (std::size_t t = 0; t < columns; ++t)
                out[t] = lanes[t] + (bias ? bias[t] : 0.0f) + (accumulate ? out[t] : 0.0f);
        }
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
    const std::size_t width = panel_width(arch);
    for (std::size_t first = 0; first < n; first += width)
    {
        const float* panel = packed + (first / width) * panel_stride;
        const std::size_t columns = std::min(width, n - first);
        const float* panel_bias = bias ? bias + first : nullptr;
        std::size_t i = 0;
        for (; i + row_block <= m; i += row_block)
            detail::multiply_panel_rows<Arch, row_block>(c + i * ldc + first, ldc, a + i * lda, lda, panel, panel_bias,
                                                          columns, k, accumulate);
        for (; i < m; ++i)
            detail::multiply_panel_rows<Arch, 1>(c + i * ldc + first, ldc, a + i * lda, lda, panel, panel_bias, columns,
                                                  k, accumulate);
    }
}
} // namespace mha::kernels
