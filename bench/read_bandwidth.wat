;; Memory-read reference for the decoding section (bench/decode.mjs): the time to
;; read a buffer of a decoding step's bytes (its key/value cache, and for the
;; layer also its weights) once, with WebAssembly SIMD loads and nothing else.
;;
;; read(ptr, bytes) sums the buffer [ptr, ptr + bytes) as i32x4 lanes with eight
;; independent accumulators, 128 bytes (eight v128.load) per iteration, and
;; returns the sum of the lanes so the engine cannot drop the loads. i32x4.add
;; has a one-cycle latency, so the loop is bound by the loads (two per cycle on
;; current x86 cores) or by the memory level the buffer lives in, not by the adds.
;; `bytes` must be a positive multiple of 128 (decode.mjs rounds up).
;;
;; The memory is exported; decode.mjs grows it to the buffer's size and writes
;; every page first (untouched pages could all map to one shared zero page).
;;
;; Compiled by bench/setup.mjs with Debian's wat2wasm (wabt) into bench/.cache/.
(module
  (memory (export "memory") 1)
  (func (export "read") (param $ptr i32) (param $bytes i32) (result i32)
    (local $end i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (local.set $end (i32.add (local.get $ptr) (local.get $bytes)))
    (loop $next
      (local.set $a0 (i32x4.add (local.get $a0) (v128.load offset=0 (local.get $ptr))))
      (local.set $a1 (i32x4.add (local.get $a1) (v128.load offset=16 (local.get $ptr))))
      (local.set $a2 (i32x4.add (local.get $a2) (v128.load offset=32 (local.get $ptr))))
      (local.set $a3 (i32x4.add (local.get $a3) (v128.load offset=48 (local.get $ptr))))
      (local.set $a4 (i32x4.add (local.get $a4) (v128.load offset=64 (local.get $ptr))))
      (local.set $a5 (i32x4.add (local.get $a5) (v128.load offset=80 (local.get $ptr))))
      (local.set $a6 (i32x4.add (local.get $a6) (v128.load offset=96 (local.get $ptr))))
      (local.set $a7 (i32x4.add (local.get $a7) (v128.load offset=112 (local.get $ptr))))
      (local.set $ptr (i32.add (local.get $ptr) (i32.const 128)))
      (br_if $next (i32.lt_u (local.get $ptr) (local.get $end))))
    (local.set $a0
      (i32x4.add
        (i32x4.add (i32x4.add (local.get $a0) (local.get $a1)) (i32x4.add (local.get $a2) (local.get $a3)))
        (i32x4.add (i32x4.add (local.get $a4) (local.get $a5)) (i32x4.add (local.get $a6) (local.get $a7)))))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $a0)) (i32x4.extract_lane 1 (local.get $a0)))
      (i32.add (i32x4.extract_lane 2 (local.get $a0)) (i32x4.extract_lane 3 (local.get $a0))))))
