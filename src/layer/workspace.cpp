#include "workspace.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

namespace mha::detail
{
namespace
{
    // A block over this size that is four times larger than needed is freed
    // and allocated again at the new size, so one huge call does not keep its
    // memory reserved for all later small ones.
    constexpr std::size_t shrink_threshold = std::size_t(32) << 20;
} // namespace

std::size_t workspace_layout::add(std::uint64_t bytes)
{
    const std::uint64_t offset = total_;
    // Saturates just past the limit, so sums of huge sizes cannot wrap around.
    if (bytes > max_bytes || total_ + bytes > max_bytes)
    {
        total_ = max_bytes + 1;
        return 0;
    }
    total_ += (bytes + workspace_alignment - 1) / workspace_alignment * workspace_alignment;
    return static_cast<std::size_t>(offset);
}

void* allocate_aligned(std::uint64_t bytes, bool zeroed)
{
    if (bytes > workspace_layout::max_bytes)
        return nullptr;
    const std::size_t size = static_cast<std::size_t>((bytes + workspace_alignment - 1) / workspace_alignment * workspace_alignment);
    // aligned_alloc returns null on failure: the module is linked with
    // ABORTING_MALLOC=0, so a heap that cannot grow is reported, not fatal.
    void* pointer = std::aligned_alloc(workspace_alignment, size == 0 ? workspace_alignment : size);
    if (pointer && zeroed)
        std::memset(pointer, 0, size);
    return pointer;
}

void free_aligned(void* pointer) { std::free(pointer); }

workspace::~workspace() { release(); }

status reserve(workspace& memory, const workspace_layout& layout)
{
    if (!layout.fits())
        return status::range_error("this call needs more than " + std::to_string(workspace_layout::max_bytes >> 20)
                                   + " MiB of memory in one block, the most the WebAssembly heap gives one allocation");
    if (!memory.reserve(layout.total()))
        return status::range_error("could not allocate " + std::to_string(layout.total())
                                   + " bytes for this call in the WebAssembly heap (out of memory)");
    return {};
}

aligned_floats::~aligned_floats() { free_aligned(data_); }

bool aligned_floats::allocate(std::uint64_t count)
{
    free_aligned(data_);
    data_ = nullptr;
    size_ = 0;
    if (count > workspace_layout::max_bytes / sizeof(float))
        return false;
    data_ = static_cast<float*>(allocate_aligned(count * sizeof(float), false));
    if (!data_)
        return false;
    size_ = static_cast<std::size_t>(count);
    return true;
}

void workspace::release()
{
    free_aligned(data_);
    data_ = nullptr;
    capacity_ = 0;
}

bool workspace::reserve(std::uint64_t bytes)
{
    const bool big_enough = bytes <= capacity_;
    if (big_enough && !(capacity_ > shrink_threshold && bytes < capacity_ / 4))
        return true;
    if (bytes > workspace_layout::max_bytes)
        return false;
    // Growing: free first, the old contents are not needed and the heap may
    // not hold both blocks.
    if (!big_enough)
        release();
    void* fresh = allocate_aligned(bytes, false);
    if (!fresh)
        return big_enough; // a failed shrink keeps the larger block
    release();
    data_ = static_cast<unsigned char*>(fresh);
    capacity_ = static_cast<std::size_t>(bytes);
    return true;
}
} // namespace mha::detail
