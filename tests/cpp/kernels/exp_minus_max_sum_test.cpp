// exp_minus_max_sum (y = exp(x - max), returns sum y) against the double
// reference, with large logits, -inf entries and in-place use; and
// exp_minus_max_sum_quad (4 rows at once, written as a row quad) against it.
#include "kernels/exp_minus_max_sum.hpp"

#include <cmath>
#include <limits>
#include <numeric>

#include "kernel_tester.hpp"
#include "kernels/row_max.hpp"
#include "reference/reference_kernels.hpp"

namespace mha::test
{
namespace
{
    constexpr float minus_infinity = -std::numeric_limits<float>::infinity();
    // exp_nonpositive's claimed accuracy (src/kernels/exp_minus_max_sum.hpp;
    // scripts/fit_exp_polynomial.py measures at most 1.84e-7 in wasm).
    constexpr double exp_relative_error = 2e-7;
    // Arguments below -87.3 give exactly 0 instead of exp(d) (exp_minus_max_sum.hpp),
    // an absolute error of at most exp(-87.3), about 1.2e-38.
    constexpr double clamped_exp_absolute = 2e-38;

    struct expectation
    {
        std::vector<double> values, allowed;
        double sum = 0.0, sum_allowed = 0.0;
    };

    // The kernel rounds d = x - max to float before exp, an input error of
    // u|d| that exp turns into a relative error of u|d|; the float sum of n
    // positive terms adds (n - 1) u * sum (Higham Thm 3.1) on top of the
    // element errors.
    expectation expect(const std::vector<float>& x, float max)
    {
        expectation e;
        e.values = reference::exp_minus_max(x.data(), max, x.size());
        e.allowed.resize(x.size());
        for (std::size_t i = 0; i < x.size(); ++i)
        {
            const double d = std::fabs(double(x[i]) - double(max));
            e.allowed[i] = std::isinf(d)
                ? 0.0
                : e.values[i] * (exp_relative_error + 1.01 * float_unit_roundoff * d) + clamped_exp_absolute;
            e.sum += e.values[i];
            e.sum_allowed += e.allowed[i];
        }
        e.sum_allowed += double(x.size() + 1) * float_unit_roundoff * e.sum;
        return e;
    }

    template <class Arch>
    void check(kernel_tester& tester, const std::vector<float>& x, float max)
    {
        const expectation e = expect(x, max);
        std::vector<float> y(x.size(), -1.0f);
        const float sum = kernels::exp_minus_max_sum(Arch {}, y.data(), x.data(), max, x.size());
        EXPECT_TRUE(tester.near(Arch {}, "exp(x - max)", y.data(), e.values, e.allowed)) << "max=" << max;
        EXPECT_TRUE(tester.near(Arch {}, "sum", sum, e.sum, e.sum_allowed)) << "max=" << max;
    }
} // namespace

template <class Arch>
class ExpMinusMaxSum : public ::testing::Test
{
};
TYPED_TEST_SUITE(ExpMinusMaxSum, tested_arch_types, arch_name_generator);

// Scores of a softmax row, spread over [-10, 10) so exp spans ~9 decades; the
// layer passes the row max, or a running max above this tile's max.
TYPED_TEST(ExpMinusMaxSum, MatchesReferenceAtEverySize)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        kernel_tester tester;
        tester.length(n).seed(9000 + n).range(-10.0f, 10.0f);
        const std::vector<float> x = tester.uniform();
        const float max = kernels::row_max(TypeParam {}, x.data(), n);
        check<TypeParam>(tester, x, max);
        check<TypeParam>(tester, x, max + 7.5f);
    }
}

// Logits in [90, 100) overflow a naive float exp (exp(88.8) = inf); with a few
// at -100 (x - max ~ -200, far below the clamp) mixed in.
TYPED_TEST(ExpMinusMaxSum, LargeLogitsStayFinite)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        kernel_tester tester;
        tester.length(n).seed(9100 + n).range(90.0f, 100.0f);
        std::vector<float> x = tester.uniform();
        for (std::size_t i = 1; i < n; i += 3)
            x[i] = -100.0f;
        const float max = kernels::row_max(TypeParam {}, x.data(), n);
        check<TypeParam>(tester, x, max);
        std::vector<float> y(n);
        const float sum = kernels::exp_minus_max_sum(TypeParam {}, y.data(), x.data(), max, n);
        EXPECT_TRUE(std::isfinite(sum) && sum >= 1.0f) << "sum includes exp(0) = 1; " << describe<TypeParam>(n);
    }
}

// Masked scores are -inf and must weigh exactly 0, in the SIMD body and in the tail.
TYPED_TEST(ExpMinusMaxSum, MinusInfinityGivesExactlyZero)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        kernel_tester tester;
        tester.length(n).seed(9200 + n).range(-5.0f, 5.0f);
        std::vector<float> x = tester.uniform();
        for (std::size_t i = 0; i < n; i += 2)
            x[i] = minus_infinity;
        const float max = n > 1 ? kernels::row_max(TypeParam {}, x.data(), n) : 0.0f;
        std::vector<float> y(n, -1.0f);
        kernels::exp_minus_max_sum(TypeParam {}, y.data(), x.data(), max, n);
        for (std::size_t i = 0; i < n; i += 2)
            EXPECT_EQ(y[i], 0.0f) << "index " << i << ", " << describe<TypeParam>(n);
        check<TypeParam>(tester, x, max);
    }
}

