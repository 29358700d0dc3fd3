// The mailbox between web/lib/call.mjs and the plan/run entry points.
//
// JavaScript writes a call's shapes, lengths and flags here, calls plan with
// the record's address, and reads back the plan: result shapes and, per step,
// where to write each input and read each result. Plain numbers in linear
// memory, so a call crosses into WebAssembly with no JS objects to convert.
// Field offsets reach JavaScript through callRecordLayout(), never as
// constants written twice.
#pragma once

#include <cstdint>

#include "mha/call_plan.hpp"

namespace mha::bindings
{
// Dimensions a record can carry; shapes are checked in C++, so this is only
// large enough that a wrong rank is reported by the library, not the transport.
constexpr std::uint32_t record_max_rank = 8;

enum record_kind : std::uint32_t
{
    record_absent = 0,
    record_float32 = 1,
    record_boolean = 2,
    record_additive = 3,
};

struct record_tensor
{
    std::uint32_t kind;
    std::uint32_t rank;
    std::uint32_t dims[record_max_rank];
    // Elements the caller's array holds (a double: JavaScript lengths can pass 2^32).
    double length;
};

struct record_range
{
    // Byte address in the heap; 0 when the slot is unused this step.
    std::uint32_t heap;
    std::uint32_t unused;
    double first;
    double count;
};

struct record_shape
{
    std::uint32_t rank;
    std::uint32_t dims[record_max_rank];
};

struct call_record
{
    // Written by JavaScript.
    record_tensor inputs[call_input_count];
    std::uint32_t is_causal;
    // 0 automatic, 1 top-left, 2 bottom-right.
    std::uint32_t causal_alignment;
    std::uint32_t need_weights;
    std::uint32_t average_attn_weights;
    std::uint32_t has_scale;
    float scale;
    // Address of the kv_cache, 0 = none.
    std::uint32_t cache;
    std::uint32_t unused;
    // Lengths of the caller's `out` arrays, -1 = none.
    double out_lengths[call_output_count];
    // Positional options (mha/positional.hpp); 0 = off for each.
    std::uint32_t rotary;
    std::uint32_t rotary_dim;
    std::uint32_t rotary_interleaved;
    std::uint32_t rotary_has_offset;
    double rotary_base;
    double rotary_offset;
    // 0 none, 1 standard slopes, 2 given (inputs[alibi_slopes]).
    std::uint32_t alibi;
    std::uint32_t window;
    float softcap;
    std::uint32_t unused2;
    // Written by plan and run.
    std::uint32_t steps;
    std::uint32_t has_weights;
    // Bytes the call reserved (its workspace).
    double workspace_bytes;
    record_shape output_shape;
    record_shape weights_shape;
    record_range input_ranges[call_input_count];
    record_range output_ranges[call_output_count];
};
} // namespace mha::bindings
