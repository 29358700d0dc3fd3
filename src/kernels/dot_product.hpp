// sum_i a[i] * b[i] over n floats: one attention score q . k.
#pragma once

#include <cstddef>
#include <xsimd/xsimd.hpp>

namespace mha::kernels
{
template <class Arch>
float dot_product(Arch, const float* a, const float* b, std::size_t n)
{
    using float_batch = xsimd::batch<float, Arch>;
    constexpr std::size_t width = float_batch::size;
    // Two accumulators hide the latency of dependent fma chains.
    float_batch sum0(0.0f), sum1(0.0f);
    std::size_t i = 0;
    for (; i + 2 * width <= n; i += 2 * width)
    {
        sum0 = xsimd::fma(float_batch::load_unaligned(a + i), float_batch::load_unaligned(b + i), sum0);
        sum1 = xsimd::fma(float_batch::load_unaligned(a + i + width), float_batch::load_unaligned(b + i + width), sum1);
    }
    if (i + width <= n)
    {
        sum0 = xsimd::fma(float_batch::load_unaligned(a + i), float_batch::load_unaligned(b + i), sum0);
        i += width;
    }
    float sum = xsimd::hadd(sum0 + sum1);
    for (; i < n; ++i)
        sum += a[i] * b[i];
    return sum;
}
} // namespace mha::kernels
