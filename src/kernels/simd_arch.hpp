// The one place that names concrete xsimd architectures.
//
// Kernels are templates over an xsimd Arch tag; the layer calls them with
// `mha::kernel_arch{}`, chosen here at compile time. Runtime dispatch is not
// used: xsimd 8.1 cannot detect features under WebAssembly, and the native
// build targets machines that have AVX2 and FMA.
//
// Under Emscripten the SSE2 backend is lowered to WebAssembly SIMD128 by
// `-msimd128 -msse2`. When Debian ships xsimd >= 11.2, the wasm line becomes
// `xsimd::wasm` and nothing else changes.
#pragma once

#include "xsimd_or_scalar.hpp"

namespace mha
{
#if defined(__EMSCRIPTEN__) && defined(XSIMD_NO_SUPPORTED_ARCHITECTURE)
// The build without SIMD (no -msimd128): the same kernels on one-lane batches.
using kernel_arch = scalar_arch;
#elif defined(__EMSCRIPTEN__)
using kernel_arch = xsimd::sse2;
using tested_archs = xsimd::arch_list<xsimd::sse2>;
#elif defined(__AVX2__) && defined(__FMA__)
using kernel_arch = xsimd::fma3<xsimd::avx2>;
// SSE2 is listed so that the code path that ships inside the .wasm also runs
// natively under ctest.
using tested_archs = xsimd::arch_list<xsimd::sse2, xsimd::fma3<xsimd::avx2>>;
#elif defined(__SSE2__)
using kernel_arch = xsimd::sse2;
using tested_archs = xsimd::arch_list<xsimd::sse2>;
#else
#error "mha-wasm kernels need SSE2 natively or -msimd128 -msse2 under Emscripten"
#endif
} // namespace mha
