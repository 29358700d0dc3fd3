// dot_product against the double reference, for every tested arch.
#include "kernels/dot_product.hpp"

#include <cmath>
#include <limits>

#include "kernel_tester.hpp"
#include "reference/reference_kernels.hpp"

namespace mha::test
{
namespace
{
    // n products and n - 1 additions in float32, in any order (two accumulators,
    // lanes, hadd, scalar tail): each term carries at most (n + 1) roundings, so
    // |error| <= (n + 2) * 2^-24 * sum |a_i b_i| (Higham, Thm 3.1, with slack for
    // the second-order term).
    double dot_allowed(const float* a, const float* b, std::size_t n)
    {
        double magnitude = 0.0;
        for (std::size_t i = 0; i < n; ++i)
            magnitude += std::fabs(double(a[i]) * double(b[i]));
        return double(n + 2) * float_unit_roundoff * magnitude;
    }
} // namespace

template <class Arch>
class DotProduct : public ::testing::Test
{
};
TYPED_TEST_SUITE(DotProduct, tested_arch_types, arch_name_generator);

TYPED_TEST(DotProduct, MatchesReferenceAtEverySize)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        kernel_tester tester;
        tester.length(n).seed(1000 + n);
        const std::vector<float> a = tester.uniform(), b = tester.uniform();
        const float actual = kernels::dot_product(TypeParam {}, a.data(), b.data(), n);
        EXPECT_TRUE(tester.near(TypeParam {}, "dot_product", actual, reference::dot_product(a.data(), b.data(), n),
                                dot_allowed(a.data(), b.data(), n)));
    }
}

// Positive terms of mixed magnitude: no cancellation, so the bound above is
// also a relative one, and the largest size exercises every loop.
TYPED_TEST(DotProduct, PositiveTermsOfMixedMagnitude)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        kernel_tester tester;
        tester.length(n).seed(2000 + n).range(1e-3f, 1e3f);
        const std::vector<float> a = tester.uniform(), b = tester.uniform();
        const float actual = kernels::dot_product(TypeParam {}, a.data(), b.data(), n);
        EXPECT_TRUE(tester.near(TypeParam {}, "dot_product", actual, reference::dot_product(a.data(), b.data(), n),
                                dot_allowed(a.data(), b.data(), n)));
    }
}

// Every element is read exactly once: a one-hot b picks out each a[i] exactly,
// whatever loop (unrolled body, single batch, tail) owns index i.
TYPED_TEST(DotProduct, OneHotSelectsEachElementExactly)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        kernel_tester tester;
        tester.length(n).seed(3000 + n);
        const std::vector<float> a = tester.uniform();
        for (std::size_t hot = 0; hot < n; ++hot)
        {
            std::vector<float> b(n, 0.0f);
            b[hot] = 1.0f;
            EXPECT_EQ(kernels::dot_product(TypeParam {}, a.data(), b.data(), n), a[hot])
                << "index " << hot << ", " << describe<TypeParam>(n);
        }
    }
}

TYPED_TEST(DotProduct, NanPropagates)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        std::vector<float> a(n, 1.0f), b(n, 1.0f);
        b[n - 1] = std::numeric_limits<float>::quiet_NaN();
        EXPECT_TRUE(std::isnan(kernels::dot_product(TypeParam {}, a.data(), b.data(), n))) << describe<TypeParam>(n);
    }
}
} // namespace mha::test
