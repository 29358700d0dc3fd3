// Native timings of the library's two entry points, for `npm run bench`.
//
// Shape glossary: H heads, L query length, S key length, D head dim,
// E embed dim. SDPA: q (1, H, L, D), k and v (1, H, S, D). Layer: query
// (L, 1, E), key/value (S, 1, E); self-attention (L == S) passes one buffer
// three times, as the JS rows do.
//
// Built twice by bench/CMakeLists.txt: with -mavx2 -mfma (kernel_arch =
// fma3<avx2>) and with -msse2 only (kernel_arch = sse2, the kernels the .wasm
// is compiled from). Inputs come from the same mulberry32 streams as
// bench/inputs.mjs, so both languages see bit-identical data.
//
//   attention_benchmark --mha_shapes=16x16c0w1,1x1024c0w0 [--mha_only=sdpa|layer] [google benchmark flags]
//   attention_benchmark --mha_shapes=... --mha_dump=DIR   (one run per case, outputs to DIR, no timing)
//
// A shape token is <L>x<S>c<causal 0|1>w<needWeights 0|1>. Benchmark names
// are "<sdpa|layer>/L=<L>/S=<S>/causal=<c>/weights=<w>"; bench/native.mjs parses them.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/simd_arch.hpp"
#include "mha/multi_head_attention.hpp"
#include "mha/scaled_dot_product_attention.hpp"

namespace
{
constexpr std::size_t embed_dim = 768;
constexpr std::size_t num_heads = 12;
constexpr std::size_t head_dim = embed_dim / num_heads;

// --- bench/inputs.mjs, line for line -------------------------------------
constexpr std::uint32_t base_seed = 0x6d6861;
enum tag : std::uint32_t
{
    tag_query = 1,
    tag_key = 2,
    tag_value = 3,
    tag_x = 4,
    tag_memory = 5,
    tag_in_proj_weight = 6,
    tag_in_proj_bias = 7,
    tag_out_proj_weight = 8,
    tag_out_proj_bias = 9,
};

std::uint32_t stream_seed(std::uint32_t t, std::uint32_t a = 0, std::uint32_t b = 0)
{
    return base_seed ^ (t * 0x9e3779b9u) ^ (a * 0x85ebca6bu) ^ (b * 0xc2b2ae35u);
}

std::vector<float> uniform(std::size_t n, std::uint32_t seed, double scale = 1.0)
{
    std::vector<float> out(n);
    std::uint32_t state = seed;
    for (std::size_t i = 0; i < n; ++i)
    {
        state += 0x6d2b79f5u;
        std::uint32_t t = state;
        t = (t ^ (t >> 15)) * (t | 1u);
        t ^= t + (t ^ (t >> 7)) * (t | 61u);
        t = t ^ (t >> 14);
        // Computed in double and rounded once, as JS stores into a Float32Array.
        out[i] = static_cast<float>((static_cast<double>(t >> 8) * 0x1p-23 - 1.0) * scale);
    }
    return out;
}
// --------------------------------------------------------------------------

struct bench_shape
{
    std::size_t query_len = 0;
    std::size_t key_len = 0;
    bool causal = false;
    bool need_weights = false;

    std::string suffix() const
    {
        return "/L=" + std::to_string(query_len) + "/S=" + std::to_string(key_len) + "/causal=" + std::to_string(causal) +
               "/weights=" + std::to_string(need_weights);
    }
};

bool parse_shapes(const char* text, std::vector<bench_shape>& shapes)
{
    std::string s(text);
    std::size_t start = 0;
    while (start < s.size())
    {
        std::size_t end = s.find(',', start);
        if (end == std::string::npos)
            end = s.size();
        bench_shape shape;
        unsigned long l = 0, k = 0;
        int c = 0, w = 0;
        if (std::sscanf(s.substr(start, end - start).c_str(), "%lux%luc%dw%d", &l, &k, &c, &w) != 4 || l == 0 || k == 0)
            return false;
        shape.query_len = l;
        shape.key_len = k;
        shape.causal = c != 0;
        shape.need_weights = w != 0;
        shapes.push_back(shape);
        start = end + 1;
    }
    return !shapes.empty();
}

[[noreturn]] void fail(const std::string& what, const mha::status& status)
{
    std::fprintf(stderr, "attention_benchmark: %s failed: %s\n", what.c_str(), status.message().c_str());
    std::exit(2);
}

struct sdpa_case
{
    std::vector<float> query, key, value;
    mha::sdpa_arguments arguments;
    mha::scaled_dot_product_attention_op buffers;
    mha::attention_result result;

