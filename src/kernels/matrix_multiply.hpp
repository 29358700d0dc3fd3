// c[m x n] = a[m x k] . b[k x n] (+ bias[n]): the Q/K/V and output projections.
//
// a, b and c are row-major with leading dimensions lda, ldb, ldc (in floats);
// b is the weight matrix already transposed to (in_features x out_features) at
// load time, so each step broadcasts one a[i][p] against a contiguous row of b.
// bias may be null.
//
// Register blocking: 4 rows of c times 2 SIMD batches of columns are kept in
// 8 accumulators (16 registers on SSE/SIMD128 leave room for the b loads and
// the broadcasts), so each loaded b batch feeds 4 fmas.
#pragma once

#include <cstddef>
#include <xsimd/xsimd.hpp>

namespace mha::kernels
{
namespace detail
{
    // rows x (batches * width) block of c, rows <= 4, batches <= 2.
    template <class Arch, std::size_t rows, std::size_t batches>
    void multiply_block(float* c, std::size_t ldc, const float* a, std::size_t lda, const float* b,
                        std::size_t ldb, const float* bias, std::size_t k)
    {
        using float_batch = xsimd::batch<float, Arch>;
        constexpr std::size_t width = float_batch::size;
        float_batch acc[rows][batches];
        for (std::size_t t = 0; t < batches; ++t)
        {
            const float_batch init = bias ? float_batch::load_unaligned(bias + t * width) : float_batch(0.0f);
            for (std::size_t r = 0; r < rows; ++r)
                acc[r][t] = init;
        }
        for (std::size_t p = 0; p < k; ++p)
        {
            float_batch b_row[batches];
            for (std::size_t t = 0; t < batches; ++t)
                b_row[t] = float_batch::load_unaligned(b + p * ldb + t * width);
            for (std::size_t r = 0; r < rows; ++r)
            {
                const float_batch a_value(a[r * lda + p]);
                for (std::size_t t = 0; t < batches; ++t)
                    acc[r][t] = xsimd::fma(a_value, b_row[t], acc[r][t]);
            }
        }
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t t = 0; t < batches; ++t)
                acc[r][t].store_unaligned(c + r * ldc + t * width);
    }

    template <class Arch, std::size_t batches>
    void multiply_column_panel(float* c, std::size_t ldc, const float* a, std::size_t lda, const float* b,
                               std::size_t ldb, const float* bias, std::size_t m, std::size_t k)
    {
        std::size_t i = 0;
        for (; i + 4 <= m; i += 4)
            multiply_block<Arch, 4, batches>(c + i * ldc, ldc, a + i * lda, lda, b, ldb, bias, k);
        for (; i < m; ++i)
            multiply_block<Arch, 1, batches>(c + i * ldc, ldc, a + i * lda, lda, b, ldb, bias, k);
    }
} // namespace detail

template <class Arch>
void matrix_multiply(Arch, float* c, std::size_t ldc, const float* a, std::size_t lda, const float* b,
                     std::size_t ldb, const float* bias, std::size_t m, std::size_t n, std::size_t k)
{
    constexpr std::size_t width = xsimd::batch<float, Arch>::size;
    std::size_t j = 0;
    for (; j + 2 * width <= n; j += 2 * width)
        detail::multiply_column_panel<Arch, 2>(c + j, ldc, a, lda, b + j, ldb, bias ? bias + j : nullptr, m, k);
    if (j + width <= n)
    {
        detail::multiply_column_panel<Arch, 1>(c + j, ldc, a, lda, b + j, ldb, bias ? bias + j : nullptr, m, k);
        j += width;
    }
    // Fewer than `width` columns left (only when out_features is not a
    // multiple of the SIMD width): one dot product per element.
    for (; j < n; ++j)
        for (std::size_t i = 0; i < m; ++i)
        {
            float sum = bias ? bias[j] : 0.0f;
            for (std::size_t p = 0; p < k; ++p)
                sum += a[i * lda + p] * b[p * ldb + j];
            c[i * ldc + j] = sum;
        }
}
} // namespace mha::kernels
