// The standard ALiBi slopes (Press et al. 2022), with BLOOM's rule for head
// counts that are not powers of two: the n = 2^floor(log2 H) geometric slopes
// 2^(-8k/n), k = 1..n, then every other slope of the 2n-head sequence,
// 2^(-4k/n) for odd k, for the remaining heads.
#include <cmath>

#include "mha/positional.hpp"

namespace mha
{
float standard_alibi_slope(std::size_t h, std::size_t num_heads)
{
    std::size_t n = 1;
    while (n * 2 <= num_heads)
        n *= 2;
    if (h < n)
        return static_cast<float>(std::exp2(-8.0 * double(h + 1) / double(n)));
    return static_cast<float>(std::exp2(-4.0 * double(2 * (h - n) + 1) / double(n)));
}
} // namespace mha
