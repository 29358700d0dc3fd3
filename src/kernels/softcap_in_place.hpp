// x[i] = cap * tanh(x[i] / cap) over n floats: Gemma 2's logit softcap,
// applied to attention scores before masks.
//
// tanh is built from the same add/mul/fma-only pieces as vector_exp (no
// float->int conversion, which Emscripten 3.1.6 emulates lane by lane):
// |y| < 0.625 uses Cephes' tanhf polynomial (relative error ~2e-7, no
// cancellation near 0); larger |y| uses 1 - 2 / (exp(2|y|) + 1), whose
// rounding is then small next to the result. NaN propagates; +-inf give +-cap.
#pragma once

#include <cmath>
#include <cstddef>
#include "xsimd_or_scalar.hpp"

#include "vector_exp.hpp"

namespace mha::kernels
{
template <class Arch>
xsimd::batch<float, Arch> vector_tanh(xsimd::batch<float, Arch> y)
{
    using float_batch = xsimd::batch<float, Arch>;
    const float_batch magnitude = xsimd::abs(y);
    const float_batch z = y * y;
    float_batch p(-5.70498872745e-3f);
    p = xsimd::fma(p, z, float_batch(2.06390887954e-2f));
    p = xsimd::fma(p, z, float_batch(-5.37397155531e-2f));
    p = xsimd::fma(p, z, float_batch(1.33314422036e-1f));
    p = xsimd::fma(p, z, float_batch(-3.33332819422e-1f));
    const float_batch small = xsimd::fma(p * z, y, y);
    const float_batch e = vector_exp<Arch>(xsimd::min(magnitude + magnitude, float_batch(88.0f)));
    const float_batch large_magnitude = float_batch(1.0f) - float_batch(2.0f) / (e + float_batch(1.0f));
    const float_batch large = xsimd::select(y < float_batch(0.0f), -large_magnitude, large_magnitude);
    const float_batch result = xsimd::select(magnitude < float_batch(0.625f), small, large);
    return xsimd::select(xsimd::isnan(y), y, result);
}

template <class Arch>
void softcap_in_place(Arch, float* x, float cap, std::size_t n)
{
    using float_batch = xsimd::batch<float, Arch>;
    constexpr std::size_t width = float_batch::size;
    const float_batch cap_batch(cap), inverse(1.0f / cap);
    std::size_t i = 0;
    for (; i + width <= n; i += width)
        (cap_batch * vector_tanh<Arch>(float_batch::load_unaligned(x + i) * inverse)).store_unaligned(x + i);
    if (i < n)
    {
        // The tail goes through the same vector code, so a score does not
        // depend on where it falls relative to the SIMD width.
        alignas(64) float lanes[width] = {};
        std::copy(x + i, x + n, lanes);
        (cap_batch * vector_tanh<Arch>(float_batch::load_aligned(lanes) * inverse)).store_aligned(lanes);
        std::copy(lanes, lanes + (n - i), x + i);
    }
}
} // namespace mha::kernels
