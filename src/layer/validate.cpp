#include "validate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include "kernels/packed_matrix_multiply.hpp"
#include "kernels/simd_arch.hpp"
#include "workspace.hpp"

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
    [[maybe_unused]] void append(std::string& out, unsigned int part) { out += std::to_string(part); }

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

    status check_layer_masks(std::size_t num_heads, const forward_arguments& arguments, const layer_shapes& s)
    {
        const std::size_t keys = s.masked_keys;
        const char* keys_name = arguments.cache ? "cache length after the append" : "S";
        if (arguments.key_padding_mask.present())
        {
            const mask_tensor_view& mask = arguments.key_padding_mask;
            const shape_t expected = s.batched ? shape_t { s.batch_size, keys } : shape_t { keys };
            if (mask.shape != expected)
                return status::range_error(concat("keyPaddingMask: expected shape ", format_shape(expected),
                                                  s.batched ? " (N, " : " (", keys_name, "), got ",
                                                  format_shape(mask.shape)));
            if (mask.length != element_count(expected))
                return status::range_error(concat("keyPaddingMask: expected ", element_count(expected),
                                                  " elements for shape ", format_shape(expected), ", got ", mask.length));
        }
        if (arguments.attn_mask.present())
        {
            const mask_tensor_view& mask = arguments.attn_mask;
            const shape_t plain { s.query_len, keys };
            const shape_t per_head { s.batch_size * num_heads, s.query_len, keys };
            if (mask.shape != plain && mask.shape != per_head)
                return status::range_error(concat("attnMask: expected shape ", format_shape(plain), " (L, ", keys_name,
                                                  ") or ", format_shape(per_head),
                                                  s.batched ? " (N*numHeads, L, " : " (numHeads, L, ", keys_name,
                                                  "), got ", format_shape(mask.shape)));
            if (mask.length != element_count(mask.shape))
                return status::range_error(concat("attnMask: expected ", element_count(mask.shape),
                                                  " elements for shape ", format_shape(mask.shape), ", got ", mask.length));
        }
        return {};
    }

    // What a cache and the call must agree on, for both entry points.
    status check_cache_append(const kv_cache& cache, std::size_t batch_size, std::size_t new_tokens,
                              std::size_t query_len, causal_alignment alignment, const char* key_layout)
    {
        if (!cache.allocated())
            return status::state_error("cache: expected an allocated cache, got one whose allocation failed");
        if (alignment == causal_alignment::top_left)
            return status::range_error("causalAlignment: expected 'bottom-right' (or nothing) with a cache, whose new "
                                       "tokens come after the cached ones; got 'top-left'");
        if (cache.config().batch_size != batch_size)
            return status::range_error(concat("cache: expected batchSize ", batch_size, " (from query), got a cache of batchSize ",
                                              cache.config().batch_size));
        if (new_tokens != query_len)
            return status::range_error(concat("key: with a cache, key and value hold the new tokens, one per query row: "
                                              "expected length ", query_len, " (from query) at the sequence dimension of ",
                                              key_layout, ", got ", new_tokens));
        if (cache.length() + new_tokens > cache.max_length())
            return status::range_error(concat("cache: appending ", new_tokens, " tokens to a cache of length ",
                                              cache.length(), " would exceed its maxLength ", cache.max_length(),
                                              " (truncate() or reset() it, or create one with a larger maxLength)"));
        return {};
    }

    status check_cache_owner(const kv_cache& cache, std::uint64_t layer_id)
    {
        if (cache.owner() == 0)
            return status::state_error("cache: expected a cache made by this layer's createCache(), got one from "
                                       "createKVCache(), which is for scaledDotProductAttention");
        if (cache.owner() != layer_id)
            return status::state_error("cache: expected a cache made by this layer's createCache(), got one that "
                                       "belongs to another layer");
        return {};
    }

    status check_layer_cache(const attention_config& c, std::uint64_t layer_id, const forward_arguments& a,
                             const layer_shapes& s)
    {
        const kv_cache& cache = *a.cache;
        if (auto st = check_cache_owner(cache, layer_id); !st.ok())
            return st;
        if (c.add_bias_kv || c.add_zero_attn)
            return status::range_error(concat("cache: not supported by a layer with ",
                                              c.add_bias_kv ? "addBiasKV" : "addZeroAttn",
                                              " (its extra key would be appended again at every step)"));
        return check_cache_append(cache, s.batch_size, s.key_len, s.query_len, a.alignment,
                                  c.batch_first ? "(N, S, kdim)" : "(S, N, kdim)");
    }
} // namespace

