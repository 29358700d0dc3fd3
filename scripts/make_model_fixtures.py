#!/usr/bin/python3
"""Generate the tiny Hugging Face-layout checkpoints and their PyTorch oracle
(issue 14: the `mha-wasm/models` loader).

Produces tests/fixtures/models/ (everything in it is owned by this script; files
there that it does not write are removed):

    gpt2/              GPT2LMHeadModel layout, unprefixed names (as the official
                       gpt2 file), with the old h.N.attn.bias / h.N.attn.masked_bias
                       buffers (to be ignored)
    gpt2-prefixed/     the same weights with the `transformer.` prefix; no
                       tokenizer_config.json (it is optional)
    llama/             GQA (4 query heads, 2 kv heads), head_dim absent, untied
                       lm_head, model.layers.N.self_attn.rotary_emb.inv_freq buffers
                       (to be ignored), plus generation_config.json and
                       special_tokens_map.json (files a loader must tolerate)
    llama-bf16/        the llama weights rounded to bfloat16, stored as BF16
    llama-sharded/     the llama weights in model-0000{1,2}-of-00002.safetensors +
                       model.safetensors.index.json (no model.safetensors)
    llama3/            Llama 3.x: rope_scaling {rope_type: "llama3"}, explicit
                       head_dim 16 != hidden_size / heads (12), one kv head (MQA),
                       tied embeddings, eos_token_id a list, ByteLevel tokenizer
                       with <|begin_of_text|>
    qwen2/             q/k/v biases, tied embeddings, vocab_size 320 padded above the
                       tokenizer's 300, use_sliding_window false with a
                       sliding_window (4) that must therefore be ignored, no BOS
    mistral/           sliding_window 5 (< the prompt length); the lm_head row of
                       </s> is set so that the greedy continuation emits eos at
                       index 10 (to test stopping)
    mistral-nowindow/  the mistral weights with sliding_window null and head_dim null
    bad/               inputs every loader must refuse with a clear message, one
                       folder each (tiny 1-layer Llama, hidden 8, with the llama
                       tokenizer): truncated-safetensors, truncated-header,
                       config-mismatch (hidden_size 12 vs 8-wide weights),
                       unsupported-architecture (bert), missing-weights, missing-shard,
                       missing-tensor, extra-tensor, vocab-too-small (vocab_size 280 <
                       the tokenizer's 300), unknown-rope-scaling (yarn), too-large
                       (Llama-2-7B shapes, F16, header only); bad/cases.json lists each
                       with the strings its error message should contain

Every model folder holds config.json, the weights, tokenizer.json,
tokenizer_config.json (except gpt2-prefixed) and expected.json.

Commands (from the repository root, with Debian's system python, which has torch):
    /usr/bin/python3 scripts/make_model_fixtures.py          write the fixtures
    /usr/bin/python3 scripts/make_model_fixtures.py -v       ... and print per-model info
    /usr/bin/python3 scripts/make_model_fixtures.py --check  cross-check only (writes
        nothing): prints the largest disagreement of every cross-check (relative to
        max(|reference|, 1)), whether the files on disk are byte-identical to what
        this script would write, and exits 1 if any check exceeds 1e-10 or fails.
        If @huggingface/tokenizers can be imported by node (from the repository's
        node_modules, or from the module file named by the environment variable
        TOKENIZERS_JS), the prompt ids, tokens and decoded texts are also checked
        against it; otherwise that check is reported as skipped.
Generation runs the same cross-checks and refuses to write if any fails.

Conventions (those of scripts/make_fixtures.py): every random draw comes from a
seed derived from a name (numpy default_rng([20240601, crc32(name)])); weights are
float32 (the safetensors hold exactly those values, or their bfloat16 rounding);
the oracle is computed in float64 from those stored values and written with 12
significant digits; the output is deterministic (a rerun gives identical bytes);
expected.json records the torch version. torch.set_num_threads(1).

Model definitions followed (transformers v4.44, eager attention, eval mode)
--------------------------------------------------------------------------
* GPT-2: modeling_gpt2.py (GPT2Model / GPT2LMHeadModel): h = wte[ids] + wpe[pos];
  per block: a = ln_1(h); qkv = a @ c_attn.weight + c_attn.bias (Conv1D: weight is
  (in, out) = [E, 3E], split q | k | v); heads of E / n_head; scores = q k^T /
  sqrt(head_dim) (scale_attn_weights), causal mask; softmax; merge heads; c_proj
  (Conv1D); residual; m = ln_2(h); c_proj(gelu_new(c_fc(m))), gelu_new(x) =
  0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (activations.NewGELUActivation);
  residual; ln_f (LayerNorm with layer_norm_epsilon); logits = h @ wte^T (tied).
  n_inner null -> 4 * n_embd. Positions past_length + i.
* Llama / Mistral / Qwen2: modeling_llama.py, modeling_mistral.py,
  modeling_qwen2.py: h = embed_tokens[ids]; per layer: x = RMSNorm(h)
  (x * rsqrt(mean(x^2) + rms_norm_eps) * weight); q/k/v = Linear (bias for Qwen2
  q/k/v only, never o_proj); heads of head_dim (config head_dim, or hidden_size /
  num_attention_heads when absent or null); RoPE rotate_half: cos/sin of
  position * inv_freq duplicated to head_dim (cat(freqs, freqs)), x * cos +
  rotate_half(x) * sin, rotate_half(x) = cat(-x2, x1); inv_freq = 1 / rope_theta^
  (2i / head_dim); Llama 3 rope_scaling (modeling_rope_utils._compute_llama3_parameters:
  wavelen = 2 pi / inv_freq; wavelen > original / low_freq_factor -> inv_freq /
  factor; wavelen < original / high_freq_factor -> unchanged; otherwise smooth =
  (original / wavelen - low) / (high - low), (1 - smooth) inv_freq / factor +
  smooth inv_freq; attention factor 1); GQA repeat_kv (query head h uses kv head
  h // (H / Hkv)); scores q k^T / sqrt(head_dim); causal mask; Mistral
  sliding_window W (modeling_mistral _update_causal_mask: key k is masked for query
  q when k <= q - W, i.e. visible iff q - W < k <= q: W keys including its own);
  Qwen2 applies its window only when use_sliding_window is true (false here);
  softmax; o_proj; residual; RMSNorm; down(silu(gate(x)) * up(x)); residual; final
  norm; logits = h @ lm_head^T, or embed_tokens^T when tie_word_embeddings.
  The oracle computes inv_freq and cos/sin in float64 (Hugging Face: float32).

Independent formulations (all float64; --check reports each; generation asserts)
-------------------------------------------------------------------------------
* GPT-2: the functional oracle above vs (a) torch.nn modules: nn.Embedding,
  nn.LayerNorm, nn.MultiheadAttention (in_proj_weight = c_attn.weight^T,
  out_proj = c_proj^T, boolean causal attn_mask, per-head weights), nn.Linear and
  nn.GELU(approximate="tanh"); (b) numpy loops (LayerNorm, Conv1D, attention per
  head / query / key with math.exp, gelu with math.tanh).
* Llama family: the oracle vs (a) Meta's reference formulation: q/k weights (and
  Qwen2 biases) un-permuted to Meta's interleaved layout (inverse of
  convert_llama_weights_to_hf.permute), complex RoPE (torch.polar /
  view_as_complex), inv_freq from Meta's apply_scaling loop (llama-models), masks
  from triu/tril; (b) numpy loops (RoPE per pair on the Hugging Face half layout,
  kv head h // groups, explicit window test).
* Cached decoding: the prompt in two chunks through a KV cache equals the full
  forward (logits and layer-0 weights, [H, L2, S]); the 32 greedy steps decoded one
  token at a time through the cache give the same logits and ids as recomputing the
  full sequence at each step (the oracle).
* mistral vs mistral-nowindow: prompt logits rows q < W identical, later rows
  differ; qwen2 with its (ignored) window applied would differ.
* bf16: numpy round-to-nearest-even == torch .to(bfloat16) bits.
* safetensors: every written file parses back to the same tensors; the index's
  total_size and weight_map match the shards; the sharded and bf16 copies hold the
  same names as their source.
* Tokenizers: this script's interpreter of tokenizer.json (below) decodes the
  prompt back to its text; ids < vocab_size; and, when available, ids / tokens /
  decoded texts equal those of @huggingface/tokenizers.

expected.json (one per model folder; tensors are {"shape", "data"} row-major)
---------------------------------------------------------------------------
  generator, command, torch_version, reference_dtype "float64"
  model             folder name
  architecture      config model_type
  definition        the published definition followed
  source_model      the folder whose weights these are (itself, or the F32 source)
  weights           {dtype: "F32" | "BF16", files: [...], sharded: bool,
                     ignored_buffers: [...names in the file a loader must ignore],
                     tensor_prefix: "" | "transformer."}
  resolved          the config as the loader must understand it: {hidden_size,
                     num_layers, num_heads, num_kv_heads, head_dim, vocab_size,
                     tokenizer_vocab_size, tie_word_embeddings, window (int|null),
                     intermediate_size, norm_eps, max_positions, bos_token_id,
                     eos_token_ids [list]} + for the Llama family rope {theta,
                     scaling (object|null), inv_freq [head_dim/2 float64]}
  prompt            {text, ids, tokens, add_special_tokens: true, bos_added: bool}
  logits            [L, vocab_size] float64, every prompt position
  attentions_layer0 [H, L, L] float64 (softmax weights of layer 0 for the prompt)
  greedy            {max_new_tokens: 32, ids [32] (argmax of the last position,
                     appended, repeated; not stopped at eos), top_logit [32],
                     margin [32] (top1 - top2 logit, >= 0.02 everywhere),
                     eos_token_ids, first_eos_index (index in ids of the first eos,
                     or null: a generate() that stops at eos yields ids[:first_eos_index],
                     then stops; Hugging Face's generate also returns the eos id itself),
                     text (decode of ids, skip_special_tokens, no clean-up, as the
                     Rust tokenizers crate decodes), full_text (decode of prompt ids +
                     ids, same), text_tokenizers_js / full_text_tokenizers_js (the same
                     as @huggingface/tokenizers 0.2.0 decodes: they differ from text /
                     full_text only where a ByteFallback run of <0xXX> tokens is not
                     valid UTF-8: the Rust crate gives one U+FFFD per byte of the run,
                     TextDecoder one per maximal invalid subpart)}
  stats             {logits_abs_max, greedy_min_margin}
  bf16 only:        bf16_vs_f32 {max_abs_logit_diff, max_abs_attention_diff}:
                     this model's oracle vs the F32 source's oracle

Tokenizers (tokenizer.json, Hugging Face tokenizers format, read by this script's
own small interpreter of exactly the parts used; BPE vocabularies trained here on a
small corpus, <= 300 tokens)
--------------------------------------------------------------------------------
* gpt2: as the official gpt2 tokenizer.json: model without "type" (old format:
  dropout, unk_token null, continuing_subword_prefix "", end_of_word_suffix "",
  fuse_unk, vocab, merges as "a b" strings), ByteLevel pre-tokenizer (GPT-2 regex),
  ByteLevel post-processor (adds nothing) and decoder; 256 byte symbols + 43
  merges + <|endoftext|> (299, added token, normalized true). No BOS.
* llama: Llama 2 (legacy SentencePiece conversion): normalizer Sequence[Prepend
  "▁", Replace " " -> "▁"], pre_tokenizer null, BPE with byte_fallback (<0x00>..
  <0xFF> at 3..258), unk <unk>, fuse_unk; TemplateProcessing adds <s> (1); decoder
  Sequence[Replace "▁" -> " ", ByteFallback, Fuse, Strip(" ", 1, 0)]. Specials
  <unk> 0, <s> 1, </s> 2.
* mistral: the same vocabulary in the newer (legacy: false) conversion: normalizer
  null, Metaspace pre-tokenizer (replacement "▁", prepend_scheme "first", split
  false); same post-processor and decoder.
* llama3: Llama 3: Split(Llama-3 regex, Isolated) + ByteLevel(use_regex false),
  BPE with ignore_merges, post_processor Sequence[ByteLevel, TemplateProcessing
  <|begin_of_text|>], ByteLevel decoder; merges as [a, b] pairs; specials 290..299
  only in added_tokens (as in Llama 3.1's ordering).
* qwen2: Qwen2: NFC normalizer, Split(Qwen2 regex) + ByteLevel, ByteLevel
  post-processor (no BOS, although config.json has bos_token_id, as Qwen2 base),
  merges as [a, b] pairs; specials <|endoftext|> 297, <|im_start|>, <|im_end|>.
Texts are restricted to printable ASCII, "\\n" and Latin-1 letters, where the
regexes' \\p{L} / \\p{N} / \\s have a plain Python equivalent (asserted).
"""

