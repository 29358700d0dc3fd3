;; WebAssembly SIMD arithmetic peak, the denominator of the bench's "% of peak" column.
;;
;; peak(iterations) runs 12 independent chains of acc = acc * m + a on f32x4
;; (one f32x4.mul and one f32x4.add per chain and iteration: 8 FLOPs), so one
;; iteration is 96 FLOPs. Twelve chains cover the mul -> add latency (~8 cycles)
;; times the two vector ports of current x86 cores, so the loop is limited by
;; throughput, not latency. WebAssembly has no fused multiply-add (engines may
;; not contract mul + add), so this is the ceiling a SIMD128 kernel can reach,
;; not the CPU's FMA peak: native AVX2+FMA rows can exceed 100 %.
;;
;; m = 0.99999 and a = 1e-5 keep every lane near 1 (no overflow, no denormals).
;; The lanes are summed and returned so the engine cannot drop the loop.
;;
;; Compiled by bench/setup.mjs with Debian's wat2wasm (wabt) into bench/.cache/.
(module
  (func (export "peak") (param $iterations i32) (result f32)
    (local $m v128) (local $a v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $c4 v128) (local $c5 v128) (local $c6 v128) (local $c7 v128)
    (local $c8 v128) (local $c9 v128) (local $c10 v128) (local $c11 v128)
    (local $sum v128)
    (local.set $m (f32x4.splat (f32.const 0.99999)))
    (local.set $a (f32x4.splat (f32.const 0.00001)))
    ;; Distinct starting values, so no two chains are provably identical.
    (local.set $c0 (f32x4.splat (f32.const 1.00)))
    (local.set $c1 (f32x4.splat (f32.const 1.01)))
    (local.set $c2 (f32x4.splat (f32.const 1.02)))
    (local.set $c3 (f32x4.splat (f32.const 1.03)))
    (local.set $c4 (f32x4.splat (f32.const 1.04)))
    (local.set $c5 (f32x4.splat (f32.const 1.05)))
    (local.set $c6 (f32x4.splat (f32.const 1.06)))
    (local.set $c7 (f32x4.splat (f32.const 1.07)))
    (local.set $c8 (f32x4.splat (f32.const 1.08)))
    (local.set $c9 (f32x4.splat (f32.const 1.09)))
    (local.set $c10 (f32x4.splat (f32.const 1.10)))
    (local.set $c11 (f32x4.splat (f32.const 1.11)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $iterations)))
        (local.set $c0 (f32x4.add (f32x4.mul (local.get $c0) (local.get $m)) (local.get $a)))
        (local.set $c1 (f32x4.add (f32x4.mul (local.get $c1) (local.get $m)) (local.get $a)))
        (local.set $c2 (f32x4.add (f32x4.mul (local.get $c2) (local.get $m)) (local.get $a)))
        (local.set $c3 (f32x4.add (f32x4.mul (local.get $c3) (local.get $m)) (local.get $a)))
        (local.set $c4 (f32x4.add (f32x4.mul (local.get $c4) (local.get $m)) (local.get $a)))
        (local.set $c5 (f32x4.add (f32x4.mul (local.get $c5) (local.get $m)) (local.get $a)))
        (local.set $c6 (f32x4.add (f32x4.mul (local.get $c6) (local.get $m)) (local.get $a)))
        (local.set $c7 (f32x4.add (f32x4.mul (local.get $c7) (local.get $m)) (local.get $a)))
        (local.set $c8 (f32x4.add (f32x4.mul (local.get $c8) (local.get $m)) (local.get $a)))
        (local.set $c9 (f32x4.add (f32x4.mul (local.get $c9) (local.get $m)) (local.get $a)))
        (local.set $c10 (f32x4.add (f32x4.mul (local.get $c10) (local.get $m)) (local.get $a)))
        (local.set $c11 (f32x4.add (f32x4.mul (local.get $c11) (local.get $m)) (local.get $a)))
        (local.set $iterations (i32.sub (local.get $iterations) (i32.const 1)))
        (br $next)))
    (local.set $sum
      (f32x4.add
        (f32x4.add
          (f32x4.add (f32x4.add (local.get $c0) (local.get $c1)) (f32x4.add (local.get $c2) (local.get $c3)))
          (f32x4.add (f32x4.add (local.get $c4) (local.get $c5)) (f32x4.add (local.get $c6) (local.get $c7))))
        (f32x4.add (f32x4.add (local.get $c8) (local.get $c9)) (f32x4.add (local.get $c10) (local.get $c11)))))
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $sum)) (f32x4.extract_lane 1 (local.get $sum)))
      (f32.add (f32x4.extract_lane 2 (local.get $sum)) (f32x4.extract_lane 3 (local.get $sum))))))
