// True when none of n floats is NaN or +-inf. The attention core asks this of
// each head's values once: only then may a key whose weight is exactly 0
// (masked, or underflowed) go through the matrix multiply, where 0 * NaN or
// 0 * inf would still poison the output.
#pragma once

#include <cstddef>
#include "xsimd_or_scalar.hpp"

namespace mha::kernels
{
template <class Arch>
bool all_finite(Arch, const float* x, std::size_t n)
{
    using float_batch = xsimd::batch<float, Arch>;
    constexpr std::size_t width = float_batch::size;
    // x * 0 is 0 for every finite x and NaN for NaN and +-inf.
    float_batch product(0.0f);
    std::size_t i = 0;
    for (; i + width <= n; i += width)
        product += float_batch::load_unaligned(x + i) * float_batch(0.0f);
    if (!xsimd::all(product == float_batch(0.0f)))
        return false;
    for (; i < n; ++i)
        if (!(x[i] * 0.0f == 0.0f))
            return false;
    return true;
}
} // namespace mha::kernels
