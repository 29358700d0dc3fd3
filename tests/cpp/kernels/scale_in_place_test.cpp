// scale_in_place (y *= alpha) against the double reference.
#include "kernels/scale_in_place.hpp"

#include <cmath>
#include <limits>

#include "kernel_tester.hpp"

namespace mha::test
{
template <class Arch>
class ScaleInPlace : public ::testing::Test
{
};
TYPED_TEST_SUITE(ScaleInPlace, tested_arch_types, arch_name_generator);

// The product of two floats is exact in double (24 + 24 < 53 bits) and an IEEE
// float multiply is correctly rounded, so every lane, SIMD or tail, must equal
// float(double(y) * double(alpha)) bit for bit: tolerance 0.
TYPED_TEST(ScaleInPlace, IsCorrectlyRoundedAtEverySize)
{
    for (std::size_t n : test_sizes<TypeParam>())
        for (float alpha : { 0.1f, -3.75f, 1.0f / 7.0f, 0.0f, 1e30f })
        {
            kernel_tester tester;
            tester.length(n).seed(6000 + n);
            std::vector<float> y = tester.uniform();
            std::vector<double> expected(n);
            for (std::size_t i = 0; i < n; ++i)
                expected[i] = double(float(double(y[i]) * double(alpha)));
            kernels::scale_in_place(TypeParam {}, y.data(), alpha, n);
            EXPECT_TRUE(tester.near(TypeParam {}, "scale_in_place", y.data(), expected, tolerance { 0.0, 0.0 }))
                << "alpha=" << alpha;
        }
}

TYPED_TEST(ScaleInPlace, WritesNothingPastTheEnd)
{
    constexpr float guard = -12345.0f;
    for (std::size_t n : test_sizes<TypeParam>())
    {
        std::vector<float> y(n + simd_width<TypeParam>, 3.0f);
        std::fill(y.begin() + n, y.end(), guard);
        kernels::scale_in_place(TypeParam {}, y.data(), 0.5f, n);
        for (std::size_t i = 0; i < y.size(); ++i)
            EXPECT_EQ(y[i], i < n ? 1.5f : guard) << "index " << i << ", " << describe<TypeParam>(n);
    }
}

// The online softmax rescales by exp(-inf) = 0 when a first finite max
// appears, and the final 1 / sum may overflow to inf: both follow IEEE.
TYPED_TEST(ScaleInPlace, SpecialValuesFollowIeee)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        std::vector<float> y(n, -2.0f);
        y[0] = std::numeric_limits<float>::infinity();
        kernels::scale_in_place(TypeParam {}, y.data(), 0.0f, n);
        EXPECT_TRUE(std::isnan(y[0])) << "inf * 0, " << describe<TypeParam>(n);
        for (std::size_t i = 1; i < n; ++i)
            EXPECT_TRUE(y[i] == 0.0f && std::signbit(y[i])) << "index " << i << ": -2 * 0 is -0, " << describe<TypeParam>(n);
    }
}
} // namespace mha::test