status check_self_attention_config(const self_attention_config& c)
{
    if (c.embed_dim == 0)
        return status::range_error("embedDim: expected a positive integer, got 0");
    if (c.num_heads == 0)
        return status::range_error("numHeads: expected a positive integer, got 0");
    if (c.num_heads % c.kv_heads() != 0)
        return status::range_error(concat("numKVHeads: expected a divisor of numHeads=", c.num_heads, ", got ", c.kv_heads()));
    if (c.dims() == 0)
        return status::range_error(concat("headDim: expected a positive integer (embedDim / numHeads when not given, here ",
                                          c.embed_dim, " / ", c.num_heads, "), got 0"));
    alibi_options alibi;
    alibi.mode = c.alibi;
    alibi.slopes.length = c.alibi_slopes.size();
    if (auto st = check_positional(c.rotary, alibi, c.dims(), c.num_heads, false); !st.ok())
        return st;
    return check_size("q_proj.weight", checked_product({ c.num_heads * c.dims(), std::max(c.embed_dim, c.dims()) }));
}

status check_self_attention_forward(const self_attention_config& c, std::uint64_t layer_id, const forward_arguments& a,
                                    layer_shapes& s)
{
    if (auto st = check_tensor_shape("x", a.query.shape, a.query.length, 2, 3, "a 3-D (N, L, embedDim) or 2-D (L, embedDim) shape");
        !st.ok())
        return st;
    const shape_t& x = a.query.shape;
    if (x.back() != c.embed_dim)
        return status::range_error(concat("x: expected last dimension embedDim=", c.embed_dim, ", got ", x.back(),
                                          " (shape ", format_shape(x), ")"));
    s = {};
    s.batched = x.size() == 3;
    s.batch_size = s.batched ? x[0] : 1;
    s.query_len = s.key_len = s.batched ? x[1] : x[0];
    s.total_keys = s.masked_keys = s.key_len;
    if (a.cache)
    {
        if (auto st = check_cache_owner(*a.cache, layer_id); !st.ok())
            return st;
        if (auto st = check_positional(c.rotary, {}, c.dims(), c.num_heads, true); !st.ok())
            return st;
        if (auto st = check_cache_append(*a.cache, s.batch_size, s.key_len, s.query_len, a.alignment, "x"); !st.ok())
            return st;
        s.total_keys = s.masked_keys = a.cache->length() + s.key_len;
    }
    s.query_offset = static_cast<std::ptrdiff_t>(s.masked_keys) - static_cast<std::ptrdiff_t>(s.query_len);
    if (auto st = check_layer_masks(c.num_heads, a, s); !st.ok())
        return st;
    const std::size_t width = std::max(c.embed_dim, c.num_heads * c.dims());
    if (auto st = check_size("x", checked_product({ s.batch_size, s.query_len, width })); !st.ok())
        return st;
    if (a.need_weights)
        if (auto st = check_size("needWeights", checked_product({ s.batch_size, c.num_heads, s.query_len, s.total_keys }));
            !st.ok())
            return st;
    return {};
}

status check_linear_config(const linear_config& c)
{
    if (c.in_features == 0)
        return status::range_error("inFeatures: expected a positive integer, got 0");
    if (c.out_features == 0)
        return status::range_error("outFeatures: expected a positive integer, got 0");
    return check_size("inFeatures x outFeatures", checked_product({ c.in_features, c.out_features }));
}

status check_linear_input(const linear_config& c, const float_tensor_view& x)
{
    if (auto st = check_tensor_shape("x", x.shape, x.length, 1, 8, "a shape (..., inFeatures) of 1 to 8 dimensions"); !st.ok())
        return st;
    if (x.shape.back() != c.in_features)
        return status::range_error(concat("x: expected last dimension inFeatures=", c.in_features, ", got ",
                                          x.shape.back(), " (shape ", format_shape(x.shape), ")"));
    const std::uint64_t rows = element_count(x.shape) / c.in_features;
    return check_size("output", checked_product({ static_cast<std::size_t>(std::min<std::uint64_t>(rows, max_buffer_elements + 1)), c.out_features }));
}

status check_rotary_input(const float_tensor_view& x)
{
    return check_tensor_shape("x", x.shape, x.length, 4, 4, "a 4-D (batch, heads, length, dim) shape");
}

