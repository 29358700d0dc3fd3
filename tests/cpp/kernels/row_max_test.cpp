// row_max against the double reference. max is exact in any order, so every
// comparison here is exact equality (tolerance 0).
#include "kernels/row_max.hpp"

#include <cmath>
#include <limits>

#include "kernel_tester.hpp"
#include "reference/reference_kernels.hpp"

namespace mha::test
{
namespace
{
    constexpr float minus_infinity = -std::numeric_limits<float>::infinity();
    constexpr float quiet_nan = std::numeric_limits<float>::quiet_NaN();
} // namespace

template <class Arch>
class RowMax : public ::testing::Test
{
};
TYPED_TEST_SUITE(RowMax, tested_arch_types, arch_name_generator);

TYPED_TEST(RowMax, MatchesReferenceAtEverySize)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        kernel_tester tester;
        tester.length(n).seed(7000 + n).range(-100.0f, 100.0f);
        const std::vector<float> x = tester.uniform();
        EXPECT_TRUE(tester.near(TypeParam {}, "row_max", kernels::row_max(TypeParam {}, x.data(), n),
                                reference::row_max(x.data(), n), 0.0));
    }
}

// The maximum at each position in turn: whichever loop owns it must see it.
TYPED_TEST(RowMax, FindsTheMaximumAtEveryPosition)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        kernel_tester tester;
        tester.length(n).seed(7100 + n);
        std::vector<float> x = tester.uniform();
        for (std::size_t peak = 0; peak < n; ++peak)
        {
            std::vector<float> row = x;
            row[peak] = 2.0f;
            EXPECT_EQ(kernels::row_max(TypeParam {}, row.data(), n), 2.0f) << "peak " << peak << ", " << describe<TypeParam>(n);
        }
    }
}

// Masked scores are -inf: they must lose to any finite score, wherever they sit.
TYPED_TEST(RowMax, MinusInfinityEntriesAreIgnored)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        kernel_tester tester;
        tester.length(n).seed(7200 + n);
        std::vector<float> x = tester.uniform();
        for (std::size_t i = 0; i < n; i += 2)
            x[i] = minus_infinity;
        EXPECT_TRUE(tester.near(TypeParam {}, "row_max", kernels::row_max(TypeParam {}, x.data(), n),
                                reference::row_max(x.data(), n), 0.0));
    }
}

// A fully masked row: the layer relies on getting exactly -inf back.
TYPED_TEST(RowMax, AllMinusInfinityGivesMinusInfinity)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        const std::vector<float> x(n, minus_infinity);
        EXPECT_EQ(kernels::row_max(TypeParam {}, x.data(), n), minus_infinity) << describe<TypeParam>(n);
    }
}

// A NaN score must never be mistaken for a masked row or be dropped by max():
// NaN anywhere (first, in a full batch, last lane of a batch, in the tail),
// also next to +inf and -inf, gives NaN.
TYPED_TEST(RowMax, NanAnywhereGivesNan)
{
    for (std::size_t n : test_sizes<TypeParam>())
        for (float neighbour : { 0.5f, minus_infinity, std::numeric_limits<float>::infinity() })
            for (std::size_t position = 0; position < n; ++position)
            {
                std::vector<float> x(n, neighbour);
                x[position] = quiet_nan;
                EXPECT_TRUE(std::isnan(kernels::row_max(TypeParam {}, x.data(), n)))
                    << "NaN at " << position << " among " << neighbour << ", " << describe<TypeParam>(n);
            }
}

TYPED_TEST(RowMax, PlusInfinityWins)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        std::vector<float> x(n, 1.0f);
        x[n - 1] = std::numeric_limits<float>::infinity();
        EXPECT_EQ(kernels::row_max(TypeParam {}, x.data(), n), std::numeric_limits<float>::infinity()) << describe<TypeParam>(n);
    }
}
} // namespace mha::test
