#!/usr/bin/python3
"""Write the ONNX graphs that `npm run bench` runs in onnxruntime-web.

Command (bench/run.mjs runs it when bench/.cache/onnx/manifest.json is missing
or stale; needs Debian's python3-onnx, `apt-get install -y python3-onnx`):

    /usr/bin/python3 scripts/make_onnx_models.py --weights bench/.cache/layer_weights.bin \
        --linear-weights bench/.cache/linear_weights.bin --out bench/.cache/onnx

Shape letters: B batch (1), H heads, L query length, S key length, E embed
dim, D = E / H. L and S are symbolic, so one file serves every sequence length.

Files (each a graph ORT can run; the bench keeps the fastest SDPA variant that
computes the outputs a row needs):

  sdpa_mha_{full,causal}.onnx   com.microsoft MultiHeadAttention (contrib op):
                                query (B, L, E), key/value (B, S, E) -> (B, L, E);
                                causal through its `unidirectional` attribute.
  sdpa_attn23_{full,causal}_{w,nw}.onnx
                                opset-23 Attention: Q (B, H, L, D), K/V (B, H, S, D),
                                is_causal; `_w` also returns the softmax
                                probabilities (qk_matmul_output_mode = 3).
  sdpa_ops_{full,causal}.onnx   the same computation spelled with plain ops
                                (MatMul, Mul, Add(mask), Softmax, MatMul) on
                                (B, H, L, D); outputs Y and the probabilities.
  layer_{full,causal}.onnx      nn.MultiheadAttention as plain ops
                                (MatMul/Add/Reshape/Transpose/MatMul/Div/Add(mask)/
                                Softmax/MatMul/Transpose/Reshape/MatMul/Add), the
                                weights stored as initializers.

  decode_sdpa_{mha,attn23,ops}.onnx
                                one decoding step with a key/value cache kept by
                                ORT: the T new tokens' q/k/v plus past_key and
                                past_value (B, H, P, D) in, Y plus present_key and
                                present_value (B, H, P+T, D) out (ORT does the
                                concatenation). mha: com.microsoft
                                MultiHeadAttention, q/k/v (B, T, E), unidirectional;
                                attn23: opset-23 Attention, Q/K/V (B, H, T, D),
                                is_causal; ops: Concat + MatMul/Div/Softmax/MatMul
                                on (B, H, T, D), no mask (T = 1 only: the one new
                                query sees every key).
  decode_layer_{mha,attn23,ops}.onnx
                                the layer's decoding step: x (B, T, E) and
                                past_key/past_value in; in-projection MatMul+Add,
                                attention with past/present (the contrib op, opset-23
                                Attention on 3-D inputs, or plain ops with Concat),
                                output projection MatMul+Add; Y (B, T, E) and
                                present_key/present_value (B, H, P+T, D) out.
  decode_sdpa_attn23_nopast.onnx, decode_layer_attn23_nopresent.onnx
                                the same step without past/present, for a caller
                                that keeps the cache itself, in (B, S, E) rows:
                                opset-23 Attention on 3-D Q (B, T, E) and all keys
                                and values K/V (B, S, E); the layer graph takes the
                                cached projected rows (B, P, E), concatenates the
                                new token's, and also returns that token's k and v
                                (B, T, E) for the caller to append. T = 1 only
                                (no mask).
  decode_kv_proj.onnx           x (B, S, E) -> the projected keys and values
                                (B, H, S, D): the bench builds ORT's past_key /
                                past_value from it (not timed).

  gqa_decode_gqa.onnx           bench/decoder_options.mjs: a grouped-query decoding
                                step, com.microsoft GroupQueryAttention (num_heads 32,
                                kv_num_heads 8, D 64): query (B, T, 32 D), key/value
                                (B, T, 8 D), past_key/past_value (B, 8, P, D),
                                seqlens_k (B) int32 = P + T - 1, total_sequence_length
                                int32 scalar = P + T -> output (B, T, 32 D) and
                                present_key/present_value (B, 8, P + T, D).
  gqa_decode_attn23.onnx        the same step with opset-23 Attention on 4-D
                                Q (B, 32, T, D), K/V (B, 8, T, D) and the past
                                (B, 8, P, D), is_causal.
  window_gqa.onnx               a causal prompt with a sliding window, no past:
                                GroupQueryAttention (num_heads = kv_num_heads = 8),
                                local_window_size = 255 (the query's own key and the
                                255 before it: mha-wasm's window 256), q/k/v (B, L, 8 D).
  linear_<in>x<out>.onnx        with --linear-weights (bench/linear.mjs): nn.Linear
                                as MatMul + Add, x (R, in) -> (R, out), W^T (in, out)
                                and b (out) stored as initializers (W transposed
                                once, so MatMul reads it as it is); one file per
                                layer in the weights file.

Causal graphs of the plain-op kind take an additive (L, S) mask input (0 or
-inf); the harness builds it once per shape, outside the timed region.

The linear weights file holds, for each layer in turn, the int32 pair
(in, out), then weight (out, in) and bias (out) as float32 (PyTorch's layout).

The layer weights come from the bench (a raw float32 file in PyTorch order:
in_proj_weight (3E, E), in_proj_bias (3E), out_proj.weight (E, E),
out_proj.bias (E)), so ORT computes with exactly the weights mha-wasm loads.
"""
import argparse
import hashlib
import json
import os
import sys

try:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as error:  # the bench prints this message as it is
    sys.exit(f"make_onnx_models.py: {error}. Install Debian's python3-onnx: apt-get install -y python3-onnx")

EMBED_DIM = 768
NUM_HEADS = 12
HEAD_DIM = EMBED_DIM // NUM_HEADS
FLOAT = TensorProto.FLOAT
# Debian's onnx 1.12 knows opsets up to 17; the Attention op needs 23, which
# ORT 1.30 implements. Its checker would reject opset 23, so those files are
# written without onnx.checker and with an IR version new enough for opset 23.
PLAIN_OPSET = 17
ATTENTION_OPSET = 23
ATTENTION_IR_VERSION = 10


def value(name, dims):
    return helper.make_tensor_value_info(name, FLOAT, dims)


def save(graph, path, opset, domains=()):
    imports = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domains]
    model = helper.make_model(graph, opset_imports=imports, producer_name="mha-wasm bench")
    if opset <= PLAIN_OPSET:
        onnx.checker.check_model(model)
    else:
        model.ir_version = ATTENTION_IR_VERSION
    onnx.save(model, path)


def mha_contrib(causal):
    """MultiHeadAttention (com.microsoft): the fused attention kernel ORT ships for BERT-like models."""
    node = helper.make_node(
        "MultiHeadAttention", ["query", "key", "value"], ["Y"], domain="com.microsoft",
        num_heads=NUM_HEADS, unidirectional=int(causal))
    return helper.make_graph(
        [node], "sdpa_mha",
        [value("query", [1, "L", EMBED_DIM]), value("key", [1, "S", EMBED_DIM]), value("value", [1, "S", EMBED_DIM])],
        [value("Y", [1, "L", EMBED_DIM])])


def attention23(causal, weights):
    """ONNX opset-23 Attention on 4-D (B, H, L, D) inputs."""
    outputs = ["Y", "", "", "P"] if weights else ["Y"]
    attributes = {"is_causal": int(causal)}
    if weights:
        attributes["qk_matmul_output_mode"] = 3  # the probabilities, after softmax
    node = helper.make_node("Attention", ["Q", "K", "V"], outputs, **attributes)
    graph_outputs = [value("Y", [1, NUM_HEADS, "L", HEAD_DIM])]
    if weights:
        # No declared shape: ORT infers (1, H, -1, 0) for this optional output and would warn on every run.
        graph_outputs.append(value("P", None))
    return helper.make_graph(
        [node], "sdpa_attn23",
        [value("Q", [1, NUM_HEADS, "L", HEAD_DIM]), value("K", [1, NUM_HEADS, "S", HEAD_DIM]),
         value("V", [1, NUM_HEADS, "S", HEAD_DIM])],
        graph_outputs)


