// pack_columns / pack_rows + packed_matrix_multiply (the projections' GEMM and
// attention's S = Q K^T and O += P V) against the double reference, with A
// as plain rows or as row quads (pack_row_quads + quad_packed_matrix_multiply).
#include "kernels/packed_matrix_multiply.hpp"

#include <cmath>
#include <limits>

#include "kernel_tester.hpp"
#include "reference/reference_kernels.hpp"

namespace mha::test
{
namespace
{
    constexpr float c_sentinel = -7777.0f;
    constexpr float nan = std::numeric_limits<float>::quiet_NaN();

    enum class packing
    {
        columns, // B = source^T: a PyTorch Linear weight (n, k), or a head's keys
        rows,    // B = source: a head's values (k, n)
    };

    struct packed_case
    {
        std::size_t m, n, k;
        bool bias, strided, accumulate;
        packing how;
        bool quads = false; // A as row quads
    };

    template <class Arch>
    void check_packed(const packed_case& s, std::uint32_t seed)
    {
        // Strided: padding after every row of a, of the packing source and of c,
        // as when one head's D columns are read out of (L, E) rows.
        const std::size_t pad = s.strided ? 3 : 0;
        const std::size_t lda = s.k + pad, ldc = s.n + pad;
        kernel_tester tester;
        tester.seed(seed).length(s.m * s.n);
        const std::vector<float> a = tester.matrix(s.m, s.k, lda, nan);
        const std::vector<float> bias_values = tester.uniform(s.n);
        const float* bias = s.bias ? bias_values.data() : nullptr;

        // b is the dense (k x n) B the reference multiplies by.
        std::vector<float> b(s.k * s.n);
        std::vector<float> packed(kernels::packed_size(Arch {}, s.n, s.k), nan);
        if (s.how == packing::columns)
        {
            const std::vector<float> source = tester.matrix(s.n, s.k, s.k + pad, nan);
            kernels::pack_columns(Arch {}, packed.data(), source.data(), s.k + pad, s.n, s.k);
            for (std::size_t j = 0; j < s.n; ++j)
                for (std::size_t p = 0; p < s.k; ++p)
                    b[p * s.n + j] = source[j * (s.k + pad) + p];
        }
        else
        {
            const std::vector<float> source = tester.matrix(s.k, s.n, s.n + pad, nan);
            kernels::pack_rows(Arch {}, packed.data(), source.data(), s.n + pad, s.k, s.n);
            for (std::size_t p = 0; p < s.k; ++p)
                for (std::size_t j = 0; j < s.n; ++j)
                    b[p * s.n + j] = source[p * (s.n + pad) + j];
        }
        std::vector<float> c = tester.matrix(s.m, s.n, ldc, c_sentinel);
        const std::vector<float> c_before = c;
        const std::size_t panel_stride = s.k * kernels::panel_width(Arch {});
        if (s.quads)
        {
            std::vector<float> quads(kernels::row_quads_size(s.m, s.k), nan);
            kernels::pack_row_quads(Arch {}, quads.data(), a.data(), lda, s.m, s.k);
            kernels::quad_packed_matrix_multiply(Arch {}, c.data(), ldc, quads.data(), packed.data(), panel_stride, bias,
                                                 s.m, s.n, s.k, s.accumulate);
        }
        else
        {
            kernels::packed_matrix_multiply(Arch {}, c.data(), ldc, a.data(), lda, packed.data(), panel_stride, bias, s.m,
                                            s.n, s.k, s.accumulate);
        }

        std::vector<double> expected = reference::matrix_multiply(a.data(), lda, b.data(), s.n, bias, s.m, s.n, s.k);
        // (k + 2) u (|bias| + |c_old| + sum |a b|): a k-term dot product, the
        // bias and the old c, each term rounded at most k + 1 times.
        std::vector<double> allowed(s.m * s.n);
        std::vector<float> dense_c(s.m * s.n);
        for (std::size_t i = 0; i < s.m; ++i)
            for (std::size_t j = 0; j < s.n; ++j)
            {
                double magnitude = bias ? std::fabs(double(bias[j])) : 0.0;
                if (s.accumulate)
                {
                    expected[i * s.n + j] += c_before[i * ldc + j];
                    magnitude += std::fabs(double(c_before[i * ldc + j]));
                }
                for (std::size_t p = 0; p < s.k; ++p)
                    magnitude += std::fabs(double(a[i * lda + p]) * double(b[p * s.n + j]));
                allowed[i * s.n + j] = double(s.k + 2) * float_unit_roundoff * magnitude;
                dense_c[i * s.n + j] = c[i * ldc + j];
            }
        for (std::size_t i = 0; i < s.m; ++i)
            for (std::size_t j = s.n; j < ldc; ++j)
                EXPECT_EQ(c[i * ldc + j], c_sentinel) << "padding c[" << i << "][" << j << "] written";
        EXPECT_TRUE(tester.near(Arch {}, "c (row-major m x n)", dense_c.data(), expected, allowed));
    }
} // namespace

template <class Arch>
class PackedMatrixMultiply : public ::testing::Test
{
};
TYPED_TEST_SUITE(PackedMatrixMultiply, tested_arch_types, arch_name_generator);

// As for matrix_multiply: m around the 4-row block; n around the 2-batch
// panel (a partial last panel, one batch, one panel, one panel + 3, 37, and
// 4 panels + 5, which takes the 4-panels-at-once path of rows outside a block);
// k = 1, 7, 64. Both packings, overwrite and accumulate, A as rows and as row quads.
TYPED_TEST(PackedMatrixMultiply, MatchesReferenceOverShapeGrid)
{
    constexpr std::size_t w = simd_width<TypeParam>;
    std::uint32_t seed = 12000;
    for (std::size_t m : { 1, 3, 4, 5, 9 })
        for (std::size_t n : { std::size_t(1), w - 1, w, 2 * w, 2 * w + 3, std::size_t(37), 8 * w + 5 })
            for (std::size_t k : { 1, 7, 64 })
                for (bool bias : { false, true })
                    for (bool strided : { false, true })
                        for (bool accumulate : { false, true })
                            for (packing how : { packing::columns, packing::rows })
                                for (bool quads : { false, true })
                                {
                                    SCOPED_TRACE(::testing::Message()
                                                 << "m=" << m << " n=" << n << " k=" << k << " bias=" << bias
                                                 << " strided=" << strided << " accumulate=" << accumulate
                                                 << " packing=" << (how == packing::columns ? "columns" : "rows")
                                                 << " quads=" << quads << " arch=" << TypeParam::name());
                                    check_packed<TypeParam>({ m, n, k, bias, strided, accumulate, how, quads }, ++seed);
                                }
}

// Rows [p0, p1) of a packed B are `packed + p0 * panel_width` with the whole
// matrix's panel stride: how attention multiplies one key tile of P by V.
TYPED_TEST(PackedMatrixMultiply, RowBlockOfPackedMatrix)
{
    constexpr std::size_t m = 5, n = 2 * simd_width<TypeParam> + 3, k = 70, p0 = 64, p1 = 70;
    kernel_tester tester;
    tester.seed(12900);
    const std::vector<float> a = tester.matrix(m, k, k, 0.0f);
    const std::vector<float> source = tester.matrix(k, n, n, 0.0f);
    std::vector<float> packed(kernels::packed_size(TypeParam {}, n, k));
    kernels::pack_rows(TypeParam {}, packed.data(), source.data(), n, k, n);
    const std::size_t width = kernels::panel_width(TypeParam {});
    std::vector<float> c(m * n, c_sentinel);
    kernels::packed_matrix_multiply(TypeParam {}, c.data(), n, a.data() + p0, k, packed.data() + p0 * width, k * width,
                                    nullptr, m, n, p1 - p0);
    const std::vector<double> expected
        = reference::matrix_multiply(a.data() + p0, k, source.data() + p0 * n, n, nullptr, m, n, p1 - p0);
    // k' = 6 terms of magnitude <= 1: (k' + 2) u * k'.
    EXPECT_TRUE(tester.near(TypeParam {}, "c", c.data(), expected, tolerance { 8 * 6 * float_unit_roundoff, 0.0 }));
}

// Row quads interleave 4 rows by step; a last, partial quad has zeros in the
// lanes of the missing rows (they are multiplied, so they must be finite).
TYPED_TEST(PackedMatrixMultiply, RowQuadsInterleaveFourRowsAndPadWithZeros)
{
    constexpr std::size_t m = 7, k = 9, lda = 11; // one full quad, one of 3 rows; k not a multiple of 4
    kernel_tester tester;
    tester.seed(12700);
    const std::vector<float> a = tester.matrix(m, k, lda, nan);
    std::vector<float> quads(kernels::row_quads_size(m, k), nan);
    ASSERT_EQ(quads.size(), 8 * k);
    kernels::pack_row_quads(TypeParam {}, quads.data(), a.data(), lda, m, k);
    for (std::size_t i = 0; i < 8; ++i)
        for (std::size_t p = 0; p < k; ++p)
        {
            const float expected = i < m ? a[i * lda + p] : 0.0f;
            EXPECT_EQ(quads[i / 4 * 4 * k + p * 4 + i % 4], expected) << "row " << i << ", step " << p;
        }
}

// The two layouts of A give the same sums in the same order: equal bit for bit.
TYPED_TEST(PackedMatrixMultiply, RowQuadsGiveTheSameBitsAsRows)
{
    constexpr std::size_t m = 32 + 3, n = 64, k = 64; // an attention block and a key tile, plus a partial quad
    kernel_tester tester;
    tester.seed(12800);
    const std::vector<float> a = tester.matrix(m, k, k, 0.0f);
    const std::vector<float> keys = tester.matrix(n, k, k, 0.0f);
    std::vector<float> packed(kernels::packed_size(TypeParam {}, n, k));
    kernels::pack_columns(TypeParam {}, packed.data(), keys.data(), k, n, k);
    std::vector<float> quads(kernels::row_quads_size(m, k));
    kernels::pack_row_quads(TypeParam {}, quads.data(), a.data(), k, m, k);
    const std::size_t panel_stride = k * kernels::panel_width(TypeParam {});
    std::vector<float> by_rows(m * n), by_quads(m * n);
    kernels::packed_matrix_multiply(TypeParam {}, by_rows.data(), n, a.data(), k, packed.data(), panel_stride, nullptr,
                                    m, n, k);
    kernels::quad_packed_matrix_multiply(TypeParam {}, by_quads.data(), n, quads.data(), packed.data(), panel_stride,
                                         nullptr, m, n, k);
    for (std::size_t i = 0; i < m * n; ++i)
        ASSERT_EQ(by_rows[i], by_quads[i]) << "element " << i;
}

// The last panel is zero-padded, never left uninitialised (NaN there would
// reach the accumulators and, through 0 * NaN, the real columns).
TYPED_TEST(PackedMatrixMultiply, PackingPadsTheLastPanelWithZeros)
{
    constexpr std::size_t n = 2 * simd_width<TypeParam> + 3, k = 5;
    kernel_tester tester;
    tester.seed(12500);
    const std::vector<float> weight = tester.uniform(n * k);
    const std::size_t width = kernels::panel_width(TypeParam {});
    std::vector<float> by_columns(kernels::packed_size(TypeParam {}, n, k), nan), by_rows = by_columns;
    kernels::pack_columns(TypeParam {}, by_columns.data(), weight.data(), k, n, k);
    kernels::pack_rows(TypeParam {}, by_rows.data(), weight.data(), n, k, n);
    for (std::size_t first = 0; first < n; first += width)
        for (std::size_t p = 0; p < k; ++p)
            for (std::size_t t = 0; t < width; ++t)
            {
                const std::size_t at = first * k + p * width + t;
                const bool real = first + t < n;
                EXPECT_EQ(by_columns[at], real ? weight[(first + t) * k + p] : 0.0f) << "columns: panel " << first / width
                                                                                    << " p=" << p << " t=" << t;
                EXPECT_EQ(by_rows[at], real ? weight[p * n + first + t] : 0.0f) << "rows: panel " << first / width
                                                                                << " p=" << p << " t=" << t;
            }
}
} // namespace mha::test