import itertools
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import unicodedata
import re
import zlib

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "tests", "fixtures", "models")
GENERATOR = "scripts/make_model_fixtures.py"
COMMAND = "/usr/bin/python3 scripts/make_model_fixtures.py"
TOL = 1e-10
MAX_NEW = 32
MIN_MARGIN = 0.02
MIN_DISTINCT = 8
MAX_RUN = 4
PROMPT = "Once upon a time, a café"
BPE_CORPUS = (
    "once upon a time there was a little cat. the cat had a hat. one day the cat sat on "
    "a mat and the time went on. once upon a time a little cat met a big dog. the dog and "
    "the cat ran to the tree. they sat under the tree upon the hill. once there was a "
    "time when the little dog and the cat had tea at noon. the end.\n"
    "Once upon a time, there was a cat. Once upon a time, there was a dog."
)


# ---------------------------------------------------------------- formatting

def f64_list(a):
    a = np.asarray(a, dtype=np.float64).ravel()
    assert np.all(np.isfinite(a))
    return [float(f"{x:.12g}") for x in a]


def tensor_json(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": f64_list(a)}


def hf_json(obj):
    """As transformers writes config.json / tokenizer_config.json / the index."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def rng_for(name):
    return np.random.default_rng([20240601, zlib.crc32(name.encode())])


def f32(a):
    return np.asarray(a, dtype=np.float32)


# ---------------------------------------------------------------- checks

class Checks:
    def __init__(self, strict):
        self.strict = strict
        self.worst = {}
        self.failures = []
        self.info = []

    def compare(self, what, name, ref, got, tol=TOL):
        ref = torch.as_tensor(ref, dtype=torch.float64)
        got = torch.as_tensor(got, dtype=torch.float64)
        if ref.shape != got.shape:
            self.fail(f"{what} [{name}]: shape {tuple(got.shape)} != {tuple(ref.shape)}")
            return
        diff = (ref - got).abs() / torch.clamp(ref.abs(), min=1.0)
        err = float(diff.max()) if diff.numel() else 0.0
        prev = self.worst.get(what, (0.0, ""))
        if err >= prev[0]:
            self.worst[what] = (err, name)
        if not err <= tol:
            self.fail(f"{what} [{name}]: disagreement {err:.3g} > {tol:g}")

    def true(self, what, name, cond, detail=""):
        self.worst.setdefault(what, (None, name))
        if not cond:
            self.worst[what] = ("FAILED", name)
            self.fail(f"{what} [{name}]: failed {detail}")

    def fail(self, msg):
        if self.strict:
            raise AssertionError(msg)
        self.failures.append(msg)

    def report(self):
        for what in sorted(self.worst):
            err, name = self.worst[what]
            if err is None or err == "FAILED":
                print(f"  {'holds' if err is None else err:>9s}  {what}" + ("  (every case)" if err is None else
                                                                          f"  (first: {name})"), file=sys.stderr)
            else:
                print(f"  {err:9.2e}  {what}  (worst: {name})", file=sys.stderr)


# ---------------------------------------------------------------- bfloat16

def bf16_bits(x):
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even (no NaNs here)."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    assert np.all(np.isfinite(x))
    r = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return r.astype(np.uint16)


def bf16_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint32) << 16).view(np.float32)


def bf16_round(x):
    return bf16_to_f32(bf16_bits(x)).reshape(np.shape(x))


# ---------------------------------------------------------------- safetensors

ST_DTYPES = {"F32": 4, "BF16": 2, "F16": 2}


def st_encode(arrays, dtype="F32", metadata=None, declared=None):
    """arrays: name -> float32 ndarray. Header {"__metadata__", name: {dtype, shape,
    data_offsets}} with the names sorted, padded with spaces so the data starts at a
    multiple of 8, then the little-endian data in the same order.
    declared: name -> (dtype, shape) entries with no data (header-only files)."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    chunks = []
    off = 0
    if declared is not None:
        for name in sorted(declared):
            dt, shape = declared[name]
            n = ST_DTYPES[dt] * int(np.prod(shape, dtype=np.int64))
            header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + n]}
            off += n
    else:
        for name in sorted(arrays):
            a = np.asarray(arrays[name])
            assert a.dtype == np.float32, name
            raw = a.astype("<f4").tobytes() if dtype == "F32" else bf16_bits(a).astype("<u2").tobytes()
            header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
            chunks.append(raw)
            off += len(raw)
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((-(8 + len(hj))) % 8)
    return struct.pack("<Q", len(hj)) + hj + b"".join(chunks)


def st_decode(buf):
    """-> (metadata, {name: float32 ndarray}) ; strict about sizes and offsets."""
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode())
    assert (8 + n) % 8 == 0
    meta = header.pop("__metadata__", None)
    data = buf[8 + n:]
    out = {}
    end = 0
    for name in sorted(header, key=lambda k: header[k]["data_offsets"][0]):
        info = header[name]
        a, b = info["data_offsets"]
        assert a == end, (name, a, end)
        end = b
        shape = tuple(info["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        assert b - a == count * ST_DTYPES[info["dtype"]], name
        raw = data[a:b]
        if info["dtype"] == "F32":
            arr = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif info["dtype"] == "BF16":
            arr = bf16_to_f32(np.frombuffer(raw, dtype="<u2"))
        else:
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        out[name] = arr.reshape(shape)
    assert end == len(data), "trailing bytes"
    assert list(header) == sorted(header), "header not sorted"
    return meta, out


# ---------------------------------------------------------------- tokenizer (interpreter)

def bytes_to_unicode():
    """GPT-2's byte -> printable unicode map; returns (map, byte order of the vocab)."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
          + list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}, bs


BYTE_ENCODER, BYTE_ORDER = bytes_to_unicode()
BYTE_DECODER = {c: b for b, c in BYTE_ENCODER.items()}

GPT2_REGEX = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
               r"|\s*[\r\n]+|\s+(?!\S)|\s+")
L_CLASS = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff"
N_CLASS = "0-9"


def allowed_text(s):
    return all((" " <= c <= "~") or c == "\n" or re.match(f"[{L_CLASS}]", c) for c in s)


def py_regex(p):
    """Oniguruma pattern -> Python re, valid on allowed_text() input only."""
    out, i, depth = [], 0, 0
    while i < len(p):
        if p.startswith(r"\p{L}", i) or p.startswith(r"\p{N}", i):
            cls = L_CLASS if p[i + 3] == "L" else N_CLASS
            out.append(cls if depth else f"[{cls}]")
            i += 5
            continue
        c = p[i]
        if c == "\\":
            out.append(p[i:i + 2])
            i += 2
            continue
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        out.append(c)
        i += 1
    return re.compile("".join(out))


def split_isolated(rx, s):
    pieces, pos = [], 0
    for m in rx.finditer(s):
        if m.start() > pos:
            pieces.append(s[pos:m.start()])
        if m.end() > m.start():
            pieces.append(m.group())
        pos = m.end()
    if pos < len(s):
        pieces.append(s[pos:])
    return pieces


def bpe_merge(symbols, ranks):
    """Merge the lowest-rank adjacent pair (leftmost on ties) until none applies."""
    syms = list(symbols)
    while len(syms) > 1:
        best = None
        for i in range(len(syms) - 1):
            r = ranks.get((syms[i], syms[i + 1]))
            if r is not None and (best is None or r < best[0]):
                best = (r, i)
        if best is None:
            break
        i = best[1]
        syms[i:i + 2] = [syms[i] + syms[i + 1]]
    return syms


class PyTokenizer:
    """The subset of tokenizer.json used by these fixtures, after the Rust crate."""

    def __init__(self, tj):
        self.tj = tj
        m = tj["model"]
        assert m.get("type", "BPE") == "BPE"
        self.vocab = dict(m["vocab"])
        merges = [tuple(x.split(" ")) if isinstance(x, str) else tuple(x) for x in m["merges"]]
        self.ranks = {p: i for i, p in enumerate(merges)}
        self.byte_fallback = m.get("byte_fallback", False)
        self.ignore_merges = m.get("ignore_merges", False)
        self.unk = m.get("unk_token")
        self.added = {t["content"]: t for t in tj["added_tokens"]}
        self.id_to_token = {v: k for k, v in self.vocab.items()}
        for t in tj["added_tokens"]:
            self.id_to_token[t["id"]] = t["content"]
        self.size = max(self.id_to_token) + 1
        assert sorted(self.id_to_token) == list(range(self.size)), "ids not contiguous"

    def token_id(self, tok):
        if tok in self.added:
            return self.added[tok]["id"]
        return self.vocab[tok]

    # -- pipeline pieces
    def normalize(self, s, spec):
        if spec is None:
            return s
        t = spec["type"]
        if t == "Sequence":
            for sub in spec["normalizers"]:
                s = self.normalize(s, sub)
            return s
        if t == "NFC":
            return unicodedata.normalize("NFC", s)
        if t == "Prepend":
            return spec["prepend"] + s if s else s
        if t == "Replace":
            return s.replace(spec["pattern"]["String"], spec["content"])
        raise ValueError(t)

    def pre_tokenize(self, pieces, spec, section_index):
        if spec is None:
            return pieces
        t = spec["type"]
        if t == "Sequence":
            for sub in spec["pretokenizers"]:
                pieces = self.pre_tokenize(pieces, sub, section_index)
            return pieces
        out = []
        for s in pieces:
            if t == "Split":
                assert spec["behavior"] == "Isolated" and not spec["invert"]
                out += split_isolated(py_regex(spec["pattern"]["Regex"]), s)
            elif t == "ByteLevel":
                if spec.get("add_prefix_space") and not s.startswith(" "):
                    s = " " + s
                parts = split_isolated(py_regex(GPT2_REGEX), s) if spec.get("use_regex", True) else [s]
                out += ["".join(BYTE_ENCODER[b] for b in p.encode("utf-8")) for p in parts]
            elif t == "Metaspace":
                assert spec.get("split") is False and spec["prepend_scheme"] in ("first", "always")
                r = s.replace(" ", spec["replacement"])
                if not r.startswith(spec["replacement"]) and (spec["prepend_scheme"] == "always" or section_index == 0):
                    r = spec["replacement"] + r
                out.append(r)
            else:
                raise ValueError(t)
        return out

    def model_tokens(self, piece):
        if self.ignore_merges and piece in self.vocab:
            return [piece]
        out = []
        for sym in bpe_merge(list(piece), self.ranks):
            if sym in self.vocab:
                out.append(sym)
                continue
            # only unknown single characters reach here (merges only build vocab tokens)
            bts = [f"<0x{b:02X}>" for b in sym.encode("utf-8")]
            if self.byte_fallback and all(b in self.vocab for b in bts):
                out += bts
            else:
                assert self.unk is not None, f"no token for {sym!r}"
                out.append(self.unk)
        return out

    def post_process(self, tokens, spec, add_special_tokens):
        if spec is None or not add_special_tokens:
            return tokens
        t = spec["type"]
        if t == "Sequence":
            for sub in spec["processors"]:
                tokens = self.post_process(tokens, sub, add_special_tokens)
            return tokens
        if t == "ByteLevel":
            return tokens
        if t == "TemplateProcessing":
            out = []
            for item in spec["single"]:
                if "SpecialToken" in item:
                    out += spec["special_tokens"][item["SpecialToken"]["id"]]["tokens"]
                else:
                    assert item["Sequence"]["id"] == "A"
                    out += tokens
            return out
        raise ValueError(t)

    def split_added(self, text):
        """Sections of text, the added tokens' contents isolated (longest match first)."""
        contents = sorted(self.added, key=len, reverse=True)
        sections, buf, i = [], "", 0
        while i < len(text):
            hit = next((c for c in contents if text.startswith(c, i)), None)
            if hit:
                if buf:
                    sections.append((buf, False))
                    buf = ""
                sections.append((hit, True))
                i += len(hit)
            else:
                buf += text[i]
                i += 1
        if buf:
            sections.append((buf, False))
        return sections

    def encode(self, text, add_special_tokens=True):
        assert allowed_text(text), text
        tokens = []
        for index, (section, is_added) in enumerate(self.split_added(text)):
            if is_added:
                tokens.append(section)
                continue
            s = self.normalize(section, self.tj["normalizer"])
            for piece in self.pre_tokenize([s], self.tj["pre_tokenizer"], index):
                tokens += self.model_tokens(piece)
        tokens = self.post_process(tokens, self.tj["post_processor"], add_special_tokens)
        return [self.token_id(t) for t in tokens], tokens

    # -- decoding
    def decode_chain(self, tokens, spec, lossy=False):
        t = spec["type"]
        if t == "Sequence":
            for sub in spec["decoders"]:
                tokens = self.decode_chain(tokens, sub, lossy)
            return tokens
        if t == "ByteLevel":
            raw = bytes(BYTE_DECODER[c] for c in "".join(tokens))
            return [raw.decode("utf-8", errors="replace")]
        if t == "Replace":
            return [x.replace(spec["pattern"]["String"], spec["content"]) for x in tokens]
        if t == "ByteFallback":
            out, pending = [], []

            def flush():
                if pending:
                    if lossy:  # TextDecoder / from_utf8_lossy: U+FFFD per maximal invalid subpart
                        out.append(bytes(pending).decode("utf-8", errors="replace"))
                    else:
                        try:
                            out.append(bytes(pending).decode("utf-8"))
                        except UnicodeDecodeError:  # the Rust crate: one U+FFFD per byte of the run
                            out.extend("\ufffd" for _ in pending)
                    pending.clear()
            for x in tokens:
                m = re.fullmatch(r"<0x([0-9A-F]{2})>", x)
                if m:
                    pending.append(int(m.group(1), 16))
                else:
                    flush()
                    out.append(x)
            flush()
            return out
        if t == "Fuse":
            return ["".join(tokens)]
        if t == "Strip":
            out = []
            for x in tokens:
                a = 0
                while a < spec["start"] and a < len(x) and x[a] == spec["content"]:
                    a += 1
                b = len(x)
                while len(x) - b < spec["stop"] and b > a and x[b - 1] == spec["content"]:
                    b -= 1
                out.append(x[a:b])
            return out
        raise ValueError(t)

    def decode(self, ids, skip_special_tokens=True, lossy=False):
        """lossy=False: the Rust crate (Hugging Face); lossy=True: a ByteFallback run that is not
        valid UTF-8 is decoded with replacement of maximal invalid subparts, as
        @huggingface/tokenizers does (TextDecoder); the two differ only there."""
        toks = [self.id_to_token[i] for i in ids]
        if skip_special_tokens:
            toks = [t for t in toks if not (t in self.added and self.added[t]["special"])]
        return "".join(self.decode_chain(toks, self.tj["decoder"], lossy))


# ---------------------------------------------------------------- tokenizer (building)

def train_bpe(words, n_merges):
    """words: list of symbol tuples (with repetition). Most frequent pair first,
    ties to the lexicographically smallest pair."""
    freq = {}
    for w in words:
        freq[w] = freq.get(w, 0) + 1
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for w, c in freq.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        new = {}
        for w, c in freq.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        freq = new
    assert len(merges) == n_merges
    return merges


def added_token(i, content, normalized=False):
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": normalized, "special": True}


def added_decoder(tokens):
    return {str(t["id"]): {"content": t["content"], "lstrip": False, "normalized": t["normalized"],
                           "rstrip": False, "single_word": False, "special": True} for t in tokens}


def bytelevel_words(text, regex):
    pieces = split_isolated(py_regex(regex), text)
    return [tuple(BYTE_ENCODER[b] for b in p.encode("utf-8")) for p in pieces]


def bytelevel_vocab(merges):
    vocab = {BYTE_ENCODER[b]: i for i, b in enumerate(BYTE_ORDER)}
    for a, b in merges:
        vocab[a + b] = len(vocab)
    return vocab


def template_single(bos, bos_id):
    return {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}},
    }


