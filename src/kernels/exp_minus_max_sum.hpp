// y[i] = exp(x[i] - max) and returns sum_i y[i]: the middle pass of a softmax
// (XNNPACK calls it raddstoreexpminusmax). y may alias x. `max` must be finite
// and at least every x[i] (callers pass the row max, or a running max above
// it; they skip rows whose max is -inf); -inf entries give exactly 0, NaN
// propagates to its element and the sum.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include "transpose_4x4.hpp"
#include "vector_exp.hpp"
#include "xsimd_or_scalar.hpp"

namespace mha::kernels
{
namespace detail
{
    // exp(d) for d = x - max <= 0 only, which removes most of vector_exp's
    // guards: no upper clamp; no lower clamp either, since below -87.3 the
    // result is replaced by 0 anyway (-inf turns r into NaN, then into that
    // 0); NaN needs no select, it flows through the arithmetic. And 2^n comes
    // from one shift: with 127 folded into the rounding constant (XNNPACK's
    // magic bias) the low bits of `shifted` are the biased exponent n + 127
    // itself, in [1, 127] for d in [-87.3, 0].
    //
    // The polynomial is one degree lower than vector_exp's: exp(r) ~ 1 + r p(r)
    // with p of degree 4, a minimax fit of the relative error on [-ln2/2, ln2/2]
    // (scripts/fit_exp_polynomial.py), written as s + (r s) p so that d = 0
    // gives exactly 1. Relative error below 2e-7 (vector_exp's Cephes one: 0.8e-7),
    // far below the rounding of the sums a softmax feeds; in wasm, where each
    // fma is a mul and an add, it is 21 SIMD operations instead of 25, and
    // two fewer constants to keep in registers in the exp loop, where V8
    // spills (2-3 % of a prefill SDPA call).
    template <class Arch>
    xsimd::batch<float, Arch> exp_nonpositive(xsimd::batch<float, Arch> d)
    {
        using float_batch = xsimd::batch<float, Arch>;
        using int_batch = xsimd::batch<int32_t, Arch>;
        // 1.5 * 2^23 + 127: adding it pushes the fraction bits out, leaving round-to-nearest.
        const float_batch shifter(12583039.0f);
        const float_batch shifted = xsimd::fma(d, float_batch(1.44269504088896341f), shifter);
        const float_batch n = shifted - shifter;
        const float_batch r = reduce_by_ln2<Arch>(d, n);
        float_batch p = xsimd::fma(float_batch(8.29031598e-3f), r, float_batch(4.18979339e-2f));
        p = xsimd::fma(p, r, float_batch(1.66676357e-1f));
        p = xsimd::fma(p, r, float_batch(4.99991506e-1f));
        p = xsimd::fma(p, r, float_batch(9.99999702e-1f));

        // The bits above the low 9 of `shifted` are those of 1.5 * 2^23; the shift drops them.
        const float_batch scale = xsimd::bitwise_cast<float_batch>(xsimd::bitwise_cast<int_batch>(shifted) << 23);
        const float_batch e = xsimd::fma(r * scale, p, scale);
        return xsimd::select(d < float_batch(-87.3f), float_batch(0.0f), e);
    }
} // namespace detail

template <class Arch>
float exp_minus_max_sum(Arch, float* y, const float* x, float max, std::size_t n)
{
    using float_batch = xsimd::batch<float, Arch>;
    constexpr std::size_t width = float_batch::size;
    const float_batch max_batch(max);
    float_batch sum_batch(0.0f);
    std::size_t i = 0;
    for (; i + width <= n; i += width)
    {
        const float_batch e = detail::exp_nonpositive<Arch>(float_batch::load_unaligned(x + i) - max_batch);
        e.store_unaligned(y + i);
        sum_batch += e;
    }
    float sum = xsimd::hadd(sum_batch);
    if (i < n)
    {
        // The tail goes through the same vector exp, so a row's values do not
        // depend on where it falls relative to the SIMD width.
        alignas(64) float lanes[width];
        const std::size_t tail = n - i;
        for (std::size_t lane = 0; lane < width; ++lane)
            lanes[lane] = lane < tail ? x[i + lane] - max : -INFINITY;
        detail::exp_nonpositive<Arch>(float_batch::load_aligned(lanes)).store_aligned(lanes);
        for (std::size_t lane = 0; lane < tail; ++lane)
        {
            y[i + lane] = lanes[lane];
            sum += lanes[lane];
        }
    }
    return sum;
}

// The same pass over 4 rows at once (x, row stride ldx, n values each, row r
// minus max[r]), written as one row quad, quad[4p + r] (pack_row_quads's
// layout: the left operand of the P . V product); sums[r] = row r's sum.
// Each value and each sum is computed exactly as exp_minus_max_sum computes
// it. With 4-lane batches the 4 rows' exps are transposed in registers and x
// is left as it was; otherwise (AVX2) each row goes through exp_minus_max_sum
// in place, overwriting x, and the rows are then packed.
template <class Arch>
void exp_minus_max_sum_quad([[maybe_unused]] Arch arch, float* quad, float* x, std::size_t ldx, const float (&max)[4], std::size_t n,
                            float (&sums)[4])
{
    using float_batch = xsimd::batch<float, Arch>;
    constexpr std::size_t width = float_batch::size;
#ifndef XSIMD_NO_SUPPORTED_ARCHITECTURE
    if constexpr (width == 4)
    {
        float_batch max_batch[4], sum_batch[4];
        for (std::size_t r = 0; r < 4; ++r)
        {
            max_batch[r] = float_batch(max[r]);
            sum_batch[r] = float_batch(0.0f);
        }
        std::size_t i = 0;
        for (; i + width <= n; i += width)
        {
            float_batch e[4];
            for (std::size_t r = 0; r < 4; ++r)
            {
                e[r] = detail::exp_nonpositive<Arch>(float_batch::load_unaligned(x + r * ldx + i) - max_batch[r]);
                sum_batch[r] += e[r];
            }
            detail::transpose_4x4<Arch>(quad + i * 4, 4, e);
        }
        for (std::size_t r = 0; r < 4; ++r)
            sums[r] = xsimd::hadd(sum_batch[r]);
        if (i < n)
        {
            // The tail as in exp_minus_max_sum: padded with -inf, whose exp is 0.
            const std::size_t tail = n - i;
            alignas(64) float lanes[4][width];
            float_batch e[4];
            for (std::size_t r = 0; r < 4; ++r)
            {
                for (std::size_t lane = 0; lane < width; ++lane)
                    lanes[r][lane] = lane < tail ? x[r * ldx + i + lane] - max[r] : -INFINITY;
                e[r] = detail::exp_nonpositive<Arch>(float_batch::load_aligned(lanes[r]));
                e[r].store_aligned(lanes[r]);
                for (std::size_t lane = 0; lane < tail; ++lane)
                    sums[r] += lanes[r][lane];
            }
            alignas(64) float steps[4 * width];
            detail::transpose_4x4<Arch>(steps, 4, e);
            std::copy(steps, steps + 4 * tail, quad + i * 4);
        }
        return;
    }
#endif
    for (std::size_t r = 0; r < 4; ++r)
        sums[r] = exp_minus_max_sum(arch, x + r * ldx, x + r * ldx, max[r], n);
    for (std::size_t p = 0; p < n; ++p)
        for (std::size_t r = 0; r < 4; ++r)
            quad[4 * p + r] = x[r * ldx + p];
}
} // namespace mha::kernels