    explicit sdpa_case(const bench_shape& shape)
        : query(uniform(num_heads * shape.query_len * head_dim, stream_seed(tag_query, shape.query_len, shape.key_len)))
        , key(uniform(num_heads * shape.key_len * head_dim, stream_seed(tag_key, shape.query_len, shape.key_len)))
        , value(uniform(num_heads * shape.key_len * head_dim, stream_seed(tag_value, shape.query_len, shape.key_len)))
    {
        arguments.query = { query.data(), query.size(), { 1, num_heads, shape.query_len, head_dim } };
        arguments.key = { key.data(), key.size(), { 1, num_heads, shape.key_len, head_dim } };
        arguments.value = { value.data(), value.size(), { 1, num_heads, shape.key_len, head_dim } };
        arguments.is_causal = shape.causal;
        arguments.need_weights = shape.need_weights;
    }

    void run()
    {
        const mha::status status = mha::scaled_dot_product_attention(arguments, buffers, result);
        if (!status.ok())
            fail("scaled_dot_product_attention", status);
    }
};

struct layer_case
{
    std::vector<float> x, memory;
    mha::multi_head_attention layer;
    mha::forward_arguments arguments;
    mha::attention_result result;

    explicit layer_case(const bench_shape& shape)
        : x(uniform(shape.query_len * embed_dim, stream_seed(tag_x, shape.query_len, shape.key_len)))
        , layer(mha::attention_config{ embed_dim, num_heads })
    {
        const std::size_t e = embed_dim;
        const std::vector<float> in_w = uniform(3 * e * e, stream_seed(tag_in_proj_weight, e), std::sqrt(6.0 / (4 * e)));
        const std::vector<float> in_b = uniform(3 * e, stream_seed(tag_in_proj_bias, e), 0.1);
        const std::vector<float> out_w = uniform(e * e, stream_seed(tag_out_proj_weight, e), std::sqrt(6.0 / (2 * e)));
        const std::vector<float> out_b = uniform(e, stream_seed(tag_out_proj_bias, e), 0.1);
        const mha::status loaded = layer.load_weights({
            { "in_proj_weight", { in_w.data(), in_w.size(), {} } },
            { "in_proj_bias", { in_b.data(), in_b.size(), {} } },
            { "out_proj.weight", { out_w.data(), out_w.size(), {} } },
            { "out_proj.bias", { out_b.data(), out_b.size(), {} } },
        });
        if (!loaded.ok())
            fail("load_weights", loaded);
        const bool self_attention = shape.query_len == shape.key_len;
        if (!self_attention)
            memory = uniform(shape.key_len * e, stream_seed(tag_memory, shape.query_len, shape.key_len));
        const std::vector<float>& kv = self_attention ? x : memory;
        arguments.query = { x.data(), x.size(), { shape.query_len, 1, e } };
        arguments.key = { kv.data(), kv.size(), { shape.key_len, 1, e } };
        arguments.value = arguments.key;
        arguments.need_weights = shape.need_weights;
        arguments.average_attn_weights = false;
        arguments.is_causal = shape.causal;
    }

