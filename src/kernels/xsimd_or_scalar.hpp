// The SIMD types the kernels are written with: xsimd's, or — in the build
// without SIMD (the fallback .wasm for engines without WebAssembly SIMD) —
// a one-lane batch with the same interface, so the kernels stay written
// once. xsimd 8.1 without any SIMD architecture declares no batch at all,
// only scalar functions; the declarations below fill that gap for
// mha::scalar_arch alone.
#pragma once

#include <xsimd/xsimd.hpp>

#if defined(XSIMD_NO_SUPPORTED_ARCHITECTURE)
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace mha
{
struct scalar_arch
{
    static constexpr const char* name() { return "scalar"; }
};
} // namespace mha

namespace xsimd
{
template <class T, class A>
class batch;
template <class T, class A>
class batch_bool;

template <>
class batch_bool<float, mha::scalar_arch>
{
public:
    batch_bool(bool value = false)
        : value_(value)
    {
    }
    bool value() const { return value_; }
    friend batch_bool operator||(batch_bool a, batch_bool b) { return a.value_ || b.value_; }
    friend batch_bool operator|(batch_bool a, batch_bool b) { return a.value_ || b.value_; }

private:
    bool value_;
};

template <>
class batch<float, mha::scalar_arch>
{
public:
    using bool_type = batch_bool<float, mha::scalar_arch>;
    static constexpr std::size_t size = 1;
    batch() = default;
    batch(float value)
        : value_(value)
    {
    }
    static batch load_unaligned(const float* p) { return *p; }
    static batch load_aligned(const float* p) { return *p; }
    void store_unaligned(float* p) const { *p = value_; }
    void store_aligned(float* p) const { *p = value_; }
    float value() const { return value_; }

    friend batch operator+(batch a, batch b) { return a.value_ + b.value_; }
    friend batch operator-(batch a, batch b) { return a.value_ - b.value_; }
    friend batch operator*(batch a, batch b) { return a.value_ * b.value_; }
    friend batch operator/(batch a, batch b) { return a.value_ / b.value_; }
    friend batch operator-(batch a) { return -a.value_; }
    batch& operator+=(batch b)
    {
        value_ += b.value_;
        return *this;
    }
    friend bool_type operator==(batch a, batch b) { return a.value_ == b.value_; }
    friend bool_type operator<(batch a, batch b) { return a.value_ < b.value_; }
    friend bool_type operator>(batch a, batch b) { return a.value_ > b.value_; }

private:
    float value_ = 0.0f;
};

template <>
class batch<std::int32_t, mha::scalar_arch>
{
public:
    static constexpr std::size_t size = 1;
    batch() = default;
    batch(std::int32_t value)
        : value_(value)
    {
    }
    std::int32_t value() const { return value_; }
    // Wrapping arithmetic, as SIMD integer lanes behave.
    friend batch operator+(batch a, batch b) { return std::int32_t(std::uint32_t(a.value_) + std::uint32_t(b.value_)); }
    friend batch operator-(batch a, batch b) { return std::int32_t(std::uint32_t(a.value_) - std::uint32_t(b.value_)); }
    friend batch operator<<(batch a, int shift) { return std::int32_t(std::uint32_t(a.value_) << shift); }

private:
    std::int32_t value_ = 0;
};

using scalar_float = batch<float, mha::scalar_arch>;
using scalar_int = batch<std::int32_t, mha::scalar_arch>;
using scalar_bool = batch_bool<float, mha::scalar_arch>;

// Not fused, like the SSE2 build the .wasm's SIMD kernels come from.
inline scalar_float fma(scalar_float a, scalar_float b, scalar_float c) { return a * b + c; }
inline scalar_float fnma(scalar_float a, scalar_float b, scalar_float c) { return c - a * b; }
inline scalar_float min(scalar_float a, scalar_float b) { return a.value() < b.value() ? a : b; }
inline scalar_float max(scalar_float a, scalar_float b) { return a.value() > b.value() ? a : b; }
inline scalar_float abs(scalar_float a) { return std::fabs(a.value()); }
inline scalar_float select(scalar_bool condition, scalar_float a, scalar_float b) { return condition.value() ? a : b; }
inline scalar_bool isnan(scalar_float a) { return std::isnan(a.value()); }
inline bool any(scalar_bool a) { return a.value(); }
inline bool all(scalar_bool a) { return a.value(); }
inline float hadd(scalar_float a) { return a.value(); }

template <class R>
R bitwise_cast(scalar_float a)
{
    float value = a.value();
    std::int32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    return R(bits);
}

template <class R>
R bitwise_cast(scalar_int a)
{
    std::int32_t bits = a.value();
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return R(value);
}
} // namespace xsimd
#endif
