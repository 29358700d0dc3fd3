// max_i x[i] over n >= 1 floats: the softmax shift. -inf entries are allowed;
// any NaN makes the result NaN, so a NaN score is never mistaken for a masked row.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include "xsimd_or_scalar.hpp"

namespace mha::kernels
{
template <class Arch>
float row_max(Arch, const float* x, std::size_t n)
{
    using float_batch = xsimd::batch<float, Arch>;
    constexpr std::size_t width = float_batch::size;
    constexpr float minus_infinity = -std::numeric_limits<float>::infinity();
    float result = minus_infinity;
    std::size_t i = 0;
    if (n >= width)
    {
        float_batch best(minus_infinity);
        auto seen_nan = xsimd::isnan(best);
        for (; i + width <= n; i += width)
        {
            const float_batch values = float_batch::load_unaligned(x + i);
            seen_nan = seen_nan || xsimd::isnan(values);
            best = xsimd::max(best, values);
        }
        if (xsimd::any(seen_nan))
            return std::numeric_limits<float>::quiet_NaN();
        // xsimd 8.1 has no reduce_max: spill the lanes and scan them.
        alignas(64) float lanes[width];
        best.store_aligned(lanes);
        for (std::size_t lane = 0; lane < width; ++lane)
            result = std::max(result, lanes[lane]);
    }
    for (; i < n; ++i)
    {
        if (x[i] != x[i])
            return x[i];
        result = std::max(result, x[i]);
    }
    return result;
}
} // namespace mha::kernels
