#!/usr/bin/python3
"""Write the GPT-2-small-shaped random-weight model of `npm run bench`'s GPT-2 section.

Command (bench/gpt2.mjs runs it when bench/.cache/gpt2-small/manifest.json is
missing or stale; needs Debian's python3-torch and python3-onnx):

    /usr/bin/python3 scripts/make_gpt2_bench_model.py --out bench/.cache/gpt2-small

The folder (about 1.2 GB, never committed: bench/.cache/ is git-ignored):

  config.json            GPT2LMHeadModel's config: 12 layers, n_embd 768, 12 heads,
                         vocab_size 50257, n_positions 1024, gelu_new
  model.safetensors      float32 weights in the official gpt2 file's layout:
                         unprefixed names (wte.weight, wpe.weight, h.N.ln_1.weight,
                         h.N.attn.c_attn.weight [768, 2304], ..., ln_f.bias), Conv1D
                         (in, out) weights, the LM head tied to wte (no lm_head.weight),
                         sorted names, metadata {"format": "pt"}, data at a multiple of 8
  onnx/decoder_model.onnx
                         torch.onnx.export (opset 17) of the same model with the
                         inputs and outputs of Transformers.js's GPT-2 exports (optimum's
                         "text-generation-with-past" decoder):
                           input_ids                int64 [batch, sequence_length]
                           attention_mask           int64 [batch, past_sequence_length + sequence_length]
                           position_ids             int64 [batch, sequence_length]
                           past_key_values.N.key    float32 [batch, 12, past_sequence_length, 64]  (N = 0..11)
                           past_key_values.N.value  float32 [batch, 12, past_sequence_length, 64]
                         -> logits                  float32 [batch, sequence_length, 50257]
                            present.N.key / present.N.value
                                                    float32 [batch, 12, past_sequence_length + sequence_length, 64]
                         The first step takes an empty past (past_sequence_length 0).
  reference.json         the prompt and continuation token ids the bench feeds, and
                         the float64 PyTorch logits of prompt + the first continuation
                         tokens (reference_logits.f32, row-major [positions, vocab],
                         little-endian float32 of the float64 values)
  manifest.json          what the bench checks to decide whether to run this script
                         again: this script's sha256, the files and their sizes

Model definition followed: transformers v4.44 modeling_gpt2.py (GPT2LMHeadModel,
eager attention, eval mode), as in scripts/make_model_fixtures.py's oracle:
h = wte[ids] + wpe[position_ids]; per block: a = ln_1(h); qkv = Conv1D c_attn
(torch.addmm(bias, x, weight), weight (in, out)); split q | k | v; heads of 64;
k, v = cat(past, new) (the presents); scores = q k^T / sqrt(64); causal mask
(key j visible to query i iff j <= past_length + i) through torch.where with
finfo.min; plus (1 - attention_mask) * finfo.min; softmax; merge heads; c_proj;
residual; m = ln_2(h); c_proj(gelu_new(c_fc(m))), gelu_new(x) = 0.5 x (1 + tanh(
sqrt(2/pi) (x + 0.044715 x^3))); residual; ln_f; logits = h @ wte^T (tied).

Weights (seeded: numpy default_rng(20240614)): GPT-2's initialisation
(GPT2PreTrainedModel._init_weights, initializer_range 0.02): wte, wpe and every
Conv1D weight N(0, 0.02), the residual projections (attn.c_proj, mlp.c_proj)
N(0, 0.02 / sqrt(2 * n_layer)); instead of GPT-2's zero biases and unit LayerNorms,
biases N(0, 0.02) and LayerNorm weights 1 + N(0, 0.05), so the bias and LayerNorm
paths are exercised. Logits come out with a standard deviation of about 0.5.

The export is checked here against the float64 module on the reference tokens
(the traced float32 module, run through the same past/present loop the bench
uses); the bench checks onnxruntime-web and mha-wasm against reference.json.
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys
import time
import warnings

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as error:  # the bench prints this message as it is
    sys.exit(f"make_gpt2_bench_model.py: {error}. Install Debian's python3-torch: apt-get install -y python3-torch")
try:
    import onnx
except ImportError as error:
    sys.exit(f"make_gpt2_bench_model.py: {error}. Install Debian's python3-onnx: apt-get install -y python3-onnx")

# GPT-2 small (the official gpt2 config.json).
CONFIG = {
    "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
    "bos_token_id": 50256, "embd_pdrop": 0.1, "eos_token_id": 50256, "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12,
    "n_inner": None, "n_layer": 12, "n_positions": 1024, "reorder_and_upcast_attn": False,
    "resid_pdrop": 0.1, "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True,
    "summary_activation": None, "summary_first_dropout": 0.1, "summary_proj_to_labels": True,
    "summary_type": "cls_index", "summary_use_proj": True, "torch_dtype": "float32",
    "transformers_version": "4.44.2", "use_cache": True, "vocab_size": 50257,
}
E, H, LAYERS, V, P = CONFIG["n_embd"], CONFIG["n_head"], CONFIG["n_layer"], CONFIG["vocab_size"], CONFIG["n_positions"]
D, INNER, EPS = E // H, 4 * E, CONFIG["layer_norm_epsilon"]
SEED = 20240614
OPSET = 17  # Debian's onnx 1.12 checker knows opsets up to 17

# The tokens the bench feeds: a prompt, then one continuation token per decoding step.
PROMPT_TOKENS = 32
CONTINUATION_TOKENS = 256
REFERENCE_STEPS = 8  # reference logits for the prompt and the first 8 continuation tokens
TOKEN_SEED = 20240615


# ---------------------------------------------------------------- weights

def make_weights():
    """name -> float32 ndarray, the official gpt2 file's names and shapes."""
    rng = np.random.default_rng(SEED)
    n = lambda shape, std: (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)
    std, resid = 0.02, 0.02 / math.sqrt(2 * LAYERS)
    W = {"wte.weight": n((V, E), std), "wpe.weight": n((P, E), std)}
    for i in range(LAYERS):
        p = f"h.{i}."
        W[p + "ln_1.weight"] = 1 + n(E, 0.05)
        W[p + "ln_1.bias"] = n(E, 0.02)
        W[p + "attn.c_attn.weight"] = n((E, 3 * E), std)
        W[p + "attn.c_attn.bias"] = n(3 * E, 0.02)
        W[p + "attn.c_proj.weight"] = n((E, E), resid)
        W[p + "attn.c_proj.bias"] = n(E, 0.02)
        W[p + "ln_2.weight"] = 1 + n(E, 0.05)
        W[p + "ln_2.bias"] = n(E, 0.02)
        W[p + "mlp.c_fc.weight"] = n((E, INNER), std)
        W[p + "mlp.c_fc.bias"] = n(INNER, 0.02)
        W[p + "mlp.c_proj.weight"] = n((INNER, E), resid)
        W[p + "mlp.c_proj.bias"] = n(E, 0.02)
    W["ln_f.weight"] = 1 + n(E, 0.05)
    W["ln_f.bias"] = n(E, 0.02)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in W.items()}


