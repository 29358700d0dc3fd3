// Keys and values of earlier tokens, kept in the layout the attention kernels
// read, so a decoding step neither copies nor re-packs them.
//
// Per (batch, head), keys are stored as panels of key positions (the layout
// kernels::pack_columns gives K^T) and values as panels of value columns
// (kernels::pack_rows), both with room for max_length positions. Appending a
// token writes its key and value into those panels once; attention then runs
// over positions [0, length) in place.
//
// A cache is made either for scaled_dot_product_attention (owner 0) or by a
// multi_head_attention layer for its own projected keys and values (owner =
// that layer's id); the layer refuses any other.
#pragma once

#include <cstddef>
#include <cstdint>

#include "status.hpp"

namespace mha
{
struct kv_cache_config
{
    std::size_t batch_size = 0;
    // Key/value heads stored (Hkv under grouped-query attention).
    std::size_t num_heads = 0;
    std::size_t head_dim = 0;
    std::size_t value_dim = 0;
    std::size_t max_length = 0;
};

class kv_cache
{
public:
    // Allocates nothing yet; allocate() does, and can fail.
    kv_cache(const kv_cache_config& config, std::uint64_t owner);
    ~kv_cache();
    kv_cache(const kv_cache&) = delete;
    kv_cache& operator=(const kv_cache&) = delete;

    // Checks the configuration, then allocates the panels (zeroed). A
    // RangeError when a size is 0, too large, or the heap cannot hold it.
    status allocate();
    bool allocated() const { return storage_ != nullptr; }

    const kv_cache_config& config() const { return config_; }
    std::uint64_t owner() const { return owner_; }
    std::size_t length() const { return length_; }
    std::size_t max_length() const { return config_.max_length; }
    std::uint64_t bytes() const;

    // Forgets the positions from `length` on. A RangeError beyond length().
    status truncate(std::size_t length);
    void reset();

    // For the attention core. Panels of (batch b, kv head h): keys at
    // position p start at key_panels(b, h) + p * head_dim (p a multiple of
    // the panel width); value panels are value_panel_stride() floats apart.
    const float* key_panels(std::size_t b, std::size_t h) const;
    const float* value_panels(std::size_t b, std::size_t h) const;
    std::size_t value_panel_stride() const;
    // False once a NaN or infinite value was written to (b, h) since the last
    // reset (the attention core then keeps zero-weight keys out of P . V).
    bool values_finite(std::size_t b, std::size_t h) const;

    // Writes `count` tokens of (b, h) at positions [length(), length() + count):
    // key rows of head_dim floats `key_stride` apart, value rows of value_dim
    // floats `value_stride` apart. Unchecked: the caller's plan validated it.
    void write(std::size_t b, std::size_t h, const float* keys, std::size_t key_stride, const float* values,
               std::size_t value_stride, std::size_t count);
    // Makes the written tokens part of the cache (after every head was written).
    void commit(std::size_t count) { length_ += count; }

private:
    std::size_t key_floats_per_head() const;
    std::size_t value_floats_per_head() const;
    float* keys_of(std::size_t b, std::size_t h) const;
    float* values_of(std::size_t b, std::size_t h) const;

    kv_cache_config config_;
    std::uint64_t owner_;
    std::size_t length_ = 0;
    float* storage_ = nullptr;
    // One flag per (b, h): a non-finite value was written.
    unsigned char* nonfinite_ = nullptr;
};
} // namespace mha
