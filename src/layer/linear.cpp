#include "mha/linear.hpp"

#include <string>

#include "projection.hpp"
#include "thread_pool.hpp"
#include "validate.hpp"
#include "workspace.hpp"

namespace mha
{
struct linear::state
{
    detail::packed_projection projection;
    detail::workspace memory;
    detail::workspace staging;
    std::size_t rows = 0;
    std::size_t input = 0, output = 0, quads = 0;
    bool staged = false;
};

status linear::check_config(const linear_config& config) { return detail::check_linear_config(config); }

linear::linear(const linear_config& config)
    : config_(config)
    , config_ok_(detail::check_linear_config(config).ok())
    , state_(new state)
{
}

linear::~linear() = default;

std::vector<std::pair<std::string, shape_t>> linear::expected_weights() const
{
    std::vector<std::pair<std::string, shape_t>> names { { "weight", { config_.out_features, config_.in_features } } };
    if (config_.bias)
        names.push_back({ "bias", { config_.out_features } });
    return names;
}

status linear::load_weights(const std::vector<named_weight>& weights)
{
    if (!config_ok_)
        return detail::check_linear_config(config_);
    if (status st = detail::check_state_dict(expected_weights(), weights); !st.ok())
        return st;
    detail::packed_projection projection;
    if (!projection.allocate(config_.in_features, config_.out_features, config_.bias))
        return status::range_error("could not allocate the packed weights in the WebAssembly heap (out of memory)");
    projection.pack(detail::find_weight(weights, "weight"), config_.in_features,
                    config_.bias ? detail::find_weight(weights, "bias") : nullptr);
    state_->projection = std::move(projection);
    weights_loaded_ = true;
    return {};
}

void* linear::staging_area(std::uint64_t bytes) { return state_->staging.reserve(bytes) ? state_->staging.bytes() : nullptr; }

void linear::release_call_memory()
{
    state_->memory.release();
    state_->staging.release();
}

status linear::plan(const float_tensor_view& x, std::int64_t out_length, bool stage_inputs)
{
    if (!config_ok_)
        return detail::check_linear_config(config_);
    if (status st = detail::check_linear_input(config_, x); !st.ok())
        return st;
    if (!weights_loaded_)
        return status::state_error("weights are not loaded; call loadWeights({ weight, bias }) first");
    shape_t output_shape = x.shape;
    output_shape.back() = config_.out_features;
    if (status st = detail::check_out_lengths("", out_length, output_shape, -1, {}, false); !st.ok())
        return st;
    const std::uint64_t rows = element_count(x.shape) / config_.in_features;
    detail::workspace_layout layout;
    const std::size_t input = stage_inputs ? layout.add_floats(element_count(x.shape)) : 0;
    const std::size_t output = layout.add_floats(rows * config_.out_features);
    const std::size_t quads = layout.add_floats(detail::input_quads_floats(static_cast<std::size_t>(rows), config_.in_features));
    if (status reserved = detail::reserve(state_->memory, layout); !reserved.ok())
        return reserved;
    state& st = *state_;
    st.rows = static_cast<std::size_t>(rows);
    st.input = input;
    st.output = output;
    st.quads = quads;
    st.staged = stage_inputs;
    plan_.steps = 1;
    plan_.output_shape = output_shape;
    plan_.weights_shape.clear();
    plan_.workspace_bytes = layout.total();
    for (staged_range& r : plan_.inputs)
        r = {};
    if (stage_inputs)
        plan_.inputs[0] = { st.memory.at<float>(input), 0, element_count(x.shape) };
    plan_.outputs[0] = { st.memory.at<float>(output), 0, rows * config_.out_features };
    plan_.outputs[1] = {};
    return {};
}

void linear::run_staged() { run(state_->memory.at<float>(state_->input)); }

void linear::run(const float* x)
{
    const state& st = *state_;
    st.projection.apply(st.memory.at<float>(st.output), config_.out_features, x, config_.in_features, st.rows,
                        st.memory.at<float>(st.quads));
}
} // namespace mha
