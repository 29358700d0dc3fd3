// y[i] = exp(x[i] - max) and returns sum_i y[i]: the middle pass of a softmax
// (XNNPACK calls it raddstoreexpminusmax). y may alias x. `max` must be finite
// (callers skip rows whose max is -inf); -inf entries give exactly 0.
#pragma once

#include <cmath>
#include <cstddef>
#include "xsimd_or_scalar.hpp"

#include "vector_exp.hpp"

namespace mha::kernels
{
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
        const float_batch e = vector_exp<Arch>(float_batch::load_unaligned(x + i) - max_batch);
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
        vector_exp<Arch>(float_batch::load_aligned(lanes)).store_aligned(lanes);
        for (std::size_t lane = 0; lane < tail; ++lane)
        {
            y[i + lane] = lanes[lane];
            sum += lanes[lane];
        }
    }
    return sum;
}
} // namespace mha::kernels
