#include "rotary.hpp"

#include <cmath>

namespace mha::detail
{
namespace
{
    std::size_t rotated_dims(const rotary_options& o, std::size_t head_dim) { return o.rotary_dim ? o.rotary_dim : head_dim; }
} // namespace

std::size_t rotary_table_floats(const rotary_options& o, std::size_t head_dim, std::size_t positions)
{
    return o.enabled ? positions * rotated_dims(o, head_dim) : 0; // cos and sin of rotary_dim / 2 angles
}

void build_rotary_table(const rotary_options& o, std::size_t head_dim, std::int64_t first_position, std::size_t positions,
                        float* table)
{
    const std::size_t pairs = rotated_dims(o, head_dim) / 2;
    for (std::size_t i = 0; i < pairs; ++i)
    {
        const double inverse_frequency
            = o.frequencies ? double(o.frequencies[i]) : std::pow(o.base, -2.0 * double(i) / double(2 * pairs));
        for (std::size_t t = 0; t < positions; ++t)
        {
            const double angle = double(first_position + static_cast<std::int64_t>(t)) * inverse_frequency;
            table[t * 2 * pairs + i] = static_cast<float>(std::cos(angle));
            table[t * 2 * pairs + pairs + i] = static_cast<float>(std::sin(angle));
        }
    }
}

void apply_rotary(const rotary_options& o, std::size_t head_dim, const float* table, std::size_t first_row, float* data,
                  std::size_t rows, std::size_t stride)
{
    const std::size_t pairs = rotated_dims(o, head_dim) / 2;
    // Partner of pair i: (i, i + pairs) half-split, (2i, 2i + 1) interleaved.
    const std::size_t first_step = o.interleaved ? 2 : 1, partner = o.interleaved ? 1 : pairs;
    for (std::size_t r = 0; r < rows; ++r)
    {
        const float* cosines = table + (first_row + r) * 2 * pairs;
        const float* sines = cosines + pairs;
        float* x = data + r * stride;
        for (std::size_t i = 0; i < pairs; ++i)
        {
            float& a = x[i * first_step];
            float& b = x[i * first_step + partner];
            const float x0 = a, x1 = b;
            a = x0 * cosines[i] - x1 * sines[i];
            b = x1 * cosines[i] + x0 * sines[i];
        }
    }
}
} // namespace mha::detail
