// matrix_multiply (c = a . b + bias, strided row-major) against the double
// reference, over row counts around the 4-row block and column counts around
// the 1- and 2-batch panels, with and without padding between rows.
#include "kernels/matrix_multiply.hpp"

#include <cmath>
#include <limits>

#include "kernel_tester.hpp"
#include "reference/reference_kernels.hpp"

namespace mha::test
{
namespace
{
    // Written into c before the call: any padding column still holding it
    // afterwards was not touched.
    constexpr float c_sentinel = -7777.0f;
    constexpr float nan = std::numeric_limits<float>::quiet_NaN();

    // Each element is a k-term dot product plus the bias: at most k + 1
    // roundings per term, so |error| <= (k + 2) u (|bias| + sum |a b|).
    std::vector<double> product_allowed(const float* a, std::size_t lda, const float* b, std::size_t ldb,
                                        const float* bias, std::size_t m, std::size_t n, std::size_t k)
    {
        std::vector<double> allowed(m * n);
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j)
            {
                double magnitude = bias ? std::fabs(double(bias[j])) : 0.0;
                for (std::size_t p = 0; p < k; ++p)
                    magnitude += std::fabs(double(a[i * lda + p]) * double(b[p * ldb + j]));
                allowed[i * n + j] = double(k + 2) * float_unit_roundoff * magnitude;
            }
        return allowed;
    }

    struct gemm_shape
    {
        std::size_t m, n, k;
        bool bias;
        bool strided;
    };

    template <class Arch>
    void check_gemm(const gemm_shape& s, std::uint32_t seed)
    {
        // Strided: rows of a, b, c padded by a few floats, as when the layer
        // reads one head's columns out of a wider row.
        const std::size_t lda = s.k + (s.strided ? 3 : 0), ldb = s.n + (s.strided ? 5 : 0),
                          ldc = s.n + (s.strided ? 2 : 0);
        kernel_tester tester;
        tester.seed(seed).length(s.m * s.n);
        const std::vector<float> a = tester.matrix(s.m, s.k, lda, nan);
        const std::vector<float> b = tester.matrix(s.k, s.n, ldb, nan);
        const std::vector<float> bias_values = tester.uniform(s.n);
        const float* bias = s.bias ? bias_values.data() : nullptr;
        std::vector<float> c(s.m * ldc, c_sentinel);

        kernels::matrix_multiply(Arch {}, c.data(), ldc, a.data(), lda, b.data(), ldb, bias, s.m, s.n, s.k);

        const std::vector<double> expected = reference::matrix_multiply(a.data(), lda, b.data(), ldb, bias, s.m, s.n, s.k);
        const std::vector<double> allowed = product_allowed(a.data(), lda, b.data(), ldb, bias, s.m, s.n, s.k);
        std::vector<float> packed_c(s.m * s.n);
        for (std::size_t i = 0; i < s.m; ++i)
        {
            std::copy(c.begin() + i * ldc, c.begin() + i * ldc + s.n, packed_c.begin() + i * s.n);
            for (std::size_t j = s.n; j < ldc; ++j)
                EXPECT_EQ(c[i * ldc + j], c_sentinel) << "padding c[" << i << "][" << j << "] written";
        }
        EXPECT_TRUE(tester.near(Arch {}, "c (row-major m x n)", packed_c.data(), expected, allowed));
    }
} // namespace

template <class Arch>
class MatrixMultiply : public ::testing::Test
{
};
TYPED_TEST_SUITE(MatrixMultiply, tested_arch_types, arch_name_generator);

// m around the 4-row block (1, 3, 4, 5, 9); n around the SIMD panels: scalar
// columns only, one batch, two batches, two batches + scalar tail, and 37
// (every path at once); k = 1 (no accumulation), 7 (odd), 64 (a head dim).
TYPED_TEST(MatrixMultiply, MatchesReferenceOverShapeGrid)
{
    constexpr std::size_t w = simd_width<TypeParam>;
    std::uint32_t seed = 10000;
    for (std::size_t m : { 1, 3, 4, 5, 9 })
        for (std::size_t n : { std::size_t(1), w - 1, w, 2 * w, 2 * w + 3, std::size_t(37) })
            for (std::size_t k : { 1, 7, 64 })
                for (bool bias : { false, true })
                    for (bool strided : { false, true })
                    {
                        SCOPED_TRACE(::testing::Message() << "m=" << m << " n=" << n << " k=" << k << " bias=" << bias
                                                          << " strided=" << strided << " arch=" << TypeParam::name());
                        check_gemm<TypeParam>({ m, n, k, bias, strided }, ++seed);
                    }
}

// A one-hot a row with no bias copies one row of b exactly: checks that each
// output column reads the right column of b, in every panel and the tail.
TYPED_TEST(MatrixMultiply, OneHotRowsCopyRowsOfB)
{
    constexpr std::size_t m = 5, n = 37, k = 7;
    kernel_tester tester;
    tester.seed(11000);
    const std::vector<float> b = tester.matrix(k, n, n, 0.0f);
    std::vector<float> a(m * k, 0.0f);
    for (std::size_t i = 0; i < m; ++i)
        a[i * k + (i * 3) % k] = 1.0f;
    std::vector<float> c(m * n);
    kernels::matrix_multiply(TypeParam {}, c.data(), n, a.data(), k, b.data(), n, nullptr, m, n, k);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j)
            EXPECT_EQ(c[i * n + j], b[((i * 3) % k) * n + j]) << "c[" << i << "][" << j << "] on " << TypeParam::name();
}
} // namespace mha::test
