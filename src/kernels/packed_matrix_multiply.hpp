// c[m x n] = a[m x k] . B (+ bias[n]), with B pre-packed by pack_columns():
// the Q/K/V and output projections.
//
// Packing (done once, at loadWeights) stores B as panels of `panel_width`
// columns, each panel k rows of panel_width contiguous floats, the last panel
// zero-padded. The inner loop then reads B strictly sequentially, and every
// panel load is a full SIMD batch, so there is no column tail to special-case.
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

// packed <- B where B[p][j] = weight[j * k + p], i.e. weight is PyTorch's
// (out_features = n, in_features = k) Linear layout; packed has packed_size floats.
template <class Arch>
void pack_columns(Arch arch, float* packed, const float* weight, std::size_t n, std::size_t k)
{
    const std::size_t width = panel_width(arch);
    for (std::size_t first = 0; first < n; first += width)
    {
        float* panel = packed + first * k;
        for (std::size_t p = 0; p < k; ++p)
            for (std::size_t t = 0; t < width; ++t)
                panel[p * width + t] = first + t < n ? weight[(first + t) * k + p] : 0.0f;
    }
}

namespace detail
{
    template <class Arch, std::size_t rows>
    void multiply_panel_rows(float* c, std::size_t ldc, const float* a, std::size_t lda, const float* panel,
                             const float* bias, std::size_t columns, std::size_t k)
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
                acc0[r].store_unaligned(out);
                acc1[r].store_unaligned(out + width);
                continue;
            }
            // The last, zero-padded panel: keep only the real columns.
            acc0[r].store_aligned(lanes);
            acc1[r].store_aligned(lanes + width);
            for (std::size_t t = 0; t < columns; ++t)
                out[t] = lanes[t] + (bias ? bias[t] : 0.0f);
        }
    }
} // namespace detail

template <class Arch>
void packed_matrix_multiply(Arch arch, float* c, std::size_t ldc, const float* a, std::size_t lda,
                            const float* packed, const float* bias, std::size_t m, std::size_t n, std::size_t k)
{
    constexpr std::size_t row_block = 4;
    const std::size_t width = panel_width(arch);
    for (std::size_t first = 0; first < n; first += width)
    {
        const float* panel = packed + first * k;
        const std::size_t columns = std::min(width, n - first);
        const float* panel_bias = bias ? bias + first : nullptr;
        std::size_t i = 0;
        for (; i + row_block <= m; i += row_block)
            detail::multiply_panel_rows<Arch, row_block>(c + i * ldc + first, ldc, a + i * lda, lda, panel, panel_bias,
                                                          columns, k);
        for (; i < m; ++i)
            detail::multiply_panel_rows<Arch, 1>(c + i * ldc + first, ldc, a + i * lda, lda, panel, panel_bias, columns,
                                                  k);
    }
}
} // namespace mha::kernels
