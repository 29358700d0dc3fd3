// The memory of one call, sized by its plan before any data is read.
//
// A plan adds every buffer the call needs to a workspace_layout (offsets
// only), then reserves the total in one allocation. Reserving is the only
// allocation a call makes, it happens before anything is computed, and it can
// fail: the caller gets a RangeError instead of the abort an exception-free
// std::vector would give when the WebAssembly heap cannot grow. A run then
// carves its buffers out of the block and allocates nothing, so pool workers
// never allocate either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "mha/status.hpp"

namespace mha::detail
{
// Offsets are multiples of this many bytes: a cache line, and every SIMD width.
constexpr std::size_t workspace_alignment = 64;

class workspace_layout
{
public:
    // Reserves `bytes` (rounded up to the alignment) and returns their offset.
    std::size_t add(std::uint64_t bytes);
    std::size_t add_floats(std::uint64_t count) { return add(count * sizeof(float)); }
    // False once the sum no longer fits a size_t (only possible in wasm32).
    bool fits() const { return total_ <= max_bytes; }
    std::uint64_t total() const { return total_; }

    // The largest block one allocation may ask for. The heap grows to 4 GiB,
    // but Emscripten's sbrk takes a signed 32-bit increment, so one block must
    // stay below 2 GiB (with room for malloc's own growth step).
    static constexpr std::uint64_t max_bytes = (std::uint64_t(1) << 31) - (std::uint64_t(1) << 27);

private:
    std::uint64_t total_ = 0;
};

class workspace
{
public:
    workspace() = default;
    workspace(const workspace&) = delete;
    workspace& operator=(const workspace&) = delete;
    workspace(workspace&& other) noexcept
        : data_(other.data_)
        , capacity_(other.capacity_)
    {
        other.data_ = nullptr;
        other.capacity_ = 0;
    }
    workspace& operator=(workspace&& other) noexcept
    {
        if (this != &other)
        {
            release();
            data_ = other.data_;
            capacity_ = other.capacity_;
            other.data_ = nullptr;
            other.capacity_ = 0;
        }
        return *this;
    }
    ~workspace();

    // Makes at least `bytes` available; keeps the block when it is big enough
    // (so repeated calls allocate nothing) unless it is large and over four
    // times too big, when it is exchanged for a smaller one. Contents are not
    // kept. False when the heap cannot provide the block; the workspace is
    // then empty.
    bool reserve(std::uint64_t bytes);
    // Frees the block (the next reserve allocates again).
    void release();

    std::size_t capacity() const { return capacity_; }
    unsigned char* bytes() const { return data_; }
    template <class T>
    T* at(std::size_t offset) const
    {
        return reinterpret_cast<T*>(data_ + offset);
    }

private:
    unsigned char* data_ = nullptr;
    std::size_t capacity_ = 0;
};

// Reserves layout.total() bytes in `memory`: a RangeError when the layout
// exceeds what one allocation of the WebAssembly heap can be, or the heap
// cannot provide it.
status reserve(workspace& memory, const workspace_layout& layout);

// Floats that outlive a call (packed weights), allocated fallibly.
class aligned_floats
{
public:
    aligned_floats() = default;
    aligned_floats(const aligned_floats&) = delete;
    aligned_floats& operator=(const aligned_floats&) = delete;
    aligned_floats(aligned_floats&& other) noexcept { swap(other); }
    aligned_floats& operator=(aligned_floats&& other) noexcept
    {
        aligned_floats moved(std::move(other));
        swap(moved);
        return *this;
    }
    ~aligned_floats();

    // False (and empty) when the heap cannot hold `count` floats.
    bool allocate(std::uint64_t count);
    float* data() const { return data_; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

private:
    void swap(aligned_floats& other) noexcept
    {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
    }
    float* data_ = nullptr;
    std::size_t size_ = 0;
};

// Allocates `bytes` (zeroed if asked) aligned to workspace_alignment, or
// returns null; free with free_aligned. Also used for memory that outlives a
// call (weights, caches), which therefore fails the same way a workspace does.
void* allocate_aligned(std::uint64_t bytes, bool zeroed);
void free_aligned(void* pointer);
} // namespace mha::detail