def write_safetensors(path, arrays, metadata):
    """Header {"__metadata__", name: {dtype, shape, data_offsets}} with the names sorted,
    padded with spaces so the data starts at a multiple of 8, then the little-endian data."""
    header = {"__metadata__": metadata}
    off = 0
    for name in sorted(arrays):
        a = arrays[name]
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        off += a.nbytes
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((-(8 + len(hj))) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for name in sorted(arrays):
            f.write(arrays[name].astype("<f4", copy=False).tobytes())


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode())
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, t = e["data_offsets"]
        out[name] = np.frombuffer(buf, dtype="<f4", count=(t - b) // 4, offset=8 + n + b).reshape(e["shape"])
    return out


# ---------------------------------------------------------------- the model (modeling_gpt2.py)

class Conv1D(nn.Module):
    """transformers.pytorch_utils.Conv1D: weight (in, out), y = addmm(bias, x, weight)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.empty(n_out))

    def forward(self, x):
        size_out = x.size()[:-1] + (self.weight.shape[1],)
        return torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight).view(size_out)


def gelu_new(x):
    """activations.NewGELUActivation."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_1 = nn.LayerNorm(E, eps=EPS)
        self.attn = nn.Module()
        self.attn.c_attn = Conv1D(E, 3 * E)
        self.attn.c_proj = Conv1D(E, E)
        self.ln_2 = nn.LayerNorm(E, eps=EPS)
        self.mlp = nn.Module()
        self.mlp.c_fc = Conv1D(E, INNER)
        self.mlp.c_proj = Conv1D(INNER, E)

    def forward(self, h, past_key, past_value, mask):
        """h (B, L, E); past (B, H, P, D); mask: additive (B, 1, L, P + L). -> h, present_key, present_value."""
        B, L = h.shape[0], h.shape[1]
        qkv = self.attn.c_attn(self.ln_1(h))
        q, k, v = qkv.split(E, dim=2)
        heads = lambda t: t.view(B, L, H, D).permute(0, 2, 1, 3)
        q, k, v = heads(q), heads(k), heads(v)
        k = torch.cat((past_key, k), dim=-2)
        v = torch.cat((past_value, v), dim=-2)
        scores = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], v.size(-1) ** 0.5, dtype=q.dtype)
        scores = torch.softmax(scores + mask, dim=-1)
        a = torch.matmul(scores, v).permute(0, 2, 1, 3).contiguous().view(B, L, E)
        h = h + self.attn.c_proj(a)
        h = h + self.mlp.c_proj(gelu_new(self.mlp.c_fc(self.ln_2(h))))
        return h, k, v