def tokenizer_gpt2(n_pos):
    merges = train_bpe(bytelevel_words(BPE_CORPUS, GPT2_REGEX), 43)
    vocab = bytelevel_vocab(merges)
    eot = added_token(len(vocab), "<|endoftext|>", normalized=True)
    vocab["<|endoftext|>"] = eot["id"]
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [eot],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True},
        "model": {"dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                  "fuse_unk": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }
    tc = {"add_bos_token": False, "add_prefix_space": False, "added_tokens_decoder": added_decoder([eot]),
          "bos_token": "<|endoftext|>", "clean_up_tokenization_spaces": True, "eos_token": "<|endoftext|>",
          "errors": "replace", "model_max_length": n_pos, "pad_token": None, "tokenizer_class": "GPT2Tokenizer",
          "unk_token": "<|endoftext|>"}
    return tj, tc, {"bos": None, "eos": "<|endoftext|>"}


def tokenizer_llama2(style, n_pos):
    """style 'legacy' (Llama 2: Prepend/Replace normalizer) or 'metaspace' (legacy: false)."""
    sp = "\u2581"
    words = [tuple(sp + w) for w in BPE_CORPUS.lower().replace(",", "").split()]
    chars = {}
    for w in words:
        for c in w:
            chars[c] = chars.get(c, 0) + 1
    char_list = sorted(chars, key=lambda c: (-chars[c], c))
    n_merges = 300 - 3 - 256 - len(char_list)
    merges = train_bpe(words, n_merges)
    specials = [added_token(0, "<unk>"), added_token(1, "<s>"), added_token(2, "</s>")]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for a, b in merges:
        vocab[a + b] = len(vocab)
    for c in char_list:
        assert c not in vocab
        vocab[c] = len(vocab)
    assert len(vocab) == 300
    if style == "legacy":
        normalizer = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": sp}, {"type": "Replace", "pattern": {"String": " "}, "content": sp}]}
        pre = None
    else:
        normalizer = None
        pre = {"type": "Metaspace", "replacement": sp, "prepend_scheme": "first", "split": False}
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": specials,
        "normalizer": normalizer,
        "pre_tokenizer": pre,
        "post_processor": template_single("<s>", 1),
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": sp}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }
    tc = {"add_bos_token": True, "add_eos_token": False, "added_tokens_decoder": added_decoder(specials),
          "bos_token": "<s>", "clean_up_tokenization_spaces": False, "eos_token": "</s>",
          "legacy": style == "legacy", "model_max_length": n_pos, "pad_token": None, "sp_model_kwargs": {},
          "spaces_between_special_tokens": False, "tokenizer_class": "LlamaTokenizer", "unk_token": "<unk>",
          "use_default_system_prompt": False}
    if style != "legacy":
        tc["add_prefix_space"] = True
    return tj, tc, {"bos": "<s>", "eos": "</s>"}


LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                   "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>"]


def split_pre(regex):
    return {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": False}


def tokenizer_llama3(n_pos):
    merges = train_bpe(bytelevel_words(BPE_CORPUS, LLAMA3_REGEX), 300 - 256 - len(LLAMA3_SPECIALS))
    vocab = bytelevel_vocab(merges)
    specials = [added_token(len(vocab) + i, c) for i, c in enumerate(LLAMA3_SPECIALS)]
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": specials,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            split_pre(LLAMA3_REGEX),
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            template_single("<|begin_of_text|>", specials[0]["id"])]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }
    tc = {"added_tokens_decoder": added_decoder(specials), "bos_token": "<|begin_of_text|>",
          "clean_up_tokenization_spaces": True, "eos_token": "<|eot_id|>",
          "model_input_names": ["input_ids", "attention_mask"], "model_max_length": n_pos,
          "tokenizer_class": "PreTrainedTokenizerFast"}
    return tj, tc, {"bos": "<|begin_of_text|>", "eos": "<|eot_id|>"}


def tokenizer_qwen2(n_pos):
    specials_c = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    merges = train_bpe(bytelevel_words(BPE_CORPUS, QWEN2_REGEX), 300 - 256 - len(specials_c))
    vocab = bytelevel_vocab(merges)
    specials = [added_token(len(vocab) + i, c) for i, c in enumerate(specials_c)]
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    tj = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": specials,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [split_pre(QWEN2_REGEX), dict(bl)]},
        "post_processor": dict(bl),
        "decoder": dict(bl),
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [[a, b] for a, b in merges]},
    }
    tc = {"add_prefix_space": False, "added_tokens_decoder": added_decoder(specials),
          "additional_special_tokens": ["<|im_start|>", "<|im_end|>"], "bos_token": None,
          "clean_up_tokenization_spaces": False, "eos_token": "<|endoftext|>", "errors": "replace",
          "model_max_length": n_pos, "pad_token": "<|endoftext|>", "split_special_tokens": False,
          "tokenizer_class": "Qwen2Tokenizer", "unk_token": None}
    return tj, tc, {"bos": None, "eos": "<|endoftext|>"}


def tokenizer_bytes(tj):
    return (json.dumps(tj, indent=2, ensure_ascii=False) + "\n").encode()


# ---------------------------------------------------------------- configs

def gpt2_config(d, tok):
    eos = tok.token_id("<|endoftext|>")
    return {
        "activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
        "bos_token_id": eos, "embd_pdrop": 0.1, "eos_token_id": eos, "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_embd": d["E"], "n_head": d["H"], "n_inner": None,
        "n_layer": d["layers"], "n_positions": d["P"], "reorder_and_upcast_attn": False, "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False, "scale_attn_weights": True, "summary_activation": None,
        "summary_first_dropout": 0.1, "summary_proj_to_labels": True, "summary_type": "cls_index",
        "summary_use_proj": True, "torch_dtype": "float32", "transformers_version": "4.44.2", "use_cache": True,
        "vocab_size": d["V"],
    }


