#include "mha/kv_cache.hpp"

#include <algorithm>
#include <string>

#include "kernels/all_finite.hpp"
#include "kernels/packed_matrix_multiply.hpp"
#include "kernels/simd_arch.hpp"
#include "validate.hpp"
#include "workspace.hpp"

namespace mha
{
namespace
{
    constexpr std::size_t width = kernels::panel_width(kernel_arch {});
} // namespace

kv_cache::kv_cache(const kv_cache_config& config, std::uint64_t owner)
    : config_(config)
    , owner_(owner)
{
}

kv_cache::~kv_cache()
{
    detail::free_aligned(storage_);
    detail::free_aligned(nonfinite_);
}

std::size_t kv_cache::key_floats_per_head() const
{
    return kernels::packed_size(kernel_arch {}, config_.max_length, config_.head_dim);
}

std::size_t kv_cache::value_floats_per_head() const
{
    return kernels::packed_size(kernel_arch {}, config_.value_dim, config_.max_length);
}

std::uint64_t kv_cache::bytes() const { return detail::kv_cache_bytes(config_); }

status kv_cache::allocate()
{
    if (storage_)
        return {};
    if (status st = detail::check_kv_cache_config(config_); !st.ok())
        return st;
    const std::uint64_t size = bytes();
    storage_ = static_cast<float*>(detail::allocate_aligned(size, true));
    nonfinite_ = static_cast<unsigned char*>(detail::allocate_aligned(config_.batch_size * config_.num_heads, true));
    if (!storage_ || !nonfinite_)
    {
        detail::free_aligned(storage_);
        detail::free_aligned(nonfinite_);
        storage_ = nullptr;
        nonfinite_ = nullptr;
        return status::range_error("could not allocate " + std::to_string(size)
                                   + " bytes for the cache in the WebAssembly heap (out of memory); dispose unused "
                                     "caches and layers, or use a smaller maxLength");
    }
    return {};
}

void kv_cache::reset()
{
    length_ = 0;
    std::fill(nonfinite_, nonfinite_ + config_.batch_size * config_.num_heads, 0);
}

bool kv_cache::values_finite(std::size_t b, std::size_t h) const { return !nonfinite_[b * config_.num_heads + h]; }

status kv_cache::truncate(std::size_t length)
{
    if (length > length_)
        return status::range_error("length: expected a length from 0 to the cache's length " + std::to_string(length_)
                                   + ", got " + std::to_string(length));
    length_ = length;
    return {};
}

float* kv_cache::keys_of(std::size_t b, std::size_t h) const
{
    const std::size_t head = b * config_.num_heads + h;
    return storage_ + head * (key_floats_per_head() + value_floats_per_head());
}

float* kv_cache::values_of(std::size_t b, std::size_t h) const { return keys_of(b, h) + key_floats_per_head(); }

const float* kv_cache::key_panels(std::size_t b, std::size_t h) const { return keys_of(b, h); }
const float* kv_cache::value_panels(std::size_t b, std::size_t h) const { return values_of(b, h); }
std::size_t kv_cache::value_panel_stride() const { return config_.max_length * width; }

void kv_cache::write(std::size_t b, std::size_t h, const float* keys, std::size_t key_stride, const float* values,
                     std::size_t value_stride, std::size_t count)
{
    const std::size_t d = config_.head_dim, dv = config_.value_dim;
    float* key_base = keys_of(b, h);
    float* value_base = values_of(b, h);
    const std::size_t panel_stride = value_panel_stride();
    for (std::size_t t = 0; t < count; ++t)
    {
        const std::size_t position = length_ + t;
        // Keys: lane (position % width) of panel (position / width), one float per dim.
        float* key_lane = key_base + position / width * width * d + position % width;
        const float* key = keys + t * key_stride;
        for (std::size_t p = 0; p < d; ++p)
            key_lane[p * width] = key[p];
        // Values: one row of `width` columns in each column panel.
        const float* value = values + t * value_stride;
        if (!kernels::all_finite(kernel_arch {}, value, dv))
            nonfinite_[b * config_.num_heads + h] = 1;
        for (std::size_t first = 0; first < dv; first += width)
            std::copy(value + first, value + std::min(dv, first + width),
                      value_base + first / width * panel_stride + position * width);
    }
}
} // namespace mha