class GPT2LMHead(nn.Module):
    """GPT2LMHeadModel.forward(input_ids, past_key_values, attention_mask, position_ids, use_cache=True)
    -> logits and the presents, with the past flattened to past_key_values.N.key/value as optimum exports it."""

    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(V, E)
        self.wpe = nn.Embedding(P, E)
        self.h = nn.ModuleList([Block() for _ in range(LAYERS)])
        self.ln_f = nn.LayerNorm(E, eps=EPS)

    def forward(self, input_ids, attention_mask, position_ids, *past):
        L = input_ids.shape[1]
        past_length = past[0].shape[2]
        h = self.wte(input_ids) + self.wpe(position_ids)
        dtype = h.dtype
        minimum = torch.finfo(dtype).min
        # GPT2Attention._attn: torch.where(causal_mask, scores, finfo.min), then + attention_mask,
        # the (1 - mask) * finfo.min of GPT2Model.forward: here folded into one additive mask.
        query_pos = torch.arange(L, dtype=torch.long) + past_length
        key_pos = torch.arange(past_length + L, dtype=torch.long)
        causal = key_pos[None, :] <= query_pos[:, None]
        mask = torch.where(causal, torch.zeros([], dtype=dtype), torch.full([], minimum, dtype=dtype))[None, None]
        padding = (1.0 - attention_mask[:, None, None, :].to(dtype)) * minimum
        mask = torch.clamp(mask + padding, min=minimum)
        presents = []
        for i, block in enumerate(self.h):
            h, k, v = block(h, past[2 * i], past[2 * i + 1], mask)
            presents += [k, v]
        logits = torch.matmul(self.ln_f(h), self.wte.weight.transpose(0, 1))
        return (logits, *presents)


def build_module(W, dtype):
    m = GPT2LMHead()
    state = {k: torch.from_numpy(np.array(v)) for k, v in W.items()}
    missing, unexpected = m.load_state_dict(state, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    return m.to(dtype).eval()


def empty_past(dtype, batch=1):
    return [torch.zeros(batch, H, 0, D, dtype=dtype) for _ in range(2 * LAYERS)]


def run_steps(module, prompt, continuation, dtype):
    """The bench's loop: the prompt with an empty past, then one token per step, presents fed back.
    Returns the logits of every position [len(prompt) + len(continuation), V]."""
    with torch.no_grad():
        past = empty_past(dtype)
        rows = []
        chunks = [prompt] + [[t] for t in continuation]
        seen = 0
        for chunk in chunks:
            ids = torch.tensor([chunk], dtype=torch.long)
            pos = torch.arange(seen, seen + len(chunk), dtype=torch.long)[None]
            mask = torch.ones(1, seen + len(chunk), dtype=torch.long)
            out = module(ids, mask, pos, *past)
            rows.append(out[0][0])
            past = list(out[1:])
            seen += len(chunk)
        return torch.cat(rows, 0)


def full_forward(module, ids, dtype):
    with torch.no_grad():
        t = torch.tensor([ids], dtype=torch.long)
        out = module(t, torch.ones_like(t), torch.arange(len(ids))[None], *empty_past(dtype))
        return out[0][0]


# ---------------------------------------------------------------- export

INPUT_NAMES = ["input_ids", "attention_mask", "position_ids"] + [
    f"past_key_values.{i}.{kv}" for i in range(LAYERS) for kv in ("key", "value")]
OUTPUT_NAMES = ["logits"] + [f"present.{i}.{kv}" for i in range(LAYERS) for kv in ("key", "value")]


def export_onnx(module, path):
    """torch.onnx.export with optimum's dynamic axes (batch, sequence, past and total lengths)."""
    past_len, seq_len = 3, 2  # both > 1, so nothing is specialised to a length of 0 or 1
    args = (torch.ones(1, seq_len, dtype=torch.long), torch.ones(1, past_len + seq_len, dtype=torch.long),
            torch.arange(past_len, past_len + seq_len)[None],
            *[torch.zeros(1, H, past_len, D) for _ in range(2 * LAYERS)])
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"}}
    for name in INPUT_NAMES[3:]:
        axes[name] = {0: "batch_size", 2: "past_sequence_length"}
    for name in OUTPUT_NAMES[1:]:
        axes[name] = {0: "batch_size", 2: "past_sequence_length + sequence_length"}
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=INPUT_NAMES, output_names=OUTPUT_NAMES,
                          dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)
    onnx.checker.check_model(path)  # by path: the file is over the 2 GB in-memory limit's comfort zone
    model = onnx.load(path, load_external_data=False)
    names_in = [i.name for i in model.graph.input]
    names_out = [o.name for o in model.graph.output]
    assert names_in == INPUT_NAMES, names_in
    assert names_out == OUTPUT_NAMES, names_out
    ops = {}
    for node in model.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    return {"opset": OPSET, "nodes": len(model.graph.node), "initializers": len(model.graph.initializer), "ops": ops}