def llama_family_config(arch, d, bos, eos):
    c = {
        "architectures": [{"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                           "qwen2": "Qwen2ForCausalLM"}[arch]],
        "attention_dropout": 0.0, "bos_token_id": bos, "eos_token_id": eos, "hidden_act": "silu",
        "hidden_size": d["E"], "initializer_range": 0.02, "intermediate_size": d["I"],
        "max_position_embeddings": d["P"], "model_type": arch, "num_attention_heads": d["H"],
        "num_hidden_layers": d["layers"], "num_key_value_heads": d["Hkv"], "rms_norm_eps": d["eps"],
        "rope_theta": d["theta"], "tie_word_embeddings": d["tie"], "torch_dtype": "float32",
        "transformers_version": d.get("tv", "4.44.2"), "use_cache": True, "vocab_size": d["V"],
    }
    if arch == "llama":
        c.update({"attention_bias": False, "mlp_bias": False, "pretraining_tp": 1,
                  "rope_scaling": d.get("rope_scaling")})
    if arch == "mistral":
        c["sliding_window"] = d["window"]
    if arch == "qwen2":
        c.update({"max_window_layers": d["layers"], "sliding_window": d["window"], "use_sliding_window": False})
    if "head_dim" in d:
        c["head_dim"] = d["head_dim"]
    return c


def resolve(cfg):
    """config.json -> what the oracle (and the loader) must use."""
    arch = cfg["model_type"]
    eos = cfg["eos_token_id"]
    eos = list(eos) if isinstance(eos, list) else [eos]
    if arch == "gpt2":
        E = cfg["n_embd"]
        return dict(arch=arch, E=E, H=cfg["n_head"], Hkv=cfg["n_head"], D=E // cfg["n_head"], layers=cfg["n_layer"],
                    V=cfg["vocab_size"], I=cfg["n_inner"] or 4 * E, eps=cfg["layer_norm_epsilon"],
                    P=cfg["n_positions"], tie=True, window=None, bos=cfg["bos_token_id"], eos=eos)
    assert arch in ("llama", "mistral", "qwen2"), arch
    E, H = cfg["hidden_size"], cfg["num_attention_heads"]
    D = cfg.get("head_dim") or E // H
    window = None
    if arch == "mistral":
        window = cfg.get("sliding_window")
    elif arch == "qwen2" and cfg.get("use_sliding_window"):
        window = cfg.get("sliding_window")
    scaling = cfg.get("rope_scaling")
    if scaling is not None:
        assert scaling.get("rope_type", scaling.get("type")) == "llama3", scaling
    return dict(arch=arch, E=E, H=H, Hkv=cfg.get("num_key_value_heads") or H, D=D, layers=cfg["num_hidden_layers"],
                V=cfg["vocab_size"], I=cfg["intermediate_size"], eps=cfg["rms_norm_eps"],
                P=cfg["max_position_embeddings"], tie=cfg.get("tie_word_embeddings", False), window=window,
                theta=cfg.get("rope_theta", 10000.0), scaling=scaling, bias=arch == "qwen2",
                bos=cfg.get("bos_token_id"), eos=eos)


# ---------------------------------------------------------------- weights

def gen_gpt2(rng, d):
    E, P, V, I = d["E"], d["P"], d["V"], 4 * d["E"]
    n = rng.standard_normal
    W = {"wte.weight": f32(0.6 * n((V, E))), "wpe.weight": f32(0.6 * n((P, E)))}
    for i in range(d["layers"]):
        p = f"h.{i}."
        W[p + "ln_1.weight"] = f32(1 + 0.2 * n(E))
        W[p + "ln_1.bias"] = f32(0.1 * n(E))
        W[p + "attn.c_attn.weight"] = f32(n((E, 3 * E)) * (1.6 / math.sqrt(E)))
        W[p + "attn.c_attn.bias"] = f32(0.1 * n(3 * E))
        W[p + "attn.c_proj.weight"] = f32(n((E, E)) * (3.0 / math.sqrt(E)))
        W[p + "attn.c_proj.bias"] = f32(0.1 * n(E))
        W[p + "ln_2.weight"] = f32(1 + 0.2 * n(E))
        W[p + "ln_2.bias"] = f32(0.1 * n(E))
        W[p + "mlp.c_fc.weight"] = f32(n((E, I)) / math.sqrt(E))
        W[p + "mlp.c_fc.bias"] = f32(0.1 * n(I))
        W[p + "mlp.c_proj.weight"] = f32(n((I, E)) * (3.0 / math.sqrt(I)))
        W[p + "mlp.c_proj.bias"] = f32(0.1 * n(E))
    W["ln_f.weight"] = f32(1 + 0.2 * n(E))
    W["ln_f.bias"] = f32(0.1 * n(E))
    buffers = {}
    for i in range(d["layers"]):
        buffers[f"h.{i}.attn.bias"] = f32(np.tril(np.ones((P, P)))[None, None])
        buffers[f"h.{i}.attn.masked_bias"] = f32(np.array(-1e4))
    return W, buffers


def gen_llama(rng, d, r):
    E, H, Hkv, D, I, V = r["E"], r["H"], r["Hkv"], r["D"], r["I"], r["V"]
    n = rng.standard_normal
    emb = 0.8 * n((V, E))
    if d.get("Vtok") is not None and d["Vtok"] < V:
        emb[d["Vtok"]:] = 0.0  # rows past the tokenizer: never seen in training
    W = {"model.embed_tokens.weight": f32(emb)}
    for i in range(r["layers"]):
        p = f"model.layers.{i}."
        W[p + "self_attn.q_proj.weight"] = f32(n((H * D, E)) * (1.5 / math.sqrt(E)))
        W[p + "self_attn.k_proj.weight"] = f32(n((Hkv * D, E)) * (1.5 / math.sqrt(E)))
        W[p + "self_attn.v_proj.weight"] = f32(n((Hkv * D, E)) / math.sqrt(E))
        W[p + "self_attn.o_proj.weight"] = f32(n((E, H * D)) * (3.0 / math.sqrt(H * D)))
        if r["bias"]:
            W[p + "self_attn.q_proj.bias"] = f32(0.5 * n(H * D))
            W[p + "self_attn.k_proj.bias"] = f32(0.5 * n(Hkv * D))
            W[p + "self_attn.v_proj.bias"] = f32(0.5 * n(Hkv * D))
        W[p + "mlp.gate_proj.weight"] = f32(n((I, E)) / math.sqrt(E))
        W[p + "mlp.up_proj.weight"] = f32(n((I, E)) / math.sqrt(E))
        W[p + "mlp.down_proj.weight"] = f32(n((E, I)) * (3.0 / math.sqrt(I)))
        W[p + "input_layernorm.weight"] = f32(1 + 0.2 * n(E))
        W[p + "post_attention_layernorm.weight"] = f32(1 + 0.2 * n(E))
    # tied embeddings: a zero-mean final norm weight keeps the residual copy of the input
    # embedding from making every random model repeat its last token
    W["model.norm.weight"] = f32(1.5 * n(E) if r["tie"] else 1 + 0.2 * n(E))
    if not r["tie"]:
        lm = n((V, E)) * (2.5 / math.sqrt(E))
        if d.get("Vtok") is not None and d["Vtok"] < V:
            lm[d["Vtok"]:] = 0.0
        W["lm_head.weight"] = f32(lm)
    buffers = {}
    if d.get("inv_freq_buffer"):
        inv = f32(hf_inv_freq(r).numpy())
        for i in range(r["layers"]):
            buffers[f"model.layers.{i}.self_attn.rotary_emb.inv_freq"] = inv
    return W, buffers


# ---------------------------------------------------------------- oracle: GPT-2 (modeling_gpt2.py)

def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def gpt2_forward(r, W, ids, cache=None):
    """W: name -> float64 tensor (unprefixed). cache: {"len": n, "k": [...], "v": [...]} or None
    (updated in place). Returns logits [L, V], layer-0 weights [H, L, S], final hidden [L, E]."""
    E, H, D = r["E"], r["H"], r["D"]
    ids = torch.as_tensor(ids, dtype=torch.long)
    L = ids.shape[0]
    past = cache["len"] if cache else 0
    pos = torch.arange(past, past + L)
    h = W["wte.weight"][ids] + W["wpe.weight"][pos]
    attn0 = None
    for i in range(r["layers"]):
        p = f"h.{i}."
        x = F.layer_norm(h, (E,), W[p + "ln_1.weight"], W[p + "ln_1.bias"], r["eps"])
        qkv = torch.addmm(W[p + "attn.c_attn.bias"], x, W[p + "attn.c_attn.weight"])
        q, k, v = (t.view(L, H, D).transpose(0, 1) for t in qkv.split(E, dim=-1))
        if cache is not None:
            if len(cache["k"]) > i:
                k = torch.cat([cache["k"][i], k], 1)
                v = torch.cat([cache["v"][i], v], 1)
                cache["k"][i], cache["v"][i] = k, v
            else:
                cache["k"].append(k)
                cache["v"].append(v)
        S = k.shape[1]
        scores = q @ k.transpose(-1, -2) / (D ** 0.5)
        causal = torch.ones(S, S, dtype=torch.bool).tril()[S - L:S, :S]
        scores = torch.where(causal, scores, torch.tensor(torch.finfo(scores.dtype).min, dtype=scores.dtype))
        w = torch.softmax(scores, -1)
        if i == 0:
            attn0 = w
        o = (w @ v).transpose(0, 1).reshape(L, E)
        h = h + torch.addmm(W[p + "attn.c_proj.bias"], o, W[p + "attn.c_proj.weight"])
        x = F.layer_norm(h, (E,), W[p + "ln_2.weight"], W[p + "ln_2.bias"], r["eps"])
        m = gelu_new(torch.addmm(W[p + "mlp.c_fc.bias"], x, W[p + "mlp.c_fc.weight"]))
        h = h + torch.addmm(W[p + "mlp.c_proj.bias"], m, W[p + "mlp.c_proj.weight"])
    if cache is not None:
        cache["len"] = past + L
    hn = F.layer_norm(h, (E,), W["ln_f.weight"], W["ln_f.bias"], r["eps"])
    return hn @ W["wte.weight"].T, attn0, hn


def gpt2_modules(r, W, ids):
    """Second formulation: torch.nn modules."""
    import torch.nn as nn
    E, H, L = r["E"], r["H"], len(ids)
    ids = torch.as_tensor(ids, dtype=torch.long)[None]
    wte = nn.Embedding(r["V"], E).double()
    wpe = nn.Embedding(r["P"], E).double()
    with torch.no_grad():
        wte.weight.copy_(W["wte.weight"])
        wpe.weight.copy_(W["wpe.weight"])

    def ln(prefix):
        m = nn.LayerNorm(E, eps=r["eps"]).double()
        with torch.no_grad():
            m.weight.copy_(W[prefix + ".weight"])
            m.bias.copy_(W[prefix + ".bias"])
        return m

    def lin(prefix):  # Conv1D (in, out) -> nn.Linear (out, in)
        w = W[prefix + ".weight"]
        m = nn.Linear(w.shape[0], w.shape[1]).double()
        with torch.no_grad():
            m.weight.copy_(w.T)
            m.bias.copy_(W[prefix + ".bias"])
        return m

    gelu = nn.GELU(approximate="tanh")
    mask = torch.ones(L, L, dtype=torch.bool).triu(1)
    with torch.no_grad():
        h = wte(ids) + wpe(torch.arange(L)[None])
        attn0 = None
        for i in range(r["layers"]):
            p = f"h.{i}."
            mha = nn.MultiheadAttention(E, H, bias=True, batch_first=True).double().eval()
            mha.in_proj_weight.copy_(W[p + "attn.c_attn.weight"].T)
            mha.in_proj_bias.copy_(W[p + "attn.c_attn.bias"])
            mha.out_proj.weight.copy_(W[p + "attn.c_proj.weight"].T)
            mha.out_proj.bias.copy_(W[p + "attn.c_proj.bias"])
            x = ln(p + "ln_1")(h)
            a, w = mha(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)
            if i == 0:
                attn0 = w[0]
            h = h + a
            h = h + lin(p + "mlp.c_proj")(gelu(lin(p + "mlp.c_fc")(ln(p + "ln_2")(h))))
        logits = ln("ln_f")(h) @ wte.weight.T
    return logits[0], attn0


def np_layernorm(x, w, b, eps):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        mu = sum(x[i]) / len(x[i])
        var = sum((t - mu) ** 2 for t in x[i]) / len(x[i])
        out[i] = (x[i] - mu) / math.sqrt(var + eps) * w + b
    return out


def np_attention(q, k, v, groups, window):
    """q [H, L, D], k/v [Hkv, L, D]; causal (+window) attention by explicit loops."""
    H, L, D = q.shape
    out = np.zeros((H, L, v.shape[2]))
    wts = np.zeros((H, L, L))
    for h in range(H):
        g = h // groups
        for i in range(L):
            keys = [j for j in range(L) if j <= i and (window is None or j > i - window)]
            s = [float(np.dot(q[h, i], k[g, j])) / math.sqrt(D) for j in keys]
            m = max(s)
            e = [math.exp(t - m) for t in s]
            z = sum(e)
            for j, t in zip(keys, e):
                wts[h, i, j] = t / z
                out[h, i] += (t / z) * v[g, j]
    return out, wts


def gpt2_loops(r, Wn, ids):
    """Third formulation: numpy loops. Wn: name -> float64 ndarray."""
    E, H, D, L = r["E"], r["H"], r["D"], len(ids)
    h = np.stack([Wn["wte.weight"][t] + Wn["wpe.weight"][i] for i, t in enumerate(ids)])
    attn0 = None
    for li in range(r["layers"]):
        p = f"h.{li}."
        x = np_layernorm(h, Wn[p + "ln_1.weight"], Wn[p + "ln_1.bias"], r["eps"])
        qkv = x @ Wn[p + "attn.c_attn.weight"] + Wn[p + "attn.c_attn.bias"]
        q, k, v = (qkv[:, j * E:(j + 1) * E].reshape(L, H, D).transpose(1, 0, 2) for j in range(3))
        o, w = np_attention(q, k, v, 1, None)
        if li == 0:
            attn0 = w
        h = h + o.transpose(1, 0, 2).reshape(L, E) @ Wn[p + "attn.c_proj.weight"] + Wn[p + "attn.c_proj.bias"]
        x = np_layernorm(h, Wn[p + "ln_2.weight"], Wn[p + "ln_2.bias"], r["eps"])
        a = x @ Wn[p + "mlp.c_fc.weight"] + Wn[p + "mlp.c_fc.bias"]
        g = np.vectorize(lambda t: 0.5 * t * (1 + math.tanh(math.sqrt(2 / math.pi) * (t + 0.044715 * t ** 3))))(a)
        h = h + g @ Wn[p + "mlp.c_proj.weight"] + Wn[p + "mlp.c_proj.bias"]
    hn = np_layernorm(h, Wn["ln_f.weight"], Wn["ln_f.bias"], r["eps"])
    return hn @ Wn["wte.weight"].T, attn0


# ---------------------------------------------------------------- oracle: Llama family

def hf_inv_freq(r):
    """modeling_rope_utils: default and llama3 inv_freq (in float64)."""
    D = r["D"]
    inv = 1.0 / (r["theta"] ** (torch.arange(0, D, 2, dtype=torch.int64).to(torch.float64) / D))
    sc = r.get("scaling")
    if sc is None:
        return inv
    factor, low, high = sc["factor"], sc["low_freq_factor"], sc["high_freq_factor"]
    old = sc["original_max_position_embeddings"]
    low_wl, high_wl = old / low, old / high
    wavelen = 2 * math.pi / inv
    inv_l = torch.where(wavelen > low_wl, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    is_medium = ~(wavelen < high_wl) * ~(wavelen > low_wl)
    return torch.where(is_medium, smoothed, inv_l)


def meta_inv_freq(r):
    """Meta's precompute_freqs_cis frequencies + llama-models apply_scaling (a scalar loop)."""
    D, theta = r["D"], r["theta"]
    freqs = [1.0 / (theta ** (i / D)) for i in range(0, D, 2)]
    sc = r.get("scaling")
    if sc is None:
        return freqs
    scale_factor, low_freq_factor = sc["factor"], sc["low_freq_factor"]
    high_freq_factor, old_context_len = sc["high_freq_factor"], sc["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    new = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_freq_wavelen:
            new.append(freq)
        elif wavelen > low_freq_wavelen:
            new.append(freq / scale_factor)
        else:
            smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            new.append((1 - smooth) * freq / scale_factor + smooth * freq)
    return new


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def repeat_kv(x, n_rep):
    Hkv, S, D = x.shape
    return x[:, None].expand(Hkv, n_rep, S, D).reshape(Hkv * n_rep, S, D)


def key_mask(q_pos, S, window):
    """bool [L, S], True = masked: k > q, or k <= q - W with a window."""
    k = torch.arange(S)[None, :]
    q = q_pos[:, None]
    m = k > q
    if window is not None:
        m = m | (k <= q - window)
    return m


def llama_forward(r, W, ids, cache=None, window=None):
    """HF LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM forward. window
    defaults to r["window"]; pass "none" for no window. Returns logits, layer-0
    weights [H, L, S], final hidden."""
    if window is None:
        window = r["window"]
    elif window == "none":
        window = None
    H, Hkv, D = r["H"], r["Hkv"], r["D"]
    ids = torch.as_tensor(ids, dtype=torch.long)
    L = ids.shape[0]
    past = cache["len"] if cache else 0
    pos = torch.arange(past, past + L)
    freqs = pos.to(torch.float64)[:, None] * hf_inv_freq(r)[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    h = W["model.embed_tokens.weight"][ids]
    attn0 = None
    for i in range(r["layers"]):
        p = f"model.layers.{i}."
        x = rms_norm(h, W[p + "input_layernorm.weight"], r["eps"])
        q = F.linear(x, W[p + "self_attn.q_proj.weight"], W.get(p + "self_attn.q_proj.bias"))
        k = F.linear(x, W[p + "self_attn.k_proj.weight"], W.get(p + "self_attn.k_proj.bias"))
        v = F.linear(x, W[p + "self_attn.v_proj.weight"], W.get(p + "self_attn.v_proj.bias"))
        q = q.view(L, H, D).transpose(0, 1)
        k = k.view(L, Hkv, D).transpose(0, 1)
        v = v.view(L, Hkv, D).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache is not None:
            if len(cache["k"]) > i:
                k = torch.cat([cache["k"][i], k], 1)
                v = torch.cat([cache["v"][i], v], 1)
                cache["k"][i], cache["v"][i] = k, v
            else:
                cache["k"].append(k)
                cache["v"].append(v)
        S = k.shape[1]
        kr, vr = repeat_kv(k, H // Hkv), repeat_kv(v, H // Hkv)
        scores = q @ kr.transpose(-1, -2) / math.sqrt(D)
        scores = scores.masked_fill(key_mask(pos, S, window), float("-inf"))
        w = torch.softmax(scores, -1)
        if i == 0:
            attn0 = w
        o = (w @ vr).transpose(0, 1).reshape(L, H * D)
        h = h + F.linear(o, W[p + "self_attn.o_proj.weight"])
        x = rms_norm(h, W[p + "post_attention_layernorm.weight"], r["eps"])
        m = F.silu(F.linear(x, W[p + "mlp.gate_proj.weight"])) * F.linear(x, W[p + "mlp.up_proj.weight"])
        h = h + F.linear(m, W[p + "mlp.down_proj.weight"])
    if cache is not None:
        cache["len"] = past + L
    hn = rms_norm(h, W["model.norm.weight"], r["eps"])
    lm = W["model.embed_tokens.weight"] if r["tie"] else W["lm_head.weight"]
    return hn @ lm.T, attn0, hn


def hf_to_meta(w, n_heads):
    """Inverse of convert_llama_weights_to_hf.permute (rows of q/k projections, or biases)."""
    if w.dim() == 1:
        return w.view(n_heads, 2, -1).transpose(1, 2).reshape(-1)
    dim1, dim2 = w.shape
    return w.view(n_heads, 2, dim1 // n_heads // 2, dim2).transpose(1, 2).reshape(dim1, dim2)


def meta_to_hf(w, n_heads):
    dim1, dim2 = w.shape
    return w.view(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(1, 2).reshape(dim1, dim2)


def llama_meta(r, W, ids):
    """Second formulation: Meta's reference model (llama/model.py) on un-permuted weights."""
    H, Hkv, D, L = r["H"], r["Hkv"], r["D"], len(ids)
    ids = torch.as_tensor(ids, dtype=torch.long)
    freqs = torch.tensor(meta_inv_freq(r), dtype=torch.float64)
    t = torch.arange(L, dtype=torch.float64)
    freqs_cis = torch.polar(torch.ones(L, D // 2, dtype=torch.float64), torch.outer(t, freqs))

    def rope(x):  # x [L, heads, D] in Meta's interleaved layout
        xc = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2).contiguous())
        return torch.view_as_real(xc * freqs_cis[:, None, :]).flatten(2)

    def norm(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + r["eps"]) * w

    mask = torch.full((L, L), float("-inf"), dtype=torch.float64).triu(1)
    if r["window"] is not None:
        mask = mask + torch.full((L, L), float("-inf"), dtype=torch.float64).tril(-r["window"])
    h = W["model.embed_tokens.weight"][ids]
    attn0 = None
    for i in range(r["layers"]):
        p = f"model.layers.{i}.self_attn."
        x = norm(h, W[f"model.layers.{i}.input_layernorm.weight"])
        wq, wk = hf_to_meta(W[p + "q_proj.weight"], H), hf_to_meta(W[p + "k_proj.weight"], Hkv)
        xq, xk, xv = x @ wq.T, x @ wk.T, x @ W[p + "v_proj.weight"].T
        if r["bias"]:
            xq = xq + hf_to_meta(W[p + "q_proj.bias"], H)
            xk = xk + hf_to_meta(W[p + "k_proj.bias"], Hkv)
            xv = xv + W[p + "v_proj.bias"]
        xq, xk = rope(xq.view(L, H, D)), rope(xk.view(L, Hkv, D))
        xv = xv.view(L, Hkv, D)
        n_rep = H // Hkv
        keys = xk[:, :, None, :].expand(L, Hkv, n_rep, D).reshape(L, H, D)
        values = xv[:, :, None, :].expand(L, Hkv, n_rep, D).reshape(L, H, D)
        scores = torch.matmul(xq.transpose(0, 1), keys.permute(1, 2, 0)) / math.sqrt(D) + mask
        w = F.softmax(scores, dim=-1)
        if i == 0:
            attn0 = w
        out = torch.matmul(w, values.transpose(0, 1)).transpose(0, 1).reshape(L, H * D)
        h = h + out @ W[p + "o_proj.weight"].T
        pl = f"model.layers.{i}."
        x = norm(h, W[pl + "post_attention_layernorm.weight"])
        w1, w3, w2 = W[pl + "mlp.gate_proj.weight"], W[pl + "mlp.up_proj.weight"], W[pl + "mlp.down_proj.weight"]
        h = h + (F.silu(x @ w1.T) * (x @ w3.T)) @ w2.T
    hn = norm(h, W["model.norm.weight"])
    out_w = W["model.embed_tokens.weight"] if r["tie"] else W["lm_head.weight"]
    return hn @ out_w.T, attn0


def llama_loops(r, Wn, ids):
    """Third formulation: numpy loops (RoPE per pair, half layout)."""
    H, Hkv, D, L, E = r["H"], r["Hkv"], r["D"], len(ids), r["E"]
    inv = meta_inv_freq(r)

    def rms(x, w):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            ms = sum(t * t for t in x[i]) / len(x[i])
            out[i] = x[i] / math.sqrt(ms + r["eps"]) * w
        return out

    def rope(x):  # [heads, L, D]
        y = x.copy()
        for hh in range(x.shape[0]):
            for pos in range(L):
                for j in range(D // 2):
                    a, b = x[hh, pos, j], x[hh, pos, j + D // 2]
                    c, s = math.cos(pos * inv[j]), math.sin(pos * inv[j])
                    y[hh, pos, j] = a * c - b * s
                    y[hh, pos, j + D // 2] = a * s + b * c
        return y

    h = np.stack([Wn["model.embed_tokens.weight"][t] for t in ids])
    attn0 = None
    for i in range(r["layers"]):
        p = f"model.layers.{i}."
        x = rms(h, Wn[p + "input_layernorm.weight"])
        q = x @ Wn[p + "self_attn.q_proj.weight"].T
        k = x @ Wn[p + "self_attn.k_proj.weight"].T
        v = x @ Wn[p + "self_attn.v_proj.weight"].T
        if r["bias"]:
            q = q + Wn[p + "self_attn.q_proj.bias"]
            k = k + Wn[p + "self_attn.k_proj.bias"]
            v = v + Wn[p + "self_attn.v_proj.bias"]
        q = rope(q.reshape(L, H, D).transpose(1, 0, 2))
        k = rope(k.reshape(L, Hkv, D).transpose(1, 0, 2))
        v = v.reshape(L, Hkv, D).transpose(1, 0, 2)
        o, w = np_attention(q, k, v, H // Hkv, r["window"])
        if i == 0:
            attn0 = w
        h = h + o.transpose(1, 0, 2).reshape(L, H * D) @ Wn[p + "self_attn.o_proj.weight"].T
        x = rms(h, Wn[p + "post_attention_layernorm.weight"])
        g = x @ Wn[p + "mlp.gate_proj.weight"].T
        g = g / (1 + np.exp(-g))
        h = h + (g * (x @ Wn[p + "mlp.up_proj.weight"].T)) @ Wn[p + "mlp.down_proj.weight"].T
    assert h.shape[1] == E
    hn = rms(h, Wn["model.norm.weight"])
    out_w = Wn["model.embed_tokens.weight"] if r["tie"] else Wn["lm_head.weight"]
    return hn @ out_w.T, attn0


# ---------------------------------------------------------------- oracle driver

def forward_fn(r):
    return gpt2_forward if r["arch"] == "gpt2" else llama_forward


def oracle(r, W, prompt_ids):
    """Full forward on the prompt + 32 greedy steps by full recomputation."""
    fwd = forward_fn(r)
    logits, attn0, _ = fwd(r, W, prompt_ids)
    seq = list(prompt_ids)
    ids, top, margin, step_logits, step_hidden = [], [], [], [], []
    for _ in range(MAX_NEW):
        lg, _, hn = fwd(r, W, seq)
        last = lg[-1]
        v, ix = torch.topk(last, 2)
        nxt = int(torch.argmax(last))
        assert nxt == int(ix[0])
        ids.append(nxt)
        top.append(float(v[0]))
        margin.append(float(v[0] - v[1]))
        step_logits.append(last)
        step_hidden.append(hn[-1])
        seq.append(nxt)
    return dict(logits=logits, attn0=attn0, ids=ids, top=top, margin=margin,
                step_logits=torch.stack(step_logits), step_hidden=torch.stack(step_hidden))


def run_checks(checks, name, r, W, prompt_ids, res):
    """Independent formulations + cached decoding for one model."""
    fwd = forward_fn(r)
    Wn = {k: v.numpy() for k, v in W.items()}
    if r["arch"] == "gpt2":
        lg, at = gpt2_modules(r, W, prompt_ids)
        checks.compare("gpt2: oracle == torch.nn modules (MultiheadAttention) logits", name, res["logits"], lg)
        checks.compare("gpt2: oracle == torch.nn modules (MultiheadAttention) layer-0 weights", name, res["attn0"], at)
        lg, at = gpt2_loops(r, Wn, prompt_ids)
        checks.compare("gpt2: oracle == numpy loops logits", name, res["logits"], lg)
        checks.compare("gpt2: oracle == numpy loops layer-0 weights", name, res["attn0"], at)
    else:
        lg, at = llama_meta(r, W, prompt_ids)
        checks.compare("llama-family: oracle == Meta complex-RoPE formulation logits", name, res["logits"], lg)
        checks.compare("llama-family: oracle == Meta complex-RoPE formulation layer-0 weights", name, res["attn0"], at)
        lg, at = llama_loops(r, Wn, prompt_ids)
        checks.compare("llama-family: oracle == numpy loops logits", name, res["logits"], lg)
        checks.compare("llama-family: oracle == numpy loops layer-0 weights", name, res["attn0"], at)
        wq = W["model.layers.0.self_attn.q_proj.weight"]
        checks.compare("llama-family: convert_llama_weights_to_hf.permute inverts hf_to_meta", name,
                       wq, meta_to_hf(hf_to_meta(wq, r["H"]), r["H"]), tol=0.0)
        checks.compare("llama-family: HF inv_freq == Meta apply_scaling loop", name,
                       hf_inv_freq(r), torch.tensor(meta_inv_freq(r), dtype=torch.float64))
    # the prompt in two chunks through the cache
    L = len(prompt_ids)
    c = L // 2 + 1
    cache = {"len": 0, "k": [], "v": []}
    l1, a1, _ = fwd(r, W, prompt_ids[:c], cache)
    l2, a2, _ = fwd(r, W, prompt_ids[c:], cache)
    checks.compare("cache: chunked prompt == full forward logits", name, res["logits"], torch.cat([l1, l2]))
    checks.compare("cache: chunked prompt == full forward layer-0 weights [H, L2, S]", name, res["attn0"][:, c:, :], a2)
    checks.compare("cache: chunked prompt == full forward layer-0 weights [H, L2, S]", name,
                   res["attn0"][:, :c, :c], a1)
    # greedy decoding one token at a time through the cache
    cache = {"len": 0, "k": [], "v": []}
    lg, _, _ = fwd(r, W, prompt_ids, cache)
    ids, steps = [], []
    last = lg[-1]
    for t in range(MAX_NEW):
        steps.append(last)
        nxt = int(torch.argmax(last))
        ids.append(nxt)
        lg, _, _ = fwd(r, W, [nxt], cache)
        last = lg[-1]
    checks.compare("cache: step-by-step decoding == full recomputation, step logits", name,
                   res["step_logits"], torch.stack(steps))
    checks.true("cache: step-by-step decoding == full recomputation, greedy ids", name, ids == res["ids"],
                f"{ids} != {res['ids']}")


# ---------------------------------------------------------------- model specs

TOKENIZERS = {
    "gpt2": lambda: tokenizer_gpt2(64),
    "llama2": lambda: tokenizer_llama2("legacy", 128),
    "llama2-metaspace": lambda: tokenizer_llama2("metaspace", 128),
    "llama3": lambda: tokenizer_llama3(512),
    "qwen2": lambda: tokenizer_qwen2(128),
}

DEFINITIONS = {
    "gpt2": "transformers v4.44 modeling_gpt2.py GPT2LMHeadModel (Conv1D, gelu_new, learned positions, "
            "LayerNorm, tied LM head), eager attention",
    "llama": "transformers v4.44 modeling_llama.py LlamaForCausalLM (RMSNorm, SwiGLU, rotate_half RoPE, "
             "repeat_kv GQA, causal), modeling_rope_utils llama3 inv_freq, eager attention",
    "mistral": "transformers v4.44 modeling_mistral.py MistralForCausalLM (as Llama + sliding_window mask: "
               "visible iff q - W < k <= q), eager attention",
    "qwen2": "transformers v4.44 modeling_qwen2.py Qwen2ForCausalLM (as Llama + q/k/v biases; window only "
             "when use_sliding_window), eager attention",
}

FAMILIES = [
    dict(name="gpt2", arch="gpt2", tokenizer="gpt2", dims=dict(E=32, H=4, layers=2, P=64),
         variants=[dict(folder="gpt2"),
                   dict(folder="gpt2-prefixed", prefix="transformer.", tokenizer_config=False)]),
    dict(name="llama", arch="llama", tokenizer="llama2",
         dims=dict(E=48, H=4, Hkv=2, I=64, layers=2, P=128, eps=1e-05, theta=10000.0, tie=False,
                   inv_freq_buffer=True),
         variants=[dict(folder="llama", extra_files=True), dict(folder="llama-bf16", dtype="BF16"),
                   dict(folder="llama-sharded", shards=2)]),
    dict(name="llama3", arch="llama", tokenizer="llama3",
         dims=dict(E=48, H=4, Hkv=1, head_dim=16, I=64, layers=2, P=512, eps=1e-05, theta=500000.0, tie=True,
                   tv="4.45.2", rope_scaling={"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                              "original_max_position_embeddings": 64, "rope_type": "llama3"},
                   eos_list=["<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"]),
         variants=[dict(folder="llama3")]),
    dict(name="qwen2", arch="qwen2", tokenizer="qwen2",
         dims=dict(E=64, H=4, Hkv=2, I=64, layers=2, P=128, eps=1e-06, theta=1000000.0, tie=True, window=4,
                   V=320),
         variants=[dict(folder="qwen2")]),
    dict(name="mistral", arch="mistral", tokenizer="llama2-metaspace",
         dims=dict(E=32, H=4, Hkv=2, I=64, layers=2, P=128, eps=1e-05, theta=10000.0, tie=False, window=5,
                   tv="4.42.4"),
         eos_at=10,
         variants=[dict(folder="mistral"),
                   dict(folder="mistral-nowindow", config={"sliding_window": None, "head_dim": None})]),
]


def family_config(fam, tok, tok_info):
    d = dict(fam["dims"])
    d.setdefault("V", tok.size)
    if fam["arch"] == "gpt2":
        return gpt2_config(d, tok), d
    bos = tok.token_id(tok_info["bos"]) if tok_info["bos"] else tok.token_id(tok_info["eos"])
    if "eos_list" in d:
        eos = [tok.token_id(t) for t in d["eos_list"]]
    else:
        eos = tok.token_id(tok_info["eos"])
    d["Vtok"] = tok.size
    return llama_family_config(fam["arch"], d, bos, eos), d


def to_torch(Wf32):
    return {k: torch.from_numpy(v.astype(np.float64)) for k, v in Wf32.items()}


def build_family(fam, checks, verbose):
    """-> list of model records (one per variant) with files and expected."""
    tj, tc, tok_info = TOKENIZERS[fam["tokenizer"]]()
    tok = PyTokenizer(tj)
    cfg, d = family_config(fam, tok, tok_info)
    r = resolve(cfg)
    prompt_ids, prompt_tokens = tok.encode(PROMPT)
    assert tok.decode(prompt_ids) == PROMPT, (tok.decode(prompt_ids), PROMPT)
    assert max(prompt_ids) < r["V"]
    for attempt in range(40):
        rng = rng_for(f"{fam['name']}#{attempt}")
        if fam["arch"] == "gpt2":
            W32, buffers = gen_gpt2(rng, dict(d, V=r["V"]))
        else:
            W32, buffers = gen_llama(rng, d, r)
        W = to_torch(W32)
        res = oracle(r, W, prompt_ids)
        if fam.get("eos_at") is not None:
            t = fam["eos_at"]
            eos = r["eos"][0]
            hn = res["step_hidden"][t]
            if eos in res["ids"][:t + 1]:
                continue
            row = (res["top"][t] + 2.0) * hn / float(hn.norm()) / float(hn.norm())
            W32 = dict(W32)
            lm = W32["lm_head.weight"].copy()
            lm[eos] = f32(row.numpy())
            W32["lm_head.weight"] = lm
            W = to_torch(W32)
            res = oracle(r, W, prompt_ids)
            if not (res["ids"].index(eos) == t if eos in res["ids"] else False):
                continue
        records = []
        ok = True
        for var in fam["variants"]:
            rec = make_variant(fam, var, cfg, r, tj, tc, tok, prompt_ids, prompt_tokens, W32, buffers, res)
            if rec is None:
                ok = False
                break
            records.append(rec)
        if not ok:
            continue
        if verbose:
            print(f"{fam['name']}: seed attempt {attempt}", file=sys.stderr)
        for rec in records:
            run_checks(checks, rec["folder"], rec["r"], rec["W"], prompt_ids, rec["res"])
        return records
    raise RuntimeError(f"{fam['name']}: no acceptable seed")


def acceptable(r, res, tok, require_no_eos):
    if min(res["margin"]) < MIN_MARGIN:
        return False
    if any(i >= tok.size for i in res["ids"]):  # padded rows
        return False
    if require_no_eos and any(i in r["eos"] for i in res["ids"]):
        return False
    ids = res["ids"]
    longest = max(len(list(g)) for _, g in itertools.groupby(ids))
    if len(set(ids)) < MIN_DISTINCT or longest > MAX_RUN:  # a continuation stuck on one token tests little
        return False
    return float(res["logits"].abs().max()) < 60


def make_variant(fam, var, cfg, r, tj, tc, tok, prompt_ids, prompt_tokens, W32, buffers, base_res):
    folder = var["folder"]
    cfg = dict(cfg)
    cfg.update(var.get("config", {}))
    dtype = var.get("dtype", "F32")
    if dtype == "BF16":
        cfg["torch_dtype"] = "bfloat16"
    rv = resolve(cfg)
    Wv32 = {k: bf16_round(v) for k, v in W32.items()} if dtype == "BF16" else W32
    Wv = to_torch(Wv32)
    same = rv == r and dtype == "F32"
    res = base_res if same else oracle(rv, Wv, prompt_ids)
    if not acceptable(rv, res, tok, require_no_eos=fam.get("eos_at") is None):
        return None
    prefix = var.get("prefix", "")
    tensors = {prefix + k: v for k, v in {**Wv32, **buffers}.items()}
    if dtype == "BF16":
        tensors = {k: bf16_round(v) for k, v in tensors.items()}
    files = {"config.json": hf_json(cfg), "tokenizer.json": tokenizer_bytes(tj)}
    if var.get("tokenizer_config", True):
        files["tokenizer_config.json"] = hf_json(tc)
    if var.get("extra_files"):
        files["generation_config.json"] = hf_json({"bos_token_id": cfg["bos_token_id"],
                                                   "eos_token_id": cfg["eos_token_id"],
                                                   "transformers_version": cfg["transformers_version"]})
        files["special_tokens_map.json"] = hf_json({"bos_token": tc["bos_token"], "eos_token": tc["eos_token"],
                                                    "unk_token": tc["unk_token"]})
    weight_files = []
    if var.get("shards"):
        names = list(tensors)  # state-dict order: embed, layer 0, layer 1, norm, lm_head
        names.sort(key=lambda k: (0 if "embed_tokens" in k else 2 if not k.startswith("model.layers.") else 1,
                                  int(k.split(".")[2]) if k.startswith("model.layers.") else 0, k))
        n = var["shards"]
        cut = [k for k in names if k.startswith("model.layers.1.")][0]
        parts = [names[:names.index(cut)], names[names.index(cut):]]
        assert n == 2
        weight_map, total = {}, 0
        for j, part in enumerate(parts):
            fname = f"model-{j + 1:05d}-of-{n:05d}.safetensors"
            files[fname] = st_encode({k: tensors[k] for k in part}, dtype, {"format": "pt"})
            weight_files.append(fname)
            for k in part:
                weight_map[k] = fname
                total += tensors[k].size * ST_DTYPES[dtype]
        files["model.safetensors.index.json"] = hf_json({"metadata": {"total_size": total},
                                                         "weight_map": weight_map})
        weight_files.append("model.safetensors.index.json")
    else:
        files["model.safetensors"] = st_encode(tensors, dtype, {"format": "pt"})
        weight_files.append("model.safetensors")
    eos = rv["eos"]
    first_eos = next((i for i, t in enumerate(res["ids"]) if t in eos), None)
    resolved = {
        "hidden_size": rv["E"], "num_layers": rv["layers"], "num_heads": rv["H"], "num_kv_heads": rv["Hkv"],
        "head_dim": rv["D"], "intermediate_size": rv["I"], "vocab_size": rv["V"], "tokenizer_vocab_size": tok.size,
        "tie_word_embeddings": rv["tie"], "window": rv["window"], "norm_eps": rv["eps"], "max_positions": rv["P"],
        "bos_token_id": rv["bos"], "eos_token_ids": eos,
    }
    if rv["arch"] != "gpt2":
        resolved["rope"] = {"theta": rv["theta"], "scaling": rv["scaling"], "inv_freq": f64_list(hf_inv_freq(rv))}
    bos_added = len(prompt_ids) > len(tok.encode(PROMPT, add_special_tokens=False)[0])
    expected = {
        "generator": GENERATOR, "command": COMMAND, "torch_version": torch.__version__,
        "reference_dtype": "float64", "model": folder, "architecture": cfg["model_type"],
        "definition": DEFINITIONS[cfg["model_type"]],
        "source_model": fam["variants"][0]["folder"],
        "weights": {"dtype": dtype, "files": weight_files, "sharded": bool(var.get("shards")),
                    "ignored_buffers": sorted(prefix + k for k in buffers), "tensor_prefix": prefix},
        "resolved": resolved,
        "prompt": {"text": PROMPT, "ids": prompt_ids, "tokens": prompt_tokens, "add_special_tokens": True,
                   "bos_added": bool(bos_added)},
        "logits": tensor_json(res["logits"].numpy()),
        "attentions_layer0": tensor_json(res["attn0"].numpy()),
        "greedy": {"max_new_tokens": MAX_NEW, "ids": res["ids"], "top_logit": f64_list(res["top"]),
                   "margin": f64_list(res["margin"]), "eos_token_ids": eos, "first_eos_index": first_eos,
                   "text": tok.decode(res["ids"]), "full_text": tok.decode(prompt_ids + res["ids"]),
                   "text_tokenizers_js": tok.decode(res["ids"], lossy=True),
                   "full_text_tokenizers_js": tok.decode(prompt_ids + res["ids"], lossy=True)},
        "stats": {"logits_abs_max": float(f"{float(res['logits'].abs().max()):.6g}"),
                  "greedy_min_margin": float(f"{min(res['margin']):.6g}")},
    }
    if dtype == "BF16":
        expected["bf16_vs_f32"] = {
            "max_abs_logit_diff": float(f"{float((res['logits'] - base_res['logits']).abs().max()):.6g}"),
            "max_abs_attention_diff": float(f"{float((res['attn0'] - base_res['attn0']).abs().max()):.6g}")}
    files["expected.json"] = expected_bytes(expected)
    return {"folder": folder, "files": files, "r": rv, "W": Wv, "res": res, "tensors": tensors,
            "expected": expected, "tok": tok, "tj": tj, "tc": tc if var.get("tokenizer_config", True) else None}


def expected_bytes(e):
    parts = [json.dumps(k) + ":" + json.dumps(v, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
             for k, v in e.items()]
    text = "{\n" + ",\n".join(parts) + "\n}\n"
    json.loads(text)
    return text.encode()


# ---------------------------------------------------------------- bad inputs

def build_bad():
    tj, tc, _ = tokenizer_llama2("legacy", 128)
    tok = PyTokenizer(tj)
    d = dict(E=8, H=2, Hkv=1, I=16, layers=1, P=128, eps=1e-05, theta=10000.0, tie=True, V=tok.size, Vtok=tok.size)
    cfg = llama_family_config("llama", d, 1, 2)
    r = resolve(cfg)
    W32, _ = gen_llama(rng_for("bad"), d, r)
    good = st_encode(W32, "F32", {"format": "pt"})
    base = {"tokenizer.json": tokenizer_bytes(tj), "tokenizer_config.json": hf_json(tc)}
    cases, out = [], {}

    def add(folder, files, problem, mentions, note=None, one_of=None):
        out[folder] = dict(base, **files)
        c = {"folder": folder, "problem": problem, "error_should_mention": mentions}
        if one_of:
            c["error_should_mention_one_of"] = one_of
        if note:
            c["note"] = note
        cases.append(c)

    add("truncated-safetensors", {"config.json": hf_json(cfg), "model.safetensors": good[:int(len(good) * 0.6)]},
        "model.safetensors cut at 60% of its bytes (inside the tensor data)", ["model.safetensors"],
        "the header is complete and declares more data than the file holds")
    add("truncated-header", {"config.json": hf_json(cfg), "model.safetensors": good[:8 + 40]},
        "model.safetensors cut inside its JSON header", ["model.safetensors"])
    bad_cfg = dict(cfg, hidden_size=12)
    add("config-mismatch", {"config.json": hf_json(bad_cfg), "model.safetensors": good},
        "config.json says hidden_size 12; the weights are 8 wide", [],
        "every tensor's shape disagrees; the message should name one (or hidden_size) and give both shapes",
        one_of=["hidden_size", "model.embed_tokens.weight", "model.layers.0.", "model.norm.weight"])
    bert = {"architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1, "hidden_size": 8, "initializer_range": 0.02, "intermediate_size": 16,
            "layer_norm_eps": 1e-12, "max_position_embeddings": 128, "model_type": "bert", "num_attention_heads": 2,
            "num_hidden_layers": 1, "pad_token_id": 0, "position_embedding_type": "absolute",
            "torch_dtype": "float32", "transformers_version": "4.44.2", "type_vocab_size": 2, "use_cache": True,
            "vocab_size": 300}
    rng = rng_for("bad bert")
    bert_w = {"bert.embeddings.word_embeddings.weight": f32(rng.standard_normal((300, 8))),
              "bert.embeddings.position_embeddings.weight": f32(rng.standard_normal((128, 8)))}
    add("unsupported-architecture", {"config.json": hf_json(bert),
                                     "model.safetensors": st_encode(bert_w, "F32", {"format": "pt"})},
        "model_type bert", ["bert", "gpt2", "llama", "mistral", "qwen2"],
        "the message names the type and lists the supported ones")
    add("missing-weights", {"config.json": hf_json(cfg)},
        "no model.safetensors (nor an index)", ["model.safetensors"])
    names = sorted(W32)
    half = names[:len(names) // 2]
    add("missing-shard", {"config.json": hf_json(cfg),
                          "model-00001-of-00002.safetensors": st_encode({k: W32[k] for k in half}, "F32",
                                                                        {"format": "pt"}),
                          "model.safetensors.index.json": hf_json({
                              "metadata": {"total_size": sum(W32[k].size * 4 for k in names)},
                              "weight_map": {k: ("model-00001-of-00002.safetensors" if k in half else
                                                 "model-00002-of-00002.safetensors") for k in names}})},
        "the index names model-00002-of-00002.safetensors, which is absent", ["model-00002-of-00002.safetensors"])
    miss = {k: v for k, v in W32.items() if k != "model.layers.0.mlp.up_proj.weight"}
    add("missing-tensor", {"config.json": hf_json(cfg), "model.safetensors": st_encode(miss, "F32", {"format": "pt"})},
        "model.layers.0.mlp.up_proj.weight is absent", ["model.layers.0.mlp.up_proj.weight"])
    extra = dict(W32)
    extra["model.layers.0.self_attn.q_norm.weight"] = f32(np.ones(4))  # head_dim
    add("extra-tensor", {"config.json": hf_json(cfg), "model.safetensors": st_encode(extra, "F32", {"format": "pt"})},
        "an unexpected tensor model.layers.0.self_attn.q_norm.weight", ["model.layers.0.self_attn.q_norm.weight"])
    dv = dict(d, V=280)
    cfg_v = llama_family_config("llama", dv, 1, 2)
    Wv, _ = gen_llama(rng_for("bad vocab"), dict(dv, Vtok=None), resolve(cfg_v))
    add("vocab-too-small", {"config.json": hf_json(cfg_v),
                            "model.safetensors": st_encode(Wv, "F32", {"format": "pt"})},
        "vocab_size 280 but the tokenizer has ids up to 299", ["vocab_size"])
    cfg_y = dict(cfg, rope_scaling={"factor": 4.0, "original_max_position_embeddings": 64, "rope_type": "yarn"})
    add("unknown-rope-scaling", {"config.json": hf_json(cfg_y), "model.safetensors": good},
        "rope_scaling rope_type yarn (unsupported)", ["yarn"])
    # Llama-2-7B's shapes in F16, header only: 6.7e9 parameters, 27 GB at float32
    big = dict(E=4096, H=32, Hkv=32, I=11008, layers=32, P=4096, eps=1e-05, theta=10000.0, tie=False, V=32000)
    cfg_b = llama_family_config("llama", big, 1, 2)
    cfg_b["torch_dtype"] = "float16"
    decl = {"model.embed_tokens.weight": ("F16", (32000, 4096)), "lm_head.weight": ("F16", (32000, 4096)),
            "model.norm.weight": ("F16", (4096,))}
    for i in range(32):
        p = f"model.layers.{i}."
        for nm in ("q", "k", "v", "o"):
            decl[p + f"self_attn.{nm}_proj.weight"] = ("F16", (4096, 4096))
        decl[p + "mlp.gate_proj.weight"] = ("F16", (11008, 4096))
        decl[p + "mlp.up_proj.weight"] = ("F16", (11008, 4096))
        decl[p + "mlp.down_proj.weight"] = ("F16", (4096, 11008))
        decl[p + "input_layernorm.weight"] = ("F16", (4096,))
        decl[p + "post_attention_layernorm.weight"] = ("F16", (4096,))
    n_params = sum(int(np.prod(s)) for _, s in decl.values())
    add("too-large", {"config.json": hf_json(cfg_b), "model.safetensors": st_encode(None, declared=decl,
                                                                                    metadata={"format": "pt"})},
        f"Llama-2-7B shapes ({n_params} parameters, {n_params * 4} bytes at float32); the file holds the "
        "safetensors header only", [],
        "a loader that sizes the model from the headers before reading any data (as issue 14 asks) reports the "
        "size and the limit; the data is absent, so a loader that checks the file length first reports "
        "truncation instead", one_of=["memory", "too large"])
    out_files = {}
    for folder, files in out.items():
        for fname, data in files.items():
            out_files[f"bad/{folder}/{fname}"] = data
    out_files["bad/cases.json"] = (json.dumps({"generator": GENERATOR, "about": (
        "each case is a folder under bad/ that a loader must refuse; the message must contain every string of "
        "error_should_mention and, when given, at least one of error_should_mention_one_of"), "cases": cases}, indent=1,
                                              ensure_ascii=False) + "\n").encode()
    return out_files


# ---------------------------------------------------------------- cross-model checks

def check_files(checks, records):
    by = {r["folder"]: r for r in records}
    for rec in records:
        name = rec["folder"]
        files = rec["files"]
        got = {}
        for f, data in files.items():
            if f.endswith(".safetensors"):
                meta, t = st_decode(data)
                checks.true("safetensors: __metadata__ {format: pt}", name, meta == {"format": "pt"})
                got.update(t)
        checks.true("safetensors: written tensors parse back (names)", name, set(got) == set(rec["tensors"]),
                    str(set(got) ^ set(rec["tensors"])))
        for k, v in rec["tensors"].items():
            checks.true("safetensors: written tensors parse back (values, bit-exact)", name,
                        k in got and np.array_equal(got[k].view(np.uint32), v.view(np.uint32)), k)
        if "model.safetensors.index.json" in files:
            idx = json.loads(files["model.safetensors.index.json"])
            total = sum(v.size * 4 for v in got.values())
            checks.true("safetensors: index total_size == sum of tensor bytes", name,
                        idx["metadata"]["total_size"] == total)
            ok = all(k in st_decode(files[f])[1] for k, f in idx["weight_map"].items())
            checks.true("safetensors: index weight_map names each tensor's shard", name,
                        ok and set(idx["weight_map"]) == set(got))
        src = by[rec["expected"]["source_model"]]
        if src is not rec:
            strip = lambda s: s[len(rec["expected"]["weights"]["tensor_prefix"]):]
            checks.true("copies: same tensor names as the source", name,
                        {strip(k) for k in rec["tensors"]} == set(src["tensors"]))
        cfg = json.loads(files["config.json"])
        checks.true("tokenizer: prompt ids < vocab_size", name, max(rec["expected"]["prompt"]["ids"]) < resolve(cfg)["V"])
    # window semantics
    m, n = by["mistral"], by["mistral-nowindow"]
    W = m["r"]["window"]
    lm, ln = m["res"]["logits"], n["res"]["logits"]
    checks.compare("window: mistral rows q < W equal mistral-nowindow", "mistral", ln[:W], lm[:W], tol=1e-12)
    checks.true("window: mistral rows q >= W differ from mistral-nowindow", "mistral",
                float((lm[W:] - ln[W:]).abs().min(dim=-1).values.max()) > 1e-6 and
                bool(((lm[W:] - ln[W:]).abs().max(-1).values > 1e-6).all()))
    q = by["qwen2"]
    qlg, _, _ = llama_forward(q["r"], q["W"], q["expected"]["prompt"]["ids"], window=4)
    checks.true("window: qwen2 with its ignored window applied would differ", "qwen2",
                float((qlg - q["res"]["logits"]).abs().max()) > 1e-3)
    # bf16
    x = f32(rng_for("bf16 check").standard_normal(4096) * 10.0 ** rng_for("bf16 exp").integers(-8, 8, 4096))
    tb = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    checks.true("bf16: numpy round-to-nearest-even == torch bits", "4096 values", np.array_equal(tb, bf16_bits(x)))
    # tokenizer round trips on more text
    for rec in records:
        tok = rec["tok"]
        for text in (PROMPT, BPE_CORPUS, "the cat's hat, 123 times\nonce more  é"):
            ids, _ = tok.encode(text)
            checks.true("tokenizer: decode(encode(text)) == text", rec["folder"], tok.decode(ids) == text,
                        repr(tok.decode(ids)))


JS_CHECK = r"""
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
(async () => {
  const mod = process.env.TOKENIZERS_JS_URL ? await import(process.env.TOKENIZERS_JS_URL)
    : require(require.resolve('@huggingface/tokenizers', {paths: [process.cwd()]}));
  const out = [];
  for (const c of input) {
    const t = new mod.Tokenizer(c.tokenizer, c.config || {});
    const res = {};
    for (const text of c.texts) {
      const e = t.encode(text);
      res[text] = {ids: e.ids, tokens: e.tokens};
    }
    const dec = {};
    for (const [k, ids] of Object.entries(c.decode)) {
      dec[k] = t.decode(ids, {skip_special_tokens: true, clean_up_tokenization_spaces: false});
    }
    out.push({encode: res, decode: dec});
  }
  process.stdout.write(JSON.stringify(out));
})().catch(e => { console.error(String(e && e.stack || e)); process.exit(3); });
"""


def check_js_tokenizers(checks, records):
    env = dict(os.environ)
    js = os.environ.get("TOKENIZERS_JS")
    if js:
        path = os.path.abspath(js)
        if os.path.isdir(path):
            path = os.path.join(path, "dist", "tokenizers.mjs")
        env["TOKENIZERS_JS_URL"] = "file://" + path
    texts = [PROMPT, BPE_CORPUS, "the cat's hat, 123 times\nonce more  é"]
    payload = []
    for rec in records:
        e = rec["expected"]
        payload.append({"tokenizer": rec["tj"], "config": rec["tc"], "texts": texts,
                        "decode": {"text": e["greedy"]["ids"], "full_text": e["prompt"]["ids"] + e["greedy"]["ids"]}})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            script = os.path.join(tmp, "check.cjs")
            with open(script, "w") as f:
                f.write(JS_CHECK)
            p = subprocess.run(["node", script], input=json.dumps(payload), capture_output=True, text=True,
                               cwd=REPO, env=env, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"skipped ({err})"
    if p.returncode != 0:
        return "skipped (@huggingface/tokenizers not importable: " + p.stderr.strip().splitlines()[-1][:160] + ")"
    out = json.loads(p.stdout)
    for rec, o in zip(records, out):
        tok = rec["tok"]
        for text in texts:
            ids, toks = tok.encode(text)
            checks.true("tokenizers.js: encode ids == this script's", rec["folder"], o["encode"][text]["ids"] == ids,
                        f"{text[:20]!r}: {o['encode'][text]['ids']} != {ids}")
            checks.true("tokenizers.js: encode tokens == this script's", rec["folder"],
                        o["encode"][text]["tokens"] == toks)
        e = rec["expected"]["greedy"]
        for k in ("text", "full_text"):
            checks.true(f"tokenizers.js: decode == expected greedy.{k}_tokenizers_js", rec["folder"],
                        o["decode"][k] == e[k + "_tokenizers_js"], f"{o['decode'][k]!r} != {e[k + '_tokenizers_js']!r}")
    return "run"


# ---------------------------------------------------------------- main

def build_all(checks, verbose):
    files = {}
    records = []
    for fam in FAMILIES:
        for rec in build_family(fam, checks, verbose):
            records.append(rec)
            for f, data in rec["files"].items():
                files[f"{rec['folder']}/{f}"] = data
            if verbose:
                e = rec["expected"]
                print(f"  {rec['folder']:18s} L={len(e['prompt']['ids']):2d} V={e['resolved']['vocab_size']} "
                      f"|logit|max={e['stats']['logits_abs_max']:.3g} margin>={e['stats']['greedy_min_margin']:.3g} "
                      f"eos@{e['greedy']['first_eos_index']} ids={e['greedy']['ids'][:12]}...", file=sys.stderr)
    check_files(checks, records)
    files.update(build_bad())
    return files, records


def main():
    torch.set_num_threads(1)
    args = sys.argv[1:]
    check_only = "--check" in args
    verbose = "-v" in args
    checks = Checks(strict=not check_only)
    files, records, js = {}, [], "not run"
    try:
        files, records = build_all(checks, verbose)
        if check_only:
            js = check_js_tokenizers(checks, records)
    except Exception as e:  # in --check mode, report and fail
        if not check_only:
            raise
        checks.failures.append(f"exception: {type(e).__name__}: {e}")
    total = sum(len(v) for v in files.values())
    if check_only:
        print("cross-checks (largest disagreement relative to max(|ref|, 1); tolerance 1e-10):", file=sys.stderr)
        checks.report()
        print(f"tokenizers.js comparison: {js}", file=sys.stderr)
        stale = [f for f, data in sorted(files.items())
                 if not os.path.exists(os.path.join(OUT_DIR, f)) or open(os.path.join(OUT_DIR, f), "rb").read() != data]
        extra = sorted(set(existing_files()) - set(files))
        if not files:
            checks.failures.append("nothing was built")
        elif stale or extra:
            checks.failures.append(f"files on disk differ from this script's output: {len(stale)} stale/missing "
                                   f"({', '.join(stale[:4])}{'...' if len(stale) > 4 else ''}), {len(extra)} extra")
        else:
            print(f"files on disk: {len(files)} files, {total} bytes, byte-identical to this script's output",
                  file=sys.stderr)
        for msg in checks.failures:
            print("FAIL " + msg, file=sys.stderr)
        print("OK" if not checks.failures else f"{len(checks.failures)} failure(s)", file=sys.stderr)
        sys.exit(1 if checks.failures else 0)
    for f in sorted(set(existing_files()) - set(files)):
        os.remove(os.path.join(OUT_DIR, f))
        print(f"removed stale {f}", file=sys.stderr)
    for f, data in sorted(files.items()):
        path = os.path.join(OUT_DIR, f)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
    for root, dirs, fs in os.walk(OUT_DIR, topdown=False):
        if not dirs and not fs and root != OUT_DIR:
            os.rmdir(root)
    print(f"wrote {os.path.relpath(OUT_DIR, REPO)}: {len(files)} files, {total} bytes", file=sys.stderr)


def existing_files():
    out = []
    if os.path.isdir(OUT_DIR):
        for root, _, fs in os.walk(OUT_DIR):
            for f in fs:
                out.append(os.path.relpath(os.path.join(root, f), OUT_DIR))
    return out


if __name__ == "__main__":
    main()
