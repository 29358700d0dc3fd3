// The Embind surface of the WebAssembly module. Translation only: JS objects
// of heap pointers and shapes become C++ views, a status becomes a plain
// {error: {kind, message}} object that web/lib/ throws as TypeError,
// RangeError or Error, and results are returned as views of the heap that
// web/lib/results.mjs copies out at once.
//
// Nothing here throws across the boundary: the module is built without C++
// exceptions, and every C++ entry point reports errors through mha::status.
#include <emscripten/bind.h>
#include <emscripten/val.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/simd_arch.hpp"
#include "mha/multi_head_attention.hpp"
#include "mha/scaled_dot_product_attention.hpp"
#include "mha/threads.hpp"

using emscripten::val;

namespace
{
template <class T>
const T* pointer_field(const val& object)
{
    return reinterpret_cast<const T*>(object["ptr"].as<std::uintptr_t>());
}

mha::shape_t shape_field(const val& object)
{
    return emscripten::vecFromJSArray<std::size_t>(object["shape"]);
}

// {ptr, length, shape} -> view.
mha::float_tensor_view tensor_view(const val& object)
{
    return { pointer_field<float>(object), object["length"].as<std::size_t>(), shape_field(object) };
}

// undefined | {ptr, length, shape, kind: 'boolean' | 'additive'} -> view.
mha::mask_tensor_view mask_view(const val& object)
{
    mha::mask_tensor_view view;
    if (object.isUndefined() || object.isNull())
        return view;
    view.kind = object["kind"].as<std::string>() == "boolean" ? mha::mask_kind::boolean : mha::mask_kind::additive;
    view.data = pointer_field<void>(object);
    view.length = object["length"].as<std::size_t>();
    view.shape = shape_field(object);
    return view;
}

val error_object(const mha::status& status)
{
    static const char* const class_names[] = { "Error", "TypeError", "RangeError", "Error" };
    val error = val::object();
    error.set("kind", std::string(class_names[static_cast<int>(status.kind())]));
    error.set("message", status.message());
    val result = val::object();
    result.set("error", error);
    return result;
}

// A view of the heap, not a copy: web/lib/results.mjs copies it out before
// anything else runs in the module (into the caller's array or a new one).
val heap_view(const float* data, const mha::shape_t& shape)
{
    return val(emscripten::typed_memory_view(mha::element_count(shape), data));
}

val result_object(const mha::status& status, const mha::attention_result& result)
{
    if (!status.ok())
        return error_object(status);
    val object = val::object();
    object.set("output", heap_view(result.output, result.output_shape));
    object.set("outputShape", val::array(result.output_shape));
    object.set("weights", result.weights ? heap_view(result.weights, result.weights_shape) : val::null());
    object.set("weightsShape", result.weights ? val::array(result.weights_shape) : val::null());
    return object;
}

mha::attention_config config_from(const val& options)
{
    mha::attention_config config;
    config.embed_dim = options["embedDim"].as<std::size_t>();
    config.num_heads = options["numHeads"].as<std::size_t>();
    config.kdim = options["kdim"].as<std::size_t>();
    config.vdim = options["vdim"].as<std::size_t>();
    config.bias = options["bias"].as<bool>();
    config.add_bias_kv = options["addBiasKV"].as<bool>();
    config.add_zero_attn = options["addZeroAttn"].as<bool>();
    config.batch_first = options["batchFirst"].as<bool>();
    return config;
}

val check_config(const val& options)
{
    const mha::status status = mha::multi_head_attention::check_config(config_from(options));
    return status.ok() ? val::null() : error_object(status);
}

// Embind owns the object; JS frees it with .delete() (MultiHeadAttention.dispose).
mha::multi_head_attention* make_layer(const val& options)
{
    return new mha::multi_head_attention(config_from(options));
}

// [{name, ptr, length, shape}] -> status
val load_weights(mha::multi_head_attention& layer, const val& entries)
{
    std::vector<mha::named_weight> weights;
    const auto count = entries["length"].as<std::size_t>();
    for (std::size_t i = 0; i < count; ++i)
    {
        const val entry = entries[i];
        weights.push_back({ entry["name"].as<std::string>(), tensor_view(entry) });
    }
    const mha::status status = layer.load_weights(weights);
    return status.ok() ? val::null() : error_object(status);
}

val expected_weights(const mha::multi_head_attention& layer)
{
    val list = val::array();
    for (const auto& [name, shape] : layer.expected_weights())
    {
        val entry = val::object();
        entry.set("name", name);
        entry.set("shape", val::array(shape));
        list.call<void>("push", entry);
    }
    return list;
}

val forward(mha::multi_head_attention& layer, const val& a)
{
    mha::forward_arguments arguments;
    arguments.query = tensor_view(a["query"]);
    arguments.key = tensor_view(a["key"]);
    arguments.value = tensor_view(a["value"]);
    arguments.key_padding_mask = mask_view(a["keyPaddingMask"]);
    arguments.attn_mask = mask_view(a["attnMask"]);
    arguments.need_weights = a["needWeights"].as<bool>();
    arguments.average_attn_weights = a["averageAttnWeights"].as<bool>();
    arguments.is_causal = a["isCausal"].as<bool>();
    mha::attention_result result;
    const mha::status status = layer.forward(arguments, result);
    return result_object(status, result);
}

mha::sdpa_arguments sdpa_arguments_from(const val& a)
{
    mha::sdpa_arguments arguments;
    arguments.query = tensor_view(a["query"]);
    arguments.key = tensor_view(a["key"]);
    arguments.value = tensor_view(a["value"]);
    arguments.attn_mask = mask_view(a["attnMask"]);
    arguments.is_causal = a["isCausal"].as<bool>();
    arguments.has_scale = !a["scale"].isUndefined();
    if (arguments.has_scale)
        arguments.scale = a["scale"].as<float>();
    arguments.need_weights = a["needWeights"].as<bool>();
    return arguments;
}

val scaled_dot_product_attention(const val& a)
{
    // Results and scratch for the free function live here, reused by every
    // call, so repeated calls with the same shapes allocate nothing.
    static mha::attention_buffers buffers;
    mha::attention_result result;
    const mha::status status = mha::scaled_dot_product_attention(sdpa_arguments_from(a), buffers, result);
    return result_object(status, result);
}

val check_scaled_dot_product_attention(const val& a)
{
    const mha::status status = mha::check_scaled_dot_product_attention(sdpa_arguments_from(a));
    return status.ok() ? val::null() : error_object(status);
}

std::string simd_architecture() { return mha::kernel_arch::name(); }

// Embind has no size_t overloads to pick from; unsigned is plenty here.
unsigned set_thread_count(unsigned count) { return static_cast<unsigned>(mha::set_thread_count(count)); }
unsigned thread_count() { return static_cast<unsigned>(mha::thread_count()); }
unsigned max_threads() { return static_cast<unsigned>(mha::max_threads()); }
} // namespace

EMSCRIPTEN_BINDINGS(mha_wasm)
{
    emscripten::class_<mha::multi_head_attention>("MultiHeadAttentionCore")
        .constructor(&make_layer)
        .function("loadWeights", &load_weights)
        .function("expectedWeights", &expected_weights)
        .function("forward", &forward);
    emscripten::function("checkConfig", &check_config);
    emscripten::function("scaledDotProductAttention", &scaled_dot_product_attention);
    emscripten::function("checkScaledDotProductAttention", &check_scaled_dot_product_attention);
    emscripten::function("simdArchitecture", &simd_architecture);
    emscripten::function("setThreadCount", &set_thread_count);
    emscripten::function("threadCount", &thread_count);
    emscripten::function("maxThreads", &max_threads);
}
