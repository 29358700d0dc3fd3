// Shared machinery of the kernel tests (XNNPACK's microkernel-tester idea):
// a fluent tester that fixes the length, seed and input range, draws inputs
// from a fixed-seed std::mt19937, and compares float results with the double
// references of src/reference/reference_kernels.hpp.
//
// Every kernel test is a typed test over mha::tested_archs, so the SSE2 code
// that ships inside the .wasm runs here next to AVX2. Helpers stay templated
// on Arch (see STYLE.md C.4): a plain inline helper compiled into both could
// be merged by the linker and silently test one arch twice.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <xsimd/xsimd.hpp>

#include "kernels/simd_arch.hpp"

namespace mha::test
{
// xsimd::arch_list<A, B> -> ::testing::Types<A, B>.
template <class List>
struct gtest_types_of;

template <class... Archs>
struct gtest_types_of<xsimd::arch_list<Archs...>>
{
    using type = ::testing::Types<Archs...>;
};

using tested_arch_types = typename gtest_types_of<mha::tested_archs>::type;

// Typed test names read "DotProduct/sse2.Sizes", "DotProduct/fma3_avx2.Sizes".
struct arch_name_generator
{
    template <class Arch>
    static std::string GetName(int)
    {
        std::string name = Arch::name();
        std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
        return name;
    }
};

template <class Arch>
constexpr std::size_t simd_width = xsimd::batch<float, Arch>::size;

// Unit roundoff of float32: one correctly rounded operation errs by at most
// this much relative to its exact result.
constexpr double float_unit_roundoff = 0x1p-24;

// Lengths that hit every loop shape of a kernel: a lone scalar tail, a tail one
// short of a batch, exactly one batch, a batch plus a tail, the two-batch
// unrolled body, unrolled body + batch + tail, and two "real" head dims / rows.
template <class Arch>
std::vector<std::size_t> test_sizes()
{
    constexpr std::size_t w = simd_width<Arch>;
    std::vector<std::size_t> sizes { 1, w - 1, w, w + 1, 2 * w, 3 * w + 1, 64, 100 };
    sizes.erase(std::remove(sizes.begin(), sizes.end(), std::size_t(0)), sizes.end());
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
    return sizes;
}

// |actual - expected| <= absolute + relative * |expected|.
struct tolerance
{
    double absolute = 0.0;
    double relative = 0.0;
    double allowed(double expected) const { return absolute + relative * std::fabs(expected); }
};

class kernel_tester
{
public:
    kernel_tester& length(std::size_t n)
    {
        length_ = n;
        return *this;
    }
    kernel_tester& seed(std::uint32_t s)
    {
        rng_.seed(s);
        return *this;
    }
    // Inputs are uniform in [low, high): the default [-1, 1) keeps products and
    // sums O(1), so an absolute error reads directly as ulps of 1.
    kernel_tester& range(float low, float high)
    {
        low_ = low;
        high_ = high;
        return *this;
    }
    std::size_t length() const { return length_; }

    // The next `count` (default: length()) values of the tester's stream.
    std::vector<float> uniform() { return uniform(length_); }
    std::vector<float> uniform(std::size_t count)
    {
        std::uniform_real_distribution<float> distribution(low_, high_);
        std::vector<float> values(count);
        for (float& v : values)
            v = distribution(rng_);
        return values;
    }
    // A rows x cols matrix stored with leading dimension ld >= cols; the
    // ld - cols padding columns hold `padding` (NaN shows up any read of them).
    std::vector<float> matrix(std::size_t rows, std::size_t cols, std::size_t ld, float padding)
    {
        std::vector<float> values(rows * ld, padding);
        for (std::size_t r = 0; r < rows; ++r)
        {
            const std::vector<float> row = uniform(cols);
            std::copy(row.begin(), row.end(), values.begin() + r * ld);
        }
        return values;
    }

    // One scalar result against its reference; `what` names the quantity.
    template <class Arch>
    ::testing::AssertionResult near(Arch, const char* what, float actual, double expected, double allowed) const
    {
        // Equal values (infinities included) and NaN against NaN always pass.
        const double error = std::fabs(double(actual) - expected);
        if (double(actual) == expected || error <= allowed || (std::isnan(actual) && std::isnan(expected)))
            return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << what << " of size " << length_ << " on " << Arch::name() << ": got "
                                             << actual << ", expected " << expected << " (error " << error
                                             << " > allowed " << allowed << ")";
    }

    // Element-wise with a per-element allowance; reports the first failing index.
    template <class Arch>
    ::testing::AssertionResult near(Arch, const char* what, const float* actual, const std::vector<double>& expected,
                                    const std::vector<double>& allowed) const
    {
        for (std::size_t i = 0; i < expected.size(); ++i)
        {
            const double error = std::fabs(double(actual[i]) - expected[i]);
            if (double(actual[i]) != expected[i] && !(error <= allowed[i])
                && !(std::isnan(actual[i]) && std::isnan(expected[i])))
                return ::testing::AssertionFailure()
                    << what << "[" << i << "] of size " << length_ << " on " << Arch::name() << ": got " << actual[i]
                    << ", expected " << expected[i] << " (error " << error << " > allowed " << allowed[i] << ")";
        }
        return ::testing::AssertionSuccess();
    }

    template <class Arch>
    ::testing::AssertionResult near(Arch arch, const char* what, const float* actual, const std::vector<double>& expected,
                                    tolerance tol) const
    {
        std::vector<double> allowed(expected.size());
        for (std::size_t i = 0; i < expected.size(); ++i)
            allowed[i] = tol.allowed(expected[i]);
        return near(arch, what, actual, expected, allowed);
    }

private:
    std::size_t length_ = 1;
    float low_ = -1.0f;
    float high_ = 1.0f;
    std::mt19937 rng_ { 42 };
};

template <class Arch>
std::string describe(std::size_t n)
{
    std::ostringstream out;
    out << "n=" << n << " arch=" << Arch::name() << " width=" << simd_width<Arch>;
    return out.str();
}
} // namespace mha::test