# ---------------------------------------------------------------- main

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    # torch 1.13's exporter warns about prim::Constant shape inference on every node; the graph is checked below
    warnings.filterwarnings("ignore", category=UserWarning)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="output folder (bench/.cache/gpt2-small)")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    out = args.out
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    manifest_path = os.path.join(out, "manifest.json")
    if os.path.exists(manifest_path):
        os.remove(manifest_path)  # written last: a half-written folder is never taken as fresh
    started = time.time()
    log = lambda message: print(f"make_gpt2_bench_model.py: {message} ({time.time() - started:.0f} s)", flush=True)

    W = make_weights()
    params = sum(a.size for a in W.values())
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    st_path = os.path.join(out, "model.safetensors")
    write_safetensors(st_path, W, {"format": "pt"})
    log(f"wrote config.json and model.safetensors ({params} parameters, {os.path.getsize(st_path)} bytes)")

    # The weights as stored (read back), so every later step uses exactly the file's values.
    stored = read_safetensors(st_path)
    assert sorted(stored) == sorted(W) and all(np.array_equal(stored[k], W[k]) for k in W)
    del W

    rng = np.random.default_rng(TOKEN_SEED)
    prompt = [int(t) for t in rng.integers(0, V, PROMPT_TOKENS)]
    continuation = [int(t) for t in rng.integers(0, V, CONTINUATION_TOKENS)]
    ref_ids = prompt + continuation[:REFERENCE_STEPS]

    m64 = build_module(stored, torch.float64)
    ref = full_forward(m64, ref_ids, torch.float64)
    # The past/present loop in float64 equals the full forward (the cache bookkeeping is right).
    loop64 = run_steps(m64, prompt, continuation[:REFERENCE_STEPS], torch.float64)
    loop_diff = float((loop64 - ref).abs().max())
    assert loop_diff < 1e-9, loop_diff
    del m64, loop64
    ref32 = ref.to(torch.float32).numpy()
    with open(os.path.join(out, "reference_logits.f32"), "wb") as f:
        f.write(ref32.astype("<f4").tobytes())
    log(f"float64 reference logits of {len(ref_ids)} positions: std {float(ref.std()):.3f}, max |logit| {float(ref.abs().max()):.3f}; "
        f"past/present loop vs full forward {loop_diff:.1e}")

    m32 = build_module(stored, torch.float32)
    loop32 = run_steps(m32, prompt, continuation[:REFERENCE_STEPS], torch.float32)
    f32_diff = float((loop32.double() - ref).abs().max())
    assert f32_diff < 1e-3, f32_diff
    onnx_path = os.path.join(out, "onnx", "decoder_model.onnx")
    graph = export_onnx(m32, onnx_path)
    log(f"wrote onnx/decoder_model.onnx ({os.path.getsize(onnx_path)} bytes, opset {OPSET}, {graph['nodes']} nodes); "
        f"the float32 module's loop vs float64: {f32_diff:.1e}")

    reference = {
        "prompt": prompt,
        "continuation": continuation,
        "referenceLogits": {"file": "reference_logits.f32", "positions": len(ref_ids), "vocab": V,
                            "what": "float64 PyTorch logits of prompt + continuation[:%d], stored as float32" % REFERENCE_STEPS},
        "float32ModuleVsFloat64": f32_diff,
        "torch": torch.__version__,
    }
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(reference, f)
        f.write("\n")
    files = ["config.json", "model.safetensors", "onnx/decoder_model.onnx", "reference.json", "reference_logits.f32"]
    manifest = {
        "script_sha256": sha256_file(os.path.abspath(__file__)),
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "parameters": params,
        "graph": graph,
        "files": {name: os.path.getsize(os.path.join(out, name)) for name in files},
    }
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
