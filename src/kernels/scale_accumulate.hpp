// y[i] += alpha * x[i] over n floats: adds one weighted value row in P . V.
#pragma once

#include <cstddef>
#include <xsimd/xsimd.hpp>

namespace mha::kernels
{
template <class Arch>
void scale_accumulate(Arch, float* y, float alpha, const float* x, std::size_t n)
{
    using float_batch = xsimd::batch<float, Arch>;
    constexpr std::size_t width = float_batch::size;
    const float_batch alpha_batch(alpha);
    std::size_t i = 0;
    for (; i + width <= n; i += width)
        xsimd::fma(alpha_batch, float_batch::load_unaligned(x + i), float_batch::load_unaligned(y + i)).store_unaligned(y + i);
    for (; i < n; ++i)
        y[i] += alpha * x[i];
}
} // namespace mha::kernels
