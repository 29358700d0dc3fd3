// exp(x) for a whole SIMD batch, using only add/mul/fma and integer shifts.
//
// Why not xsimd::exp: it converts floats to ints with _mm_cvttps_epi32, which
// Emscripten 3.1.6 emulates one lane at a time, so a softmax built on it runs
// no faster than scalar expf in wasm. Here round(x / ln2) comes from the
// "add 1.5 * 2^23" trick and 2^n is assembled directly in the exponent bits.
//
// Accuracy: relative error below 2e-7 on [-87, 88] (checked against double exp
// in tests/cpp/kernels/vector_exp_test.cpp). Inputs below -87.3, where the
// float32 result would leave the normal range, return exactly 0 (as -inf
// does): a key whose weight underflows contributes nothing, even next to a
// huge value. NaN propagates.
#pragma once

#include <cstdint>
#include <limits>
#include "xsimd_or_scalar.hpp"

namespace mha::kernels
{
namespace detail
{
    // x - n ln2 for integer-valued n, with ln2 split in two so n * ln2 is
    // exact (Cody and Waite). Shared by vector_exp and exp_minus_max_sum's
    // exp_nonpositive, which differ in their polynomials on [-ln2/2, ln2/2].
    template <class Arch>
    xsimd::batch<float, Arch> reduce_by_ln2(xsimd::batch<float, Arch> x, xsimd::batch<float, Arch> n)
    {
        using float_batch = xsimd::batch<float, Arch>;
        // n * (-c) + x rather than fnma(n, c, x): the same value, but SSE2's
        // fnma negates n first, one more operation and one more constant.
        const float_batch r = xsimd::fma(n, float_batch(-0.693359375f), x);
        return xsimd::fma(n, float_batch(2.12194440e-4f), r);
    }
} // namespace detail

template <class Arch>
xsimd::batch<float, Arch> vector_exp(xsimd::batch<float, Arch> x)
{
    using float_batch = xsimd::batch<float, Arch>;
    using int_batch = xsimd::batch<int32_t, Arch>;
    const auto underflows = x < float_batch(-87.3f);
    // xsimd::isnan, not x != x: xsimd 8.1 compiles != on AVX as an ordered
    // comparison, which is false for NaN.
    const auto is_nan = xsimd::isnan(x);

    const float_batch clamped = xsimd::min(xsimd::max(x, float_batch(-87.3f)), float_batch(88.3f));
    // 1.5 * 2^23: adding it pushes the fraction bits out, leaving round-to-nearest.
    const float_batch shifter(12582912.0f);
    const float_batch shifted = xsimd::fma(clamped, float_batch(1.44269504088896341f), shifter);
    const float_batch n = shifted - shifter;
    // exp(r) by the minimax polynomial on [-ln2/2, ln2/2] of Cephes' expf.
    const float_batch r = detail::reduce_by_ln2<Arch>(clamped, n);
    float_batch p(1.9875691500e-4f);
    p = xsimd::fma(p, r, float_batch(1.3981999507e-3f));
    p = xsimd::fma(p, r, float_batch(8.3334519073e-3f));
    p = xsimd::fma(p, r, float_batch(4.1665795894e-2f));
    p = xsimd::fma(p, r, float_batch(1.6666665459e-1f));
    p = xsimd::fma(p, r, float_batch(5.0000001201e-1f));
    p = xsimd::fma(p * r, r, r) + float_batch(1.0f);

    // The low bits of `shifted` hold n + 0x400000; rebuild 2^n as float bits.
    const int_batch exponent = ((xsimd::bitwise_cast<int_batch>(shifted) - int_batch(0x4B400000)) + int_batch(127)) << 23;
    float_batch result = p * xsimd::bitwise_cast<float_batch>(exponent);
    result = xsimd::select(underflows, float_batch(0.0f), result);
    return xsimd::select(is_nan, x, result);
}
} // namespace mha::kernels
