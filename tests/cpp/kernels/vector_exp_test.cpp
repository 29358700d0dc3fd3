// vector_exp against std::exp in double, and its special values.
#include "kernels/vector_exp.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "kernel_tester.hpp"

namespace mha::test
{
namespace
{
    // The accuracy claimed in src/kernels/vector_exp.hpp for [-87, 88].
    constexpr double exp_max_relative_error = 2e-7;
    constexpr double sweep_low = -87.0, sweep_high = 88.0;
    // 2^21 + 1 points: a step of ~8e-5, dense enough to land between every pair
    // of rounding decisions of n = round(x / ln2), in ~10 ms per arch.
    constexpr std::size_t sweep_points = (std::size_t(1) << 21) + 1;

    // Applies vector_exp to x, one batch at a time (x.size() a multiple of the width).
    template <class Arch>
    std::vector<float> exp_all(const std::vector<float>& x)
    {
        using float_batch = xsimd::batch<float, Arch>;
        std::vector<float> y(x.size());
        for (std::size_t i = 0; i < x.size(); i += float_batch::size)
            kernels::vector_exp<Arch>(float_batch::load_unaligned(x.data() + i)).store_unaligned(y.data() + i);
        return y;
    }

    // Pads to a whole number of batches with zeros.
    template <class Arch>
    std::vector<float> padded(std::vector<float> x)
    {
        x.resize((x.size() + simd_width<Arch> - 1) / simd_width<Arch> * simd_width<Arch>, 0.0f);
        return x;
    }
} // namespace

template <class Arch>
class VectorExp : public ::testing::Test
{
};
TYPED_TEST_SUITE(VectorExp, tested_arch_types, arch_name_generator);

TYPED_TEST(VectorExp, RelativeErrorOverDenseSweep)
{
    std::vector<float> x(sweep_points);
    for (std::size_t i = 0; i < sweep_points; ++i)
        x[i] = float(sweep_low + (sweep_high - sweep_low) * double(i) / double(sweep_points - 1));
    x = padded<TypeParam>(x);
    const std::vector<float> y = exp_all<TypeParam>(x);
    double worst = 0.0;
    std::size_t worst_index = 0;
    for (std::size_t i = 0; i < sweep_points; ++i)
    {
        const double expected = std::exp(double(x[i]));
        const double error = std::fabs(double(y[i]) - expected) / expected;
        if (!(error <= worst))
        {
            worst = error;
            worst_index = i;
        }
    }
    std::ostringstream observed;
    observed << std::scientific << worst;
    ::testing::Test::RecordProperty("max_relative_error", observed.str());
    EXPECT_LT(worst, exp_max_relative_error)
        << "worst at x=" << x[worst_index] << " (" << TypeParam::name() << "): got " << y[worst_index] << ", exp = "
        << std::exp(double(x[worst_index]));
}

// Lanes are independent: a value's result does not depend on its lane or on
// its neighbours (the exp_minus_max_sum tail relies on this).
TYPED_TEST(VectorExp, LanesAreIndependent)
{
    kernel_tester tester;
    tester.seed(8000).range(-20.0f, 20.0f);
    const std::vector<float> x = tester.uniform(simd_width<TypeParam> * 16);
    const std::vector<float> y = exp_all<TypeParam>(x);
    for (std::size_t i = 0; i < x.size(); ++i)
    {
        std::vector<float> single(simd_width<TypeParam>, -1000.0f);
        single[i % simd_width<TypeParam>] = x[i];
        EXPECT_EQ(exp_all<TypeParam>(single)[i % simd_width<TypeParam>], y[i]) << "x=" << x[i];
    }
}

TYPED_TEST(VectorExp, SpecialValues)
{
    constexpr float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> x = padded<TypeParam>(
        { -inf, std::numeric_limits<float>::quiet_NaN(), 0.0f, -0.0f, -std::numeric_limits<float>::quiet_NaN() });
    const std::vector<float> y = exp_all<TypeParam>(x);
    EXPECT_EQ(y[0], 0.0f) << "exp(-inf) must be exactly 0: masked keys get zero weight";
    EXPECT_FALSE(std::signbit(y[0])) << "exp(-inf) must be +0";
    EXPECT_TRUE(std::isnan(y[1])) << "exp(NaN)";
    EXPECT_EQ(y[2], 1.0f) << "exp(+0)";
    EXPECT_EQ(y[3], 1.0f) << "exp(-0)";
    EXPECT_TRUE(std::isnan(y[4])) << "exp(-NaN)";
}

// Below the normal float32 range the header promises exactly 0, never a tiny
// positive value (which times a value near 3e38 would be of order 1), NaN or inf.
TYPED_TEST(VectorExp, VeryNegativeInputsGiveExactlyZero)
{
    const std::vector<float> x = padded<TypeParam>({ -87.5f, -100.0f, -1e4f, -std::numeric_limits<float>::max() });
    const std::vector<float> y = exp_all<TypeParam>(x);
    for (std::size_t i = 0; i < 4; ++i)
        EXPECT_EQ(y[i], 0.0f) << "x=" << x[i];
}
} // namespace mha::test
