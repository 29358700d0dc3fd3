;; WebAssembly SIMD arithmetic peak, the denominator of the bench's "% of peak" column.
;;
;; peak(iterations) runs, per loop iteration, 7 f32x4.mul and 7 f32x4.add on
;; 14 independent chains: x_i = x_i * m and acc_i = acc_i + x_i (8 FLOPs per
;; pair, 56 per iteration). Each chain waits on one operation per iteration
;; (4 cycles at most), so the loop is limited by the vector ports, not by
;; latency, and its 15 live vectors fit x64's 16 XMM registers without spills.
;; An earlier version ran 12 chains of acc = acc * m + a: each chain waited on
;; a mul and an add in a row, so on Intel cores with a third vector port for
;; adds (Golden Cove and later) it was latency-bound, and the matrix kernel
;; measured 1.10-1.15x "100 %". WebAssembly has no fused multiply-add (engines
;; may not contract mul + add), so this is the ceiling a SIMD128 kernel can
;; reach, not the CPU's FMA peak: native AVX2+FMA rows can exceed 100 %.
;;
;; m = 1.0 keeps x_i fixed (a multiplier below 1 would decay it into
;; denormals within 10^7 iterations, which run far slower); V8 and
;; SpiderMonkey do not fold an f32x4.mul by 1. The acc_i grow by about 1 per
;; iteration, far from overflow. The lanes are summed and returned so the
;; engine cannot drop the loop.
;;
;; Compiled by bench/setup.mjs with Debian's wat2wasm (wabt) into bench/.cache/.
(module
  (func (export "peak") (param $iterations i32) (result f32)
    (local $m v128)
    (local $x0 v128) (local $acc0 v128)
    (local $x1 v128) (local $acc1 v128)
    (local $x2 v128) (local $acc2 v128)
    (local $x3 v128) (local $acc3 v128)
    (local $x4 v128) (local $acc4 v128)
    (local $x5 v128) (local $acc5 v128)
    (local $x6 v128) (local $acc6 v128)
    (local $sum v128)
    (local.set $m (f32x4.splat (f32.const 1.0)))
    ;; Distinct starting values, so no two chains are provably identical.
    (local.set $x0 (f32x4.splat (f32.const 1.00)))
    (local.set $acc0 (f32x4.splat (f32.const 0.0)))
    (local.set $x1 (f32x4.splat (f32.const 1.01)))
    (local.set $acc1 (f32x4.splat (f32.const 0.1)))
    (local.set $x2 (f32x4.splat (f32.const 1.02)))
    (local.set $acc2 (f32x4.splat (f32.const 0.2)))
    (local.set $x3 (f32x4.splat (f32.const 1.03)))
    (local.set $acc3 (f32x4.splat (f32.const 0.3)))
    (local.set $x4 (f32x4.splat (f32.const 1.04)))
    (local.set $acc4 (f32x4.splat (f32.const 0.4)))
    (local.set $x5 (f32x4.splat (f32.const 1.05)))
    (local.set $acc5 (f32x4.splat (f32.const 0.5)))
    (local.set $x6 (f32x4.splat (f32.const 1.06)))
    (local.set $acc6 (f32x4.splat (f32.const 0.6)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $iterations)))
        (local.set $x0 (f32x4.mul (local.get $x0) (local.get $m)))
        (local.set $acc0 (f32x4.add (local.get $acc0) (local.get $x0)))
        (local.set $x1 (f32x4.mul (local.get $x1) (local.get $m)))
        (local.set $acc1 (f32x4.add (local.get $acc1) (local.get $x1)))
        (local.set $x2 (f32x4.mul (local.get $x2) (local.get $m)))
        (local.set $acc2 (f32x4.add (local.get $acc2) (local.get $x2)))
        (local.set $x3 (f32x4.mul (local.get $x3) (local.get $m)))
        (local.set $acc3 (f32x4.add (local.get $acc3) (local.get $x3)))
        (local.set $x4 (f32x4.mul (local.get $x4) (local.get $m)))
        (local.set $acc4 (f32x4.add (local.get $acc4) (local.get $x4)))
        (local.set $x5 (f32x4.mul (local.get $x5) (local.get $m)))
        (local.set $acc5 (f32x4.add (local.get $acc5) (local.get $x5)))
        (local.set $x6 (f32x4.mul (local.get $x6) (local.get $m)))
        (local.set $acc6 (f32x4.add (local.get $acc6) (local.get $x6)))
        (local.set $iterations (i32.sub (local.get $iterations) (i32.const 1)))
        (br $next)))
    (local.set $sum
      (f32x4.add
        (f32x4.add
          (f32x4.add (local.get $acc0) (local.get $acc1))
          (f32x4.add (local.get $acc2) (local.get $acc3)))
        (f32x4.add
          (f32x4.add (local.get $acc4) (local.get $acc5))
          (local.get $acc6))))
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $sum)) (f32x4.extract_lane 1 (local.get $sum)))
      (f32.add (f32x4.extract_lane 2 (local.get $sum)) (f32x4.extract_lane 3 (local.get $sum))))))
