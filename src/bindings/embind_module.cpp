// The Embind surface of the WebAssembly module. Translation only: a call
// record (call_record.hpp) becomes C++ arguments and a plan becomes a call
// record again; a status becomes an error code and message that web/lib/
// throws as TypeError, RangeError or Error. No state lives here: every object
// (the ops, layers, caches, the mailbox) is created and owned by JavaScript.
//
// Nothing here throws across the boundary: the module is built without C++
// exceptions, and every C++ entry point reports errors through mha::status.
#include <emscripten/bind.h>
#include <emscripten/heap.h>
#include <emscripten/val.h>
#include <malloc.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "call_record.hpp"
#include "kernels/simd_arch.hpp"
#include "mha/kv_cache.hpp"
#include "mha/linear.hpp"
#include "mha/multi_head_attention.hpp"
#include "mha/rotary_embedding.hpp"
#include "mha/scaled_dot_product_attention.hpp"
#include "mha/self_attention.hpp"
#include "mha/threads.hpp"

using emscripten::val;

namespace
{
using mha::bindings::call_record;
using mha::bindings::record_tensor;

// One per API instance: the record plus the message of the last failure.
struct mailbox
{
    call_record record {};
    std::string message;
};

mailbox& mailbox_at(double address) { return *reinterpret_cast<mailbox*>(static_cast<std::uintptr_t>(address)); }

mha::shape_t shape_of(const record_tensor& t)
{
    return mha::shape_t(t.dims, t.dims + std::min(t.rank, mha::bindings::record_max_rank));
}

mha::float_tensor_view tensor_of(const record_tensor& t)
{
    if (t.kind == mha::bindings::record_absent)
        return {};
    return { nullptr, static_cast<std::uint64_t>(t.length), shape_of(t) };
}

mha::mask_tensor_view mask_of(const record_tensor& t)
{
    mha::mask_tensor_view view;
    if (t.kind == mha::bindings::record_absent)
        return view;
    view.kind = t.kind == mha::bindings::record_boolean ? mha::mask_kind::boolean : mha::mask_kind::additive;
    view.length = static_cast<std::uint64_t>(t.length);
    view.shape = shape_of(t);
    return view;
}

mha::causal_alignment alignment_of(std::uint32_t code)
{
    return code == 1 ? mha::causal_alignment::top_left
        : code == 2  ? mha::causal_alignment::bottom_right
                     : mha::causal_alignment::automatic;
}

std::int64_t out_length_of(double length) { return length < 0 ? -1 : static_cast<std::int64_t>(length); }

void write_shape(mha::bindings::record_shape& target, const mha::shape_t& shape)
{
    target.rank = static_cast<std::uint32_t>(shape.size());
    for (std::size_t i = 0; i < shape.size() && i < mha::bindings::record_max_rank; ++i)
        target.dims[i] = static_cast<std::uint32_t>(shape[i]);
}

void write_range(mha::bindings::record_range& target, const mha::staged_range& range)
{
    target.heap = static_cast<std::uint32_t>(reinterpret_cast<std::uintptr_t>(range.heap));
    target.first = static_cast<double>(range.first);
    target.count = static_cast<double>(range.count);
}

void write_ranges(call_record& record, const mha::call_plan& plan)
{
    for (std::size_t i = 0; i < mha::call_input_count; ++i)
        write_range(record.input_ranges[i], plan.inputs[i]);
    for (std::size_t i = 0; i < mha::call_output_count; ++i)
        write_range(record.output_ranges[i], plan.outputs[i]);
}

// 0 = success; otherwise the JS error class (1 TypeError, 2 RangeError, 3 Error), message in the mailbox.
int report(mailbox& box, const mha::status& status, const mha::call_plan& plan)
{
    if (!status.ok())
    {
        box.message = status.message();
        return static_cast<int>(status.kind());
    }
    call_record& r = box.record;
    r.steps = static_cast<std::uint32_t>(plan.steps);
    r.has_weights = plan.weights_shape.empty() ? 0 : 1;
    r.workspace_bytes = static_cast<double>(plan.workspace_bytes);
    write_shape(r.output_shape, plan.output_shape);
    write_shape(r.weights_shape, plan.weights_shape);
    write_ranges(r, plan);
    return 0;
}

mha::kv_cache* cache_of(const call_record& r)
{
    return reinterpret_cast<mha::kv_cache*>(static_cast<std::uintptr_t>(r.cache));
}

mha::rotary_options rotary_of(const call_record& r)
{
    mha::rotary_options o;
    o.enabled = r.rotary != 0;
    o.base = r.rotary_base;
    o.rotary_dim = r.rotary_dim;
    o.interleaved = r.rotary_interleaved != 0;
    o.has_position_offset = r.rotary_has_offset != 0;
    o.position_offset = static_cast<std::int64_t>(r.rotary_offset);
    return o;
}

mha::alibi_options alibi_of(const call_record& r)
{
    mha::alibi_options o;
    o.mode = r.alibi == 1 ? mha::alibi_mode::standard : r.alibi == 2 ? mha::alibi_mode::given : mha::alibi_mode::none;
    if (o.mode == mha::alibi_mode::given)
        o.slopes = tensor_of(r.inputs[5]);
    return o;
}

// The fields sdpa_arguments and forward_arguments share.
template <class Arguments>
Arguments arguments_of(const call_record& r)
{
    Arguments a;
    a.query = tensor_of(r.inputs[0]);
    a.key = tensor_of(r.inputs[1]);
    a.value = tensor_of(r.inputs[2]);
    a.attn_mask = mask_of(r.inputs[3]);
    a.is_causal = r.is_causal != 0;
    a.alignment = alignment_of(r.causal_alignment);
    a.need_weights = r.need_weights != 0;
    a.cache = cache_of(r);
    a.out_output_length = out_length_of(r.out_lengths[0]);
    a.out_weights_length = out_length_of(r.out_lengths[1]);
    return a;
}

val status_object(const mha::status& status)
{
    if (status.ok())
        return val::null();
    static const char* const class_names[] = { "Error", "TypeError", "RangeError", "Error" };
    val error = val::object();
    error.set("kind", std::string(class_names[static_cast<int>(status.kind())]));
    error.set("message", status.message());
    val result = val::object();
    result.set("error", error);
    return result;
}

// ---- scaled_dot_product_attention

int plan_attention(mha::scaled_dot_product_attention_op& op, double address)
{
    mailbox& box = mailbox_at(address);
    const call_record& r = box.record;
    mha::sdpa_arguments a = arguments_of<mha::sdpa_arguments>(r);
    a.has_scale = r.has_scale != 0;
    a.scale = r.scale;
    a.rotary = rotary_of(r);
    a.alibi = alibi_of(r);
    a.window = r.window;
    a.softcap = r.softcap;
    return report(box, op.plan(a, true), op.current_plan());
}

void stage_attention_step(mha::scaled_dot_product_attention_op& op, double address, unsigned step)
{
    op.stage(step);
    write_ranges(mailbox_at(address).record, op.current_plan());
}

void run_attention_step(mha::scaled_dot_product_attention_op& op, unsigned step) { op.run_step(step); }

// ---- multi_head_attention

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
    return status_object(mha::multi_head_attention::check_config(config_from(options)));
}

