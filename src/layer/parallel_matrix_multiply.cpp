#include "parallel_matrix_multiply.hpp"

#include <algorithm>

#include "kernels/packed_matrix_multiply.hpp"
#include "kernels/simd_arch.hpp"
#include "thread_pool.hpp"

namespace mha::detail
{
namespace
{
    // Below this many multiply-adds, waking the pool costs more than it saves.
    constexpr std::size_t min_parallel_work = std::size_t { 1 } << 17;

    // Calls multiply(first, last) for contiguous ranges of whole panels [first, last) of n, one per part.
    template <class Multiply>
    void over_panel_ranges(std::size_t m, std::size_t n, std::size_t k, const Multiply& multiply)
    {
        constexpr std::size_t width = kernels::panel_width(kernel_arch {});
        const std::size_t panels = (n + width - 1) / width;
        const std::size_t parts = m * n * k < min_parallel_work ? 1 : std::min(thread_count(), panels);
        parallel_for(parts, [&](std::size_t part, std::size_t) {
            const std::size_t first = panels * part / parts * width;
            const std::size_t last = std::min(n, panels * (part + 1) / parts * width);
            multiply(first, last);
        });
    }
} // namespace

void parallel_matrix_multiply(float* c, std::size_t ldc, const float* a, std::size_t lda, const float* packed,
                              const float* bias, std::size_t m, std::size_t n, std::size_t k, bool accumulate)
{
    const std::size_t panel_stride = k * kernels::panel_width(kernel_arch {});
    over_panel_ranges(m, n, k, [&](std::size_t first, std::size_t last) {
        kernels::packed_matrix_multiply(kernel_arch {}, c + first, ldc, a, lda, packed + first * k, panel_stride,
                                        bias ? bias + first : nullptr, m, last - first, k, accumulate);
    });
}

void parallel_quad_matrix_multiply(float* c, std::size_t ldc, const float* quads, const float* packed,
                                   const float* bias, std::size_t m, std::size_t n, std::size_t k, bool accumulate)
{
    const std::size_t panel_stride = k * kernels::panel_width(kernel_arch {});
    over_panel_ranges(m, n, k, [&](std::size_t first, std::size_t last) {
        kernels::quad_packed_matrix_multiply(kernel_arch {}, c + first, ldc, quads, packed + first * k, panel_stride,
                                             bias ? bias + first : nullptr, m, last - first, k, accumulate);
    });
}
} // namespace mha::detail
