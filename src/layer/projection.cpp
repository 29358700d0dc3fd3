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

std::uint64_t input_quads_floats(std::size_t rows, std::size_t in)
{
    return packs_input(rows) ? kernels::row_quads_size(rows, in) : 0;
}

void pack_input(float* quads, const float* a, std::size_t lda, std::size_t rows, std::size_t in)
{
    kernels::pack_row_quads(kernel_arch {}, quads, a, lda, rows, in);
}

void packed_projection::apply(float* c, std::size_t ldc, const float* a, std::size_t lda, std::size_t rows,
                              float* quads) const
{
    if (packs_input(rows))
    {
        pack_input(quads, a, lda, rows, in_);
        apply_quads(c, ldc, quads, rows);
        return;
    }
    parallel_matrix_multiply(c, ldc, a, lda, packed_.data(), bias_.empty() ? nullptr : bias_.data(), rows, out_, in_);
}

void packed_projection::apply_quads(float* c, std::size_t ldc, const float* quads, std::size_t rows) const
{
    parallel_quad_matrix_multiply(c, ldc, quads, packed_.data(), bias_.empty() ? nullptr : bias_.data(), rows, out_,
                                  in_);
}
} // namespace mha::detail