// Embind owns the object; JS frees it with .delete() (MultiHeadAttention.dispose).
mha::multi_head_attention* make_layer(const val& options) { return new mha::multi_head_attention(config_from(options)); }

template <class Layer>
int plan_forward(Layer& layer, double address)
{
    mailbox& box = mailbox_at(address);
    const call_record& r = box.record;
    mha::forward_arguments a = arguments_of<mha::forward_arguments>(r);
    a.key_padding_mask = mask_of(r.inputs[4]);
    a.average_attn_weights = r.average_attn_weights != 0;
    return report(box, layer.plan(a, true), layer.current_plan());
}

template <class Layer>
void run_forward(Layer& layer)
{
    layer.run_staged();
}

// Address of `bytes` of staging memory, 0 if the heap cannot provide them.
template <class Layer>
double staging_area(Layer& layer, double bytes)
{
    return static_cast<double>(reinterpret_cast<std::uintptr_t>(layer.staging_area(static_cast<std::uint64_t>(bytes))));
}

// [{name, ptr, length, shape}] with ptr inside the staging area -> status.
template <class Layer>
val load_weights(Layer& layer, const val& entries)
{
    std::vector<mha::named_weight> weights;
    const auto count = entries["length"].as<std::size_t>();
    for (std::size_t i = 0; i < count; ++i)
    {
        const val entry = entries[i];
        mha::float_tensor_view view;
        view.data = reinterpret_cast<const float*>(entry["ptr"].as<std::uintptr_t>());
        view.length = static_cast<std::uint64_t>(entry["length"].as<double>());
        view.shape = emscripten::vecFromJSArray<std::size_t>(entry["shape"]);
        weights.push_back({ entry["name"].as<std::string>(), view });
    }
    return status_object(layer.load_weights(weights));
}

