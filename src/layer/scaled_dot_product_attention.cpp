// The free attention function: validate, describe contiguous (B, H, L, D)
// tensors as an attention_problem, run it.
#include "mha/scaled_dot_product_attention.hpp"

#include <cmath>

#include "attention_problem.hpp"
#include "validate.hpp"

namespace mha
{
namespace
{
    detail::strided_rows<const float> contiguous_rows(const float* data, std::size_t heads, std::size_t length,
                                                      std::size_t dim)
    {
        const auto row = static_cast<std::ptrdiff_t>(dim);
        const auto head = row * static_cast<std::ptrdiff_t>(length);
        return { data, head * static_cast<std::ptrdiff_t>(heads), head, row };
    }
} // namespace

status scaled_dot_product_attention(const sdpa_arguments& arguments, attention_buffers& buffers,
                                    attention_result& result)
{
    detail::sdpa_shapes s;
    if (status st = detail::check_sdpa(arguments, s); !st.ok())
        return st;

    result.output_shape = { s.batch_size, s.num_heads, s.query_len, s.value_dim };
    buffers.output.resize(element_count(result.output_shape));
    if (arguments.need_weights)
    {
        result.weights_shape = { s.batch_size, s.num_heads, s.query_len, s.key_len };
        buffers.weights.resize(element_count(result.weights_shape));
    }
    else
    {
        result.weights_shape.clear();
    }

    detail::attention_problem p;
    p.batch_size = s.batch_size;
    p.num_heads = s.num_heads;
    p.query_len = s.query_len;
    p.key_len = s.key_len;
    p.head_dim = s.head_dim;
    p.value_dim = s.value_dim;
    p.query = contiguous_rows(arguments.query.data, s.num_heads, s.query_len, s.head_dim);
    p.key = contiguous_rows(arguments.key.data, s.num_heads, s.key_len, s.head_dim);
    p.value = contiguous_rows(arguments.value.data, s.num_heads, s.key_len, s.value_dim);
    const auto out = contiguous_rows(buffers.output.data(), s.num_heads, s.query_len, s.value_dim);
    p.output = { buffers.output.data(), out.batch_stride, out.head_stride, out.row_stride };
    p.weights = arguments.need_weights ? buffers.weights.data() : nullptr;
    p.scale = arguments.has_scale ? arguments.scale : 1.0f / std::sqrt(static_cast<float>(s.head_dim));
    p.masks[0] = detail::broadcast_mask(arguments.attn_mask);
    p.is_causal = arguments.is_causal;
    p.masked_key_len = s.key_len;
    detail::run_attention(p, buffers.scratch);

    result.output = buffers.output.data();
    result.weights = p.weights;
    return {};
}

status check_scaled_dot_product_attention(const sdpa_arguments& arguments)
{
    detail::sdpa_shapes shapes;
    return detail::check_sdpa(arguments, shapes);
}
} // namespace mha