status check_positional(const rotary_options& rotary, const alibi_options& alibi, std::size_t head_dim,
                        std::size_t num_heads, bool cached)
{
    if (rotary.enabled)
    {
        const std::size_t dims = rotary.rotary_dim ? rotary.rotary_dim : head_dim;
        if (dims % 2 != 0 || dims > head_dim)
            return status::range_error(concat("rotary.rotaryDim: expected an even number of dims up to the head dim ",
                                              head_dim, ", got ", dims));
        if (rotary.frequencies && rotary.frequency_count != dims / 2)
            return status::range_error(concat("rotary.frequencies: expected ", dims / 2,
                                              " inverse frequencies (rotaryDim / 2), got ", rotary.frequency_count));
        if (cached && rotary.has_position_offset)
            return status::range_error("rotary.positionOffset: expected none with a cache, whose tokens have their "
                                       "positions already (the new ones start at its length)");
    }
    if (alibi.mode == alibi_mode::given && alibi.slopes.length != num_heads)
        return status::range_error(concat("alibi: expected ", num_heads, " slopes (one per query head), got ",
                                          alibi.slopes.length));
    return {};
}

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

status check_forward(const attention_config& c, std::uint64_t layer_id, const forward_arguments& a, layer_shapes& s)
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
    s.total_keys = s.key_len + c.appended_keys();
    s.masked_keys = s.key_len;
    if (a.cache)
    {
        if (auto st = check_layer_cache(c, layer_id, a, s); !st.ok())
            return st;
        s.total_keys = s.masked_keys = a.cache->length() + s.key_len;
    }
    const bool bottom_right = a.alignment == causal_alignment::bottom_right
        || (a.cache && a.alignment == causal_alignment::automatic);
    s.query_offset = bottom_right ? static_cast<std::ptrdiff_t>(s.masked_keys) - static_cast<std::ptrdiff_t>(s.query_len) : 0;
    if (auto st = check_layer_masks(c.num_heads, a, s); !st.ok())
        return st;

    const std::size_t rows = std::max(s.query_len, s.total_keys);
    if (auto st = check_size("query/key/value", checked_product({ s.batch_size, rows, c.embed_dim })); !st.ok())
        return st;
    if (a.need_weights)
        if (auto st = check_size("needWeights", checked_product({ s.batch_size, c.num_heads, s.query_len, s.total_keys }));
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
    s = {};
    s.batch_size = q[0];
    s.num_heads = q[1];
    s.kv_heads = k[1];
    s.query_len = q[2];
    s.new_keys = s.key_len = k[2];
    s.head_dim = q[3];
    s.value_dim = v[3];
    if (k[0] != q[0])
        return status::range_error(concat("key: expected batch size ", q[0], " like query, got shape ", format_shape(k)));
    if (q[1] % k[1] != 0)
        return status::range_error(concat("key: expected a number of heads that divides query's ", q[1],
                                          " (grouped-query attention), got shape ", format_shape(k)));
    if (k[3] != q[3])
        return status::range_error(concat("key: expected last dimension ", q[3], " (query's head dim), got ", k[3],
                                          " (shape ", format_shape(k), ")"));
    if (v[0] != k[0] || v[1] != k[1] || v[2] != k[2])
        return status::range_error(concat("value: expected leading dimensions [", k[0], ", ", k[1], ", ", k[2],
                                          "] (batch, heads and length from key), got shape ", format_shape(v)));
    if (auto st = check_positional(a.rotary, a.alibi, s.head_dim, s.num_heads, a.cache != nullptr); !st.ok())
        return st;
    if (a.has_scale && !std::isfinite(a.scale))
        return status::range_error(concat("scale: expected a finite number, got ", a.scale));
    if (a.cache)
    {
        const kv_cache& cache = *a.cache;
        const kv_cache_config& cc = cache.config();
        if (cache.owner() != 0)
            return status::state_error("cache: expected a cache from createKVCache(), got a layer's cache "
                                       "(layer.createCache() makes caches for that layer's forward only)");
        if (auto st = check_cache_append(cache, s.batch_size, s.new_keys, s.query_len, a.alignment, "key (B, H, T, D)");
            !st.ok())
            return st;
        if (cc.num_heads != s.kv_heads || cc.head_dim != s.head_dim || cc.value_dim != s.value_dim)
            return status::range_error(concat("cache: expected numHeads ", s.kv_heads, ", headDim ", s.head_dim,
                                              " and valueDim ", s.value_dim, " (from key and value), got a cache of numHeads ",
                                              cc.num_heads, ", headDim ", cc.head_dim, " and valueDim ", cc.value_dim));
        s.key_len = cache.length() + s.new_keys;
    }
    {
        const bool bottom_right = a.alignment == causal_alignment::bottom_right
            || (a.cache && a.alignment == causal_alignment::automatic);
        s.query_offset = bottom_right ? static_cast<std::ptrdiff_t>(s.key_len) - static_cast<std::ptrdiff_t>(s.query_len) : 0;
    }
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
                                              a.cache ? " (batch, heads, Lq, cache length after the append), got "
                                                      : " (batch, heads, Lq, Lk), got ",
                                              format_shape(m)));
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

