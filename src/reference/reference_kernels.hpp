// Double-precision scalar versions of every kernel: the test oracle for
// tests/cpp/kernels. Deliberately the plainest possible loops.
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace mha::reference
{
inline double row_max(const float* x, std::size_t n)
{
    double best = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < n; ++i)
    {
        if (std::isnan(x[i]))
            return x[i];
        best = std::max(best, double(x[i]));
    }
    return best;
}

// Returns exp(x - max) per element; the sum is the sum of the returned values.
inline std::vector<double> exp_minus_max(const float* x, float max, std::size_t n)
{
    std::vector<double> result(n);
    for (std::size_t i = 0; i < n; ++i)
        result[i] = std::exp(double(x[i]) - double(max));
    return result;
}

// c = a (m x k, row-major, lda) . b (k x n, row-major, ldb) + bias.
inline std::vector<double> matrix_multiply(const float* a, std::size_t lda, const float* b, std::size_t ldb,
                                           const float* bias, std::size_t m, std::size_t n, std::size_t k)
{
    std::vector<double> c(m * n);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j)
        {
            double sum = bias ? double(bias[j]) : 0.0;
            for (std::size_t p = 0; p < k; ++p)
                sum += double(a[i * lda + p]) * double(b[p * ldb + j]);
            c[i * n + j] = sum;
        }
    return c;
}
} // namespace mha::reference
