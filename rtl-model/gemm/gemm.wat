;; Hand-written WebAssembly SIMD128 int8 GEMM for the integer datapath (no relaxed-simd, no threads).
;; Compiled to gemm.wasm by build.ts; driven by gemm-core.mjs.
;;
;;   c (M x Np int32) = a (M x K, int8 or uint8) * b^T, b N x K int8 (a weight in [out, in] layout)
;;
;; Both operands are first packed (pack_a, pack_b) into int16 so the inner loop is one
;; i32x4.dot_i16x8_s (x86 pmaddwd: two 16x16 products summed per i32 lane) plus one i32x4.add per
;; 8 multiply-accumulates. |a*b| <= 255*128 so a dot pair never overflows, and sums over
;; K <= 16384 stay below 2^31.
;;
;; Packed layouts (byte addresses in the exported memory; Kp = K rounded up to even, Np = N rounded
;; up to a multiple of 8; every padding element is zero):
;;   a  "row blocks": rows 4i..4i+3 (i < M/4) interleaved by k pair:
;;        a[i][q][r][2] int16, q < Kp/2, r < 4          (block i starts at a + 4i * 2Kp)
;;      followed by the remaining M % 4 rows as plain int16 rows of Kp (row i at a + i * 2Kp).
;;      So one pointer serves all 4 rows of a block (splat loads at offsets 0, 4, 8, 12).
;;   b  "column panels" of 8 output columns (8 rows of the [N, K] weight):
;;        b[panel][q][col][2] int16, panel < Np/8, q < Kp/2, col < 8   (32 bytes per k pair)
;;   c  M x Np int32, row-major (the caller drops the padding columns).
;;
;; Micro-kernel ("outer product" form): the k pair a[r][2q..2q+1] is broadcast to all four i32
;; lanes (v128.load32_splat) and dotted with the 8-column b step, so each accumulator lane is one
;; output column: no horizontal reduction. Tile = 4 rows x 8 columns: 8 accumulators + 2 b vectors
;; + 4 a splats + 1 temporary = 15 xmm registers, which V8/TurboFan allocates without spills
;; (measured: unrolling over k, 5 or 6 rows, 12 or 16 columns and a plain row-major a all spill or
;; run slower on Zen 3). Loop order: row chunk (a chunk <= ~192 KiB stays in L2) > column panel
;; (Kp*16 bytes, stays in L1) > 4-row block > k.
(module
  (memory (export "memory") 1)

  ;; ---------------------------------------------------------------------------------------------
  ;; gemm(a, b, c, m, np, kp): c = a * b^T on packed operands (layouts above).
  ;; np % 8 == 0, kp % 2 == 0; m, np, kp may be 0 (nothing is written).
  (func $gemm (export "gemm")
    (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $np i32) (param $kp i32)
    (local $rowA i32)      ;; bytes per a row = 2*kp
    (local $rowC i32)      ;; bytes per c row = 4*np
    (local $panelB i32)    ;; bytes per b panel = 16*kp
    (local $chunk i32)     ;; rows per row chunk (multiple of 4)
    (local $m4 i32)        ;; m rounded down to a multiple of 4: rows < m4 are in 4-row blocks
    (local $i0 i32) (local $i1 i32)   ;; current row chunk [i0, i1)
    (local $i i32)         ;; current row
    (local $bPanel i32) (local $bEnd i32)  ;; current b panel [bPanel, bEnd)
    (local $cCol i32)      ;; c + 4*np*i0 + 32*panel: top left of the current output tile column
    (local $ap i32) (local $bp i32) (local $cp i32)
    (local $bv0 v128) (local $bv1 v128)
    (local $av0 v128) (local $av1 v128) (local $av2 v128) (local $av3 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)

    (if (i32.or (i32.eqz (local.get $m)) (i32.or (i32.eqz (local.get $np)) (i32.eqz (local.get $kp))))
      (then (return)))
    (local.set $rowA (i32.shl (local.get $kp) (i32.const 1)))
    (local.set $rowC (i32.shl (local.get $np) (i32.const 2)))
    (local.set $panelB (i32.shl (local.get $kp) (i32.const 4)))
    (local.set $m4 (i32.and (local.get $m) (i32.const -4)))
    ;; chunk = max(4, floor(192 KiB / rowA) rounded down to a multiple of 4)
    (local.set $chunk (i32.and (i32.div_u (i32.const 196608) (local.get $rowA)) (i32.const -4)))
    (if (i32.lt_u (local.get $chunk) (i32.const 4)) (then (local.set $chunk (i32.const 4))))

    (local.set $i0 (i32.const 0))
    (loop $chunks
      (local.set $i1 (i32.add (local.get $i0) (local.get $chunk)))
      (if (i32.gt_u (local.get $i1) (local.get $m)) (then (local.set $i1 (local.get $m))))
      (local.set $bPanel (local.get $b))
      (local.set $cCol (i32.add (local.get $c) (i32.mul (local.get $i0) (local.get $rowC))))

      (loop $panels
        (local.set $bEnd (i32.add (local.get $bPanel) (local.get $panelB)))
        (local.set $i (local.get $i0))
        (local.set $ap (i32.add (local.get $a) (i32.mul (local.get $i0) (local.get $rowA))))
        (local.set $cp (local.get $cCol))

        ;; ---- 4-row blocks: rows [i, i+4) while i + 4 <= min(i1, m4) ----------------------------
        (block $blocksDone
          (br_if $blocksDone (i32.ge_u (local.get $i) (local.get $m4)))
          (br_if $blocksDone (i32.ge_u (local.get $i) (local.get $i1)))
          (loop $blocks
            (local.set $c00 (v128.const i32x4 0 0 0 0))
            (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $c10 (v128.const i32x4 0 0 0 0))
            (local.set $c11 (v128.const i32x4 0 0 0 0))
            (local.set $c20 (v128.const i32x4 0 0 0 0))
            (local.set $c21 (v128.const i32x4 0 0 0 0))
            (local.set $c30 (v128.const i32x4 0 0 0 0))
            (local.set $c31 (v128.const i32x4 0 0 0 0))
            (local.set $bp (local.get $bPanel))
            ;; one k pair per iteration: b step 32 bytes, a step 16 bytes (4 rows x 1 pair)
            (loop $k
              (local.set $bv0 (v128.load offset=0 (local.get $bp)))
              (local.set $bv1 (v128.load offset=16 (local.get $bp)))
              (local.set $av0 (v128.load32_splat offset=0 (local.get $ap)))
              (local.set $av1 (v128.load32_splat offset=4 (local.get $ap)))
              (local.set $av2 (v128.load32_splat offset=8 (local.get $ap)))
              (local.set $av3 (v128.load32_splat offset=12 (local.get $ap)))
              (local.set $c00 (i32x4.add (local.get $c00) (i32x4.dot_i16x8_s (local.get $av0) (local.get $bv0))))
              (local.set $c01 (i32x4.add (local.get $c01) (i32x4.dot_i16x8_s (local.get $av0) (local.get $bv1))))
              (local.set $c10 (i32x4.add (local.get $c10) (i32x4.dot_i16x8_s (local.get $av1) (local.get $bv0))))
              (local.set $c11 (i32x4.add (local.get $c11) (i32x4.dot_i16x8_s (local.get $av1) (local.get $bv1))))
              (local.set $c20 (i32x4.add (local.get $c20) (i32x4.dot_i16x8_s (local.get $av2) (local.get $bv0))))
              (local.set $c21 (i32x4.add (local.get $c21) (i32x4.dot_i16x8_s (local.get $av2) (local.get $bv1))))
              (local.set $c30 (i32x4.add (local.get $c30) (i32x4.dot_i16x8_s (local.get $av3) (local.get $bv0))))
              (local.set $c31 (i32x4.add (local.get $c31) (i32x4.dot_i16x8_s (local.get $av3) (local.get $bv1))))
              (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
              (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
              (br_if $k (i32.lt_u (local.get $bp) (local.get $bEnd))))
            ;; ap has advanced by 16 * kp/2 = 4 rows: it now points at the next block
            (v128.store offset=0 (local.get $cp) (local.get $c00))
            (v128.store offset=16 (local.get $cp) (local.get $c01))
            (local.set $cp (i32.add (local.get $cp) (local.get $rowC)))
            (v128.store offset=0 (local.get $cp) (local.get $c10))
            (v128.store offset=16 (local.get $cp) (local.get $c11))
            (local.set $cp (i32.add (local.get $cp) (local.get $rowC)))
            (v128.store offset=0 (local.get $cp) (local.get $c20))
            (v128.store offset=16 (local.get $cp) (local.get $c21))
            (local.set $cp (i32.add (local.get $cp) (local.get $rowC)))
            (v128.store offset=0 (local.get $cp) (local.get $c30))
            (v128.store offset=16 (local.get $cp) (local.get $c31))
            (local.set $cp (i32.add (local.get $cp) (local.get $rowC)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br_if $blocks (i32.and (i32.lt_u (local.get $i) (local.get $m4))
                                    (i32.lt_u (local.get $i) (local.get $i1))))))

        ;; ---- the M % 4 plain rows at the end (only in the last chunk): one row at a time ------
        (block $rowsDone
          (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $i1)))
          (loop $rows
            (local.set $c00 (v128.const i32x4 0 0 0 0))
            (local.set $c01 (v128.const i32x4 0 0 0 0))
            (local.set $bp (local.get $bPanel))
            (loop $k1
              (local.set $av0 (v128.load32_splat (local.get $ap)))
              (local.set $c00 (i32x4.add (local.get $c00) (i32x4.dot_i16x8_s (local.get $av0) (v128.load offset=0 (local.get $bp)))))
              (local.set $c01 (i32x4.add (local.get $c01) (i32x4.dot_i16x8_s (local.get $av0) (v128.load offset=16 (local.get $bp)))))
              (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
              (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
              (br_if $k1 (i32.lt_u (local.get $bp) (local.get $bEnd))))
            (v128.store offset=0 (local.get $cp) (local.get $c00))
            (v128.store offset=16 (local.get $cp) (local.get $c01))
            (local.set $cp (i32.add (local.get $cp) (local.get $rowC)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $rows (i32.lt_u (local.get $i) (local.get $i1)))))

        (local.set $bPanel (local.get $bEnd))
        (local.set $cCol (i32.add (local.get $cCol) (i32.const 32)))
        (br_if $panels (i32.lt_u (local.get $bPanel) (i32.add (local.get $b) (i32.mul (local.get $np) (local.get $rowA))))))

      (local.set $i0 (local.get $i1))
      (br_if $chunks (i32.lt_u (local.get $i0) (local.get $m))))
  )

  ;; ---------------------------------------------------------------------------------------------
  ;; i8x16.shuffle patterns for a 4x4 transpose of i32 lanes (each i32 lane = one int16 k pair).
  ;; Given rows r0..r3 (lanes = pairs q0..q3), produces o_q = [r0.q, r1.q, r2.q, r3.q]:
  ;;   t01lo = [r0.0 r1.0 r0.1 r1.1]   t23lo = [r2.0 r3.0 r2.1 r3.1]
  ;;   o0 = [t01lo.0 t01lo.1 t23lo.0 t23lo.1]   o1 = [t01lo.2 t01lo.3 t23lo.2 t23lo.3]
  ;;   (and the same with the high lanes 2, 3 for o2, o3)

  ;; Store the 4x4 transpose of rows r0..r3 to dst + 0, dst + step, dst + 2*step, dst + 3*step.
  (func $transpose4x4 (param $r0 v128) (param $r1 v128) (param $r2 v128) (param $r3 v128)
                      (param $dst i32) (param $step i32)
    (local $t01 v128) (local $t23 v128)
    (local.set $t01 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
    (local.set $t23 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
    (v128.store (local.get $dst)
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t01) (local.get $t23)))
    (local.set $dst (i32.add (local.get $dst) (local.get $step)))
    (v128.store (local.get $dst)
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t01) (local.get $t23)))
    (local.set $t01 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
    (local.set $t23 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
    (local.set $dst (i32.add (local.get $dst) (local.get $step)))
    (v128.store (local.get $dst)
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t01) (local.get $t23)))
    (local.set $dst (i32.add (local.get $dst) (local.get $step)))
    (v128.store (local.get $dst)
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t01) (local.get $t23)))
  )

  ;; Load 8 int8 (or uint8 if $u) values at p and extend them to 8 x int16.
  (func $load8x8 (param $p i32) (param $u i32) (result v128)
    (if (result v128) (local.get $u)
      (then (v128.load8x8_u (local.get $p)))
      (else (v128.load8x8_s (local.get $p)))))

  ;; Scalar: element (row, idx) of an int8/uint8 matrix with `rows` x k elements, 0 outside it.
  (func $elem (param $src i32) (param $row i32) (param $idx i32) (param $rows i32) (param $k i32) (param $u i32) (result i32)
    (local $p i32)
    (if (i32.or (i32.ge_u (local.get $row) (local.get $rows)) (i32.ge_u (local.get $idx) (local.get $k)))
      (then (return (i32.const 0))))
    (local.set $p (i32.add (local.get $src) (i32.add (i32.mul (local.get $row) (local.get $k)) (local.get $idx))))
    (if (result i32) (local.get $u)
      (then (i32.load8_u (local.get $p)))
      (else (i32.load8_s (local.get $p)))))

  ;; Scalar fill of an interleaved group of `width` rows (row0.. row0+width-1 of an int8/uint8
  ;; rows x k matrix) for k pairs q in [q0, kp/2): dst[q][r][2] int16, zero outside the matrix.
  (func $packTail (param $src i32) (param $dst i32) (param $row0 i32) (param $width i32)
                  (param $rows i32) (param $k i32) (param $kp i32) (param $q0 i32) (param $u i32)
    (local $q i32) (local $r i32) (local $d i32)
    (local.set $q (local.get $q0))
    (block $done
      (br_if $done (i32.ge_u (i32.shl (local.get $q) (i32.const 1)) (local.get $kp)))
      (loop $pairs
        (local.set $r (i32.const 0))
        (loop $lanes
          ;; d = dst + 4 * (q * width + r)
          (local.set $d (i32.add (local.get $dst)
            (i32.shl (i32.add (i32.mul (local.get $q) (local.get $width)) (local.get $r)) (i32.const 2))))
          (i32.store16 offset=0 (local.get $d)
            (call $elem (local.get $src) (i32.add (local.get $row0) (local.get $r))
                        (i32.shl (local.get $q) (i32.const 1)) (local.get $rows) (local.get $k) (local.get $u)))
          (i32.store16 offset=2 (local.get $d)
            (call $elem (local.get $src) (i32.add (local.get $row0) (local.get $r))
                        (i32.add (i32.shl (local.get $q) (i32.const 1)) (i32.const 1)) (local.get $rows) (local.get $k) (local.get $u)))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $lanes (i32.lt_u (local.get $r) (local.get $width))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br_if $pairs (i32.lt_u (i32.shl (local.get $q) (i32.const 1)) (local.get $kp)))))
  )

  ;; ---------------------------------------------------------------------------------------------
  ;; pack_a(src, dst, m, k, kp, u): a (m x k int8, or uint8 if u != 0, row-major at src) -> packed
  ;; int16 a at dst (m * kp * 2 bytes, layout above). kp = k rounded up to even. src and dst must
  ;; not overlap.
  (func $pack_a (export "pack_a")
    (param $src i32) (param $dst i32) (param $m i32) (param $k i32) (param $kp i32) (param $u i32)
    (local $m4 i32) (local $k8 i32) (local $i i32) (local $p i32)
    (local $s0 i32) (local $d i32)
    (local.set $m4 (i32.and (local.get $m) (i32.const -4)))
    (local.set $k8 (i32.and (local.get $k) (i32.const -8)))
    ;; 4-row blocks: 8 k (4 pairs) of 4 rows per step -> 4 x 16 bytes
    (local.set $i (i32.const 0))
    (block $blocksDone
      (br_if $blocksDone (i32.ge_u (local.get $i) (local.get $m4)))
      (loop $blocks
        (local.set $s0 (i32.add (local.get $src) (i32.mul (local.get $i) (local.get $k))))
        (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $i) (i32.shl (local.get $kp) (i32.const 1)))))
        (local.set $p (i32.const 0))
        (block $simdDone
          (br_if $simdDone (i32.ge_u (local.get $p) (local.get $k8)))
          (loop $simd
            (call $transpose4x4
              (call $load8x8 (i32.add (local.get $s0) (local.get $p)) (local.get $u))
              (call $load8x8 (i32.add (i32.add (local.get $s0) (local.get $k)) (local.get $p)) (local.get $u))
              (call $load8x8 (i32.add (i32.add (local.get $s0) (i32.shl (local.get $k) (i32.const 1))) (local.get $p)) (local.get $u))
              (call $load8x8 (i32.add (i32.add (local.get $s0) (i32.mul (local.get $k) (i32.const 3))) (local.get $p)) (local.get $u))
              (i32.add (local.get $d) (i32.shl (local.get $p) (i32.const 3)))  ;; 16 bytes per pair = 8 * p
              (i32.const 16))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (br_if $simd (i32.lt_u (local.get $p) (local.get $k8)))))
        (call $packTail (local.get $src) (local.get $d) (local.get $i) (i32.const 4)
                        (local.get $m) (local.get $k) (local.get $kp) (i32.shr_u (local.get $k8) (i32.const 1)) (local.get $u))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $blocks (i32.lt_u (local.get $i) (local.get $m4)))))
    ;; remaining rows: plain int16 rows of kp
    (block $rowsDone
      (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $m)))
      (loop $rows
        (local.set $s0 (i32.add (local.get $src) (i32.mul (local.get $i) (local.get $k))))
        (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $i) (i32.shl (local.get $kp) (i32.const 1)))))
        (local.set $p (i32.const 0))
        (block $simdDone
          (br_if $simdDone (i32.ge_u (local.get $p) (local.get $k8)))
          (loop $simd
            (v128.store (i32.add (local.get $d) (i32.shl (local.get $p) (i32.const 1)))
              (call $load8x8 (i32.add (local.get $s0) (local.get $p)) (local.get $u)))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (br_if $simd (i32.lt_u (local.get $p) (local.get $k8)))))
        (call $packTail (local.get $src) (local.get $d) (local.get $i) (i32.const 1)
                        (local.get $m) (local.get $k) (local.get $kp) (i32.shr_u (local.get $k8) (i32.const 1)) (local.get $u))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $rows (i32.lt_u (local.get $i) (local.get $m)))))
  )

  ;; ---------------------------------------------------------------------------------------------
  ;; pack_b(src, dst, n, k, kp): b (n x k int8, row-major at src) -> packed int16 panels at dst
  ;; (np * kp * 2 bytes, np = n rounded up to 8; layout above). src and dst must not overlap.
  (func $pack_b (export "pack_b")
    (param $src i32) (param $dst i32) (param $n i32) (param $k i32) (param $kp i32)
    (local $n8 i32) (local $k8 i32) (local $j i32) (local $p i32)
    (local $s0 i32) (local $s4 i32) (local $d i32) (local $panelB i32)
    (local.set $n8 (i32.and (local.get $n) (i32.const -8)))
    (local.set $k8 (i32.and (local.get $k) (i32.const -8)))
    (local.set $panelB (i32.shl (local.get $kp) (i32.const 4)))
    (local.set $j (i32.const 0))
    (local.set $d (local.get $dst))
    ;; full panels: 8 k (4 pairs) of 8 rows per step; rows 0-3 of pair q go to d + 32q,
    ;; rows 4-7 to d + 32q + 16
    (block $panelsDone
      (br_if $panelsDone (i32.ge_u (local.get $j) (local.get $n8)))
      (loop $panels
        (local.set $s0 (i32.add (local.get $src) (i32.mul (local.get $j) (local.get $k))))
        (local.set $s4 (i32.add (local.get $s0) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $p (i32.const 0))
        (block $simdDone
          (br_if $simdDone (i32.ge_u (local.get $p) (local.get $k8)))
          (loop $simd
            (call $transpose4x4
              (v128.load8x8_s (i32.add (local.get $s0) (local.get $p)))
              (v128.load8x8_s (i32.add (i32.add (local.get $s0) (local.get $k)) (local.get $p)))
              (v128.load8x8_s (i32.add (i32.add (local.get $s0) (i32.shl (local.get $k) (i32.const 1))) (local.get $p)))
              (v128.load8x8_s (i32.add (i32.add (local.get $s0) (i32.mul (local.get $k) (i32.const 3))) (local.get $p)))
              (i32.add (local.get $d) (i32.shl (local.get $p) (i32.const 4)))  ;; 32 bytes per pair = 16 * p
              (i32.const 32))
            (call $transpose4x4
              (v128.load8x8_s (i32.add (local.get $s4) (local.get $p)))
              (v128.load8x8_s (i32.add (i32.add (local.get $s4) (local.get $k)) (local.get $p)))
              (v128.load8x8_s (i32.add (i32.add (local.get $s4) (i32.shl (local.get $k) (i32.const 1))) (local.get $p)))
              (v128.load8x8_s (i32.add (i32.add (local.get $s4) (i32.mul (local.get $k) (i32.const 3))) (local.get $p)))
              (i32.add (i32.add (local.get $d) (i32.shl (local.get $p) (i32.const 4))) (i32.const 16))
              (i32.const 32))
            (local.set $p (i32.add (local.get $p) (i32.const 8)))
            (br_if $simd (i32.lt_u (local.get $p) (local.get $k8)))))
        (call $packTail (local.get $src) (local.get $d) (local.get $j) (i32.const 8)
                        (local.get $n) (local.get $k) (local.get $kp) (i32.shr_u (local.get $k8) (i32.const 1)) (i32.const 0))
        (local.set $d (i32.add (local.get $d) (local.get $panelB)))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br_if $panels (i32.lt_u (local.get $j) (local.get $n8)))))
    ;; last partial panel (n % 8 rows, zero padded to 8): scalar
    (if (i32.lt_u (local.get $j) (local.get $n))
      (then
        (call $packTail (local.get $src) (local.get $d) (local.get $j) (i32.const 8)
                        (local.get $n) (local.get $k) (local.get $kp) (i32.const 0) (i32.const 0))))
  )
)