    void run()
    {
        const mha::status status = layer.forward(arguments, result);
        if (!status.ok())
            fail("multi_head_attention::forward", status);
    }
};

// Useful FLOPs, the same formulas as bench/flops.mjs: 2·D per (query, key)
// pair for Q·Kᵀ and 2·D for P·V, per head, counting only unmasked pairs;
// softmax is not counted. The layer adds 2·E² per projected row.
double attended_pairs(const bench_shape& s)
{
    if (!s.causal)
        return static_cast<double>(s.query_len) * s.key_len;
    double pairs = 0;
    for (std::size_t i = 0; i < s.query_len; ++i)
        pairs += static_cast<double>(std::min(i + 1, s.key_len));
    return pairs;
}

double sdpa_flops(const bench_shape& s) { return 4.0 * num_heads * head_dim * attended_pairs(s); }

double layer_flops(const bench_shape& s)
{
    const double e = embed_dim;
    return 2.0 * e * e * (2.0 * s.query_len + 2.0 * s.key_len) + sdpa_flops(s);
}

template <class Case>
void run_benchmark(benchmark::State& state, const bench_shape& shape, double flops)
{
    Case c(shape);
    for (auto _ : state)
    {
        c.run();
        benchmark::DoNotOptimize(c.result.output);
        benchmark::ClobberMemory();
    }
    state.counters["FLOPS"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

bool write_floats(const std::string& path, const float* data, std::size_t n)
{
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f)
        return false;
    const bool ok = std::fwrite(data, sizeof(float), n, f) == n;
    return std::fclose(f) == 0 && ok;
}

template <class Case>
bool dump(const std::string& dir, const std::string& name, const bench_shape& shape)
{
    Case c(shape);
    c.run();
    const std::string base = dir + "/" + name + "_" + std::to_string(shape.query_len) + "x" + std::to_string(shape.key_len) +
                             "c" + std::to_string(shape.causal) + "w" + std::to_string(shape.need_weights);
    bool ok = write_floats(base + ".out.f32", c.result.output, mha::element_count(c.result.output_shape));
    if (c.result.weights)
        ok = ok && write_floats(base + ".weights.f32", c.result.weights, mha::element_count(c.result.weights_shape));
    return ok;
}
} // namespace

int main(int argc, char** argv)
{
    benchmark::Initialize(&argc, argv);
    std::vector<bench_shape> shapes;
    const char* dump_dir = nullptr;
    bool want_sdpa = true, want_layer = true;
    for (int i = 1; i < argc; ++i)
    {
        if (std::strcmp(argv[i], "--mha_only=sdpa") == 0)
            want_layer = false;
        else if (std::strcmp(argv[i], "--mha_only=layer") == 0)
            want_sdpa = false;
        else
        if (std::strncmp(argv[i], "--mha_shapes=", 13) == 0)
        {
            if (!parse_shapes(argv[i] + 13, shapes))
            {
                std::fprintf(stderr, "attention_benchmark: bad --mha_shapes value '%s'; expected e.g. 128x128c1w0,1x1024c0w0\n", argv[i] + 13);
                return 1;
            }
        }
        else if (std::strncmp(argv[i], "--mha_dump=", 11) == 0)
            dump_dir = argv[i] + 11;
        else
        {
            std::fprintf(stderr, "attention_benchmark: unknown argument '%s'\n", argv[i]);
            return 1;
        }
    }
    if (shapes.empty())
    {
        std::fprintf(stderr, "attention_benchmark: --mha_shapes=<L>x<S>c<0|1>w<0|1>[,...] is required\n");
        return 1;
    }
    if (dump_dir)
    {
        for (const bench_shape& s : shapes)
            if ((want_sdpa && !dump<sdpa_case>(dump_dir, "sdpa", s)) || (want_layer && !dump<layer_case>(dump_dir, "layer", s)))
            {
                std::fprintf(stderr, "attention_benchmark: cannot write outputs to %s\n", dump_dir);
                return 2;
            }
        return 0;
    }
    benchmark::AddCustomContext("kernel_arch", mha::kernel_arch::name());
    for (const bench_shape& s : shapes)
    {
        // Wall-clock time, as performance.now() measures the JS rows.
        if (want_sdpa)
            benchmark::RegisterBenchmark(("sdpa" + s.suffix()).c_str(),
                                         [s](benchmark::State& st) { run_benchmark<sdpa_case>(st, s, sdpa_flops(s)); })
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
        if (want_layer)
            benchmark::RegisterBenchmark(("layer" + s.suffix()).c_str(),
                                         [s](benchmark::State& st) { run_benchmark<layer_case>(st, s, layer_flops(s)); })
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
