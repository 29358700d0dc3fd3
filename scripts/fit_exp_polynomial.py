#!/usr/bin/python3
"""Fit the softmax exp's polynomial (src/kernels/exp_minus_max_sum.hpp).

Command (from the repository root, Debian's system python with numpy):
    /usr/bin/python3 scripts/fit_exp_polynomial.py

exp_nonpositive reduces d <= 0 to d = n ln2 + r with |r| <= ln2/2 and returns
2^n * (1 + r p(r)), p of degree 4. This script finds p's coefficients as a
minimax fit of the *relative* error of 1 + r p(r) against exp(r) on that
interval, by Lawson's algorithm (iteratively reweighted least squares, whose
weights converge to the minimax solution's), rounds them to float32, and then
evaluates the kernel's whole float32 sequence (rounding, two-part reduction,
Horner steps, final s + (r s) p) over d in [-87.3, 0] twice: with every fma
rounded after the multiply and again after the add, as in WebAssembly, and
with fused fma, as in the native AVX2 build. It prints the C++ constants and
both maximum relative errors against float64 exp; the kernel's comment and
tests/cpp/kernels/exp_minus_max_sum_test.cpp quote the bound.
"""
import numpy as np

F32 = np.float32
DEGREE = 4
HALF_LN2 = np.log(2.0) / 2.0


def fit():
    r = np.linspace(-HALF_LN2, HALF_LN2, 20001)
    r = r[r != 0.0]
    target = np.expm1(r) / r  # p(r) should match (exp(r) - 1) / r
    # Error of 1 + r p(r) relative to exp(r) is |r| / exp(r) * |p(r) - target|.
    scale = np.abs(r) / np.exp(r)
    basis = np.vstack([r**k for k in range(DEGREE + 1)]).T
    weights = np.full(r.shape, 1.0 / r.size)
    for _ in range(2000):
        root = np.sqrt(weights) * scale
        coeffs, *_ = np.linalg.lstsq(basis * root[:, None], target * root, rcond=None)
        error = np.abs((basis @ coeffs - target) * scale)
        weights = weights * error
        weights /= weights.sum()
    return coeffs, error.max()


def fused_or_rounded(a, b, c, fused):
    """a * b + c in float32: fused (one rounding) or rounded after each step."""
    if fused:
        return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(F32)
    return ((a * b).astype(F32) + c).astype(F32)


def evaluate(d, coeffs, fused):
    """The float32 steps of exp_nonpositive, lane by lane."""
    const = lambda value: np.full(d.shape, value, dtype=F32)
    shifter = const(12583039.0)  # 1.5 * 2^23 + 127
    shifted = fused_or_rounded(d, const(1.44269504088896341), shifter, fused)
    n = (shifted - shifter).astype(F32)
    r = fused_or_rounded(n, const(-0.693359375), d, fused)
    r = fused_or_rounded(n, const(2.12194440e-4), r, fused)
    p = const(coeffs[DEGREE])
    for k in range(DEGREE - 1, -1, -1):
        p = fused_or_rounded(p, r, const(coeffs[k]), fused)
    s = np.ldexp(np.ones(d.shape, dtype=F32), n.astype(np.int32)).astype(F32)
    return fused_or_rounded((r * s).astype(F32), p, s, fused)


def main():
    coeffs, exact_error = fit()
    coeffs32 = coeffs.astype(F32)
    rng = np.random.default_rng(20261201)
    d = np.concatenate([np.linspace(-87.3, 0.0, 2000001), rng.uniform(-10.0, 0.0, 2000000), -rng.exponential(0.5, 1000000)])
    d = d[d >= -87.3].astype(F32)
    reference = np.exp(d.astype(np.float64))
    print(f"minimax relative error of the fit in exact arithmetic: {exact_error:.3e}")
    print("coefficients, r^0 .. r^4 (float32, 9 significant digits):")
    for k, c in enumerate(coeffs32):
        print(f"  c{k} = {float(c):.9g}f")
    for fused, where in ((False, "mul then add (WebAssembly)"), (True, "fused fma (native AVX2)")):
        got = evaluate(d, coeffs32, fused)
        print(f"max relative error over d in [-87.3, 0], {where}: {np.max(np.abs(got - reference) / reference):.3e}")
    exact_zero = evaluate(np.zeros(1, dtype=F32), coeffs32, False)[0]
    print(f"exp(0) = {float(exact_zero)!r} (must be exactly 1)")


if __name__ == "__main__":
    main()
