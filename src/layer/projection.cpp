#include "projection.hpp"

#include <algorithm>

#include "kernels/packed_matrix_multiply.hpp"
#include "kernels/simd_arch.hpp"
#include "parallel_matrix_multiply.hpp"

namespace mha::detail
{
bool packed_projection::allocate(std::size_t in_features, std::size_t out_features, bool bias)
{
    in_ = in_features;
    out_ = out_features;
    const bool ok = packed_.allocate(kernels::packed_size(kernel_arch {}, out_features, in_features))
        && (!bias || bias_.allocate(out_features));
    if (!ok)
    {
        packed_ = {};
        bias_ = {};
    }
    return ok;
}

void packed_projection::pack(const float* weight, std::size_t in_stride, const float* bias)
{
    kernels::pack_columns(kernel_arch {}, packed_.data(), weight, in_stride, out_, in_);
    if (bias)
        std::copy(bias, bias + out_, bias_.data());
}

void packed_projection::apply(float* c, std::size_t ldc, const float* a, std::size_t lda, std::size_t rows) const
{
    parallel_matrix_multiply(c, ldc, a, lda, packed_.data(), bias_.empty() ? nullptr : bias_.data(), rows, out_, in_);
}
} // namespace mha::detail
