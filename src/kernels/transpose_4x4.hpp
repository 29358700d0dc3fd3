// A 4 x 4 transpose of float batches in registers, for 4-lane architectures
// (SSE2, WebAssembly SIMD128): packing a head's keys as panels
// (pack_columns), rows as row quads (pack_row_quads), and the softmax's
// probabilities straight into row quads (exp_minus_max_sum_quad).
#pragma once

#include <cstddef>
#include "xsimd_or_scalar.hpp"

namespace mha::kernels
{
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
} // namespace mha::kernels
