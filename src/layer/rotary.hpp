// Rotary position embeddings applied in place to rows of head vectors.
//
// A table of cos/sin per (position, frequency) is built once per call and
// reused by every head and batch item: angles are computed in double
// (position * base^(-2i / rotary_dim)) and rounded once, so positions in the
// thousands keep float32 accuracy.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mha/positional.hpp"

namespace mha::detail
{
// Floats of the table for `positions` consecutive positions.
std::size_t rotary_table_floats(const rotary_options& options, std::size_t head_dim, std::size_t positions);

// Fills `table` for positions first_position, first_position + 1, ...
void build_rotary_table(const rotary_options& options, std::size_t head_dim, std::int64_t first_position,
                        std::size_t positions, float* table);

// Rotates `rows` vectors of head_dim floats, row r at data + r * stride and at
// table position first_row + r.
void apply_rotary(const rotary_options& options, std::size_t head_dim, const float* table, std::size_t first_row,
                  float* data, std::size_t rows, std::size_t stride);
} // namespace mha::detail