template <class Layer>
val expected_weights(const Layer& layer)
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

template <class Layer>
mha::kv_cache* create_layer_cache(const Layer& layer, std::size_t batch_size, std::size_t max_length)
{
    return layer.create_cache(batch_size, max_length).release();
}

// ---- self_attention (x in inputs[0]; its positional options are fixed at construction)

mha::self_attention_config self_attention_config_from(const val& o)
{
    mha::self_attention_config c;
    c.embed_dim = o["embedDim"].as<std::size_t>();
    c.num_heads = o["numHeads"].as<std::size_t>();
    c.num_kv_heads = o["numKVHeads"].as<std::size_t>();
    c.head_dim = o["headDim"].as<std::size_t>();
    c.bias = o["bias"].as<bool>();
    c.out_bias = o["outBias"].as<bool>();
    c.has_scale = !o["scale"].isUndefined();
    if (c.has_scale)
        c.scale = o["scale"].as<float>();
    const val rotary = o["rotary"];
    if (!rotary.isUndefined())
    {
        c.rotary.enabled = true;
        c.rotary.base = rotary["base"].as<double>();
        c.rotary.rotary_dim = rotary["rotaryDim"].as<std::size_t>();
        c.rotary.interleaved = rotary["interleaved"].as<bool>();
        if (!rotary["frequencies"].isUndefined())
            c.rotary_frequencies = emscripten::convertJSArrayToNumberVector<float>(rotary["frequencies"]);
        c.rotary.has_position_offset = !rotary["positionOffset"].isUndefined();
        if (c.rotary.has_position_offset)
            c.rotary.position_offset = static_cast<std::int64_t>(rotary["positionOffset"].as<double>());
    }
    const val alibi = o["alibi"];
    if (!alibi.isUndefined())
    {
        c.alibi = alibi["standard"].as<bool>() ? mha::alibi_mode::standard : mha::alibi_mode::given;
        if (c.alibi == mha::alibi_mode::given)
            c.alibi_slopes = emscripten::convertJSArrayToNumberVector<float>(alibi["slopes"]);
    }
    c.window = o["window"].as<std::size_t>();
    c.softcap = o["softcap"].as<float>();
    return c;
}

val check_self_attention_config(const val& options)
{
    return status_object(mha::self_attention::check_config(self_attention_config_from(options)));
}

mha::self_attention* make_self_attention(const val& options)
{
    return new mha::self_attention(self_attention_config_from(options));
}


// ---- linear (x in inputs[0])

mha::linear* make_linear(std::size_t in_features, std::size_t out_features, bool bias)
{
    return new mha::linear({ in_features, out_features, bias });
}

val check_linear_config(std::size_t in_features, std::size_t out_features, bool bias)
{
    return status_object(mha::linear::check_config({ in_features, out_features, bias }));
}

int plan_linear(mha::linear& layer, double address)
{
    mailbox& box = mailbox_at(address);
    const call_record& r = box.record;
    return report(box, layer.plan(tensor_of(r.inputs[0]), out_length_of(r.out_lengths[0]), true), layer.current_plan());
}


// ---- applyRotaryEmbedding (x in inputs[0], the record's rotary fields)

int plan_rotary(mha::rotary_embedding_op& op, double address)
{
    mailbox& box = mailbox_at(address);
    return report(box, op.plan(tensor_of(box.record.inputs[0]), rotary_of(box.record)), op.current_plan());
}

void run_rotary(mha::rotary_embedding_op& op) { op.run(); }

// ---- kv_cache

mha::kv_cache* make_cache(std::size_t batch_size, std::size_t num_heads, std::size_t head_dim, std::size_t value_dim,
                          std::size_t max_length)
{
    return new mha::kv_cache({ batch_size, num_heads, head_dim, value_dim, max_length }, 0);
}

