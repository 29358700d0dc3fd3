// y[i] *= alpha over n floats: rescales an online-softmax accumulator when the
// running max grows, and normalises a row by 1 / sum.
#pragma once

#include <cstddef>
#include "xsimd_or_scalar.hpp"

namespace mha::kernels
{
template <class Arch>
void scale_in_place(Arch, float* y, float alpha, std::size_t n)
{
    using float_batch = xsimd::batch<float, Arch>;
    constexpr std::size_t width = float_batch::size;
    const float_batch alpha_batch(alpha);
    std::size_t i = 0;
    for (; i + width <= n; i += width)
        (float_batch::load_unaligned(y + i) * alpha_batch).store_unaligned(y + i);
    for (; i < n; ++i)
        y[i] *= alpha;
}
} // namespace mha::kernels
