// packed_matrix_multiply (and its row-quads form) split over the pool by column panels.
#pragma once

#include <cstddef>

namespace mha::detail
{
// c[m x n] (+)= a[m x k] . B (+ bias), B packed as in
// kernels/packed_matrix_multiply.hpp with panel stride k * panel_width.
// Each thread takes a contiguous range of whole panels, so every element of c
// is computed exactly as in the serial call.
void parallel_matrix_multiply(float* c, std::size_t ldc, const float* a, std::size_t lda, const float* packed,
                              const float* bias, std::size_t m, std::size_t n, std::size_t k, bool accumulate = false);

// The same with a given as row quads (kernels::pack_row_quads of its m x k).
void parallel_quad_matrix_multiply(float* c, std::size_t ldc, const float* quads, const float* packed,
                                   const float* bias, std::size_t m, std::size_t n, std::size_t k,
                                   bool accumulate = false);
} // namespace mha::detail
