// A Linear map's weights as the matrix multiply kernel streams them: the
// (out_features, in_features) PyTorch matrix packed once into column panels of
// its transpose, plus the bias. Used by every projection of every layer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "workspace.hpp"

namespace mha::detail
{
// An input of 4 rows or more is multiplied as row quads
// (kernels/packed_matrix_multiply.hpp), packed once into call memory and
// reused by every projection that reads the same rows; fewer rows (a
// decoding step) are read as they are.
constexpr bool packs_input(std::size_t rows) { return rows >= 4; }
// Floats of call memory the row quads of a rows x in input need (0 when not packed).
std::uint64_t input_quads_floats(std::size_t rows, std::size_t in);
// quads = the row quads of a (rows x in, leading dimension lda); packs_input(rows) must hold.
void pack_input(float* quads, const float* a, std::size_t lda, std::size_t rows, std::size_t in);

class packed_projection
{
public:
    // Fallible: false (and empty) when the heap cannot hold the packed weights.
    bool allocate(std::size_t in_features, std::size_t out_features, bool bias);
    // weight: (out, in) row-major, row stride in_stride >= in; bias: out floats or null.
    void pack(const float* weight, std::size_t in_stride, const float* bias);

    // c (rows x out, leading dimension ldc) = a (rows x in, leading dimension lda) . W^T + b,
    // split over the thread pool by column panels.
    // quads: input_quads_floats(rows, in) floats of scratch, used when packs_input(rows).
    void apply(float* c, std::size_t ldc, const float* a, std::size_t lda, std::size_t rows, float* quads) const;
    // The same product from an input already packed by pack_input.
    void apply_quads(float* c, std::size_t ldc, const float* quads, std::size_t rows) const;

    std::size_t in_features() const { return in_; }
    std::size_t out_features() const { return out_; }
    bool empty() const { return packed_.empty(); }

private:
    aligned_floats packed_;
    aligned_floats bias_;
    std::size_t in_ = 0, out_ = 0;
};
} // namespace mha::detail