val allocate_cache(mha::kv_cache& cache) { return status_object(cache.allocate()); }
val truncate_cache(mha::kv_cache& cache, std::size_t length) { return status_object(cache.truncate(length)); }
double cache_address(const mha::kv_cache& cache) { return static_cast<double>(reinterpret_cast<std::uintptr_t>(&cache)); }
double cache_bytes(const mha::kv_cache& cache) { return static_cast<double>(cache.bytes()); }
unsigned cache_length(const mha::kv_cache& cache) { return static_cast<unsigned>(cache.length()); }
unsigned cache_max_length(const mha::kv_cache& cache) { return static_cast<unsigned>(cache.max_length()); }

// ---- the mailbox and module facts

mailbox* make_mailbox() { return new mailbox(); }
double mailbox_address(const mailbox& box) { return static_cast<double>(reinterpret_cast<std::uintptr_t>(&box)); }
std::string mailbox_message(const mailbox& box) { return box.message; }

// Byte offsets of the record's fields, for web/lib/call.mjs.
val call_record_layout()
{
    const auto offset = [](const void* field, const void* base) {
        return static_cast<double>(static_cast<const char*>(field) - static_cast<const char*>(base));
    };
    const mailbox box;
    const call_record& r = box.record;
    val layout = val::object();
    layout.set("record", offset(&r, &box));
    layout.set("maxRank", mha::bindings::record_max_rank);
    layout.set("inputs", offset(&r.inputs[0], &r));
    layout.set("inputStride", static_cast<double>(sizeof(record_tensor)));
    layout.set("inputKind", offset(&r.inputs[0].kind, &r.inputs[0]));
    layout.set("inputRank", offset(&r.inputs[0].rank, &r.inputs[0]));
    layout.set("inputDims", offset(&r.inputs[0].dims, &r.inputs[0]));
    layout.set("inputLength", offset(&r.inputs[0].length, &r.inputs[0]));
    layout.set("isCausal", offset(&r.is_causal, &r));
    layout.set("causalAlignment", offset(&r.causal_alignment, &r));
    layout.set("needWeights", offset(&r.need_weights, &r));
    layout.set("averageAttnWeights", offset(&r.average_attn_weights, &r));
    layout.set("hasScale", offset(&r.has_scale, &r));
    layout.set("scale", offset(&r.scale, &r));
    layout.set("cache", offset(&r.cache, &r));
    layout.set("outLengths", offset(&r.out_lengths[0], &r));
    layout.set("rotary", offset(&r.rotary, &r));
    layout.set("rotaryDim", offset(&r.rotary_dim, &r));
    layout.set("rotaryInterleaved", offset(&r.rotary_interleaved, &r));
    layout.set("rotaryHasOffset", offset(&r.rotary_has_offset, &r));
    layout.set("rotaryBase", offset(&r.rotary_base, &r));
    layout.set("rotaryOffset", offset(&r.rotary_offset, &r));
    layout.set("alibi", offset(&r.alibi, &r));
    layout.set("window", offset(&r.window, &r));
    layout.set("softcap", offset(&r.softcap, &r));
    layout.set("inputCount", static_cast<double>(mha::call_input_count));
    layout.set("steps", offset(&r.steps, &r));
    layout.set("hasWeights", offset(&r.has_weights, &r));
    layout.set("workspaceBytes", offset(&r.workspace_bytes, &r));
    layout.set("outputShape", offset(&r.output_shape, &r));
    layout.set("weightsShape", offset(&r.weights_shape, &r));
    layout.set("shapeDims", offset(&r.output_shape.dims, &r.output_shape));
    layout.set("inputRanges", offset(&r.input_ranges[0], &r));
    layout.set("outputRanges", offset(&r.output_ranges[0], &r));
    layout.set("rangeStride", static_cast<double>(sizeof(mha::bindings::record_range)));
    layout.set("rangeHeap", offset(&r.input_ranges[0].heap, &r.input_ranges[0]));
    layout.set("rangeFirst", offset(&r.input_ranges[0].first, &r.input_ranges[0]));
    layout.set("rangeCount", offset(&r.input_ranges[0].count, &r.input_ranges[0]));
    return layout;
}

