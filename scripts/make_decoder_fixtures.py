#!/usr/bin/python3
"""Generate the reference fixtures for the decoder-attention features.

Produces
    tests/fixtures/decoder_attention.json   scaledDotProductAttention with GQA/MQA,
                                            rotary, alibi, window, softcap ("cases"),
                                            and applyRotaryEmbedding ("rotaryCases")
    tests/fixtures/self_attention.json      createSelfAttention (Llama/Qwen2-style layer)
    tests/fixtures/linear.json              createLinear (torch.nn.functional.linear)

Commands (from the repository root, with Debian's system python, which has torch):
    /usr/bin/python3 scripts/make_decoder_fixtures.py          write the three files
    /usr/bin/python3 scripts/make_decoder_fixtures.py -v       ... and print per-case info
    /usr/bin/python3 scripts/make_decoder_fixtures.py --check  cross-check only (writes
        nothing); prints the largest disagreement of every check and exits 1 if any
        exceeds 1e-10 (relative to max(|reference|, 1)) or a NaN pattern is wrong.

Conventions (those of scripts/make_fixtures.py): every case draws its inputs and
weights from a seed derived from its name, rounds them to float32 (the JSON stores
them with enough digits to round-trip float32 exactly), and the expected values are
computed in float64 from those float32 values and written with 12 significant
digits. Reruns give identical bytes. Boolean masks are stored as
{"dtype": "bool", "data": [0/1]} with 1 (true) = masked out; float masks
({"dtype": "float32"}) are added to the scores. JSON has no -inf: float masks are
finite; fully masked rows come from boolean masks, causality or the window.
Explicit ALiBi slopes are plain JSON arrays of float32 values (the API takes a
Float32Array). The weight of the 256 -> 384 linear case holds integers in
[-7, 7] (written as JSON integers) to keep that file small; its x and bias are
ordinary float32 values.

JSON layout (tensors are {"shape": [...], "data": [...]}, row-major):
  every file: {"generator", "command", "torch_version", "reference_dtype", "cases": [...]}
  decoder_attention.json cases: {name, q, k, v, options: {needWeights, [attnMask],
      [isCausal], [causalAlignment], [scale], [rotary], [alibi], [window], [softcap]},
      expected: {output, weights | null, [alibiSlopes]}}; and "rotaryCases":
      [{name, x, rotary, expected: {output}}]
  self_attention.json cases: {name, config, stateDict, x, options: {[attnMask],
      [keyPaddingMask], [isCausal], [needWeights], [averageAttnWeights]},
      expected: {output, weights | null}}
  linear.json cases: {name, config: {inFeatures, outFeatures, [bias]},
      stateDict: {weight, [bias]}, x, expected: {output}}
Options / config fields left out take their defaults.

Semantics of scaledDotProductAttention(q, k, v, options)
--------------------------------------------------------
q [B, H, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv]; output [B, H, Lq, Dv];
weights [B, H, Lq, Lk] when needWeights (else null).

* GQA / MQA: Hkv divides H; query head h uses kv head floor(h / (H / Hkv))
  (k.repeat_interleave(H / Hkv, dim=1), PyTorch's enable_gqa). attnMask is
  broadcast against (B, H, Lq, Lk), i.e. over QUERY heads.
* Positions (no cache): key j is at p_k(j) = positionOffset + j; query i at
  p_q(i) = positionOffset + i (causalAlignment 'top-left', the default) or
  positionOffset + (Lk - Lq) + i ('bottom-right'). positionOffset is the rotary
  option (0 without rotary). The same positions serve RoPE, ALiBi, the window and
  causality; only RoPE sees positionOffset (the rest depends on p_k - p_q). The
  alignment shifts the query positions even without isCausal (see the case
  "RoPE bottom-right without isCausal").
* rotary {base = 10000, rotaryDim = D, interleaved = false, positionOffset = 0}
  (rotaryDim even, <= D; any subset of the fields may be given, {} = all
  defaults) rotates q at p_q and k at p_k before the scores:
  inv_freq_i = base^(-2i / rotaryDim), i = 0 .. rotaryDim/2 - 1, angle_i(p) =
  p * inv_freq_i (float64). Pair i is (x[i], x[i + rotaryDim/2]) when
  interleaved = false (Hugging Face Llama / GPT-NeoX rotate_half), or
  (x[2i], x[2i+1]) when interleaved = true (GPT-J / Meta's complex form); a pair
  (a, b) becomes (a cos - b sin, a sin + b cos). Dims >= rotaryDim pass through
  unchanged (partial rotary, GPT-NeoX / Phi).
* Scores, per query head h, in this order:
      s = (q . k^T) * scale                      scale default 1/sqrt(D)
      softcap c > 0:  s = c * tanh(s / c)          (Gemma 2)
      alibi:          s += slope_h * (p_k - p_q)   (not multiplied by scale)
      masks:          attnMask (bool: true -> -inf; float: added),
                      isCausal: -inf where p_k > p_q,
                      window W (integer >= 1): -inf where p_k <= p_q - W
                      (with isCausal a query sees the W keys (p - W, p]; without
                      isCausal the window only bounds the past)
      softmax over the keys.
  A row whose keys are all masked gives all-zero weights and a zero output
  (PyTorch would give NaN).
* alibi: true -> the standard slopes of Press et al. (BLOOM's
  build_alibi_tensor): n = 2^floor(log2 H); slope_k = (2^(-8/n))^k for
  k = 1..n, then, if n < H, (2^(-4/n))^k for odd k = 1, 3, .., 2(H - n) - 1.
  Or an explicit array of H slopes (stored as float32 values). One slope per
  QUERY head, also under GQA. expected.alibiSlopes lists the slopes used.

applyRotaryEmbedding(x [B, H, L, D], rotary) (the "rotaryCases" list): x rotated
as above at positions positionOffset + l, l = 0 .. L - 1.

Semantics of createSelfAttention(config).forward(x, options)
-----------------------------------------------------------
config {embedDim: E, numHeads: H, numKVHeads = H, headDim = E / H, bias = false,
outBias = bias, scale = 1/sqrt(headDim), rotary, alibi, window, softcap}; state
dict in Hugging Face names: q_proj.weight [H*D, E], k_proj.weight [Hkv*D, E],
v_proj.weight [Hkv*D, E], o_proj.weight [E, H*D], q/k/v_proj.bias when bias
(Qwen2: bias = true, outBias = false), o_proj.bias when outBias.
forward(x [N, L, E] batch-first, {attnMask (L, S) or (N*H, L, S) (row n*H + h),
keyPaddingMask (N, S), bool (true = masked) or float (added), isCausal = true,
needWeights = false, averageAttnWeights = true}), S = L: q/k/v projections ->
heads -> RoPE at positions positionOffset + l -> repeat_kv -> the attention
above (masks added together; isCausal / window / alibi / softcap as above) ->
o_proj. Output [N, L, E]; weights (N, L, S) = mean over the H query heads
(fully masked heads count as zeros), or (N, H, L, S) when
averageAttnWeights = false. A fully masked row contributes zero to o_proj's
input (the output is then o_proj.bias, or 0, for a row masked in every head).

Semantics of createLinear({inFeatures, outFeatures, bias = true})
-----------------------------------------------------------------
stateDict {weight [out, in], bias [out] (absent when bias = false)};
forward(x [..., in]) = x W^T + b, shape [..., out] (rank 1, 2 or 3).

Independent formulations (all float64; --check reports each; generation asserts)
-------------------------------------------------------------------------------
* RoPE: rotate_half (Hugging Face) vs torch complex multiplication
  (view_as_complex on (x[2i], x[2i+1]) pairs, Meta) under the pair <-> half
  permutation, both ways; rotate_every_two (GPT-J) for the interleaved layout;
  and a scalar per-pair loop.
* ALiBi slopes: the closed form above vs Press et al.'s recursive get_slopes,
  H = 1..64.
* SDPA: the reference (repeat_interleave, explicit float64 softmax, ALiBi as
  slope * (p_k - p_q), masks from positions) vs PyTorch's
  F._scaled_dot_product_attention (torch < 2; F.scaled_dot_product_attention
  otherwise) given HF repeat_kv (expand + reshape), the other RoPE formulation,
  ALiBi in BLOOM's key-position-only form (slope * j; equal after softmax) and
  causal/window masks from triu/tril, wherever PyTorch gives a number (it must
  give NaN exactly on the fully masked rows); not for softcap cases (PyTorch's
  SDPA has none). And vs a numpy loop over (b, h, i, j) with h // (H / Hkv),
  the scalar RoPE and Press's slopes, for every case.
* Self-attention: a torch.nn.Module mirroring HF LlamaAttention /
  Qwen2Attention (nn.Linear projections, rotate_half or rotate_every_two,
  repeat_kv, BLOOM-form ALiBi, Gemma-2 softcapping, triu/tril masks), whose
  output is the expected value, vs the functional path (F.linear + the SDPA
  reference above) and vs the numpy loop; plus nn.MultiheadAttention (merged
  3-D additive attn_mask) where the layer is plain MHA (Hkv = H, headDim = E/H,
  default scale, no rotary/alibi/window/softcap).
* Linear: F.linear vs numpy einsum.
"""

