#include "validate.hpp"

#include <cmath>
#include <cstdint>
#include <string>

namespace mha::detail
{
namespace
{
    // Largest buffer (in floats) one call may need: 1 GiB of float32. Beyond
    // that a wasm32 heap cannot hold it, and failing here beats an abort in malloc.
    constexpr std::uint64_t max_buffer_elements = std::uint64_t(1) << 28;

    std::uint64_t checked_product(std::initializer_list<std::size_t> factors)
    {
        std::uint64_t product = 1;
        for (std::size_t f : factors)
        {
            product *= f;
            if (product > max_buffer_elements)
                return max_buffer_elements + 1;
        }
        return product;
    }

    std::uint64_t checked_count(const shape_t& shape)
    {
        std::uint64_t product = 1;
        for (std::size_t d : shape)
        {
            product *= d;
            if (product > (std::uint64_t(1) << 40))
                return std::uint64_t(1) << 40;
        }
        return product;
    }

    // String building without <sstream>: iostreams would triple the .wasm size.
    void append(std::string& out, const std::string& part) { out += part; }
    void append(std::string& out, const char* part) { out += part; }
    // size_t and uint64_t are different types in wasm32 and the same natively.
    void append(std::string& out, unsigned long part) { out += std::to_string(part); }
    [[maybe_unused]] void append(std::string& out, unsigned long long part) { out += std::to_string(part); }
    void append(std::string& out, float part) { out += std::to_string(part); }

    template <class... Parts>
    std::string concat(const Parts&... parts)
    {
        std::string out;
        (append(out, parts), ...);
        return out;
    }

    status check_tensor_shape(const char* name, const shape_t& shape, std::size_t length, std::size_t min_rank,
                              std::size_t max_rank, const char* layout)
    {
        if (shape.size() < min_rank || shape.size() > max_rank)
            return status::range_error(concat(name, ": expected ", layout, ", got a ", shape.size(), "-D shape ",
                                              format_shape(shape)));
        for (std::size_t axis = 0; axis < shape.size(); ++axis)
            if (shape[axis] == 0)
                return status::range_error(concat(name, ": expected every dimension >= 1, got 0 at dimension ", axis,
                                                  " of shape ", format_shape(shape)));
        const std::uint64_t count = checked_count(shape);
        if (count != length)
            return status::range_error(concat(name, ": expected ", count, " elements for shape ", format_shape(shape),
                                              ", got ", length));
        return {};
    }

    status check_size(const char* what, std::uint64_t elements)
    {
        if (elements > max_buffer_elements)
            return status::range_error(concat(what, ": expected at most ", max_buffer_elements,
                                              " float32 elements (1 GiB), got more"));
        return {};
    }