// y == x is how the layer calls it (scores become weights in place): the
// result must be bit-identical to the out-of-place call.
TYPED_TEST(ExpMinusMaxSum, InPlaceMatchesOutOfPlace)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        kernel_tester tester;
        tester.length(n).seed(9300 + n).range(-10.0f, 10.0f);
        std::vector<float> x = tester.uniform();
        const float max = kernels::row_max(TypeParam {}, x.data(), n);
        std::vector<float> y(n);
        const float sum = kernels::exp_minus_max_sum(TypeParam {}, y.data(), x.data(), max, n);
        const float sum_in_place = kernels::exp_minus_max_sum(TypeParam {}, x.data(), x.data(), max, n);
        EXPECT_EQ(sum_in_place, sum) << describe<TypeParam>(n);
        for (std::size_t i = 0; i < n; ++i)
            EXPECT_EQ(x[i], y[i]) << "index " << i << ", " << describe<TypeParam>(n);
    }
}

TYPED_TEST(ExpMinusMaxSum, WritesNothingPastTheEnd)
{
    constexpr float guard = -12345.0f;
    for (std::size_t n : test_sizes<TypeParam>())
    {
        kernel_tester tester;
        tester.length(n).seed(9400 + n);
        const std::vector<float> x = tester.uniform();
        std::vector<float> y(n + simd_width<TypeParam>, guard);
        kernels::exp_minus_max_sum(TypeParam {}, y.data(), x.data(), 1.0f, n);
        for (std::size_t i = n; i < y.size(); ++i)
            EXPECT_EQ(y[i], guard) << "index " << i << ", " << describe<TypeParam>(n);
    }
}

TYPED_TEST(ExpMinusMaxSum, NanPropagatesToItsElementAndTheSum)
{
    for (std::size_t n : test_sizes<TypeParam>())
    {
        std::vector<float> x(n, 0.0f);
        x[n - 1] = std::numeric_limits<float>::quiet_NaN();
        std::vector<float> y(n);
        EXPECT_TRUE(std::isnan(kernels::exp_minus_max_sum(TypeParam {}, y.data(), x.data(), 0.0f, n))) << describe<TypeParam>(n);
        EXPECT_TRUE(std::isnan(y[n - 1])) << describe<TypeParam>(n);
        for (std::size_t i = 0; i + 1 < n; ++i)
            EXPECT_EQ(y[i], 1.0f) << "index " << i << ", " << describe<TypeParam>(n);
    }
}

// The 4-row pass gives, row by row, the bits and sums of exp_minus_max_sum (which
// the tests above hold to the double reference), laid out as one row quad,
// quad[4p + r]; with -inf entries, a row max raised above the row's own, and a
// row of zeros minus +inf (the layer's fully masked rows), which gives zeros.
// Rows sit 5 floats apart from their width, as a tile's rows sit in the score buffer.
TYPED_TEST(ExpMinusMaxSum, QuadMatchesFourSingleRows)
{
    constexpr float infinity = std::numeric_limits<float>::infinity();
    for (std::size_t n : test_sizes<TypeParam>())
    {
        const std::size_t ldx = n + 5;
        kernel_tester tester;
        tester.length(4 * ldx).seed(9500 + n).range(-10.0f, 10.0f);
        std::vector<float> x = tester.uniform();
        for (std::size_t i = 1; i < n; i += 3) // entry 0 stays finite: a row max of -inf is never passed
            x[ldx + i] = minus_infinity;
        std::fill(x.begin() + 3 * ldx, x.begin() + 3 * ldx + n, 0.0f);
        const float max[4] = { kernels::row_max(TypeParam {}, x.data(), n),
                               kernels::row_max(TypeParam {}, x.data() + ldx, n),
                               kernels::row_max(TypeParam {}, x.data() + 2 * ldx, n) + 2.5f, infinity };
        std::vector<float> expected(4 * n);
        float expected_sums[4];
        for (std::size_t r = 0; r < 4; ++r)
            expected_sums[r] = kernels::exp_minus_max_sum(TypeParam {}, expected.data() + r * n, x.data() + r * ldx,
                                                           max[r], n);
        std::vector<float> quad(4 * n + 4, -1.0f);
        float sums[4];
        std::vector<float> scores = x; // the AVX2 fallback overwrites its input
        kernels::exp_minus_max_sum_quad(TypeParam {}, quad.data(), scores.data(), ldx, max, n, sums);
        for (std::size_t r = 0; r < 4; ++r)
        {
            EXPECT_EQ(sums[r], expected_sums[r]) << "row " << r << ", " << describe<TypeParam>(n);
            for (std::size_t p = 0; p < n; ++p)
                ASSERT_EQ(quad[4 * p + r], expected[r * n + p]) << "row " << r << ", step " << p << ", " << describe<TypeParam>(n);
        }
        EXPECT_EQ(sums[3], 0.0f);
        for (std::size_t i = 4 * n; i < quad.size(); ++i)
            EXPECT_EQ(quad[i], -1.0f) << "written past the quad at " << i << ", " << describe<TypeParam>(n);
    }
}
} // namespace mha::test