import json
import math
import os
import sys
import warnings
import zlib

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(REPO, "tests", "fixtures")
TOL = 1e-10
BR = "bottom-right"


# ---------------------------------------------------------------- formatting (as make_fixtures.py)

def f32_list(a):
    a = np.asarray(a, dtype=np.float32).ravel()
    out = [float(str(x)) for x in a]
    assert np.array_equal(np.asarray(out, dtype=np.float32), a)
    return out


def f64_list(a):
    a = np.asarray(a, dtype=np.float64).ravel()
    assert np.all(np.isfinite(a))
    return [float(f"{x:.12g}") for x in a]


def int_list(a):
    """Integer-valued float32 data written as JSON integers (the same numbers, shorter)."""
    a = np.asarray(a, dtype=np.float32).ravel()
    out = [int(x) for x in a]
    assert np.array_equal(np.asarray(out, dtype=np.float32), a) and not np.signbit(a[a == 0]).any()
    return out


def tensor_json(a, kind="f32"):
    a = np.asarray(a)
    data = {"f32": f32_list, "f64": f64_list, "int": int_list}[kind](a)
    return {"shape": list(a.shape), "data": data}


def mask_json(m):
    if m.dtype == np.bool_:
        return {"dtype": "bool", "shape": list(m.shape), "data": [int(x) for x in m.ravel()]}
    return {"dtype": "float32", "shape": list(m.shape), "data": f32_list(m)}


# ---------------------------------------------------------------- helpers

def rng_for(name):
    return np.random.default_rng([20240601, zlib.crc32(name.encode())])


def f32(a):
    return np.asarray(a, dtype=np.float32)


def to_t(a):
    return torch.from_numpy(np.asarray(a)).to(torch.float64)


def additive(m):
    """bool (True = masked) or float numpy mask -> float64 torch additive mask."""
    t = torch.from_numpy(np.asarray(m))
    if t.dtype == torch.bool:
        return torch.zeros(t.shape, dtype=torch.float64).masked_fill(t, float("-inf"))
    return t.to(torch.float64)


def safe_softmax(scores):
    """Softmax over the last dim; rows that are all -inf give zeros. Returns (w, fully)."""
    fully = torch.isneginf(scores).all(-1)
    w = torch.softmax(scores.masked_fill(fully.unsqueeze(-1), 0.0), dim=-1)
    return w.masked_fill(fully.unsqueeze(-1), 0.0), fully


def check_row_masks(mask_add, fully):
    """Rows that are not fully masked must keep an entry without a huge negative mask."""
    ok = (mask_add.max(-1).values > -1e4) | fully
    assert bool(ok.all()), "a row is masked only by huge finite values"


def random_float_mask(rng, shape, big_neg=False):
    m = rng.standard_normal(shape)
    if big_neg:
        m = np.where(rng.random(shape) < 0.3, -1e9, m)
    return f32(m)


class Checks:
    """Largest disagreement per named check. strict: raise at once (generation mode)."""

    def __init__(self, strict):
        self.strict = strict
        self.max = {}
        self.count = {}
        self.failures = []

    def record(self, check, case, err, ok=True, why=""):
        self.count[check] = self.count.get(check, 0) + 1
        if err > self.max.get(check, (-1.0, ""))[0]:
            self.max[check] = (err, case)
        if err > TOL or not ok:
            msg = f"{check} [{case}]: " + (why if not ok else f"disagreement {err:.3g} > {TOL:g}")
            self.failures.append(msg)
            if self.strict:
                raise AssertionError(msg)

    def compare(self, check, case, ref, got, expect_nan=None):
        """got == ref (to TOL, relative to max(|ref|, 1)) where got is a number;
        NaN in got must sit exactly where expect_nan says (when given)."""
        ref = torch.as_tensor(ref, dtype=torch.float64)
        got = torch.as_tensor(got, dtype=torch.float64)
        if ref.shape != got.shape:
            self.record(check, case, float("inf"), False, f"shape {tuple(got.shape)} != {tuple(ref.shape)}")
            return
        nan = torch.isnan(got)
        ok, why = True, ""
        if expect_nan is not None and not torch.equal(nan, expect_nan):
            ok, why = False, "NaN positions differ from the fully masked rows"
        elif expect_nan is None and bool(nan.any()):
            ok, why = False, "unexpected NaN"
        diff = (ref - got).abs()[~nan]
        scale = torch.clamp(ref.abs()[~nan], min=1.0)
        err = float((diff / scale).max()) if diff.numel() else 0.0
        self.record(check, case, err, ok, why)

    def report(self, out=sys.stderr):
        width = max(len(k) for k in self.max)
        for k in sorted(self.max):
            err, case = self.max[k]
            print(f"  {k:{width}s}  n={self.count[k]:4d}  max={err:.3g}  ({case})", file=out)


# ---------------------------------------------------------------- positions, slopes

def positions(Lq, Lk, offset, align):
    """(p_q, p_k) as float64 numpy arrays."""
    assert align in (None, "top-left", BR), align
    shift = Lk - Lq if align == BR else 0
    return (np.arange(Lq, dtype=np.float64) + offset + shift,
            np.arange(Lk, dtype=np.float64) + offset)


def alibi_slopes(H):
    """Closed form (BLOOM's build_alibi_tensor, rewritten)."""
    n = 1 << (H.bit_length() - 1)  # 2^floor(log2 H)
    slopes = [(2.0 ** (-8.0 / n)) ** k for k in range(1, n + 1)]
    if n < H:
        slopes += [(2.0 ** (-4.0 / n)) ** k for k in range(1, 2 * (H - n), 2)]
    return slopes


def alibi_slopes_press(H):
    """Press et al.'s get_slopes (github.com/ofirpress/attention_with_linear_biases)."""
    def power_of_2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        return [start * start ** i for i in range(n)]

    if math.log2(H).is_integer():
        return power_of_2(H)
    closest = 2 ** math.floor(math.log2(H))
    return power_of_2(closest) + alibi_slopes_press(2 * closest)[0::2][:H - closest]


def resolve_slopes(alibi, H):
    if alibi is True:
        return np.asarray(alibi_slopes(H), dtype=np.float64)
    s = np.asarray(alibi, dtype=np.float64)
    assert s.shape == (H,)
    return s


# ---------------------------------------------------------------- RoPE (three formulations + loop)