// What the heap holds: its size now and at most, and malloc's view of it.
val memory_stats()
{
    const struct mallinfo info = mallinfo();
    val stats = val::object();
    stats.set("heapBytes", static_cast<double>(emscripten_get_heap_size()));
    stats.set("maxHeapBytes", static_cast<double>(emscripten_get_heap_max()));
    stats.set("usedBytes", static_cast<double>(static_cast<unsigned>(info.uordblks)));
    stats.set("freeBytes", static_cast<double>(static_cast<unsigned>(info.fordblks)));
    stats.set("freeAtTopBytes", static_cast<double>(static_cast<unsigned>(info.keepcost)));
    return stats;
}

std::string simd_architecture() { return mha::kernel_arch::name(); }

// Embind has no size_t overloads to pick from; unsigned is plenty here.
unsigned set_thread_count(unsigned count) { return static_cast<unsigned>(mha::set_thread_count(count)); }
unsigned thread_count() { return static_cast<unsigned>(mha::thread_count()); }
unsigned max_threads() { return static_cast<unsigned>(mha::max_threads()); }
} // namespace

EMSCRIPTEN_BINDINGS(mha_wasm)
{
    using emscripten::allow_raw_pointers;
    emscripten::class_<mailbox>("CallMailbox")
        .constructor(&make_mailbox, allow_raw_pointers())
        .function("address", &mailbox_address)
        .function("message", &mailbox_message);
    emscripten::class_<mha::scaled_dot_product_attention_op>("AttentionCore")
        .constructor<>()
        .function("plan", &plan_attention)
        .function("stage", &stage_attention_step)
        .function("run", &run_attention_step)
        .function("release", &mha::scaled_dot_product_attention_op::release);
    emscripten::class_<mha::multi_head_attention>("MultiHeadAttentionCore")
        .constructor(&make_layer, allow_raw_pointers())
        .function("loadWeights", &load_weights<mha::multi_head_attention>)
        .function("expectedWeights", &expected_weights<mha::multi_head_attention>)
        .function("stagingArea", &staging_area<mha::multi_head_attention>)
        .function("plan", &plan_forward<mha::multi_head_attention>)
        .function("run", &run_forward<mha::multi_head_attention>)
        .function("releaseCallMemory", &mha::multi_head_attention::release_call_memory)
        .function("createCache", &create_layer_cache<mha::multi_head_attention>, allow_raw_pointers());
    emscripten::class_<mha::self_attention>("SelfAttentionCore")
        .constructor(&make_self_attention, allow_raw_pointers())
        .function("loadWeights", &load_weights<mha::self_attention>)
        .function("expectedWeights", &expected_weights<mha::self_attention>)
        .function("stagingArea", &staging_area<mha::self_attention>)
        .function("plan", &plan_forward<mha::self_attention>)
        .function("run", &run_forward<mha::self_attention>)
        .function("releaseCallMemory", &mha::self_attention::release_call_memory)
        .function("createCache", &create_layer_cache<mha::self_attention>, allow_raw_pointers());
    emscripten::class_<mha::linear>("LinearCore")
        .constructor(&make_linear, allow_raw_pointers())
        .function("loadWeights", &load_weights<mha::linear>)
        .function("expectedWeights", &expected_weights<mha::linear>)
        .function("stagingArea", &staging_area<mha::linear>)
        .function("plan", &plan_linear)
        .function("run", &run_forward<mha::linear>)
        .function("releaseCallMemory", &mha::linear::release_call_memory);
    emscripten::class_<mha::rotary_embedding_op>("RotaryCore")
        .constructor<>()
        .function("plan", &plan_rotary)
        .function("run", &run_rotary);
    emscripten::class_<mha::kv_cache>("KVCacheCore")
        .constructor(&make_cache, allow_raw_pointers())
        .function("allocate", &allocate_cache)
        .function("truncate", &truncate_cache)
        .function("reset", &mha::kv_cache::reset)
        .function("address", &cache_address)
        .function("bytes", &cache_bytes)
        .function("length", &cache_length)
        .function("maxLength", &cache_max_length);
    emscripten::function("callRecordLayout", &call_record_layout);
    emscripten::function("checkConfig", &check_config);
    emscripten::function("checkSelfAttentionConfig", &check_self_attention_config);
    emscripten::function("checkLinearConfig", &check_linear_config);
    emscripten::function("simdArchitecture", &simd_architecture);
    emscripten::function("memoryStats", &memory_stats);
    emscripten::function("setThreadCount", &set_thread_count);
    emscripten::function("threadCount", &thread_count);
    emscripten::function("maxThreads", &max_threads);
}
