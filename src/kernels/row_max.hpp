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
        // Four independent chains: in wasm one max is a compare and a
        // bitselect (three x64 instructions), so a single running max over a
        // 64-key tile waited on ~60 dependent operations per row. NaN lanes
        // are collected with a bitwise or of compare masks (one op), not ||.
        float_batch best[4] = { float_batch(minus_infinity), float_batch(minus_infinity), float_batch(minus_infinity),
                                float_batch(minus_infinity) };
        auto seen_nan = xsimd::isnan(best[0]);
        for (; i + 4 * width <= n; i += 4 * width)
            for (std::size_t j = 0; j < 4; ++j)
            {
                const float_batch values = float_batch::load_unaligned(x + i + j * width);
                seen_nan = seen_nan | xsimd::isnan(values);
                best[j] = xsimd::max(best[j], values);
            }
        for (; i + width <= n; i += width)
        {
            const float_batch values = float_batch::load_unaligned(x + i);
            seen_nan = seen_nan | xsimd::isnan(values);
            best[0] = xsimd::max(best[0], values);
        }
        if (xsimd::any(seen_nan))
            return std::numeric_limits<float>::quiet_NaN();
        // xsimd 8.1 has no reduce_max: spill the lanes and scan them.
        alignas(64) float lanes[width];
        xsimd::max(xsimd::max(best[0], best[1]), xsimd::max(best[2], best[3])).store_aligned(lanes);
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