status check_out_lengths(const char* context, std::int64_t output_length, const shape_t& output_shape,
                         std::int64_t weights_length, const shape_t& weights_shape, bool need_weights)
{
    if (output_length >= 0 && std::uint64_t(output_length) != element_count(output_shape))
        return status::range_error(concat(context, "out.output: expected a Float32Array of ", element_count(output_shape),
                                          " elements (shape ", format_shape(output_shape), "), got ",
                                          std::uint64_t(output_length)));
    if (weights_length >= 0 && !need_weights)
        return status::type_error(concat(context, "out.weights: given, but needWeights is false, so there are no weights to write"));
    if (weights_length >= 0 && std::uint64_t(weights_length) != element_count(weights_shape))
        return status::range_error(concat(context, "out.weights: expected a Float32Array of ", element_count(weights_shape),
                                          " elements (shape ", format_shape(weights_shape), "), got ",
                                          std::uint64_t(weights_length)));
    return {};
}

std::uint64_t kv_cache_bytes(const kv_cache_config& c)
{
    const std::uint64_t width = kernels::panel_width(kernel_arch {});
    const auto round = [&](std::uint64_t n) { return (n + width - 1) / width * width; };
    const std::uint64_t per_head = round(c.max_length) * c.head_dim + round(c.value_dim) * c.max_length;
    const std::uint64_t heads = std::uint64_t(c.batch_size) * c.num_heads;
    if (heads != 0 && per_head > (std::uint64_t(1) << 60) / heads)
        return std::uint64_t(1) << 62;
    return per_head * heads * sizeof(float);
}

status check_kv_cache_config(const kv_cache_config& c)
{
    const std::pair<const char*, std::size_t> sizes[] = { { "batchSize", c.batch_size }, { "numHeads", c.num_heads },
                                                          { "headDim", c.head_dim }, { "valueDim", c.value_dim },
                                                          { "maxLength", c.max_length } };
    for (const auto& [name, value] : sizes)
        if (value == 0)
            return status::range_error(concat(name, ": expected a positive integer, got 0"));
    const std::uint64_t bytes = kv_cache_bytes(c);
    if (bytes > workspace_layout::max_bytes)
        return status::range_error(concat("a cache of batchSize ", c.batch_size, ", numHeads ", c.num_heads,
                                          ", headDim ", c.head_dim, ", valueDim ", c.value_dim, " and maxLength ",
                                          c.max_length, " needs ", bytes, " bytes in one block; the WebAssembly heap gives at most ",
                                          workspace_layout::max_bytes, " per block"));
    return {};
}

status check_state_dict(const weight_specs& expected, const std::vector<named_weight>& weights)
{
    std::string expected_list;
    for (const auto& [name, shape] : expected)
        expected_list += (expected_list.empty() ? "'" : ", '") + name + "'";
    std::vector<bool> seen(expected.size(), false);
    for (const named_weight& w : weights)
    {
        const auto match = std::find_if(expected.begin(), expected.end(), [&](const auto& e) { return e.first == w.name; });
        if (match == expected.end())
            return status::range_error("stateDict: unexpected key '" + w.name + "' for this configuration; expected "
                                       + expected_list);
        const auto index = static_cast<std::size_t>(match - expected.begin());
        if (seen[index])
            return status::range_error("stateDict: key '" + w.name + "' given twice");
        seen[index] = true;
        if (status st = check_weight(w, match->second); !st.ok())
            return st;
    }
    std::string missing;
    for (std::size_t i = 0; i < expected.size(); ++i)
        if (!seen[i])
            missing += (missing.empty() ? "'" : ", '") + expected[i].first + "' " + format_shape(expected[i].second);
    if (!missing.empty())
        return status::range_error("stateDict: missing " + missing + " (PyTorch state_dict names)");
    return {};
}

const float* find_weight(const std::vector<named_weight>& weights, const std::string& name)
{
    return std::find_if(weights.begin(), weights.end(), [&](const named_weight& w) { return w.name == name; })->tensor.data;
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