def attention_nodes(q, k, v, causal, prefix=""):
    """Scores, mask, softmax and P.V on (B, H, L, D) tensors; returns (nodes, Y, P)."""
    p = prefix
    nodes = [
        helper.make_node("Transpose", [k], [p + "Kt"], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", [q, p + "Kt"], [p + "scores"]),
        helper.make_node("Div", [p + "scores", "sqrt_d"], [p + "scaled"]),
    ]
    logits = p + "scaled"
    if causal:
        nodes.append(helper.make_node("Add", [logits, "mask"], [p + "masked"]))
        logits = p + "masked"
    nodes += [
        helper.make_node("Softmax", [logits], ["P"], axis=-1),
        helper.make_node("MatMul", ["P", v], [p + "Y"]),
    ]
    return nodes, p + "Y", "P"


def sqrt_d():
    return numpy_helper.from_array(np.array(np.sqrt(HEAD_DIM), dtype=np.float32), "sqrt_d")


def sdpa_ops(causal):
    nodes, y, _ = attention_nodes("Q", "K", "V", causal, prefix="attn_")
    nodes.append(helper.make_node("Identity", [y], ["Y"]))
    inputs = [value("Q", [1, NUM_HEADS, "L", HEAD_DIM]), value("K", [1, NUM_HEADS, "S", HEAD_DIM]),
              value("V", [1, NUM_HEADS, "S", HEAD_DIM])]
    if causal:
        inputs.append(value("mask", ["L", "S"]))
    return helper.make_graph(
        nodes, "sdpa_ops", inputs,
        [value("Y", [1, NUM_HEADS, "L", HEAD_DIM]), value("P", [1, NUM_HEADS, "L", "S"])],
        initializer=[sqrt_d()])


def read_weights(path):
    e = EMBED_DIM
    flat = np.fromfile(path, dtype="<f4")
    sizes = [3 * e * e, 3 * e, e * e, e]
    if flat.size != sum(sizes):
        sys.exit(f"make_onnx_models.py: {path} holds {flat.size} floats, expected {sum(sizes)} (E={e})")
    parts = np.split(flat, np.cumsum(sizes)[:-1])
    return {
        "in_proj_weight": parts[0].reshape(3 * e, e),
        "in_proj_bias": parts[1],
        "out_proj.weight": parts[2].reshape(e, e),
        "out_proj.bias": parts[3],
    }


def layer(causal, w):
    """nn.MultiheadAttention: x (B, L, E) and memory (B, S, E); (L, 1, E) is the same bytes as (1, L, E)."""
    e = EMBED_DIM
    in_w, in_b = w["in_proj_weight"], w["in_proj_bias"]
    init = [sqrt_d(),
            numpy_helper.from_array(np.array([0, -1, NUM_HEADS, HEAD_DIM], dtype=np.int64), "split_heads"),
            numpy_helper.from_array(np.array([0, -1, e], dtype=np.int64), "merge_heads"),
            numpy_helper.from_array(np.ascontiguousarray(w["out_proj.weight"].T), "Wo_t"),
            numpy_helper.from_array(w["out_proj.bias"], "bo")]
    nodes = []
    heads = {}
    # PyTorch computes x W^T + b; the initializers hold W^T so MatMul streams them as they are.
    for i, (name, source, perm) in enumerate([("q", "x", [0, 2, 1, 3]), ("k", "memory", [0, 2, 1, 3]),
                                              ("v", "memory", [0, 2, 1, 3])]):
        init.append(numpy_helper.from_array(np.ascontiguousarray(in_w[i * e:(i + 1) * e].T), f"W{name}_t"))
        init.append(numpy_helper.from_array(in_b[i * e:(i + 1) * e].copy(), f"b{name}"))
        nodes += [
            helper.make_node("MatMul", [source, f"W{name}_t"], [f"{name}_mm"]),
            helper.make_node("Add", [f"{name}_mm", f"b{name}"], [f"{name}_proj"]),
            helper.make_node("Reshape", [f"{name}_proj", "split_heads"], [f"{name}_bshd"]),
            helper.make_node("Transpose", [f"{name}_bshd"], [f"{name}_heads"], perm=perm),
        ]
        heads[name] = f"{name}_heads"
    attention, y, _ = attention_nodes(heads["q"], heads["k"], heads["v"], causal, prefix="attn_")
    nodes += attention
    nodes += [
        helper.make_node("Transpose", [y], ["y_bshd"], perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["y_bshd", "merge_heads"], ["y_merged"]),
        helper.make_node("MatMul", ["y_merged", "Wo_t"], ["out_mm"]),
        helper.make_node("Add", ["out_mm", "bo"], ["Y"]),
    ]
    inputs = [value("x", [1, "L", e]), value("memory", [1, "S", e])]
    if causal:
        inputs.append(value("mask", ["L", "S"]))
    return helper.make_graph(
        nodes, "mha_layer", inputs,
        [value("Y", [1, "L", e]), value("P", [1, NUM_HEADS, "L", "S"])], initializer=init)


# Decoding with a key/value cache (bench/decode.mjs). T new tokens, P cached
# ones; ORT receives the cache as past_key/past_value (B, H, P, D), the layout
# both attention ops require for it, and returns present_key/present_value
# (B, H, P+T, D), which the caller feeds back as the next step's past.
PAST_DIMS = [1, NUM_HEADS, "P", HEAD_DIM]
PRESENT_DIMS = [1, NUM_HEADS, "P_plus_T", HEAD_DIM]


def past_inputs():
    return [value("past_key", PAST_DIMS), value("past_value", PAST_DIMS)]


def present_outputs():
    return [value("present_key", PRESENT_DIMS), value("present_value", PRESENT_DIMS)]


def mha_past_node(q, k, v, y):
    """MultiHeadAttention (com.microsoft) with past/present. Its inputs are
    query, key, value, bias, key_padding_mask, attention_bias, past_key,
    past_value: q/k/v (B, T, E) and past (B, H, P, D) (its helper rejects a 4-D
    key together with past_key); outputs Y (B, T, E), present_key, present_value.
    unidirectional masks bottom-right: new token i sees the P past ones and
    new tokens 0..i."""
    return helper.make_node(
        "MultiHeadAttention", [q, k, v, "", "", "", "past_key", "past_value"],
        [y, "present_key", "present_value"], domain="com.microsoft",
        num_heads=NUM_HEADS, unidirectional=1)


def attn23_past_node(q, k, v, y, three_d):
    """Opset-23 Attention with past/present: inputs Q, K, V, attn_mask,
    past_key, past_value; outputs Y, present_key, present_value. Q/K/V are
    (B, H, T, D), or (B, T, E) with q_num_heads/kv_num_heads set; the past is
    (B, H, P, D) either way. ORT's is_causal offsets the diagonal by P (and
    skips the mask for T = 1 with a past)."""
    attributes = {"is_causal": 1}
    if three_d:
        attributes.update(q_num_heads=NUM_HEADS, kv_num_heads=NUM_HEADS)
    return helper.make_node(
        "Attention", [q, k, v, "", "past_key", "past_value"],
        [y, "present_key", "present_value"], **attributes)


def concat_attention_nodes(q, k, v, y, prefix):
    """Plain ops on (B, H, T, D): present = Concat(past, new) on the sequence
    axis, then MatMul/Div/Softmax/MatMul. No mask: valid for T = 1 only."""
    p = prefix
    return [
        helper.make_node("Concat", ["past_key", k], ["present_key"], axis=2),
        helper.make_node("Concat", ["past_value", v], ["present_value"], axis=2),
        helper.make_node("Transpose", ["present_key"], [p + "Kt"], perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", [q, p + "Kt"], [p + "scores"]),
        helper.make_node("Div", [p + "scores", "sqrt_d"], [p + "scaled"]),
        helper.make_node("Softmax", [p + "scaled"], [p + "P"], axis=-1),
        helper.make_node("MatMul", [p + "P", "present_value"], [y]),
    ]


def decode_sdpa_mha():
    return helper.make_graph(
        [mha_past_node("query", "key", "value", "Y")], "decode_sdpa_mha",
        [value("query", [1, "T", EMBED_DIM]), value("key", [1, "T", EMBED_DIM]),
         value("value", [1, "T", EMBED_DIM])] + past_inputs(),
        [value("Y", [1, "T", EMBED_DIM])] + present_outputs())


def decode_sdpa_attn23():
    heads = [1, NUM_HEADS, "T", HEAD_DIM]
    return helper.make_graph(
        [attn23_past_node("Q", "K", "V", "Y", three_d=False)], "decode_sdpa_attn23",
        [value("Q", heads), value("K", heads), value("V", heads)] + past_inputs(),
        [value("Y", heads)] + present_outputs())


def decode_sdpa_ops():
    heads = [1, NUM_HEADS, "T", HEAD_DIM]
    return helper.make_graph(
        concat_attention_nodes("Q", "K", "V", "Y", "attn_"), "decode_sdpa_ops",
        [value("Q", heads), value("K", heads), value("V", heads)] + past_inputs(),
        [value("Y", heads)] + present_outputs(), initializer=[sqrt_d()])


def projection(name, source, w, b, init):
    """source (B, T, E) x W^T + b, with W^T stored as an initializer (as layer() does)."""
    init.append(numpy_helper.from_array(np.ascontiguousarray(w.T), f"W{name}_t"))
    init.append(numpy_helper.from_array(b.copy(), f"b{name}"))
    return [helper.make_node("MatMul", [source, f"W{name}_t"], [f"{name}_mm"]),
            helper.make_node("Add", [f"{name}_mm", f"b{name}"], [f"{name}_proj"])], f"{name}_proj"


def to_heads(name, source, nodes):
    """(B, T, E) -> (B, H, T, D)."""
    nodes += [helper.make_node("Reshape", [source, "split_heads"], [f"{name}_bshd"]),
              helper.make_node("Transpose", [f"{name}_bshd"], [f"{name}_heads"], perm=[0, 2, 1, 3])]
    return f"{name}_heads"


def decode_layer(w, kind):
    """nn.MultiheadAttention's decoding step on x (B, T, E) with past/present."""
    e = EMBED_DIM
    in_w, in_b = w["in_proj_weight"], w["in_proj_bias"]
    init = [numpy_helper.from_array(np.array([0, -1, NUM_HEADS, HEAD_DIM], dtype=np.int64), "split_heads"),
            numpy_helper.from_array(np.array([0, -1, e], dtype=np.int64), "merge_heads")]
    nodes, proj = [], {}
    for i, name in enumerate("qkv"):
        more, proj[name] = projection(name, "x", in_w[i * e:(i + 1) * e], in_b[i * e:(i + 1) * e], init)
        nodes += more
    if kind == "mha":
        nodes.append(mha_past_node(proj["q"], proj["k"], proj["v"], "attn"))
    elif kind == "attn23":
        nodes.append(attn23_past_node(proj["q"], proj["k"], proj["v"], "attn", three_d=True))
    else:
        init.append(sqrt_d())
        heads = {name: to_heads(name, proj[name], nodes) for name in "qkv"}
        nodes += concat_attention_nodes(heads["q"], heads["k"], heads["v"], "attn_heads", "attn_")
        nodes += [helper.make_node("Transpose", ["attn_heads"], ["attn_bshd"], perm=[0, 2, 1, 3]),
                  helper.make_node("Reshape", ["attn_bshd", "merge_heads"], ["attn"])]
    more, _ = projection("o", "attn", w["out_proj.weight"], w["out_proj.bias"], init)
    nodes += more
    nodes.append(helper.make_node("Identity", ["o_proj"], ["Y"]))
    return helper.make_graph(
        nodes, f"decode_layer_{kind}", [value("x", [1, "T", e])] + past_inputs(),
        [value("Y", [1, "T", e])] + present_outputs(), initializer=init)


def attn23_rows_node(q, k, v, y):
    """Opset-23 Attention on 3-D (B, T, E) query and (B, S, E) keys/values, no
    past and no mask: the one new query sees every key (T = 1)."""
    return helper.make_node("Attention", [q, k, v], [y], q_num_heads=NUM_HEADS, kv_num_heads=NUM_HEADS)


def decode_sdpa_attn23_nopast():
    return helper.make_graph(
        [attn23_rows_node("Q", "K", "V", "Y")], "decode_sdpa_attn23_nopast",
        [value("Q", [1, "T", EMBED_DIM]), value("K", [1, "S", EMBED_DIM]), value("V", [1, "S", EMBED_DIM])],
        [value("Y", [1, "T", EMBED_DIM])])


def decode_layer_nopresent(w):
    """The layer step with the cache kept by the caller as projected rows
    past_key_rows/past_value_rows (B, P, E): Concat with the new token's k/v,
    attention, output projection; Y and the new token's k/v (B, T, E) out."""
    e = EMBED_DIM
    in_w, in_b = w["in_proj_weight"], w["in_proj_bias"]
    init, nodes, proj = [], [], {}
    for i, name in enumerate("qkv"):
        more, proj[name] = projection(name, "x", in_w[i * e:(i + 1) * e], in_b[i * e:(i + 1) * e], init)
        nodes += more
    nodes += [
        helper.make_node("Concat", ["past_key_rows", proj["k"]], ["keys"], axis=1),
        helper.make_node("Concat", ["past_value_rows", proj["v"]], ["values"], axis=1),
        attn23_rows_node(proj["q"], "keys", "values", "attn"),
    ]
    more, _ = projection("o", "attn", w["out_proj.weight"], w["out_proj.bias"], init)
    nodes += more
    nodes += [helper.make_node("Identity", ["o_proj"], ["Y"]),
              helper.make_node("Identity", [proj["k"]], ["new_key"]),
              helper.make_node("Identity", [proj["v"]], ["new_value"])]
    rows = [1, "P", e]
    return helper.make_graph(
        nodes, "decode_layer_nopresent",
        [value("x", [1, "T", e]), value("past_key_rows", rows), value("past_value_rows", rows)],
        [value("Y", [1, "T", e]), value("new_key", [1, "T", e]), value("new_value", [1, "T", e])], initializer=init)


def decode_kv_proj(w):
    """x (B, S, E) -> K, V (B, H, S, D): the layer's projected keys and values."""
    e = EMBED_DIM
    in_w, in_b = w["in_proj_weight"], w["in_proj_bias"]
    init = [numpy_helper.from_array(np.array([0, -1, NUM_HEADS, HEAD_DIM], dtype=np.int64), "split_heads")]
    nodes = []
    for i, name in ((1, "k"), (2, "v")):
        more, proj = projection(name, "x", in_w[i * e:(i + 1) * e], in_b[i * e:(i + 1) * e], init)
        nodes += more
        nodes += [helper.make_node("Reshape", [proj, "split_heads"], [f"{name}_bshd"]),
                  helper.make_node("Transpose", [f"{name}_bshd"], [name.upper()], perm=[0, 2, 1, 3])]
    heads = [1, NUM_HEADS, "S", HEAD_DIM]
    return helper.make_graph(nodes, "decode_kv_proj", [value("x", [1, "S", e])],
                             [value("K", heads), value("V", heads)], initializer=init)


# Part 2 (bench/linear.mjs, bench/decoder_options.mjs).
GQA_HEADS = 32
GQA_KV_HEADS = 8
GQA_HEAD_DIM = 64
WINDOW_HEADS = 8
WINDOW = 256
INT32 = TensorProto.INT32


def read_linear_weights(path):
    """[(in, out, weight (out, in), bias (out)), ...] from the bench's file."""
    raw = open(path, "rb").read()
    layers, offset = [], 0
    while offset < len(raw):
        fin, fout = np.frombuffer(raw, dtype="<i4", count=2, offset=offset)
        offset += 8
        w = np.frombuffer(raw, dtype="<f4", count=fin * fout, offset=offset).reshape(fout, fin)
        offset += 4 * fin * fout
        b = np.frombuffer(raw, dtype="<f4", count=fout, offset=offset)
        offset += 4 * fout
        layers.append((int(fin), int(fout), w, b))
    return layers


def linear(fin, fout, w, b):
    """nn.Linear: x (R, in) -> x W^T + b, W^T stored so MatMul streams it as it is."""
    init = [numpy_helper.from_array(np.ascontiguousarray(w.T), "W_t"), numpy_helper.from_array(b.copy(), "b")]
    nodes = [helper.make_node("MatMul", ["x", "W_t"], ["mm"]), helper.make_node("Add", ["mm", "b"], ["Y"])]
    return helper.make_graph(nodes, f"linear_{fin}x{fout}", [value("x", ["R", fin])], [value("Y", ["R", fout])],
                             initializer=init)


def gqa_decode_gqa():
    """GroupQueryAttention (com.microsoft) with past/present, not sharing buffers:
    past (B, Hkv, P, D) in, present (B, Hkv, P + T, D) out (ORT appends)."""
    node = helper.make_node(
        "GroupQueryAttention",
        ["query", "key", "value", "past_key", "past_value", "seqlens_k", "total_sequence_length"],
        ["output", "present_key", "present_value"], domain="com.microsoft",
        num_heads=GQA_HEADS, kv_num_heads=GQA_KV_HEADS)
    past = [1, GQA_KV_HEADS, "P", GQA_HEAD_DIM]
    present = [1, GQA_KV_HEADS, "P_plus_T", GQA_HEAD_DIM]
    return helper.make_graph(
        [node], "gqa_decode_gqa",
        [value("query", [1, "T", GQA_HEADS * GQA_HEAD_DIM]), value("key", [1, "T", GQA_KV_HEADS * GQA_HEAD_DIM]),
         value("value", [1, "T", GQA_KV_HEADS * GQA_HEAD_DIM]), value("past_key", past), value("past_value", past),
         helper.make_tensor_value_info("seqlens_k", INT32, [1]),
         helper.make_tensor_value_info("total_sequence_length", INT32, [])],
        [value("output", [1, "T", GQA_HEADS * GQA_HEAD_DIM]), value("present_key", present),
         value("present_value", present)])


def gqa_decode_attn23():
    q = [1, GQA_HEADS, "T", GQA_HEAD_DIM]
    kv = [1, GQA_KV_HEADS, "T", GQA_HEAD_DIM]
    past = [1, GQA_KV_HEADS, "P", GQA_HEAD_DIM]
    present = [1, GQA_KV_HEADS, "P_plus_T", GQA_HEAD_DIM]
    node = helper.make_node("Attention", ["Q", "K", "V", "", "past_key", "past_value"],
                            ["Y", "present_key", "present_value"], is_causal=1)
    return helper.make_graph(
        [node], "gqa_decode_attn23",
        [value("Q", q), value("K", kv), value("V", kv), value("past_key", past), value("past_value", past)],
        [value("Y", q), value("present_key", present), value("present_value", present)])


def window_gqa():
    """A causal prompt (no past) with ORT's sliding window: local_window_size
    counts the keys before the query's own, so 255 here is mha-wasm's window 256."""
    hidden = WINDOW_HEADS * HEAD_DIM
    node = helper.make_node(
        "GroupQueryAttention", ["query", "key", "value", "", "", "seqlens_k", "total_sequence_length"],
        ["output"], domain="com.microsoft", num_heads=WINDOW_HEADS, kv_num_heads=WINDOW_HEADS,
        local_window_size=WINDOW - 1)
    rows = [1, "L", hidden]
    return helper.make_graph(
        [node], "window_gqa",
        [value("query", rows), value("key", rows), value("value", rows),
         helper.make_tensor_value_info("seqlens_k", INT32, [1]),
         helper.make_tensor_value_info("total_sequence_length", INT32, [])],
        [value("output", rows)])


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", required=True, help="raw float32 layer weights written by the bench")
    parser.add_argument("--linear-weights", help="raw linear layers written by the bench (bench/linear.mjs)")
    parser.add_argument("--out", required=True, help="output folder")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    weights = read_weights(args.weights)
    files = []
    for causal in (False, True):
        tag = "causal" if causal else "full"
        jobs = [
            (f"sdpa_mha_{tag}.onnx", mha_contrib(causal), PLAIN_OPSET, ["com.microsoft"]),
            (f"sdpa_attn23_{tag}_w.onnx", attention23(causal, True), ATTENTION_OPSET, []),
            (f"sdpa_attn23_{tag}_nw.onnx", attention23(causal, False), ATTENTION_OPSET, []),
            (f"sdpa_ops_{tag}.onnx", sdpa_ops(causal), PLAIN_OPSET, []),
            (f"layer_{tag}.onnx", layer(causal, weights), PLAIN_OPSET, []),
        ]
        for name, graph, opset, domains in jobs:
            save(graph, os.path.join(args.out, name), opset, domains)
            files.append(name)
    jobs = [
        ("decode_sdpa_mha.onnx", decode_sdpa_mha(), PLAIN_OPSET, ["com.microsoft"]),
        ("decode_sdpa_attn23.onnx", decode_sdpa_attn23(), ATTENTION_OPSET, []),
        ("decode_sdpa_ops.onnx", decode_sdpa_ops(), PLAIN_OPSET, []),
        ("decode_layer_mha.onnx", decode_layer(weights, "mha"), PLAIN_OPSET, ["com.microsoft"]),
        ("decode_layer_attn23.onnx", decode_layer(weights, "attn23"), ATTENTION_OPSET, []),
        ("decode_layer_ops.onnx", decode_layer(weights, "ops"), PLAIN_OPSET, []),
        ("decode_sdpa_attn23_nopast.onnx", decode_sdpa_attn23_nopast(), ATTENTION_OPSET, []),
        ("decode_layer_attn23_nopresent.onnx", decode_layer_nopresent(weights), ATTENTION_OPSET, []),
        ("decode_kv_proj.onnx", decode_kv_proj(weights), PLAIN_OPSET, []),
        ("gqa_decode_gqa.onnx", gqa_decode_gqa(), PLAIN_OPSET, ["com.microsoft"]),
        ("gqa_decode_attn23.onnx", gqa_decode_attn23(), ATTENTION_OPSET, []),
        ("window_gqa.onnx", window_gqa(), PLAIN_OPSET, ["com.microsoft"]),
    ]
    if args.linear_weights:
        for fin, fout, w, b in read_linear_weights(args.linear_weights):
            jobs.append((f"linear_{fin}x{fout}.onnx", linear(fin, fout, w, b), PLAIN_OPSET, []))
    for name, graph, opset, domains in jobs:
        save(graph, os.path.join(args.out, name), opset, domains)
        files.append(name)
    # The bench regenerates the files when the weights or this script change.
    manifest = {
        "weights_sha256": sha256(args.weights),
        "linear_weights_sha256": sha256(args.linear_weights) if args.linear_weights else None,
        "script_sha256": sha256(os.path.abspath(__file__)),
        "onnx_version": onnx.__version__,
        "files": files,
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"make_onnx_models.py: wrote {len(files)} models to {args.out} (onnx {onnx.__version__})")


if __name__ == "__main__":
    main()
