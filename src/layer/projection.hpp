// A Linear map's weights as the matrix multiply kernel streams them: the
// (out_features, in_features) PyTorch matrix packed once into column panels of
// its transpose, plus the bias. Used by every projection of every layer.
#pragma once

#include <cstddef>

#include "workspace.hpp"

namespace mha::detail
{
class packed_projection
{
public:
    // Fallible: false (and empty) when the heap cannot hold the packed weights.
    bool allocate(std::size_t in_features, std::size_t out_features, bool bias);
    // weight: (out, in) row-major, row stride in_stride >= in; bias: out floats or null.
    void pack(const float* weight, std::size_t in_stride, const float* bias);

    // c (rows x out, leading dimension ldc) = a (rows x in, leading dimension lda) . W^T + b,
    // split over the thread pool by column panels.
    void apply(float* c, std::size_t ldc, const float* a, std::size_t lda, std::size_t rows) const;

    std::size_t in_features() const { return in_; }
    std::size_t out_features() const { return out_; }
    bool empty() const { return packed_.empty(); }

private:
    aligned_floats packed_;
    aligned_floats bias_;
    std::size_t in_ = 0, out_ = 0;
};
} // namespace mha::detail
