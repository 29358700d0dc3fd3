#!/usr/bin/python3
"""Generate the PyTorch reference fixtures for the JS tests.

Produces
    tests/fixtures/multi_head_attention.json
    tests/fixtures/scaled_dot_product_attention.json
    tests/fixtures/causal_alignment.json

Command (from the repository root, with Debian's system python, which has torch):
    /usr/bin/python3 scripts/make_fixtures.py

Every case draws its inputs and weights from a seed derived from the case name,
rounds them to float32 (that is what the JSON stores, with enough digits to
round-trip float32 exactly), then computes the expected result in float64 from
those float32 values, so the reference is essentially exact for the stored
inputs. Expected values are written with 12 significant digits. The output is
deterministic: running the script twice gives identical bytes.

Semantics followed by the expected values (the library's, which differ from
PyTorch's in two places):

* nn.MultiheadAttention.forward in eval mode (no dropout), with its state_dict
  keys and layouts, add_bias_kv, add_zero_attn, batch_first, unbatched 2-D
  inputs, boolean or additive float key_padding_mask / attn_mask (2-D or 3-D),
  need_weights and average_attn_weights.
* Boolean masks: 1 (true) = masked out, for both files. For MHA this is
  PyTorch's polarity; for SDPA it is the library's (PyTorch's
  F.scaled_dot_product_attention uses the opposite polarity: true = attend).
  Float masks are added to the scaled scores. JSON has no -inf, so float masks
  only hold finite values (some -1e9); "fully masked" rows come from boolean
  masks or causality.
* isCausal works on its own and combines with any mask: it additionally masks
  key j for query i when j > i (top-left aligned, torch.ones(L, S).triu(1)),
  on the original S key columns only; the columns appended by addBiasKV /
  addZeroAttn are never masked (PyTorch pads masks with zeros there).
  PyTorch is given the combined mask and no is_causal flag.
* causalAlignment 'bottom-right' (causal_alignment.json only) shifts that
  diagonal to the bottom-right corner, as torch.nn.attention.bias.
  causal_lower_right / FlashAttention >= 2.1: query i sees key j iff
  j <= i + (S - L), i.e. ones(L, S).triu(1 + S - L), with S the original key
  count (for MHA, before addBiasKV / addZeroAttn). With L > S the first L - S
  rows see no key at all (fully masked, see below). 'top-left' is the
  default; causalAlignment without isCausal changes nothing. torch 1.13 has no
  causal_lower_right, so PyTorch is always given the explicit combined mask.
  Every case of that file carries "kind": "sdpa" (the SDPA case format) or
  "mha" (the MHA case format).
* Mixed mask dtypes combine additively (true -> -inf). Combinations PyTorch
  refuses, warns about or gets wrong (torch 1.13: a float key_padding_mask with
  any attn_mask) are given to nn.MultiheadAttention as one merged 3-D additive
  attn_mask instead.
* Deviation: a query row whose keys are all masked (in a given head) yields a
  zero weights row and a zero attention-weighted sum, where PyTorch gives NaN.
  The MHA output row is then out_proj applied to that zero (i.e. out_proj.bias)
  for those heads; averaged weights are zero only in the heads concerned.
  Those values come from a float64 implementation written with torch ops,
  which the script asserts agrees with PyTorch (within 1e-10) everywhere
  PyTorch gives a number; it also asserts that PyTorch gives NaN exactly where
  rows are fully masked.

SDPA expectations are an explicit float64 softmax(q k^T * scale + mask) v
(scale 1/sqrt(D) when absent), cross-checked against PyTorch's
scaled_dot_product_attention (the private F._scaled_dot_product_attention in
torch < 2) to 1e-10.
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
NOTES = []


def note(msg):
    NOTES.append(msg)


# ---------------------------------------------------------------- formatting

def f32_list(a):
    a = np.asarray(a, dtype=np.float32).ravel()
    out = [float(str(x)) for x in a]
    assert np.array_equal(np.asarray(out, dtype=np.float32), a)
    return out


def f64_list(a):
    a = np.asarray(a, dtype=np.float64).ravel()
    assert np.all(np.isfinite(a))
    return [float(f"{x:.12g}") for x in a]


def tensor_json(a, kind="f32"):
    a = np.asarray(a)
    data = f32_list(a) if kind == "f32" else f64_list(a)
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


def additive(m):
    """bool (True = masked) or float numpy mask -> float64 torch additive mask."""
    t = torch.from_numpy(np.asarray(m))
    if t.dtype == torch.bool:
        return torch.zeros(t.shape, dtype=torch.float64).masked_fill(t, float("-inf"))
    return t.to(torch.float64)


def to_t(a):
    return torch.from_numpy(np.asarray(a)).to(torch.float64)


def safe_softmax(scores):
    """Softmax over the last dim; rows that are all -inf give zeros. Returns (w, fully)."""
    fully = torch.isneginf(scores).all(-1)
    w = torch.softmax(scores.masked_fill(fully.unsqueeze(-1), 0.0), dim=-1)
    return w.masked_fill(fully.unsqueeze(-1), 0.0), fully


def causal_mask(L, S, align=None):
    """bool (L, S), True = masked: key j is hidden from query i when j > i + offset,
    offset 0 top-left (the default) or S - L bottom-right."""
    offset = S - L if align == "bottom-right" else 0
    assert align in (None, "top-left", "bottom-right"), align
    return np.triu(np.ones((L, S), dtype=bool), 1 + offset)


def check_row_masks(mask_add, fully):
    """Rows that are not fully masked must keep an entry without a huge negative mask,
    otherwise float32 and float64 would legitimately disagree (-1e9 + s == -1e9 in float32)."""
    ok = (mask_add.max(-1).values > -1e4) | fully
    assert bool(ok.all()), "a row is masked only by huge finite values"


def compare(name, what, ref, got, expect_nan=None):
    """Assert got == ref (to TOL) where got is a number; NaN in got must match expect_nan."""
    nan = torch.isnan(got)
    if expect_nan is not None:
        assert torch.equal(nan, expect_nan), f"{name}: {what}: NaN positions differ from fully masked rows"
    diff = (ref - got).abs()[~nan]
    scale = torch.clamp(ref.abs()[~nan], min=1.0)
    err = float((diff / scale).max()) if diff.numel() else 0.0
    assert err <= TOL, f"{name}: {what}: disagreement {err:g}"
    return err


# ---------------------------------------------------------------- MHA

def mha_manual(cfg, sd, query, key, value, opts):
    """float64 nn.MultiheadAttention forward with fully masked rows -> zeros.
    Returns output, weights (or None), fully-masked (N, H, L), score stats."""
    E, H = cfg["embedDim"], cfg["numHeads"]
    hd = E // H
    unbatched = query.dim() == 2
    if unbatched:
        q, k, v = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
    elif cfg["batchFirst"]:
        q, k, v = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
    else:
        q, k, v = query, key, value
    L, N, _ = q.shape
    S = k.shape[0]
    if "in_proj_weight" in sd:
        wq, wk, wv = sd["in_proj_weight"].chunk(3)
    else:
        wq, wk, wv = sd["q_proj_weight"], sd["k_proj_weight"], sd["v_proj_weight"]
    bq = bk = bv = None
    if "in_proj_bias" in sd:
        bq, bk, bv = sd["in_proj_bias"].chunk(3)
    qp, kp, vp = F.linear(q, wq, bq), F.linear(k, wk, bk), F.linear(v, wv, bv)
    if cfg["addBiasKV"]:
        kp = torch.cat([kp, sd["bias_k"].expand(1, N, E)])
        vp = torch.cat([vp, sd["bias_v"].expand(1, N, E)])
    qh = qp.reshape(L, N, H, hd).permute(1, 2, 0, 3)
    kh = kp.reshape(kp.shape[0], N, H, hd).permute(1, 2, 0, 3)
    vh = vp.reshape(vp.shape[0], N, H, hd).permute(1, 2, 0, 3)
    if cfg["addZeroAttn"]:
        z = torch.zeros(N, H, 1, hd, dtype=torch.float64)
        kh, vh = torch.cat([kh, z], 2), torch.cat([vh, z], 2)
    S2 = kh.shape[2]
    mask = torch.zeros(N, H, L, S2, dtype=torch.float64)
    sub = torch.zeros(N, H, L, S, dtype=torch.float64)
    if "attnMask" in opts:
        am = additive(opts["attnMask"])
        sub = sub + (am if am.dim() == 2 else am.reshape(N, H, L, S))
    if "keyPaddingMask" in opts:
        kpm = additive(opts["keyPaddingMask"]).reshape(N, S)
        sub = sub + kpm[:, None, None, :]
    if opts.get("isCausal"):
        sub = sub + additive(causal_mask(L, S, opts.get("causalAlignment")))
    mask[..., :S] = sub
    raw = qh @ kh.transpose(-2, -1) / math.sqrt(hd)
    w, fully = safe_softmax(raw + mask)
    check_row_masks(mask, fully)
    o = (w @ vh).permute(2, 0, 1, 3).reshape(L, N, E)
    out = F.linear(o, sd["out_proj.weight"], sd.get("out_proj.bias"))
    weights = None
    if opts["needWeights"]:
        weights = w.mean(1) if opts["averageAttnWeights"] else w
        if unbatched:
            weights = weights.squeeze(0)
    if unbatched:
        out = out.squeeze(1)
    elif cfg["batchFirst"]:
        out = out.transpose(0, 1)
    return out, weights, fully, float(raw.abs().max())


def build_module(cfg, sd):
    m = torch.nn.MultiheadAttention(
        cfg["embedDim"], cfg["numHeads"], dropout=0.0, bias=cfg["bias"],
        add_bias_kv=cfg["addBiasKV"], add_zero_attn=cfg["addZeroAttn"],
        kdim=cfg["kdim"], vdim=cfg["vdim"], batch_first=cfg["batchFirst"])
    m = m.double().eval()
    m.load_state_dict(sd, strict=True)
    return m


def torch_masks(cfg, opts, L, S, merged):
    """The (key_padding_mask, attn_mask) to hand to nn.MultiheadAttention."""
    kpm = attn = None
    if "keyPaddingMask" in opts:
        kpm = torch.from_numpy(opts["keyPaddingMask"])
        kpm = kpm if kpm.dtype == torch.bool else kpm.double()
    if "attnMask" in opts:
        attn = torch.from_numpy(opts["attnMask"])
        attn = attn if attn.dtype == torch.bool else attn.double()
    if opts.get("isCausal"):
        c = torch.from_numpy(causal_mask(L, S, opts.get("causalAlignment")))
        if attn is None:
            attn = c
        elif attn.dtype == torch.bool:
            attn = attn | c
        else:
            attn = attn.masked_fill(c, float("-inf"))
    if merged:
        H = cfg["numHeads"]
        N = 1 if kpm is None or kpm.dim() == 1 else kpm.shape[0]
        if attn is not None and attn.dim() == 3:
            N = attn.shape[0] // H
        total = torch.zeros(N, H, L, S, dtype=torch.float64)
        if attn is not None:
            a = additive(attn.numpy())
            total = total + (a if a.dim() == 2 else a.reshape(N, H, L, S))
        if kpm is not None:
            total = total + additive(kpm.numpy()).reshape(N, 1, 1, S)
        kpm, attn = None, total.reshape(N * H, L, S)
    return kpm, attn


def run_torch_mha(module, cfg, q, k, v, opts, merged, grad):
    L = q.shape[0] if q.dim() == 2 or not cfg["batchFirst"] else q.shape[1]
    S = k.shape[0] if k.dim() == 2 or not cfg["batchFirst"] else k.shape[1]
    kpm, attn = torch_masks(cfg, opts, L, S, merged)
    kw = dict(key_padding_mask=kpm, attn_mask=attn, need_weights=opts["needWeights"])
    if opts["needWeights"]:
        kw["average_attn_weights"] = opts["averageAttnWeights"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with torch.set_grad_enabled(grad):
            out, w = module(q, k, v, **kw)
    return out.detach(), (None if w is None else w.detach()), [str(c.message) for c in caught]


def mha_case(spec):
    cfg = dict(embedDim=spec["E"], numHeads=spec["H"], kdim=spec.get("kdim", spec["E"]),
               vdim=spec.get("vdim", spec["E"]), bias=spec.get("bias", True),
               addBiasKV=spec.get("bias_kv", False), addZeroAttn=spec.get("zero_attn", False),
               batchFirst=spec.get("batch_first", False))
    E, H = cfg["embedDim"], cfg["numHeads"]
    L, S, N = spec["L"], spec["S"], spec.get("N")  # N None = unbatched
    self_attn = spec.get("self", False)
    if self_attn:
        assert L == S and cfg["kdim"] == E and cfg["vdim"] == E
    name = mha_name(spec, cfg)
    rng = rng_for(name)

    # state dict, in PyTorch's key order, random (biases nonzero)
    shapes = {k: tuple(t.shape) for k, t in build_shapes(cfg).items()}
    sd_np = {k: f32(rng.uniform(-0.5, 0.5, size=s)) for k, s in shapes.items()}

    def shape_of(length, dim):
        if N is None:
            return (length, dim)
        return (N, length, dim) if cfg["batchFirst"] else (length, N, dim)

    q_np = f32(rng.standard_normal(shape_of(L, E)))
    if self_attn:
        k_np = v_np = q_np
    else:
        k_np = f32(rng.standard_normal(shape_of(S, cfg["kdim"])))
        v_np = f32(rng.standard_normal(shape_of(S, cfg["vdim"])))

    opts = {}
    Nm = 1 if N is None else N
    if spec.get("kpm"):
        opts["keyPaddingMask"] = make_kpm(rng, spec, Nm, S, N is None)
    if spec.get("attn"):
        opts["attnMask"] = make_attn(rng, spec, Nm, H, L, S)
    opts["needWeights"] = spec.get("weights", "avg") is not None
    if opts["needWeights"]:
        opts["averageAttnWeights"] = spec.get("weights", "avg") == "avg"
    if spec.get("causal"):
        opts["isCausal"] = True
    if spec.get("align"):
        opts["causalAlignment"] = spec["align"]

    sd = {k: to_t(a) for k, a in sd_np.items()}
    qt = to_t(q_np)
    kt, vt = (qt, qt) if self_attn else (to_t(k_np), to_t(v_np))

    if spec.get("large_logits"):
        # scale the query projection so the largest |score| is about 120
        _, _, _, mx = mha_manual(cfg, sd, qt, kt, vt, opts)
        c = 120.0 / mx
        wkey = "in_proj_weight" if "in_proj_weight" in sd_np else "q_proj_weight"
        sd_np[wkey][:E] = f32(sd_np[wkey][:E] * c)
        if "in_proj_bias" in sd_np:
            sd_np["in_proj_bias"][:E] = f32(sd_np["in_proj_bias"][:E] * c)
        sd = {k: to_t(a) for k, a in sd_np.items()}

    ref_out, ref_w, fully, max_score = mha_manual(cfg, sd, qt, kt, vt, opts)
    if spec.get("large_logits"):
        assert max_score > 100, max_score
    expect_full = spec.get("expect_full", False)
    assert bool(fully.any()) == expect_full, f"{name}: fully masked rows: {bool(fully.any())}"

    # where PyTorch must give NaN: any head fully masked for (n, l)
    any_head = fully.any(1)  # (N, L)
    out_nan = any_head.transpose(0, 1).unsqueeze(-1).expand(L, Nm, E)  # (L, N, E)
    if N is None:
        out_nan = out_nan.squeeze(1)
    elif cfg["batchFirst"]:
        out_nan = out_nan.transpose(0, 1)
    w_nan = None
    if opts["needWeights"]:
        S2 = S + cfg["addBiasKV"] + cfg["addZeroAttn"]
        w_nan = (any_head if opts["averageAttnWeights"] else fully).unsqueeze(-1)
        w_nan = w_nan.expand(*w_nan.shape[:-1], S2)
        if N is None:
            w_nan = w_nan.squeeze(0)

    module = build_module(cfg, sd)
    path = "native"
    out, w, warns = run_torch_mha(module, cfg, qt, kt, vt, opts, merged=False, grad=True)
    try:
        assert not warns, warns
        compare(name, "output", ref_out, out, out_nan)
        if opts["needWeights"]:
            compare(name, "weights", ref_w, w, w_nan)
    except (AssertionError, RuntimeError) as e:
        note(f"MHA [{name}]: PyTorch with the masks as given fails or disagrees "
             f"({str(e).splitlines()[0].replace(name + ': ', '')[:200]}); used one merged 3-D float attn_mask")
        path = "merged"
        out, w, warns = run_torch_mha(module, cfg, qt, kt, vt, opts, merged=True, grad=True)
        assert not warns, warns
        compare(name, "output", ref_out, out, out_nan)
        if opts["needWeights"]:
            compare(name, "weights", ref_w, w, w_nan)

    # the fast path (inference mode) where PyTorch takes it; only reported
    with torch.no_grad():
        fout, fw, fwarns = run_torch_mha(module, cfg, qt, kt, vt, opts, merged=(path == "merged"), grad=False)
    for what, ref, got in (("output", ref_out, fout), ("weights", ref_w, fw)):
        if ref is None:
            continue
        if got is None or got.shape != ref.shape:
            note(f"MHA [{name}]: no_grad {what} shape {None if got is None else tuple(got.shape)} "
                 f"!= {tuple(ref.shape)}")
            continue
        nan = torch.isnan(got)
        d = float((ref - got).abs()[~nan].max()) if (~nan).any() else 0.0
        if d > TOL or not torch.equal(nan, out_nan if what == "output" else w_nan):
            note(f"MHA [{name}]: no_grad (fast path?) {what} differs: max diff {d:.3g}, "
                 f"NaNs {int(nan.sum())} vs expected {int((out_nan if what == 'output' else w_nan).sum())}")

    # expected: PyTorch's numbers, the manual float64 values where PyTorch gives NaN
    exp_out = torch.where(torch.isnan(out), ref_out, out)
    exp_w = None if w is None else torch.where(torch.isnan(w), ref_w, w)

    case = {
        "name": name,
        "config": cfg,
        "stateDict": {k: tensor_json(a) for k, a in sd_np.items()},
        "query": tensor_json(q_np),
        "key": tensor_json(k_np),
        "value": tensor_json(v_np),
        "options": {k: (mask_json(v) if isinstance(v, np.ndarray) else v) for k, v in opts.items()},
        "expected": {"output": tensor_json(exp_out.numpy(), "f64"),
                     "weights": None if exp_w is None else tensor_json(exp_w.numpy(), "f64")},
    }
    info = f"{path:6s} max|score|={max_score:7.2f} fullyMaskedRows={int(fully.sum())}"
    return case, info


def build_shapes(cfg):
    m = torch.nn.MultiheadAttention(
        cfg["embedDim"], cfg["numHeads"], bias=cfg["bias"], add_bias_kv=cfg["addBiasKV"],
        add_zero_attn=cfg["addZeroAttn"], kdim=cfg["kdim"], vdim=cfg["vdim"],
        batch_first=cfg["batchFirst"])
    return m.state_dict()


def random_float_mask(rng, shape, big_neg):
    m = rng.standard_normal(shape)
    if big_neg:
        m = np.where(rng.random(shape) < 0.3, -1e9, m)
    return f32(m)


def make_kpm(rng, spec, N, S, unbatched):
    kind, pattern = spec["kpm"], spec.get("kpm_pattern", "random")
    if kind == "bool":
        m = rng.random((N, S)) < 0.3
        m[:, 0] = False  # random masks never mask a whole row by accident
        if pattern == "all_keys_last_item":
            m[-1, :] = True
        elif pattern == "key0_last_item":
            m[-1, 0] = True
    else:
        m = random_float_mask(rng, (N, S), spec.get("big_neg", False))
        m[:, 0] = f32(rng.standard_normal(N))
        assert pattern == "random"
    return m[0] if unbatched else m


def make_attn(rng, spec, N, H, L, S):
    kind = spec["attn"]  # bool2 float2 bool3 float3
    dtype, rank = kind[:-1], int(kind[-1])
    shape = (L, S) if rank == 2 else (N * H, L, S)
    pattern = spec.get("attn_pattern", "random")
    if dtype == "bool":
        m = rng.random(shape) < 0.3
        m[..., 0] = False
        if pattern == "row":  # one whole query row masked (all heads / one head)
            if rank == 2:
                m[min(2, L - 1), :] = True
            else:
                m[min(1, N * H - 1), min(2, L - 1), :] = True
    else:
        m = random_float_mask(rng, shape, spec.get("big_neg", False))
        m[..., 0] = f32(rng.standard_normal(m.shape[:-1]))
        assert pattern == "random"
    return m


def mha_name(spec, cfg):
    E, H = cfg["embedDim"], cfg["numHeads"]
    parts = [f"embedDim={E} numHeads={H} headDim={E // H} L={spec['L']} S={spec['S']}"]
    parts.append("unbatched" if spec.get("N") is None else f"batch={spec['N']}")
    parts.append("self" if spec.get("self") else "cross")
    if cfg["kdim"] != E:
        parts.append(f"kdim={cfg['kdim']}")
    if cfg["vdim"] != E:
        parts.append(f"vdim={cfg['vdim']}")
    if cfg["batchFirst"]:
        parts.append("batchFirst")
    if not cfg["bias"]:
        parts.append("bias=false")
    if cfg["addBiasKV"]:
        parts.append("addBiasKV")
    if cfg["addZeroAttn"]:
        parts.append("addZeroAttn")
    if spec.get("kpm"):
        p = spec.get("kpm_pattern", "random")
        parts.append(f"keyPaddingMask={spec['kpm']}" + ("" if p == "random" else f"({p})"))
    if spec.get("attn"):
        p = spec.get("attn_pattern", "random")
        parts.append(f"attnMask={spec['attn'][:-1]} {spec['attn'][-1]}-D" + ("" if p == "random" else "(row masked)"))
    if spec.get("big_neg"):
        parts.append("mask=-1e9 mixed in")
    if spec.get("causal"):
        parts.append("isCausal")
    if spec.get("align"):
        parts.append(f"causalAlignment={spec['align']}")
    w = spec.get("weights", "avg")
    parts.append("needWeights=false" if w is None else ("weights=average" if w == "avg" else "weights=perHead"))
    if spec.get("large_logits"):
        parts.append("largeLogits(|score|~120)")
    if spec.get("expect_full"):
        parts.append("fullyMaskedRow")
    return " ".join(parts)


MHA_SPECS = [
    # plain, various head dims
    dict(E=6, H=2, L=5, S=5, N=2, self=True),
    dict(E=6, H=2, L=4, S=7, N=2, weights=None),
    dict(E=8, H=2, L=5, S=7, N=2, kdim=6, vdim=5, kpm="bool"),
    dict(E=10, H=2, L=6, S=6, N=3, self=True, batch_first=True, weights="heads"),
    dict(E=21, H=3, L=5, S=8, N=2, attn="float2"),
    dict(E=16, H=4, L=7, S=7, N=1, self=True, attn="bool2", weights="heads"),
    dict(E=24, H=3, L=9, S=6, N=3, attn="float3"),
    dict(E=12, H=4, L=5, S=5, N=2, self=True, batch_first=True, kpm="float"),
    dict(E=24, H=3, L=8, S=8, N=3, self=True, batch_first=True, weights=None),
    dict(E=8, H=2, L=3, S=9, N=3, batch_first=True, kdim=5, vdim=5, weights="heads"),
    dict(E=8, H=2, L=6, S=4, N=2, vdim=3),
    dict(E=9, H=3, L=4, S=6, N=2, kdim=7),
    # causal
    dict(E=8, H=4, L=6, S=6, N=2, self=True, causal=True),
    dict(E=10, H=2, L=6, S=9, N=2, causal=True, weights="heads"),
    dict(E=6, H=3, L=8, S=5, N=2, causal=True),
    dict(E=16, H=2, L=6, S=6, N=2, self=True, causal=True, attn="float2"),
    dict(E=12, H=3, L=5, S=7, N=2, causal=True, attn="bool3", weights="heads"),
    dict(E=6, H=2, L=7, S=7, N=2, self=True, batch_first=True, causal=True, kpm="bool"),
    # both masks, mixed dtypes
    dict(E=10, H=2, L=5, S=6, N=2, kpm="bool", attn="bool2"),
    dict(E=12, H=2, L=4, S=6, N=3, kpm="bool", attn="float3", weights="heads"),
    dict(E=8, H=2, L=5, S=7, N=2, kpm="float", attn="float2"),
    dict(E=16, H=4, L=6, S=5, N=2, batch_first=True, kpm="float", attn="bool3"),
    dict(E=6, H=2, L=5, S=6, N=2, kpm="float", attn="bool2", causal=True, weights="heads"),
    # bias / bias_kv / zero_attn
    dict(E=8, H=2, L=5, S=5, N=2, self=True, bias=False),
    dict(E=10, H=2, L=4, S=6, N=2, kdim=7, vdim=4, bias=False, kpm="bool", weights="heads"),
    dict(E=8, H=2, L=5, S=6, N=2, bias_kv=True, weights="heads"),
    dict(E=6, H=2, L=5, S=5, N=2, self=True, zero_attn=True),
    dict(E=12, H=3, L=4, S=7, N=2, kdim=5, vdim=6, bias_kv=True, zero_attn=True, kpm="bool", attn="bool2",
         weights="heads"),
    dict(E=8, H=2, L=6, S=6, N=2, self=True, batch_first=True, bias_kv=True, causal=True, attn="float2"),
    dict(E=8, H=2, L=4, S=5, N=2, zero_attn=True, kpm="bool", kpm_pattern="all_keys_last_item"),
    dict(E=6, H=2, L=4, S=5, N=2, bias=False, bias_kv=True, zero_attn=True, attn="float3", weights="heads"),
    # unbatched
    dict(E=6, H=2, L=5, S=5, self=True),
    dict(E=8, H=2, L=4, S=6, kdim=5, vdim=3, kpm="bool", weights="heads"),
    dict(E=9, H=3, L=5, S=5, self=True, attn="float3", causal=True),
    dict(E=8, H=2, L=4, S=6, batch_first=True, bias_kv=True, kpm="float"),
    dict(E=6, H=2, L=5, S=4, attn="bool2", attn_pattern="row", expect_full=True, weights="heads"),
    dict(E=8, H=2, L=4, S=6, kpm="bool", kpm_pattern="all_keys_last_item", expect_full=True),
    # fully masked rows
    dict(E=8, H=2, L=4, S=5, N=2, kpm="bool", kpm_pattern="all_keys_last_item", expect_full=True),
    dict(E=6, H=2, L=5, S=6, N=2, attn="bool2", attn_pattern="row", expect_full=True, weights="heads"),
    dict(E=12, H=3, L=5, S=6, N=2, attn="bool3", attn_pattern="row", expect_full=True),
    dict(E=12, H=3, L=5, S=6, N=2, attn="bool3", attn_pattern="row", expect_full=True, weights="heads"),
    dict(E=10, H=2, L=4, S=6, N=2, kpm="bool", kpm_pattern="all_keys_last_item", attn="float2",
         expect_full=True, weights="heads"),
    dict(E=8, H=2, L=5, S=5, N=2, self=True, causal=True, kpm="bool", kpm_pattern="key0_last_item",
         expect_full=True),
    dict(E=8, H=2, L=5, S=5, N=2, self=True, batch_first=True, kpm="bool", kpm_pattern="all_keys_last_item",
         expect_full=True, weights="heads"),
    dict(E=8, H=2, L=4, S=5, N=2, kpm="bool", kpm_pattern="all_keys_last_item", expect_full=True, weights=None),
    # large logits, huge negative mask values
    dict(E=8, H=2, L=6, S=6, N=2, self=True, large_logits=True),
    dict(E=12, H=2, L=5, S=7, N=2, attn="float3", big_neg=True, large_logits=True, weights="heads"),
    dict(E=8, H=2, L=5, S=7, N=2, kpm="float", big_neg=True, attn="float2"),
    dict(E=6, H=2, L=5, S=6, N=3, batch_first=True, kpm="float", big_neg=True, weights="heads"),
]


# ---------------------------------------------------------------- SDPA

def sdpa_manual(q, k, v, mask, causal, scale, align=None):
    Lq, Lk = q.shape[-2], k.shape[-2]
    sc = scale if scale is not None else 1.0 / math.sqrt(q.shape[-1])
    raw = (q @ k.transpose(-2, -1)) * sc
    add = torch.zeros(raw.shape, dtype=torch.float64)
    if mask is not None:
        add = add + additive(mask)
    if causal:
        add = add + additive(causal_mask(Lq, Lk, align))
    w, fully = safe_softmax(raw + add)
    check_row_masks(add, fully)
    return w @ v, w, fully, add, float(raw.abs().max())


def sdpa_torch(q, k, v, mask, causal, scale, add, align=None):
    """PyTorch's SDPA in float64. Explicit scale: q is pre-multiplied by scale * sqrt(D).
    Bottom-right causality is always handed over inside the combined mask."""
    if scale is not None:
        q = q * (scale * math.sqrt(q.shape[-1]))
    if causal and align == "bottom-right":
        attn, is_causal = add.clone(), False  # the combined additive mask
    elif mask is None:
        attn, is_causal = None, causal
    elif mask.dtype == np.bool_ and not causal:
        attn, is_causal = ~torch.from_numpy(mask).expand(add.shape), False  # PyTorch: True = attend
    else:
        attn, is_causal = add.clone(), False  # the combined additive mask
    if hasattr(F, "scaled_dot_product_attention"):
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn, is_causal=is_causal)
        return out, None
    out, w = F._scaled_dot_product_attention(q, k, v, attn, 0.0, True, is_causal)
    return out, w


def sdpa_case(spec):
    B, H, Lq, Lk, D = spec["B"], spec["H"], spec["Lq"], spec["Lk"], spec["D"]
    Dv = spec.get("Dv", D)
    name = sdpa_name(spec)
    rng = rng_for(name)
    q_np = f32(rng.standard_normal((B, H, Lq, D)))
    k_np = f32(rng.standard_normal((B, H, Lk, D)))
    v_np = f32(rng.standard_normal((B, H, Lk, Dv)))
    scale = spec.get("scale")
    causal = spec.get("causal", False)
    align = spec.get("align")
    mask = None
    if spec.get("mask"):
        dtype, shape = spec["mask"]
        shape = tuple({"B": B, "H": H, "Lq": Lq, "Lk": Lk, "1": 1}[s] for s in shape.split(","))
        if dtype == "bool":
            mask = rng.random(shape) < 0.3
            mask[..., 0] = False
            for idx in spec.get("mask_rows", []):
                mask[idx] = True
        else:
            mask = random_float_mask(rng, shape, spec.get("big_neg", False))
            mask[..., 0] = f32(rng.standard_normal(mask.shape[:-1]))
    if spec.get("large_logits"):
        _, _, _, _, mx = sdpa_manual(to_t(q_np), to_t(k_np), to_t(v_np), mask, causal, scale, align)
        q_np = f32(q_np * (120.0 / mx))
    q, k, v = to_t(q_np), to_t(k_np), to_t(v_np)
    out, w, fully, add, mx = sdpa_manual(q, k, v, mask, causal, scale, align)
    if spec.get("large_logits"):
        assert mx > 100, mx
    expect_full = spec.get("expect_full", False)
    assert bool(fully.any()) == expect_full, f"{name}: fully masked rows: {bool(fully.any())}"

    tout, tw = sdpa_torch(q, k, v, mask, causal, scale, add, align)
    compare(name, "output", out, tout, fully.unsqueeze(-1).expand(out.shape))
    if tw is not None:
        compare(name, "weights", w, tw, fully.unsqueeze(-1).expand(w.shape))

    opts = {}
    if mask is not None:
        opts["attnMask"] = mask_json(mask)
    if causal:
        opts["isCausal"] = True
    if align:
        opts["causalAlignment"] = align
    if scale is not None:
        opts["scale"] = scale
    need = spec.get("weights", True)
    opts["needWeights"] = need
    case = {
        "name": name,
        "q": tensor_json(q_np), "k": tensor_json(k_np), "v": tensor_json(v_np),
        "options": opts,
        "expected": {"output": tensor_json(out.numpy(), "f64"),
                     "weights": tensor_json(w.numpy(), "f64") if need else None},
    }
    return case, f"max|score|={mx:7.2f} fullyMaskedRows={int(fully.sum())}"


def sdpa_name(spec):
    parts = [f"B={spec['B']} H={spec['H']} Lq={spec['Lq']} Lk={spec['Lk']} D={spec['D']} Dv={spec.get('Dv', spec['D'])}"]
    parts.append(f"scale={spec['scale']}" if "scale" in spec else "scale=default")
    if spec.get("mask"):
        dtype, shape = spec["mask"]
        parts.append(f"attnMask={dtype}[{shape}]")
    if spec.get("big_neg"):
        parts.append("mask=-1e9 mixed in")
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


SDPA_SPECS = [
    dict(B=1, H=1, Lq=4, Lk=4, D=4),
    dict(B=2, H=2, Lq=5, Lk=7, D=3, Dv=5, weights=False),
    dict(B=2, H=3, Lq=4, Lk=6, D=6, Dv=2, scale=0.375),
    dict(B=3, H=1, Lq=6, Lk=5, D=7, Dv=9, scale=1.25),
    dict(B=2, H=2, Lq=5, Lk=6, D=5, mask=("bool", "Lq,Lk")),
    dict(B=2, H=3, Lq=4, Lk=7, D=8, Dv=3, mask=("float", "B,1,Lq,Lk")),
    dict(B=2, H=2, Lq=5, Lk=6, D=3, mask=("float", "B,H,Lq,Lk"), big_neg=True),
    dict(B=2, H=3, Lq=4, Lk=6, D=4, mask=("bool", "1,H,1,Lk"), weights=False),
    dict(B=2, H=2, Lq=3, Lk=8, D=5, Dv=4, mask=("float", "Lk")),
    dict(B=2, H=3, Lq=5, Lk=5, D=6, mask=("bool", "H,Lq,Lk"), scale=0.5),
    dict(B=2, H=2, Lq=6, Lk=6, D=4, causal=True),
    dict(B=1, H=3, Lq=4, Lk=8, D=3, Dv=6, causal=True),
    dict(B=2, H=2, Lq=8, Lk=5, D=5, causal=True, weights=False),
    dict(B=2, H=2, Lq=6, Lk=7, D=6, causal=True, mask=("bool", "B,1,Lq,Lk")),
    dict(B=2, H=2, Lq=6, Lk=6, D=3, causal=True, mask=("float", "Lq,Lk"), scale=0.625),
    dict(B=2, H=2, Lq=5, Lk=6, D=4, mask=("bool", "Lq,Lk"), mask_rows=[(2, slice(None))], expect_full=True),
    dict(B=2, H=3, Lq=4, Lk=5, D=3, Dv=2, mask=("bool", "B,H,1,Lk"), mask_rows=[(1, 2, 0, slice(None))],
         expect_full=True, weights=False),
    dict(B=2, H=2, Lq=5, Lk=1, D=4, mask=("float", "B,H,Lq,Lk")),
    dict(B=2, H=2, Lq=5, Lk=1, D=3, Dv=5, causal=True),
    dict(B=2, H=2, Lq=1, Lk=9, D=5, mask=("bool", "1,1,1,Lk")),
    dict(B=1, H=2, Lq=1, Lk=6, D=7, causal=True),
    dict(B=2, H=2, Lq=6, Lk=7, D=8, large_logits=True),
    dict(B=2, H=2, Lq=5, Lk=7, D=5, scale=2.0, mask=("float", "B,H,Lq,Lk"), big_neg=True, large_logits=True),
]


# ---------------------------------------------------------------- causal alignment

BR = "bottom-right"

# tests/fixtures/causal_alignment.json: scaledDotProductAttention cases ...
ALIGN_SDPA_SPECS = [
    # Lq < Lk: row i sees keys 0 .. i + Lk - Lq
    dict(B=2, H=2, Lq=3, Lk=11, D=4, causal=True, align=BR),
    dict(B=1, H=2, Lq=1, Lk=9, D=6, causal=True, align=BR),
    dict(B=2, H=2, Lq=4, Lk=10, D=6, Dv=2, causal=True, align=BR, scale=0.375),
    # Lq == Lk: the same mask as top-left
    dict(B=2, H=2, Lq=5, Lk=5, D=4, causal=True, align=BR),
    # Lq > Lk: the first Lq - Lk rows see no key
    dict(B=2, H=2, Lq=7, Lk=4, D=6, causal=True, align=BR, expect_full=True),
    dict(B=2, H=3, Lq=7, Lk=4, D=3, Dv=5, causal=True, align=BR, expect_full=True, weights=False),
    # with an attnMask
    dict(B=2, H=2, Lq=4, Lk=9, D=6, causal=True, align=BR, mask=("bool", "B,1,Lq,Lk")),
    dict(B=2, H=2, Lq=3, Lk=8, D=5, Dv=3, causal=True, align=BR, mask=("float", "Lq,Lk"), scale=0.5,
         weights=False),
    dict(B=2, H=2, Lq=6, Lk=4, D=4, causal=True, align=BR, mask=("float", "B,H,Lq,Lk"), expect_full=True),
    dict(B=2, H=2, Lq=5, Lk=3, D=6, causal=True, align=BR, mask=("bool", "Lk"), expect_full=True, weights=False),
    dict(B=2, H=2, Lq=4, Lk=7, D=6, causal=True, align=BR, mask=("bool", "Lq,Lk"), mask_rows=[(3, slice(None))],
         expect_full=True),
    # top-left given explicitly; causalAlignment without isCausal (no causal mask at all)
    dict(B=2, H=2, Lq=3, Lk=7, D=4, causal=True, align="top-left"),
    dict(B=2, H=2, Lq=3, Lk=7, D=6, align=BR),
    dict(B=2, H=1, Lq=6, Lk=3, D=4, align=BR),
    # longer sequences: several key tiles / query blocks / key chunks in the library
    dict(B=1, H=2, Lq=3, Lk=300, D=4, causal=True, align=BR, weights=False),
    dict(B=1, H=1, Lq=2, Lk=270, D=6, causal=True, align=BR),
    dict(B=1, H=2, Lq=40, Lk=130, D=4, causal=True, align=BR, weights=False),
    dict(B=1, H=1, Lq=40, Lk=30, D=6, causal=True, align=BR, expect_full=True, weights=False),
    dict(B=1, H=1, Lq=70, Lk=5, D=4, causal=True, align=BR, expect_full=True, weights=False),
]

# ... and MultiHeadAttention.forward cases (S = the original key count).
ALIGN_MHA_SPECS = [
    dict(E=8, H=2, L=3, S=7, N=2, causal=True, align=BR),
    dict(E=12, H=2, L=4, S=9, N=2, causal=True, align=BR, kpm="bool", weights="heads"),
    dict(E=8, H=2, L=3, S=6, N=2, causal=True, align=BR, bias_kv=True, weights="heads"),
    dict(E=6, H=2, L=6, S=4, N=2, causal=True, align=BR, expect_full=True),
    dict(E=8, H=2, L=6, S=3, N=2, causal=True, align=BR, bias_kv=True, zero_attn=True, weights="heads"),
    dict(E=10, H=2, L=4, S=7, N=2, batch_first=True, causal=True, align=BR, kpm="bool", attn="float2",
         weights="heads"),
    dict(E=8, H=2, L=4, S=6, N=2, causal=True, align=BR, kpm="float", attn="bool3", weights="heads"),
    dict(E=12, H=3, L=5, S=3, N=2, kdim=5, vdim=7, causal=True, align=BR, kpm="bool", expect_full=True,
         weights="heads"),
    dict(E=8, H=2, L=5, S=7, N=2, causal=True, align=BR, attn="bool2", attn_pattern="row", expect_full=True,
         weights="heads"),
    dict(E=8, H=2, L=3, S=8, causal=True, align=BR, kpm="bool"),
    dict(E=6, H=2, L=5, S=5, N=2, self=True, causal=True, align=BR, weights=None),
    dict(E=8, H=2, L=4, S=7, N=2, causal=True, align="top-left"),
    dict(E=8, H=2, L=4, S=7, N=2, align=BR, weights=None),
]


# ---------------------------------------------------------------- main

def write(path, cases):
    header = {
        "generator": "scripts/make_fixtures.py",
        "command": "/usr/bin/python3 scripts/make_fixtures.py",
        "torch_version": torch.__version__,
        "reference_dtype": "float64",
    }
    names = [c["name"] for c in cases]
    assert len(set(names)) == len(names), "duplicate case names"
    head = json.dumps(header, separators=(",", ":"), allow_nan=False)[:-1]
    body = ",\n".join(json.dumps(c, separators=(",", ":"), allow_nan=False) for c in cases)
    text = head + ',"cases":[\n' + body + "\n]}\n"
    json.loads(text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {os.path.relpath(path, REPO)}: {len(cases)} cases, {len(text)} bytes", file=sys.stderr)


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    verbose = "-v" in sys.argv[1:]
    mha = []
    for spec in MHA_SPECS:
        case, info = mha_case(spec)
        mha.append(case)
        if verbose:
            print(f"MHA  {info}  {case['name']}", file=sys.stderr)
    sdpa = []
    for spec in SDPA_SPECS:
        case, info = sdpa_case(spec)
        sdpa.append(case)
        if verbose:
            print(f"SDPA {info}  {case['name']}", file=sys.stderr)
    align = []
    for spec in ALIGN_SDPA_SPECS:
        case, info = sdpa_case(spec)
        align.append({"kind": "sdpa", **case})
        if verbose:
            print(f"SDPA {info}  {case['name']}", file=sys.stderr)
    for spec in ALIGN_MHA_SPECS:
        case, info = mha_case(spec)
        align.append({"kind": "mha", **case})
        if verbose:
            print(f"MHA  {info}  {case['name']}", file=sys.stderr)
    write(os.path.join(OUT_DIR, "multi_head_attention.json"), mha)
    write(os.path.join(OUT_DIR, "scaled_dot_product_attention.json"), sdpa)
    write(os.path.join(OUT_DIR, "causal_alignment.json"), align)
    for n in NOTES:
        print("note: " + n, file=sys.stderr)


if __name__ == "__main__":
    main()
