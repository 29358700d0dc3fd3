// Non-owning views of the caller's arrays, as they cross into the library.
//
// A view records the data pointer, the number of elements actually provided
// and the shape the caller claims; validation checks that the two agree before
// any element is read. Shapes are row-major (last dimension contiguous).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mha
{
using shape_t = std::vector<std::size_t>;

struct float_tensor_view
{
    const float* data = nullptr;
    // Elements the caller provided; 64-bit, as a JavaScript array's length can
    // exceed wasm32's size_t.
    std::uint64_t length = 0;
    shape_t shape;
};

enum class mask_kind
{
    none,
    // One byte per element, nonzero = masked out (PyTorch's polarity for bool masks).
    boolean,
    // float32 added to the scaled scores (-inf masks out).
    additive,
};

struct mask_tensor_view
{
    mask_kind kind = mask_kind::none;
    const void* data = nullptr;
    std::uint64_t length = 0;
    shape_t shape;

    bool present() const { return kind != mask_kind::none; }
};

// The product of the dimensions in 64 bits (wasm32's size_t would wrap),
// saturated at 2^62 so that no product of real dimensions can overflow.
inline std::uint64_t element_count(const shape_t& shape)
{
    constexpr std::uint64_t limit = std::uint64_t(1) << 62;
    std::uint64_t count = 1;
    for (std::size_t d : shape)
    {
        if (d != 0 && count > limit / d)
            return limit;
        count *= d;
    }
    return count;
}
} // namespace mha
