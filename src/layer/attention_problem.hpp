// The strided description of one attention computation, shared by the free
// function (contiguous (B, H, L, D) tensors) and the layer (heads interleaved
// in (N, L, E) rows). Built only from validated arguments.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mha/kv_cache.hpp"
#include "mha/tensor_view.hpp"

namespace mha::detail
{
// Rows of length D (contiguous), addressed by (batch, head, row).
template <class T>
struct strided_rows
{
    T* data = nullptr;
    std::ptrdiff_t batch_stride = 0;
    std::ptrdiff_t head_stride = 0;
    std::ptrdiff_t row_stride = 0;

    T* row(std::size_t b, std::size_t h, std::size_t i) const
    {
        return data + static_cast<std::ptrdiff_t>(b) * batch_stride + static_cast<std::ptrdiff_t>(h) * head_stride
            + static_cast<std::ptrdiff_t>(i) * row_stride;
    }
};

// A mask addressed by (batch, head, query, key); stride 0 broadcasts.
struct strided_mask
{
    mask_kind kind = mask_kind::none;
    const void* data = nullptr;
    std::ptrdiff_t batch_stride = 0;
    std::ptrdiff_t head_stride = 0;
    std::ptrdiff_t row_stride = 0;
    std::ptrdiff_t column_stride = 0;
};

struct attention_problem
{
    std::size_t batch_size = 0;
    std::size_t num_heads = 0;
    std::size_t query_len = 0;
    std::size_t key_len = 0;
    std::size_t head_dim = 0;
    std::size_t value_dim = 0;
    // Query head h reads key/value head h / kv_group (grouped-query attention;
    // 1 for ordinary multi-head attention).
    std::size_t kv_group = 1;
    strided_rows<const float> query;
    // Keys and values as rows, packed per head by the core; unused when
    // `cache` is set, whose panels hold positions [0, key_len) already packed.
    strided_rows<const float> key;
    strided_rows<const float> value;
    const kv_cache* cache = nullptr;
    strided_rows<float> output;
    // (B, H, Lq, Lk) contiguous, or null when weights are not wanted.
    float* weights = nullptr;
    float scale = 1.0f;
    strided_mask masks[2];
    bool is_causal = false;
    // Query i sits at the position of key i + query_offset: 0 is top-left
    // alignment, key_len - query_len bottom-right (a cache's new tokens after
    // the cached ones). With is_causal, query i sees key j iff j <= i + query_offset.
    std::ptrdiff_t query_offset = 0;
    // ALiBi: slope[h] * (j - i - query_offset), the key's position minus the
    // query's, is added to query head h's scores; null = none.
    const float* alibi_slopes = nullptr;
    // Sliding window: key j is masked for query i when j <= i + query_offset - window; 0 = none.
    std::size_t window = 0;
    // Scores become softcap * tanh(scores / softcap) before ALiBi and masks; 0 = none.
    float softcap = 0.0f;
    // Masks and causality apply to keys [0, masked_key_len); keys after that
    // (add_bias_kv, add_zero_attn) are always visible, as in PyTorch.
    std::size_t masked_key_len = 0;
};

// Strides of a row-major mask of `shape` broadcast to (B, H, Lq, Lk):
// right-aligned, a dimension of size 1 (or missing) gets stride 0.
strided_mask broadcast_mask(const mask_tensor_view& mask);

// Floats of scratch run_attention needs with `workers` threads. Reads the
// shapes, the cache and whether `weights` is null; no data.
std::uint64_t attention_scratch_floats(const attention_problem& problem, std::size_t workers);

// scratch: attention_scratch_floats(problem, workers) floats, 64-byte aligned,
// sized for at least thread_count() workers. Allocates nothing.
void run_attention(const attention_problem& problem, float* scratch, std::size_t workers);
} // namespace mha::detail
