// A fully connected layer, PyTorch's nn.Linear: y = x W^T + b over the last
// dimension, x (..., in_features) -> (..., out_features), with the packed
// matrix multiply and thread pool of the attention projections.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "call_plan.hpp"
#include "multi_head_attention.hpp"
#include "status.hpp"
#include "tensor_view.hpp"

namespace mha
{
struct linear_config
{
    std::size_t in_features = 0;
    std::size_t out_features = 0;
    bool bias = true;
};

class linear
{
public:
    static status check_config(const linear_config& config);
    explicit linear(const linear_config& config);
    ~linear();
    linear(const linear&) = delete;
    linear& operator=(const linear&) = delete;

    const linear_config& config() const { return config_; }
    // "weight" (out, in) and, with bias, "bias" (out).
    std::vector<std::pair<std::string, shape_t>> expected_weights() const;
    // All or nothing, like multi_head_attention::load_weights.
    status load_weights(const std::vector<named_weight>& weights);
    void* staging_area(std::uint64_t bytes);

    // x: shape and length only; out_length: the caller's result array (-1 = none).
    status plan(const float_tensor_view& x, std::int64_t out_length, bool stage_inputs);
    const call_plan& current_plan() const { return plan_; }
    void run_staged();
    void run(const float* x);
    void release_call_memory();

private:
    struct state;
    linear_config config_;
    bool config_ok_ = false;
    bool weights_loaded_ = false;
    std::unique_ptr<state> state_;
    call_plan plan_;
};
} // namespace mha
