// scale_accumulate (y += alpha * x) against the double reference.
#include "kernels/scale_accumulate.hpp"

#include <cmath>
#include <limits>

#include "kernel_tester.hpp"
#include "reference/reference_kernels.hpp"

namespace mha::test
{
namespace
{
    // One fma rounds once; the scalar tail may round the product and the sum
    // separately: two roundings, relative to |y| + |alpha x| (not to the result,
    // which may cancel).
    constexpr double accumulate_roundings = 2.0;

    std::vector<double> accumulate_allowed(const std::vector<float>& y, float alpha, const std::vector<float>& x)
    {
        std::vector<double> allowed(y.size());
        for (std::size_t i = 0; i < y.size(); ++i)
            allowed[i] = accumulate_roundings * float_unit_roundoff
                * (std::fabs(double(y[i])) + std::fabs(double(alpha) * double(x[i])));
        return allowed;
    }
} // namespace

template <class Arch>
class ScaleAccumulate : public ::testing::Test
{
};
TYPED_TEST_SUITE(ScaleAccumulate, tested_arch_types, arch_name_generator);

TYPED_TEST(ScaleAccumulate, MatchesReferenceAtEverySize)
{
    for (std::size_t n : test_sizes<TypeParam>())
        for (float alpha : { 0.37f, -1.5f, 0.0f, 1e-3f })
        {
            kernel_tester tester;
            tester.length(n).seed(4000 + n);
            std::vector<float> y = tester.uniform();
            const std::vector<float> x = tester.uniform();
            const std::vector<double> expected = reference::scale_accumulate(y.data(), alpha, x.data(), n);
            const std::vector<double> allowed = accumulate_allowed(y, alpha, x);
            kernels::scale_accumulate(TypeParam {}, y.data(), alpha, x.data(), n);
            EXPECT_TRUE(tester.near(TypeParam {}, "scale_accumulate", y.data(), expected, allowed)) << "alpha=" << alpha;
        }
}

// The kernel must touch exactly n elements: a guard after the end of y stays.
TYPED_TEST(ScaleAccumulate, WritesNothingPastTheEnd)
{
    constexpr float guard = -12345.0f;
    for (std::size_t n : test_sizes<TypeParam>())
    {
        kernel_tester tester;
        tester.length(n).seed(5000 + n);
        std::vector<float> y = tester.uniform(n + simd_width<TypeParam>);
        std::fill(y.begin() + n, y.end(), guard);
        const std::vector<float> x = tester.uniform();
        kernels::scale_accumulate(TypeParam {}, y.data(), 2.0f, x.data(), n);
        for (std::size_t i = n; i < y.size(); ++i)
            EXPECT_EQ(y[i], guard) << "index " << i << ", " << describe<TypeParam>(n);
    }
}

TYPED_TEST(ScaleAccumulate, NanInXPropagatesOnlyToItsElement)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        std::vector<float> y(n, 1.0f), x(n, 2.0f);
        x[n / 2] = std::numeric_limits<float>::quiet_NaN();
        kernels::scale_accumulate(TypeParam {}, y.data(), 0.5f, x.data(), n);
        for (std::size_t i = 0; i < n; ++i)
        {
            if (i == n / 2)
                EXPECT_TRUE(std::isnan(y[i])) << describe<TypeParam>(n);
            else
                EXPECT_EQ(y[i], 2.0f) << "index " << i << ", " << describe<TypeParam>(n);
        }
    }
}
} // namespace mha::test