def rotary_params(rot, D):
    base = float(rot.get("base", 10000))
    rd = int(rot.get("rotaryDim", D))
    assert rd % 2 == 0 and 2 <= rd <= D, (rd, D)
    return base, rd, bool(rot.get("interleaved", False)), rot.get("positionOffset", 0)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope_half(x, pos, base, rd):
    """Hugging Face Llama / GPT-NeoX: pairs (x[i], x[i + rd/2]), partial rotary on x[..., :rd]."""
    inv_freq = 1.0 / (base ** (torch.arange(0, rd, 2, dtype=torch.float64) / rd))
    freqs = torch.outer(torch.as_tensor(pos, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    xr, xp = x[..., :rd], x[..., rd:]
    return torch.cat((xr * emb.cos() + rotate_half(xr) * emb.sin(), xp), dim=-1)


def rope_complex(x, pos, base, rd):
    """Meta's Llama: view_as_complex on the pairs (x[2i], x[2i+1]) times e^(i angle)."""
    freqs = 1.0 / (base ** (torch.arange(0, rd, 2, dtype=torch.float64)[: rd // 2] / rd))
    angles = torch.outer(torch.as_tensor(pos, dtype=torch.float64), freqs)
    cis = torch.polar(torch.ones_like(angles), angles)
    xc = torch.view_as_complex(x[..., :rd].reshape(*x.shape[:-1], rd // 2, 2).contiguous())
    out = torch.view_as_real(xc * cis).flatten(-2)
    return torch.cat((out, x[..., rd:]), dim=-1)


def rotate_every_two(x):
    x1, x2 = x[..., ::2], x[..., 1::2]
    return torch.stack((-x2, x1), dim=-1).flatten(-2)


def rope_every_two(x, pos, base, rd):
    """Hugging Face GPT-J: sin/cos repeat_interleave(2), rotate_every_two."""
    inv_freq = 1.0 / (base ** (torch.arange(0, rd, 2, dtype=torch.float64) / rd))
    ang = torch.outer(torch.as_tensor(pos, dtype=torch.float64), inv_freq)
    sin, cos = ang.sin().repeat_interleave(2, -1), ang.cos().repeat_interleave(2, -1)
    xr, xp = x[..., :rd], x[..., rd:]
    return torch.cat((xr * cos + rotate_every_two(xr) * sin, xp), dim=-1)


def half_to_pairs(D, rd):
    """Index list P: x_pairs = x_half[..., P] puts half-split pair i at (2i, 2i + 1)."""
    idx = []
    for i in range(rd // 2):
        idx += [i, i + rd // 2]
    return torch.tensor(idx + list(range(rd, D)))


def apply_rotary(x, pos, rot):
    """The reference: rotate_half for half-split, complex multiplication for interleaved."""
    base, rd, inter, _ = rotary_params(rot, x.shape[-1])
    return (rope_complex if inter else rope_half)(x, pos, base, rd)


def apply_rotary_alt(x, pos, rot):
    """The other formulation: complex under the half <-> pair permutation, rotate_every_two."""
    D = x.shape[-1]
    base, rd, inter, _ = rotary_params(rot, D)
    if inter:
        return rope_every_two(x, pos, base, rd)
    P = half_to_pairs(D, rd)
    inv = torch.argsort(P)
    return rope_complex(x[..., P], pos, base, rd)[..., inv]


def rope_scalar(vec, p, base, rd, inter):
    """One vector, one position, pair by pair (numpy, math.cos / math.sin)."""
    out = vec.copy()
    for i in range(rd // 2):
        a_i, b_i = (2 * i, 2 * i + 1) if inter else (i, i + rd // 2)
        th = p * math.pow(base, -2.0 * i / rd)
        a, b = vec[a_i], vec[b_i]
        out[a_i] = a * math.cos(th) - b * math.sin(th)
        out[b_i] = a * math.sin(th) + b * math.cos(th)
    return out


def rope_loop(x, pos, rot):
    x = np.asarray(x, dtype=np.float64)
    base, rd, inter, _ = rotary_params(rot, x.shape[-1])
    out = np.empty_like(x)
    for idx in np.ndindex(*x.shape[:-2]):
        for l in range(x.shape[-2]):
            out[idx + (l,)] = rope_scalar(x[idx + (l,)], float(pos[l]), base, rd, inter)
    return out


def check_rope_pair(checks, name, x, pos, D, rd, base):
    """rotate_half vs complex both ways under the permutation; complex vs rotate_every_two."""
    P = half_to_pairs(D, rd)
    inv = torch.argsort(P)
    h = rope_half(x, pos, base, rd)
    c = rope_complex(x, pos, base, rd)
    checks.compare("rope: half == P^-1 complex(P x)", name, h, rope_complex(x[..., P], pos, base, rd)[..., inv])
    checks.compare("rope: complex == P half(P^-1 x)", name, c, rope_half(x[..., inv], pos, base, rd)[..., P])
    checks.compare("rope: complex == every_two (GPT-J)", name, c, rope_every_two(x, pos, base, rd))


# ---------------------------------------------------------------- SDPA with the new options

def resolve(opts, D, H):
    rot = opts.get("rotary")
    return dict(
        scale=opts.get("scale", 1.0 / math.sqrt(D)),
        rot=rot,
        offset=rotary_params(rot, D)[3] if rot is not None else 0,
        align=opts.get("causalAlignment"),
        causal=bool(opts.get("isCausal", False)),
        window=opts.get("window"),
        softcap=opts.get("softcap"),
        slopes=resolve_slopes(opts["alibi"], H) if opts.get("alibi") not in (None, False) else None,
    )


def decoder_ref(q, k, v, opts, extra_add=None):
    """The reference. q/k/v float64 torch; opts as in the JSON (attnMask a numpy array);
    extra_add: an additional float64 torch additive mask (used by the self-attention path)."""
    B, H, Lq, D = q.shape
    Hkv, Lk = k.shape[1], k.shape[2]
    assert H % Hkv == 0 and v.shape[1] == Hkv and v.shape[2] == Lk
    r = resolve(opts, D, H)
    qpos, kpos = positions(Lq, Lk, r["offset"], r["align"])
    if r["rot"] is not None:
        q = apply_rotary(q, qpos, r["rot"])
        k = apply_rotary(k, kpos, r["rot"])
    G = H // Hkv
    k, v = k.repeat_interleave(G, dim=1), v.repeat_interleave(G, dim=1)
    s = (q @ k.transpose(-2, -1)) * r["scale"]
    raw_max = float(s.abs().max())
    if r["softcap"] is not None:
        c = float(r["softcap"])
        s = c * torch.tanh(s / c)
    rel = to_t(kpos[None, :] - qpos[:, None])  # (Lq, Lk): p_k - p_q
    if r["slopes"] is not None:
        s = s + to_t(r["slopes"]).view(1, H, 1, 1) * rel
    add = torch.zeros(s.shape, dtype=torch.float64)
    if opts.get("attnMask") is not None:
        add = add + additive(opts["attnMask"])
    if extra_add is not None:
        add = add + extra_add
    if r["causal"]:
        add = add.masked_fill(rel > 0, float("-inf"))
    if r["window"] is not None:
        add = add.masked_fill(rel <= -r["window"], float("-inf"))
    w, fully = safe_softmax(s + add)
    check_row_masks(add, fully)
    return w @ v, w, fully, raw_max, r["slopes"]


def decoder_torch(q, k, v, opts, extra_add=None):
    """PyTorch's SDPA with the other formulations (see the docstring). Needs no softcap."""
    B, H, Lq, D = q.shape
    Hkv, Lk = k.shape[1], k.shape[2]
    r = resolve(opts, D, H)
    assert r["softcap"] is None
    qpos, kpos = positions(Lq, Lk, r["offset"], r["align"])
    if r["rot"] is not None:
        q = apply_rotary_alt(q, qpos, r["rot"])
        k = apply_rotary_alt(k, kpos, r["rot"])
    G = H // Hkv

    def repeat_kv(t):  # Hugging Face
        b, hk, L, d = t.shape
        return t[:, :, None].expand(b, hk, G, L, d).reshape(b, hk * G, L, d)

    k, v = repeat_kv(k), repeat_kv(v)
    bias = torch.zeros(B, H, Lq, Lk, dtype=torch.float64)
    if r["slopes"] is not None:  # BLOOM: slope * key index, constant shift per row
        bias = bias + torch.tensor(alibi_slopes_press(H) if opts["alibi"] is True else r["slopes"],
                                   dtype=torch.float64).view(1, H, 1, 1) * torch.arange(Lk, dtype=torch.float64)
    if opts.get("attnMask") is not None:
        bias = bias + additive(opts["attnMask"])
    if extra_add is not None:
        bias = bias + extra_add
    d = int(qpos[0] - kpos[0]) if Lq else 0  # query i sits at key index i + d
    if r["causal"]:
        bias = bias.masked_fill(torch.ones(Lq, Lk, dtype=torch.bool).triu(1 + d), float("-inf"))
    if r["window"] is not None:
        bias = bias.masked_fill(torch.ones(Lq, Lk, dtype=torch.bool).tril(d - r["window"]), float("-inf"))
    q = q * (r["scale"] * math.sqrt(D))  # SDPA scales by 1/sqrt(D)
    if hasattr(F, "scaled_dot_product_attention"):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return out, None
    out, w = F._scaled_dot_product_attention(q, k, v, bias, 0.0, True, False)
    return out, w


def decoder_loop(q, k, v, opts, extra_add=None):
    """numpy, one (b, h, i) row at a time, kv head h // (H / Hkv), Press's slopes."""
    q, k, v = (np.asarray(t, dtype=np.float64) for t in (q, k, v))
    B, H, Lq, D = q.shape
    Hkv, Lk, Dv = k.shape[1], k.shape[2], v.shape[3]
    G = H // Hkv
    rot = opts.get("rotary")
    scale = opts.get("scale", 1.0 / math.sqrt(D))
    off = rot.get("positionOffset", 0) if rot is not None else 0
    shift = Lk - Lq if opts.get("causalAlignment") == BR else 0
    alibi = opts.get("alibi")
    slopes = None
    if alibi is True:
        slopes = alibi_slopes_press(H)
    elif alibi is not None and alibi is not False:
        slopes = [float(x) for x in alibi]
    W, c = opts.get("window"), opts.get("softcap")
    mask = np.zeros((B, H, Lq, Lk))
    if opts.get("attnMask") is not None:
        m = opts["attnMask"]
        mask = mask + (np.where(m, -np.inf, 0.0) if m.dtype == np.bool_ else m.astype(np.float64))
    if extra_add is not None:
        mask = mask + extra_add.numpy()
    if rot is not None:
        base, rd, inter, _ = rotary_params(rot, D)
        rk = {}
        for b in range(B):
            for hk in range(Hkv):
                for j in range(Lk):
                    rk[b, hk, j] = rope_scalar(k[b, hk, j], float(off + j), base, rd, inter)
    out = np.zeros((B, H, Lq, Dv))
    wts = np.zeros((B, H, Lq, Lk))
    for b in range(B):
        for h in range(H):
            hk = h // G
            for i in range(Lq):
                pq = off + shift + i
                qi = rope_scalar(q[b, h, i], float(pq), base, rd, inter) if rot is not None else q[b, h, i]
                s = np.empty(Lk)
                for j in range(Lk):
                    pk = off + j
                    kj = rk[b, hk, j] if rot is not None else k[b, hk, j]
                    x = float(np.dot(qi, kj)) * scale
                    if c is not None:
                        x = c * math.tanh(x / c)
                    if slopes is not None:
                        x += slopes[h] * (pk - pq)
                    if opts.get("isCausal") and pk > pq:
                        x = -math.inf
                    if W is not None and pk <= pq - W:
                        x = -math.inf
                    s[j] = x + mask[b, h, i, j]
                if np.all(np.isneginf(s)):
                    continue
                e = np.exp(s - s.max())
                p = e / e.sum()
                wts[b, h, i] = p
                out[b, h, i] = p @ v[b, hk]
    return out, wts


# ---------------------------------------------------------------- decoder_attention.json

def decoder_name(spec):
    parts = [f"[{spec['label']}]"] if spec.get("label") else []
    parts.append(f"B={spec['B']} H={spec['H']} Hkv={spec.get('Hkv', spec['H'])} Lq={spec['Lq']} Lk={spec['Lk']} "
                 f"D={spec['D']} Dv={spec.get('Dv', spec['D'])}")
    parts.append(f"scale={spec['scale']}" if "scale" in spec else "scale=default")
    if "rotary" in spec:
        parts.append("rotary" + json.dumps(spec["rotary"], separators=(",", ":"), sort_keys=True))
    if spec.get("alibi") is not None:
        parts.append("alibi=" + ("true" if spec["alibi"] is True else "slopesArray"))
    if spec.get("window") is not None:
        parts.append(f"window={spec['window']}")
    if spec.get("softcap") is not None:
        parts.append(f"softcap={spec['softcap']}")
    if spec.get("mask"):
        parts.append(f"attnMask={spec['mask'][0]}[{spec['mask'][1]}]")
    if spec.get("causal"):
        parts.append("isCausal")
    if spec.get("align"):
        parts.append(f"causalAlignment={spec['align']}")
    parts.append("needWeights=" + ("true" if spec.get("weights", True) else "false"))
    if spec.get("large_logits"):
        parts.append("largeLogits(|score|~120)")
    if spec.get("expect_full"):
        parts.append("fullyMaskedRow")
    return " ".join(parts)


def decoder_opts(spec, mask, slopes_array):
    opts = {}
    if mask is not None:
        opts["attnMask"] = mask
    if spec.get("causal"):
        opts["isCausal"] = True
    if spec.get("align"):
        opts["causalAlignment"] = spec["align"]
    if "scale" in spec:
        opts["scale"] = spec["scale"]
    opts["needWeights"] = spec.get("weights", True)
    if "rotary" in spec:
        opts["rotary"] = dict(spec["rotary"])
    if spec.get("alibi") is True:
        opts["alibi"] = True
    elif spec.get("alibi") is not None:
        opts["alibi"] = slopes_array
    if spec.get("window") is not None:
        opts["window"] = spec["window"]
    if spec.get("softcap") is not None:
        opts["softcap"] = spec["softcap"]
    return opts


def decoder_case(spec, checks):
    B, H, Lq, Lk, D = spec["B"], spec["H"], spec["Lq"], spec["Lk"], spec["D"]
    Hkv, Dv = spec.get("Hkv", H), spec.get("Dv", D)
    name = decoder_name(spec)
    rng = rng_for(name)
    q_np = f32(rng.standard_normal((B, H, Lq, D)))
    k_np = f32(rng.standard_normal((B, Hkv, Lk, D)))
    v_np = f32(rng.standard_normal((B, Hkv, Lk, Dv)))
    mask = None
    if spec.get("mask"):
        dtype, shape = spec["mask"]
        shape = tuple({"B": B, "H": H, "Lq": Lq, "Lk": Lk, "1": 1}[s] for s in shape.split(","))
        if dtype == "bool":
            mask = rng.random(shape) < 0.3
            mask[..., 0] = False
            if len(shape) >= 2 and shape[-2] == Lq:  # keep each query's own position visible
                d = Lk - Lq if spec.get("align") == BR else 0
                for i in range(Lq):
                    if 0 <= i + d < Lk:
                        mask[..., i, i + d] = False
            for idx in spec.get("mask_rows", []):
                mask[idx] = True
        else:
            mask = random_float_mask(rng, shape)
    slopes_array = None
    if spec.get("alibi") not in (None, True):
        slopes_array = f32_list(f32(rng.uniform(0.02, 1.0, H)))
    opts = decoder_opts(spec, mask, slopes_array)

    if spec.get("large_logits"):
        _, _, _, mx, _ = decoder_ref(to_t(q_np), to_t(k_np), to_t(v_np), opts)
        q_np = f32(q_np * (120.0 / mx))
    q, k, v = to_t(q_np), to_t(k_np), to_t(v_np)
    out, w, fully, mx, slopes = decoder_ref(q, k, v, opts)
    if spec.get("large_logits"):
        assert mx > 100, mx
    assert bool(fully.any()) == spec.get("expect_full", False), f"{name}: fully masked rows: {int(fully.sum())}"

    nan_o, nan_w = fully.unsqueeze(-1).expand(out.shape), fully.unsqueeze(-1).expand(w.shape)
    if opts.get("softcap") is None:
        tout, tw = decoder_torch(q, k, v, opts)
        checks.compare("sdpa: reference == torch SDPA output", name, out, tout, nan_o)
        if tw is not None:
            checks.compare("sdpa: reference == torch SDPA weights", name, w, tw, nan_w)
    lout, lw = decoder_loop(q_np, k_np, v_np, opts)
    checks.compare("sdpa: reference == numpy loop output", name, out, lout)
    checks.compare("sdpa: reference == numpy loop weights", name, w, lw)

    jopts = {kk: (mask_json(vv) if isinstance(vv, np.ndarray) else vv) for kk, vv in opts.items()}
    expected = {"output": tensor_json(out.numpy(), "f64"),
                "weights": tensor_json(w.numpy(), "f64") if opts["needWeights"] else None}
    if slopes is not None:
        expected["alibiSlopes"] = f64_list(slopes)
    case = {"name": name, "q": tensor_json(q_np), "k": tensor_json(k_np), "v": tensor_json(v_np),
            "options": jopts, "expected": expected}
    return case, f"max|score|={mx:7.2f} fullyMaskedRows={int(fully.sum())}"


DEC_SPECS = [
    # GQA / MQA alone
    dict(label="GQA", B=2, H=4, Hkv=2, Lq=5, Lk=7, D=8),
    dict(label="MQA", B=1, H=4, Hkv=1, Lq=4, Lk=6, D=6, Dv=5),
    dict(label="GQA", B=2, H=6, Hkv=3, Lq=3, Lk=5, D=4, Dv=7, scale=0.375, weights=False),
    dict(label="GQA per-query-head mask", B=2, H=4, Hkv=2, Lq=6, Lk=6, D=5, causal=True, mask=("bool", "B,H,Lq,Lk")),
    dict(label="MQA float mask", B=2, H=3, Hkv=1, Lq=4, Lk=5, D=4, mask=("float", "B,1,Lq,Lk")),
    # RoPE alone
    dict(label="RoPE defaults", B=1, H=2, Lq=5, Lk=5, D=8, rotary={}),
    dict(label="RoPE interleaved", B=2, H=2, Lq=4, Lk=6, D=6, rotary=dict(interleaved=True)),
    dict(label="RoPE all fields", B=1, H=3, Lq=4, Lk=4, D=8,
         rotary=dict(base=500000, rotaryDim=8, interleaved=False, positionOffset=7)),
    dict(label="RoPE partial", B=1, H=2, Lq=5, Lk=5, D=10, rotary=dict(rotaryDim=4), causal=True),
    dict(label="RoPE partial interleaved", B=2, H=2, Lq=4, Lk=4, D=6,
         rotary=dict(rotaryDim=4, interleaved=True, positionOffset=3)),
    dict(label="RoPE top-left Lq<Lk", B=1, H=2, Lq=3, Lk=6, D=6, rotary={}, causal=True),
    dict(label="RoPE bottom-right chunk", B=1, H=2, Lq=3, Lk=9, D=8, rotary=dict(positionOffset=5), causal=True,
         align=BR),
    dict(label="RoPE decode step", B=2, H=4, Hkv=2, Lq=1, Lk=9, D=8, rotary=dict(base=1000000), causal=True,
         align=BR),
    dict(label="RoPE bottom-right without isCausal", B=1, H=2, Lq=3, Lk=7, D=6, rotary=dict(positionOffset=2),
         align=BR),
    dict(label="RoPE explicit scale", B=2, H=2, Lq=4, Lk=5, D=4, rotary=dict(base=100), scale=0.25, weights=False),
    # ALiBi
    dict(label="ALiBi", B=1, H=4, Lq=5, Lk=6, D=4, alibi=True),
    dict(label="ALiBi BLOOM H=12", B=1, H=12, Lq=6, Lk=6, D=4, alibi=True, causal=True),
    dict(label="ALiBi H=6", B=1, H=6, Lq=3, Lk=8, D=4, alibi=True, causal=True, align=BR),
    dict(label="ALiBi slopes array", B=2, H=3, Lq=4, Lk=5, D=6, alibi="array", causal=True),
    dict(label="ALiBi GQA", B=1, H=8, Hkv=2, Lq=4, Lk=4, D=4, alibi=True, causal=True),
    dict(label="ALiBi BLOOM padded batch", B=2, H=4, Lq=5, Lk=5, D=8, alibi=True, causal=True,
         mask=("bool", "B,1,1,Lk")),
    dict(label="ALiBi with scale", B=1, H=2, Lq=4, Lk=5, D=4, alibi=True, scale=2.0),
    dict(label="ALiBi H=5 Lq>Lk", B=1, H=5, Lq=6, Lk=4, D=4, alibi=True, weights=False),
    # window
    dict(label="window", B=1, H=2, Lq=6, Lk=6, D=4, window=2),
    dict(label="window causal", B=2, H=2, Lq=8, Lk=8, D=4, window=3, causal=True),
    dict(label="window=1 causal", B=1, H=2, Lq=5, Lk=5, D=4, window=1, causal=True),
    dict(label="window >= Lk", B=1, H=2, Lq=6, Lk=6, D=4, window=20, causal=True),
    dict(label="window bottom-right", B=1, H=2, Lq=3, Lk=10, D=4, window=4, causal=True, align=BR),
    dict(label="window no key left", B=1, H=2, Lq=7, Lk=3, D=4, window=2, expect_full=True),
    dict(label="window causal bool mask", B=2, H=2, Lq=6, Lk=6, D=4, window=4, causal=True,
         mask=("bool", "B,1,Lq,Lk"), weights=False),
    # softcap
    dict(label="softcap", B=1, H=2, Lq=4, Lk=5, D=6, softcap=1.5),
    dict(label="softcap large logits", B=2, H=2, Lq=5, Lk=5, D=8, softcap=30.0, large_logits=True),
    dict(label="softcap float mask", B=1, H=2, Lq=4, Lk=6, D=4, softcap=2.5, scale=0.75, mask=("float", "Lq,Lk")),
    # combinations
    dict(label="Mistral", B=2, H=4, Hkv=2, Lq=8, Lk=8, D=8, rotary={}, window=3, causal=True),
    dict(label="Mistral chunk", B=1, H=4, Hkv=1, Lq=3, Lk=9, D=8, rotary=dict(positionOffset=4), window=4,
         causal=True, align=BR),
    dict(label="BLOOM", B=2, H=12, Lq=4, Lk=4, D=6, alibi=True, causal=True, weights=False),
    dict(label="Gemma 2", B=1, H=4, Hkv=2, Lq=6, Lk=6, D=8, rotary={}, softcap=50.0, scale=0.25, causal=True,
         large_logits=True),
    dict(label="Gemma 2 local", B=2, H=2, Hkv=1, Lq=6, Lk=6, D=6, rotary=dict(base=10000), softcap=20.0,
         window=3, causal=True, large_logits=True),
    dict(label="Phi partial rotary D=80", B=1, H=2, Lq=4, Lk=4, D=80, rotary=dict(rotaryDim=32), causal=True),
    dict(label="Llama D=64", B=1, H=4, Hkv=2, Lq=5, Lk=5, D=64, rotary=dict(base=500000), causal=True),
    dict(label="MQA D=96 chunk", B=1, H=2, Hkv=1, Lq=2, Lk=6, D=96, rotary=dict(positionOffset=10), causal=True,
         align=BR),
    dict(label="GQA D=64 interleaved window", B=1, H=2, Hkv=1, Lq=4, Lk=6, D=64,
         rotary=dict(interleaved=True, positionOffset=3), window=3, causal=True, align=BR, weights=False),
    dict(label="D=80 partial interleaved ALiBi", B=1, H=2, Lq=3, Lk=3, D=80,
         rotary=dict(rotaryDim=32, interleaved=True), alibi=True, causal=True),
    dict(label="GQA RoPE masked row", B=2, H=4, Hkv=2, Lq=5, Lk=6, D=6, rotary={}, mask=("bool", "B,1,Lq,Lk"),
         mask_rows=[(1, 0, 2, slice(None))], expect_full=True),
    dict(label="GQA RoPE bottom-right Lq>Lk", B=1, H=4, Hkv=2, Lq=6, Lk=4, D=6, rotary=dict(positionOffset=8),
         causal=True, align=BR, expect_full=True),
    dict(label="ALiBi RoPE GQA window", B=1, H=4, Hkv=2, Lq=6, Lk=6, D=6, rotary=dict(interleaved=True),
         alibi=True, window=2, causal=True),
    dict(label="all options", B=2, H=4, Hkv=2, Lq=4, Lk=7, D=6, Dv=3,
         rotary=dict(rotaryDim=4, interleaved=True, positionOffset=2), alibi="array", window=4, softcap=2.0,
         causal=True, align=BR, mask=("float", "B,1,Lq,Lk"), scale=0.5),
    dict(label="all options H=12", B=1, H=12, Hkv=3, Lq=4, Lk=6, D=6,
         rotary=dict(base=10000, rotaryDim=6, interleaved=False, positionOffset=0), alibi=True, window=3,
         softcap=3.0, causal=True, align=BR, weights=False),
]


# ---------------------------------------------------------------- rotaryCases

def rotary_name(spec):
    parts = [f"[{spec['label']}]"] if spec.get("label") else []
    parts.append(f"B={spec['B']} H={spec['H']} L={spec['L']} D={spec['D']}")
    parts.append("rotary" + json.dumps(spec["rotary"], separators=(",", ":"), sort_keys=True))
    return " ".join(parts)


def rotary_case(spec, checks):
    name = rotary_name(spec)
    rng = rng_for(name)
    B, H, L, D = spec["B"], spec["H"], spec["L"], spec["D"]
    x_np = f32(rng.standard_normal((B, H, L, D)))
    rot = spec["rotary"]
    base, rd, _, off = rotary_params(rot, D)
    pos = off + np.arange(L, dtype=np.float64)
    x = to_t(x_np)
    out = apply_rotary(x, pos, rot)
    checks.compare("rope: reference == other formulation", name, out, apply_rotary_alt(x, pos, rot))
    checks.compare("rope: reference == scalar loop", name, out, rope_loop(x_np, pos, rot))
    check_rope_pair(checks, name, x, pos, D, rd, base)
    assert torch.equal(out[..., rd:], x[..., rd:])
    case = {"name": name, "x": tensor_json(x_np), "rotary": dict(rot),
            "expected": {"output": tensor_json(out.numpy(), "f64")}}
    return case, f"max|angle|={float(pos.max()) if L else 0:.0f}"


ROT_SPECS = [
    dict(label="defaults", B=1, H=2, L=5, D=8, rotary={}),
    dict(label="interleaved", B=1, H=2, L=4, D=8, rotary=dict(interleaved=True)),
    dict(label="all fields at defaults", B=1, H=1, L=4, D=6,
         rotary=dict(base=10000, rotaryDim=6, interleaved=False, positionOffset=0)),
    dict(label="partial", B=1, H=2, L=4, D=10, rotary=dict(rotaryDim=4, positionOffset=3)),
    dict(label="partial interleaved", B=2, H=1, L=3, D=8, rotary=dict(rotaryDim=6, interleaved=True, base=500000)),
    dict(label="D=6", B=2, H=3, L=3, D=6, rotary=dict(positionOffset=1)),
    dict(label="single pair", B=1, H=2, L=3, D=4, rotary=dict(rotaryDim=2, positionOffset=2)),
    dict(label="small base", B=1, H=1, L=6, D=8, rotary=dict(base=100)),
    dict(label="L=1", B=1, H=4, L=1, D=8, rotary=dict(positionOffset=5, interleaved=True)),
    dict(label="D=64 large positions", B=1, H=1, L=3, D=64, rotary=dict(base=1000000, positionOffset=1000)),
    dict(label="D=80 partial", B=1, H=1, L=4, D=80, rotary=dict(rotaryDim=32)),
    dict(label="D=96 interleaved", B=1, H=1, L=2, D=96, rotary=dict(interleaved=True, positionOffset=17)),
]


# ---------------------------------------------------------------- self_attention.json

def sa_resolve(cfg):
    E, H = cfg["embedDim"], cfg["numHeads"]
    Hkv = cfg.get("numKVHeads", H)
    D = cfg.get("headDim", E // H)
    assert cfg.get("headDim") is not None or E % H == 0
    bias = cfg.get("bias", False)
    return dict(E=E, H=H, Hkv=Hkv, D=D, bias=bias, outBias=cfg.get("outBias", bias),
                scale=cfg.get("scale", 1.0 / math.sqrt(D)), rotary=cfg.get("rotary"), alibi=cfg.get("alibi"),
                window=cfg.get("window"), softcap=cfg.get("softcap"))


class HFStyleAttention(torch.nn.Module):
    """Mirrors transformers' LlamaAttention / Qwen2Attention (eager path), float64:
    q/k/v proj -> view heads -> RoPE -> repeat_kv -> softmax(q k^T * scale + mask) v -> o_proj.
    Extras from the other HF models: GPT-J rotate_every_two for interleaved rotary,
    GPT-NeoX / Phi partial rotary, Gemma-2 softcapping, BLOOM ALiBi, Mistral sliding window.
    Fully masked rows give zero weights (HF would give NaN or uniform weights)."""

    def __init__(self, r):
        super().__init__()
        self.r = r
        E, H, Hkv, D = r["E"], r["H"], r["Hkv"], r["D"]
        kw = dict(dtype=torch.float64)
        self.q_proj = torch.nn.Linear(E, H * D, bias=r["bias"], **kw)
        self.k_proj = torch.nn.Linear(E, Hkv * D, bias=r["bias"], **kw)
        self.v_proj = torch.nn.Linear(E, Hkv * D, bias=r["bias"], **kw)
        self.o_proj = torch.nn.Linear(H * D, E, bias=r["outBias"], **kw)

    def rotary_emb(self, position_ids):
        """LlamaRotaryEmbedding, in float64: cos/sin of cat(freqs, freqs), freqs = pos * inv_freq."""
        base, rd, inter, _ = rotary_params(self.r["rotary"], self.r["D"])
        inv_freq = 1.0 / (base ** (torch.arange(0, rd, 2, dtype=torch.float64) / rd))
        freqs = position_ids[:, None] * inv_freq[None, :]
        if inter:  # GPT-J: sin/cos duplicated element-wise
            return freqs.cos().repeat_interleave(2, -1), freqs.sin().repeat_interleave(2, -1), rd, True
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin(), rd, False

    @staticmethod
    def apply_rotary_pos_emb(x, cos, sin, rd, inter):
        rot, keep = x[..., :rd], x[..., rd:]
        rot = rot * cos + (rotate_every_two(rot) if inter else rotate_half(rot)) * sin
        return torch.cat((rot, keep), dim=-1)

    @staticmethod
    def repeat_kv(hidden, n_rep):
        b, hk, L, d = hidden.shape
        if n_rep == 1:
            return hidden
        return hidden[:, :, None, :, :].expand(b, hk, n_rep, L, d).reshape(b, hk * n_rep, L, d)

    def forward(self, x, user_mask, is_causal):
        r = self.r
        N, L, _ = x.shape
        H, Hkv, D = r["H"], r["Hkv"], r["D"]
        q = self.q_proj(x).view(N, L, H, D).transpose(1, 2)
        k = self.k_proj(x).view(N, L, Hkv, D).transpose(1, 2)
        v = self.v_proj(x).view(N, L, Hkv, D).transpose(1, 2)
        if r["rotary"] is not None:
            off = rotary_params(r["rotary"], D)[3]
            cos, sin, rd, inter = self.rotary_emb(torch.arange(L, dtype=torch.float64) + off)
            q = self.apply_rotary_pos_emb(q, cos, sin, rd, inter)
            k = self.apply_rotary_pos_emb(k, cos, sin, rd, inter)
        k = self.repeat_kv(k, H // Hkv)
        v = self.repeat_kv(v, H // Hkv)
        scores = torch.matmul(q, k.transpose(2, 3)) * r["scale"]
        if r["softcap"] is not None:  # Gemma 2
            scores = scores / r["softcap"]
            scores = torch.tanh(scores)
            scores = scores * r["softcap"]
        if r["alibi"] is not None:  # BLOOM: slope * key position (a per-row constant away from p_k - p_q)
            scores = scores + to_t(resolve_slopes(r["alibi"], H)).view(1, H, 1, 1) * torch.arange(
                L, dtype=torch.float64).view(1, 1, 1, L)
        mask = torch.zeros(N, H, L, L, dtype=torch.float64)
        if user_mask is not None:
            mask = mask + user_mask
        if is_causal:
            mask = mask + torch.full((L, L), float("-inf"), dtype=torch.float64).triu(1)
        if r["window"] is not None:  # Mistral: key j hidden when i - j >= window
            mask = mask.masked_fill(torch.ones(L, L, dtype=torch.bool).tril(-r["window"]), float("-inf"))
        w, fully = safe_softmax(scores + mask)
        o = torch.matmul(w, v).transpose(1, 2).reshape(N, L, H * D)
        return self.o_proj(o), w, fully, mask


def sa_user_mask(opts, N, H, L):
    """attnMask + keyPaddingMask as one float64 additive (N, H, L, S) mask (None if neither)."""
    m = None
    if opts.get("attnMask") is not None:
        a = additive(opts["attnMask"])
        m = a.expand(N, H, L, L).clone() if a.dim() == 2 else a.reshape(N, H, L, L)
    if opts.get("keyPaddingMask") is not None:
        kp = additive(opts["keyPaddingMask"]).reshape(N, 1, 1, L)
        m = kp.expand(N, H, L, L).clone() if m is None else m + kp
    return m


def sa_name(spec):
    cfg = spec["cfg"]
    parts = [f"[{spec['label']}]"]
    def show(v):
        return "slopesArray" if v == "array" else json.dumps(v, separators=(",", ":"), sort_keys=True)

    parts.append(" ".join(f"{k}={show(v)}" for k, v in cfg.items()))
    parts.append(f"N={spec['N']} L={spec['L']}")
    if spec.get("kpm"):
        p = spec.get("kpm_pattern")
        parts.append(f"keyPaddingMask={spec['kpm']}" + (f"({p})" if p else ""))
    if spec.get("attn"):
        p = spec.get("attn_pattern")
        parts.append(f"attnMask={spec['attn'][:-1]} {spec['attn'][-1]}-D" + (f"({p})" if p else ""))
    c = spec.get("causal")
    parts.append("isCausal=default(true)" if c is None else f"isCausal={str(c).lower()}")
    w = spec.get("weights")
    if w is None:
        parts.append("needWeights=false" + ("(explicit)" if spec.get("explicit_defaults") else "(default)"))
    else:
        parts.append("weights=average" if w == "avg" else "weights=perHead")
    if spec.get("expect_full"):
        parts.append("fullyMaskedRow")
    return " ".join(parts)


def sa_case(spec, checks):
    cfg = dict(spec["cfg"])
    name = sa_name(spec)
    rng = rng_for(name)
    r = sa_resolve(cfg)
    E, H, Hkv, D = r["E"], r["H"], r["Hkv"], r["D"]
    N, L = spec["N"], spec["L"]
    if cfg.get("alibi") == "array":
        cfg["alibi"] = f32_list(f32(rng.uniform(0.02, 1.0, H)))
        r = sa_resolve(cfg)

    module = HFStyleAttention(r).eval()
    sd_np = {}
    for key, t in module.state_dict().items():
        fan_in = t.shape[1] if t.dim() == 2 else None
        if key.endswith(".bias"):
            bound = 0.5
        elif key.startswith(("q_proj", "k_proj")):
            bound = 2.0 / math.sqrt(fan_in)
        else:
            bound = 1.0 / math.sqrt(fan_in)
        sd_np[key] = f32(rng.uniform(-bound, bound, size=tuple(t.shape)))
    module.load_state_dict({k: to_t(a) for k, a in sd_np.items()}, strict=True)
    x_np = f32(rng.standard_normal((N, L, E)))

    opts = {}
    if spec.get("attn"):
        kind = spec["attn"]
        dtype, rank = kind[:-1], int(kind[-1])
        shape = (L, L) if rank == 2 else (N * H, L, L)
        if dtype == "bool":
            m = rng.random(shape) < 0.3
            m[..., 0] = False
            m[..., np.arange(L), np.arange(L)] = False
            if spec.get("attn_pattern") == "row":
                m[(min(1, N * H - 1),) * (rank - 2) + (min(2, L - 1), slice(None))] = True
        else:
            m = random_float_mask(rng, shape)
        opts["attnMask"] = m
    if spec.get("kpm"):
        if spec["kpm"] == "bool":
            m = rng.random((N, L)) < 0.3
            m[:, 0] = False
            if spec.get("kpm_pattern") == "all_keys_last_item":
                m[-1, :] = True
        else:
            m = random_float_mask(rng, (N, L))
        opts["keyPaddingMask"] = m
    if spec.get("causal") is not None:
        opts["isCausal"] = spec["causal"]
    w_mode = spec.get("weights")
    if spec.get("explicit_defaults"):  # the defaults spelled out
        opts["needWeights"] = False
    if w_mode is not None:
        opts["needWeights"] = True
        opts["averageAttnWeights"] = w_mode == "avg"
    is_causal = opts.get("isCausal", True)

    x = to_t(x_np)
    umask = sa_user_mask(opts, N, H, L)
    with torch.no_grad():
        out, w, fully, _ = module(x, umask, is_causal)
    assert bool(fully.any()) == spec.get("expect_full", False), f"{name}: fully masked rows: {int(fully.sum())}"
    any_head = fully.any(1)  # (N, L)

    # functional path: F.linear + the SDPA reference
    sd = {k: to_t(a) for k, a in sd_np.items()}
    qp = F.linear(x, sd["q_proj.weight"], sd.get("q_proj.bias")).view(N, L, H, D).transpose(1, 2)
    kp = F.linear(x, sd["k_proj.weight"], sd.get("k_proj.bias")).view(N, L, Hkv, D).transpose(1, 2)
    vp = F.linear(x, sd["v_proj.weight"], sd.get("v_proj.bias")).view(N, L, Hkv, D).transpose(1, 2)
    dopts = {"scale": r["scale"], "isCausal": is_causal}
    for key in ("rotary", "alibi", "window", "softcap"):
        if r[key] is not None:
            dopts[key] = r[key]
    fo, fw, ffully, _, _ = decoder_ref(qp, kp, vp, dopts, extra_add=umask)
    fout = F.linear(fo.transpose(1, 2).reshape(N, L, H * D), sd["o_proj.weight"], sd.get("o_proj.bias"))
    checks.compare("self-attn: module == functional output", name, out, fout)
    checks.compare("self-attn: module == functional weights", name, w, fw)
    assert torch.equal(fully, ffully)
    lo, lw = decoder_loop(qp, kp, vp, dopts, extra_add=umask)
    lout = F.linear(to_t(lo).transpose(1, 2).reshape(N, L, H * D), sd["o_proj.weight"], sd.get("o_proj.bias"))
    checks.compare("self-attn: module == numpy loop output", name, out, lout)
    checks.compare("self-attn: module == numpy loop weights", name, w, lw)

    plain = (Hkv == H and D * H == E and "scale" not in cfg and all(r[k] is None for k in
                                                                     ("rotary", "alibi", "window", "softcap")))
    if plain:
        mha = torch.nn.MultiheadAttention(E, H, bias=True, batch_first=True).double().eval()
        zeros = lambda n: torch.zeros(n, dtype=torch.float64)  # noqa: E731
        bq = [sd.get(f"{p}_proj.bias", zeros(E)) for p in "qkv"]
        mha.load_state_dict({
            "in_proj_weight": torch.cat([sd["q_proj.weight"], sd["k_proj.weight"], sd["v_proj.weight"]]),
            "in_proj_bias": torch.cat(bq),
            "out_proj.weight": sd["o_proj.weight"],
            "out_proj.bias": sd.get("o_proj.bias", zeros(E))})
        total = torch.zeros(N, H, L, L, dtype=torch.float64) if umask is None else umask.clone()
        if is_causal:
            total = total.masked_fill(torch.ones(L, L, dtype=torch.bool).triu(1), float("-inf"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mo, mw = mha(x, x, x, attn_mask=total.reshape(N * H, L, L), need_weights=True,
                         average_attn_weights=False)
        checks.compare("self-attn: module == nn.MultiheadAttention output", name, out, mo.detach(),
                       any_head.unsqueeze(-1).expand(out.shape))
        checks.compare("self-attn: module == nn.MultiheadAttention weights", name, w, mw.detach(),
                       fully.unsqueeze(-1).expand(w.shape))

    weights = None
    if opts.get("needWeights"):
        weights = w.mean(1) if opts["averageAttnWeights"] else w
    jcfg = dict(cfg)
    case = {
        "name": name,
        "config": jcfg,
        "stateDict": {k: tensor_json(a) for k, a in sd_np.items()},
        "x": tensor_json(x_np),
        "options": {k: (mask_json(v) if isinstance(v, np.ndarray) else v) for k, v in opts.items()},
        "expected": {"output": tensor_json(out.numpy(), "f64"),
                     "weights": None if weights is None else tensor_json(weights.numpy(), "f64")},
    }
    return case, f"{'mha-checked' if plain else '           '} fullyMaskedRows={int(fully.sum())}"


SA_SPECS = [
    dict(label="Llama-like", cfg=dict(embedDim=32, numHeads=4, numKVHeads=2, rotary={}), N=1, L=8),
    dict(label="Qwen2-like", cfg=dict(embedDim=32, numHeads=4, numKVHeads=2, bias=True, outBias=False,
                                      rotary=dict(base=1000000)), N=2, L=6, kpm="bool", weights="avg"),
    dict(label="MQA", cfg=dict(embedDim=32, numHeads=4, numKVHeads=1, rotary=dict(interleaved=True)),
         N=2, L=5, causal=True, weights="heads"),
    dict(label="headDim != E/H", cfg=dict(embedDim=48, numHeads=4, numKVHeads=2, headDim=8, bias=True,
                                          rotary=dict(rotaryDim=8, positionOffset=3)), N=1, L=7, weights="heads"),
    dict(label="causal off float mask", cfg=dict(embedDim=24, numHeads=3, bias=True), N=2, L=5, causal=False,
         attn="float2", weights="avg"),
    dict(label="plain", cfg=dict(embedDim=16, numHeads=2), N=2, L=6, weights="heads"),
    dict(label="plain outBias only", cfg=dict(embedDim=12, numHeads=3, outBias=True), N=1, L=4,
         attn="bool3", kpm="float", weights="avg"),
    dict(label="BLOOM-like", cfg=dict(embedDim=24, numHeads=6, bias=True, alibi=True), N=2, L=6, kpm="float",
         weights="avg"),
    dict(label="Mistral-like", cfg=dict(embedDim=24, numHeads=4, numKVHeads=2, rotary={}, window=3), N=2, L=10,
         weights="heads"),
    dict(label="Gemma2-like", cfg=dict(embedDim=16, numHeads=2, numKVHeads=1, headDim=16, scale=0.125, softcap=2.0,
                                       window=4, rotary={}), N=1, L=8, weights="heads"),
    dict(label="bool 3-D mask", cfg=dict(embedDim=24, numHeads=2, numKVHeads=1, headDim=8, outBias=True,
                                         rotary=dict(positionOffset=6)), N=2, L=6, attn="bool3", weights="heads"),
    dict(label="ALiBi array causal off", cfg=dict(embedDim=16, numHeads=4, alibi="array"), N=1, L=4, causal=False,
         attn="bool2", explicit_defaults=True),
    dict(label="fully masked item", cfg=dict(embedDim=16, numHeads=2, outBias=True), N=2, L=5, causal=False,
         kpm="bool", kpm_pattern="all_keys_last_item", expect_full=True, weights="avg"),
    dict(label="fully masked head row", cfg=dict(embedDim=24, numHeads=3, numKVHeads=1, bias=True,
                                                 rotary=dict(interleaved=True, rotaryDim=4)),
         N=2, L=5, causal=False, attn="bool3", attn_pattern="row", expect_full=True, weights="heads"),
    dict(label="L=1", cfg=dict(embedDim=16, numHeads=4, numKVHeads=2, rotary=dict(positionOffset=9)),
         N=2, L=1, weights="avg"),
    dict(label="Llama-like batch", cfg=dict(embedDim=32, numHeads=4, numKVHeads=1, rotary=dict(base=500000)),
         N=2, L=12, kpm="bool", causal=True),
]


# ---------------------------------------------------------------- linear.json

def linear_name(spec):
    parts = [f"inFeatures={spec['inF']} outFeatures={spec['outF']} bias={str(spec.get('bias', True)).lower()}",
             f"x={list(spec['xshape'])}"]
    if spec.get("int_weight"):
        parts.append("integerWeight")
    return " ".join(parts)


def linear_case(spec, checks):
    name = linear_name(spec)
    rng = rng_for(name)
    i, o, bias = spec["inF"], spec["outF"], spec.get("bias", True)
    assert spec["xshape"][-1] == i
    bound = 1.0 / math.sqrt(i)
    if spec.get("int_weight"):  # integers in [-7, 7] keep the 98304-value weight at ~250 KB of JSON
        w_np = f32(rng.integers(-7, 8, (o, i)))
    else:
        w_np = f32(rng.uniform(-bound, bound, (o, i)))
    b_np = f32(rng.uniform(-bound, bound, o)) if bias else None
    x_np = f32(rng.standard_normal(spec["xshape"]))
    out = F.linear(to_t(x_np), to_t(w_np), None if b_np is None else to_t(b_np))
    ref = np.einsum("...i,oi->...o", x_np.astype(np.float64), w_np.astype(np.float64))
    if b_np is not None:
        ref = ref + b_np.astype(np.float64)
    checks.compare("linear: F.linear == numpy einsum", name, ref, out)
    cfg = {"inFeatures": i, "outFeatures": o}
    if "bias" in spec:
        cfg["bias"] = bias
    sd = {"weight": tensor_json(w_np, "int" if spec.get("int_weight") else "f32")}
    if b_np is not None:
        sd["bias"] = tensor_json(b_np)
    case = {"name": name, "config": cfg, "stateDict": sd, "x": tensor_json(x_np),
            "expected": {"output": tensor_json(out.numpy(), "f64")}}
    return case, f"rows={int(np.prod(spec['xshape'][:-1]))}"


LIN_SPECS = [
    dict(inF=7, outF=5, xshape=(7,)),
    dict(inF=64, outF=7, bias=False, xshape=(64,)),
    dict(inF=1, outF=3, xshape=(4, 1)),
    dict(inF=7, outF=64, xshape=(3, 7)),
    dict(inF=64, outF=96, bias=False, xshape=(4, 64)),
    dict(inF=96, outF=7, xshape=(5, 96)),
    dict(inF=7, outF=96, bias=True, xshape=(17, 7)),
    dict(inF=9, outF=64, xshape=(1, 9)),
    dict(inF=9, outF=4, bias=False, xshape=(5, 9)),
    dict(inF=7, outF=7, xshape=(2, 3, 7)),
    dict(inF=96, outF=5, bias=False, xshape=(2, 2, 96)),
    dict(inF=64, outF=9, xshape=(1, 17, 64)),
    dict(inF=5, outF=6, bias=False, xshape=(3, 1, 5)),
    dict(inF=256, outF=384, xshape=(5, 256), int_weight=True),
]


# ---------------------------------------------------------------- main

def write(path, sections):
    header = {
        "generator": "scripts/make_decoder_fixtures.py",
        "command": "/usr/bin/python3 scripts/make_decoder_fixtures.py",
        "torch_version": torch.__version__,
        "reference_dtype": "float64",
    }
    head = json.dumps(header, separators=(",", ":"), allow_nan=False)[:-1]
    parts = []
    for key, cases in sections:
        names = [c["name"] for c in cases]
        assert len(set(names)) == len(names), f"duplicate case names in {key}"
        body = ",\n".join(json.dumps(c, separators=(",", ":"), allow_nan=False) for c in cases)
        parts.append(f'"{key}":[\n' + body + "\n]")
    text = head + "," + ",".join(parts) + "}\n"
    json.loads(text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(path, REPO)}: "
          + ", ".join(f"{len(c)} {k}" for k, c in sections) + f", {len(text)} bytes", file=sys.stderr)


def check_slopes(checks):
    for H in range(1, 65):
        a, b = alibi_slopes(H), alibi_slopes_press(H)
        assert len(a) == len(b) == H
        checks.compare("alibi: closed form == Press get_slopes", f"H={H}", torch.tensor(b), torch.tensor(a))


def check_rope_random(checks):
    """Extra random RoPE configurations beyond the fixture cases."""
    rng = rng_for("rope self-test")
    for D, rd, base, off in [(2, 2, 10000, 0), (8, 8, 10000, 0), (10, 6, 500000, 11), (64, 64, 1e6, 4096),
                             (80, 32, 10000, 3), (96, 96, 10000, 100), (6, 4, 100, 7), (128, 64, 10000, 2)]:
        x = to_t(rng.standard_normal((2, 3, 5, D)))
        pos = off + np.arange(5, dtype=np.float64)
        name = f"D={D} rotaryDim={rd} base={base} offset={off}"
        check_rope_pair(checks, name, x, pos, D, rd, base)
        for inter in (False, True):
            rot = dict(base=base, rotaryDim=rd, interleaved=inter, positionOffset=off)
            checks.compare("rope: reference == scalar loop", name, apply_rotary(x, pos, rot), rope_loop(x, pos, rot))


def main():
    torch.set_num_threads(1)
    args = sys.argv[1:]
    check_only = "--check" in args
    verbose = "-v" in args
    checks = Checks(strict=not check_only)
    try:
        check_slopes(checks)
        check_rope_random(checks)
        sections = {}
        for key, specs, fn in (("decoder", DEC_SPECS, decoder_case), ("rotary", ROT_SPECS, rotary_case),
                               ("self", SA_SPECS, sa_case), ("linear", LIN_SPECS, linear_case)):
            sections[key] = []
            for spec in specs:
                case, info = fn(spec, checks)
                sections[key].append(case)
                if verbose:
                    print(f"{key:8s} {info}  {case['name']}", file=sys.stderr)
    except Exception as e:  # in --check mode, report and fail
        if not check_only:
            raise
        checks.failures.append(f"exception: {type(e).__name__}: {e}")
    if check_only:
        print("cross-checks (largest disagreement relative to max(|ref|, 1); tolerance 1e-10):", file=sys.stderr)
        checks.report()
        for msg in checks.failures:
            print("FAIL " + msg, file=sys.stderr)
        print("OK" if not checks.failures else f"{len(checks.failures)} failure(s)", file=sys.stderr)
        sys.exit(1 if checks.failures else 0)
    os.makedirs(OUT_DIR, exist_ok=True)
    write(os.path.join(OUT_DIR, "decoder_attention.json"),
          [("cases", sections["decoder"]), ("rotaryCases", sections["rotary"])])
    write(os.path.join(OUT_DIR, "self_attention.json"), [("cases", sections["self"])])
    write(os.path.join(OUT_DIR, "linear.json"), [("cases", sections["linear"])])


if __name__ == "__main__":
    main()
