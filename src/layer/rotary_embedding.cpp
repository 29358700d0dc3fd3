#include "mha/rotary_embedding.hpp"

#include <string>

#include "rotary.hpp"
#include "validate.hpp"
#include "workspace.hpp"

namespace mha
{
struct rotary_embedding_op::state
{
    detail::workspace memory;
    rotary_options options;
    std::size_t heads = 0, length = 0, head_dim = 0;
    std::size_t data = 0, table = 0;
};

rotary_embedding_op::rotary_embedding_op()
    : state_(new state)
{
}

rotary_embedding_op::~rotary_embedding_op() = default;

status rotary_embedding_op::plan(const float_tensor_view& x, const rotary_options& options)
{
    if (status st = detail::check_rotary_input(x); !st.ok())
        return st;
    const std::size_t head_dim = x.shape[3];
    if (status st = detail::check_positional(options, {}, head_dim, x.shape[1], false); !st.ok())
        return st;
    detail::workspace_layout layout;
    const std::size_t data = layout.add_floats(element_count(x.shape));
    const std::size_t table = layout.add_floats(detail::rotary_table_floats(options, head_dim, x.shape[2]));
    if (status reserved = detail::reserve(state_->memory, layout); !reserved.ok())
        return reserved;
    state& st = *state_;
    st.options = options;
    st.heads = x.shape[0] * x.shape[1];
    st.length = x.shape[2];
    st.head_dim = head_dim;
    st.data = data;
    st.table = table;
    plan_.steps = 1;
    plan_.output_shape = x.shape;
    plan_.weights_shape.clear();
    plan_.workspace_bytes = layout.total();
    for (staged_range& r : plan_.inputs)
        r = {};
    plan_.inputs[0] = { st.memory.at<float>(data), 0, element_count(x.shape) };
    plan_.outputs[0] = { st.memory.at<float>(data), 0, element_count(x.shape) };
    plan_.outputs[1] = {};
    return {};
}

void rotary_embedding_op::run()
{
    const state& st = *state_;
    float* table = st.memory.at<float>(st.table);
    detail::build_rotary_table(st.options, st.head_dim, st.options.position_offset, st.length, table);
    float* data = st.memory.at<float>(st.data);
    for (std::size_t head = 0; head < st.heads; ++head)
        detail::apply_rotary(st.options, st.head_dim, table, 0, data + head * st.length * st.head_dim, st.length, st.head_dim);
}
} // namespace mha
