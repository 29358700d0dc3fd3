// Comparing a layer's float32 output with the double reference: the largest
// absolute error against a stated allowance, and NMSE (ggml's metric,
// sum (a - e)^2 / sum e^2) as a second, size-independent number.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace mha::test
{
struct error_stats
{
    double max_abs_error = 0.0;
    double nmse = 0.0;
    std::size_t worst_index = 0;
};

inline error_stats measure(const float* actual, const std::vector<double>& expected)
{
    error_stats stats;
    double error_energy = 0.0, signal_energy = 0.0;
    for (std::size_t i = 0; i < expected.size(); ++i)
    {
        const double error = double(actual[i]) - expected[i];
        error_energy += error * error;
        signal_energy += expected[i] * expected[i];
        if (!(std::fabs(error) <= stats.max_abs_error))
        {
            stats.max_abs_error = std::fabs(error);
            stats.worst_index = i;
        }
    }
    stats.nmse = signal_energy > 0.0 ? error_energy / signal_energy : error_energy;
    return stats;
}

// |a - e| <= absolute + relative |e| element-wise; names the first bad index
// and reports the worst error and NMSE either way.
inline ::testing::AssertionResult all_near(const char* what, const float* actual, const std::vector<double>& expected,
                                           double absolute, double relative, error_stats* stats_out = nullptr)
{
    const error_stats stats = measure(actual, expected);
    if (stats_out)
        *stats_out = stats;
    for (std::size_t i = 0; i < expected.size(); ++i)
    {
        const double allowed = absolute + relative * std::fabs(expected[i]);
        const double error = std::fabs(double(actual[i]) - expected[i]);
        if (!(error <= allowed))
            return ::testing::AssertionFailure()
                << what << "[" << i << "] = " << actual[i] << ", expected " << expected[i] << " (error " << error
                << " > allowed " << allowed << "); max abs error " << stats.max_abs_error << " at " << stats.worst_index
                << ", NMSE " << stats.nmse << " over " << expected.size() << " elements";
    }
    return ::testing::AssertionSuccess();
}

inline std::vector<float> uniform_values(std::mt19937& rng, std::size_t count, float low, float high)
{
    std::uniform_real_distribution<float> distribution(low, high);
    std::vector<float> values(count);
    for (float& v : values)
        v = distribution(rng);
    return values;
}

// Records the observed errors in the test's XML report (--gtest_output=xml).
inline void record(const std::string& what, const error_stats& stats)
{
    const auto scientific = [](double x) {
        std::ostringstream out;
        out.precision(3);
        out << std::scientific << x;
        return out.str();
    };
    ::testing::Test::RecordProperty(what + "_max_abs_error", scientific(stats.max_abs_error));
    ::testing::Test::RecordProperty(what + "_nmse", scientific(stats.nmse));
}
} // namespace mha::test