    status check_layer_masks(const attention_config& config, const forward_arguments& arguments,
                             const layer_shapes& s)
    {
        if (arguments.key_padding_mask.present())
        {
            const mask_tensor_view& mask = arguments.key_padding_mask;
            const shape_t expected = s.batched ? shape_t { s.batch_size, s.key_len } : shape_t { s.key_len };
            if (mask.shape != expected)
                return status::range_error(concat("keyPaddingMask: expected shape ", format_shape(expected),
                                                  s.batched ? " (N, S)" : " (S)", ", got ", format_shape(mask.shape)));
            if (mask.length != element_count(expected))
                return status::range_error(concat("keyPaddingMask: expected ", element_count(expected),
                                                  " elements for shape ", format_shape(expected), ", got ", mask.length));
        }
        if (arguments.attn_mask.present())
        {
            const mask_tensor_view& mask = arguments.attn_mask;
            const shape_t plain { s.query_len, s.key_len };
            const shape_t per_head { s.batch_size * config.num_heads, s.query_len, s.key_len };
            if (mask.shape != plain && mask.shape != per_head)
                return status::range_error(concat("attnMask: expected shape ", format_shape(plain), " (L, S) or ",
                                                  format_shape(per_head), s.batched ? " (N*numHeads, L, S)" : " (numHeads, L, S)",
                                                  ", got ", format_shape(mask.shape)));
            if (mask.length != element_count(mask.shape))
                return status::range_error(concat("attnMask: expected ", element_count(mask.shape),
                                                  " elements for shape ", format_shape(mask.shape), ", got ", mask.length));
        }
        return {};
    }
} // namespace

std::string format_shape(const shape_t& shape)
{
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
}

status check_config(const attention_config& c)
{
    if (c.embed_dim == 0)
        return status::range_error("embedDim: expected a positive integer, got 0");
    if (c.num_heads == 0)
        return status::range_error("numHeads: expected a positive integer, got 0");
    if (c.embed_dim % c.num_heads != 0)
        return status::range_error(concat("embedDim: expected a multiple of numHeads=", c.num_heads, ", got ",
                                          c.embed_dim));
    if (auto s = check_size("embedDim", checked_product({ c.embed_dim, std::max(c.embed_dim, std::max(c.key_dim(), c.value_dim())) })); !s.ok())
        return s;
    return {};
}

status check_forward(const attention_config& c, const forward_arguments& a, layer_shapes& s)
{
    const char* query_layout = c.batch_first ? "a 3-D (N, L, embedDim) or 2-D (L, embedDim) shape"
                                             : "a 3-D (L, N, embedDim) or 2-D (L, embedDim) shape";
    if (auto st = check_tensor_shape("query", a.query.shape, a.query.length, 2, 3, query_layout); !st.ok())
        return st;
    s.batched = a.query.shape.size() == 3;
    const char* other_layout = s.batched ? "a 3-D shape, like query" : "a 2-D shape, like query";
    const std::size_t rank = a.query.shape.size();
    if (auto st = check_tensor_shape("key", a.key.shape, a.key.length, rank, rank, other_layout); !st.ok())
        return st;
    if (auto st = check_tensor_shape("value", a.value.shape, a.value.length, rank, rank, other_layout); !st.ok())
        return st;

    // (batch, sequence) positions within a batched shape.
    const std::size_t batch_axis = c.batch_first ? 0 : 1;
    const std::size_t sequence_axis = c.batch_first ? 1 : 0;
    const auto batch_of = [&](const shape_t& shape) { return s.batched ? shape[batch_axis] : std::size_t(1); };
    const auto length_of = [&](const shape_t& shape) { return s.batched ? shape[sequence_axis] : shape[0]; };

    s.batch_size = batch_of(a.query.shape);
    s.query_len = length_of(a.query.shape);
    s.key_len = length_of(a.key.shape);

    if (a.query.shape.back() != c.embed_dim)
        return status::range_error(concat("query: expected last dimension embedDim=", c.embed_dim, ", got ",
                                          a.query.shape.back(), " (shape ", format_shape(a.query.shape), ")"));
    if (a.key.shape.back() != c.key_dim())
        return status::range_error(concat("key: expected last dimension kdim=", c.key_dim(), ", got ",
                                          a.key.shape.back(), " (shape ", format_shape(a.key.shape), ")"));
    if (a.value.shape.back() != c.value_dim())
        return status::range_error(concat("value: expected last dimension vdim=", c.value_dim(), ", got ",
                                          a.value.shape.back(), " (shape ", format_shape(a.value.shape), ")"));
    if (s.batched && batch_of(a.key.shape) != s.batch_size)
        return status::range_error(concat("key: expected batch size ", s.batch_size, " (from query) at dimension ",
                                          batch_axis, ", got ", batch_of(a.key.shape), " (shape ",
                                          format_shape(a.key.shape), ")"));
    if (s.batched && batch_of(a.value.shape) != s.batch_size)
        return status::range_error(concat("value: expected batch size ", s.batch_size, " (from query) at dimension ",
                                          batch_axis, ", got ", batch_of(a.value.shape), " (shape ",
                                          format_shape(a.value.shape), ")"));
    if (length_of(a.value.shape) != s.key_len)
        return status::range_error(concat("value: expected sequence length ", s.key_len, " (from key), got ",
                                          length_of(a.value.shape), " (shape ", format_shape(a.value.shape), ")"));
    if (auto st = check_layer_masks(c, a, s); !st.ok())
        return st;

    const std::size_t total_keys = s.key_len + c.appended_keys();
    const std::size_t rows = std::max(s.query_len, total_keys);
    if (auto st = check_size("query/key/value", checked_product({ s.batch_size, rows, c.embed_dim })); !st.ok())
        return st;
    if (a.need_weights)
        if (auto st = check_size("needWeights", checked_product({ s.batch_size, c.num_heads, s.query_len, total_keys }));
            !st.ok())
            return st;
    return {};
}

status check_sdpa(const sdpa_arguments& a, sdpa_shapes& s)
{
    const char* layout = "a 4-D (batch, heads, length, dim) shape";
    if (auto st = check_tensor_shape("query", a.query.shape, a.query.length, 4, 4, layout); !st.ok())
        return st;
    if (auto st = check_tensor_shape("key", a.key.shape, a.key.length, 4, 4, layout); !st.ok())
        return st;
    if (auto st = check_tensor_shape("value", a.value.shape, a.value.length, 4, 4, layout); !st.ok())
        return st;
    const shape_t& q = a.query.shape;
    const shape_t& k = a.key.shape;
    const shape_t& v = a.value.shape;
    s = { q[0], q[1], q[2], k[2], q[3], v[3] };
    if (k[0] != q[0] || k[1] != q[1])
        return status::range_error(concat("key: expected batch and heads [", q[0], ", ", q[1],
                                          "] like query, got shape ", format_shape(k)));
    if (k[3] != q[3])
        return status::range_error(concat("key: expected last dimension ", q[3], " (query's head dim), got ", k[3],
                                          " (shape ", format_shape(k), ")"));
    if (v[0] != q[0] || v[1] != q[1] || v[2] != k[2])
        return status::range_error(concat("value: expected leading dimensions [", q[0], ", ", q[1], ", ", k[2],
                                          "] (batch, heads from query; length from key), got shape ", format_shape(v)));
    if (a.has_scale && !std::isfinite(a.scale))
        return status::range_error(concat("scale: expected a finite number, got ", a.scale));
    if (a.attn_mask.present())
    {
        const shape_t& m = a.attn_mask.shape;
        const shape_t full { s.batch_size, s.num_heads, s.query_len, s.key_len };
        bool broadcastable = m.size() >= 1 && m.size() <= 4;
        for (std::size_t i = 0; broadcastable && i < m.size(); ++i)
        {
            const std::size_t target = full[4 - m.size() + i];
            broadcastable = m[i] == 1 || m[i] == target;
        }
        if (!broadcastable)
            return status::range_error(concat("attnMask: expected a shape that broadcasts to ", format_shape(full),
                                              " (batch, heads, Lq, Lk), got ", format_shape(m)));
        if (a.attn_mask.length != element_count(m))
            return status::range_error(concat("attnMask: expected ", element_count(m), " elements for shape ",
                                              format_shape(m), ", got ", a.attn_mask.length));
    }
    if (auto st = check_size("output", checked_product({ s.batch_size, s.num_heads, s.query_len, s.value_dim }));
        !st.ok())
        return st;
    if (a.need_weights)
        if (auto st = check_size("needWeights", checked_product({ s.batch_size, s.num_heads, s.query_len, s.key_len }));
            !st.ok())
            return st;
    return {};
}

status check_weight(const named_weight& w, const shape_t& expected)
{
    const std::size_t expected_length = element_count(expected);
    if (!w.tensor.shape.empty() && w.tensor.shape != expected)
        return status::range_error(concat("stateDict['", w.name, "']: expected shape ", format_shape(expected), ", got ",
                                          format_shape(w.tensor.shape)));
    if (w.tensor.length != expected_length)
        return status::range_error(concat("stateDict['", w.name, "']: expected ", expected_length,
                                          " elements (shape ", format_shape(expected), "), got ", w.tensor.length));
    return {};
}
} // namespace mha::detail
