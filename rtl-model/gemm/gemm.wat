;; Hand-written WebAssembly SIMD128 int8 GEMM kernel for the integer datapath.
;;
;;   c (M x Np int32, row-major) = a (M x Kp int16, row-major) * b^T
;;
;; Operands are int8/uint8 values pre-extended to int16 so the inner loop is one
;; i32x4.dot_i16x8_s (x86 pmaddwd) plus one i32x4.add per 8 multiply-accumulates.
;;
;; Layouts (all offsets are byte addresses in the exported memory, 16-byte aligned):
;;   a  M x Kp int16, row-major; Kp = K rounded up to a multiple of 4, zero padded.
;;   b  packed "panels" of 8 output columns (rows of the [N, K] weight):
;;        b[panel][q][col][2] int16, panel < Np/8, q < Kp/2 (pairs of k), col < 8,
;;      i.e. each 32-byte step holds the pair (k = 2q, 2q+1) of 8 consecutive columns.
;;      Np = N rounded up to a multiple of 8; padding columns and padding k are zero.
;;   c  M x Np int32, row-major.
;;
;; Kernel ("outer product" form): one pair of a-values a[i][2q..2q+1] is broadcast to all four
;; i32 lanes (v128.load32_splat) and dotted with the 8-column b step, so every lane of the
;; accumulator is one output column and no horizontal reduction is needed. The micro-tile is
;; 4 rows x 8 columns: 8 accumulators + 2 b vectors + 1 a vector + 1 temporary = 12 of the
;; 16 xmm registers. Loop order: panel (b panel, Kp*16 bytes, stays in L1) outer, row blocks inner.
(module
  (memory (export "memory") 1)

  ;; gemm(a, b, c, m, np, kp): see the layout above. np % 8 == 0, kp % 4 == 0.
  (func $gemm (export "gemm")
    (param $a i32) (param $b i32) (param $c i32) (param $m i32) (param $np i32) (param $kp i32)
    (local $rowA i32)      ;; bytes per a row = 2*kp
    (local $rowC i32)      ;; bytes per c row = 4*np
    (local $panelB i32)    ;; bytes per b panel = 16*kp
    (local $bPanel i32)    ;; start of the current b panel
    (local $bEnd i32)      ;; end of the current b panel
    (local $cCol i32)      ;; c + 32*panel: top of the current output column block
    (local $i i32)         ;; row index
    (local $m4 i32)        ;; m rounded down to a multiple of 4
    (local $a0 i32) (local $a1 i32) (local $a2 i32) (local $a3 i32)
    (local $bp i32)
    (local $cp i32)
    (local $bv0 v128) (local $bv1 v128) (local $av v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)

    (local.set $rowA (i32.shl (local.get $kp) (i32.const 1)))
    (local.set $rowC (i32.shl (local.get $np) (i32.const 2)))
    (local.set $panelB (i32.shl (local.get $kp) (i32.const 4)))
    (local.set $m4 (i32.and (local.get $m) (i32.const -4)))
    (if (i32.or (i32.eqz (local.get $m)) (i32.or (i32.eqz (local.get $np)) (i32.eqz (local.get $kp))))
      (then (return)))

    (local.set $bPanel (local.get $b))
    (local.set $cCol (local.get $c))
    (loop $panels
      (local.set $bEnd (i32.add (local.get $bPanel) (local.get $panelB)))

      ;; ---- 4-row blocks --------------------------------------------------------------------
      (local.set $i (i32.const 0))
      (local.set $a0 (local.get $a))
      (local.set $cp (local.get $cCol))
      (block $rows4done
        (br_if $rows4done (i32.ge_u (local.get $i) (local.get $m4)))
        (loop $rows4
          (local.set $a1 (i32.add (local.get $a0) (local.get $rowA)))
          (local.set $a2 (i32.add (local.get $a1) (local.get $rowA)))
          (local.set $a3 (i32.add (local.get $a2) (local.get $rowA)))
          (local.set $c00 (v128.const i32x4 0 0 0 0))
          (local.set $c01 (v128.const i32x4 0 0 0 0))
          (local.set $c10 (v128.const i32x4 0 0 0 0))
          (local.set $c11 (v128.const i32x4 0 0 0 0))
          (local.set $c20 (v128.const i32x4 0 0 0 0))
          (local.set $c21 (v128.const i32x4 0 0 0 0))
          (local.set $c30 (v128.const i32x4 0 0 0 0))
          (local.set $c31 (v128.const i32x4 0 0 0 0))
          (local.set $bp (local.get $bPanel))
          ;; two k-pairs (4 k values) per iteration: kp % 4 == 0
          (loop $k
            ;; pair 0
            (local.set $bv0 (v128.load offset=0 (local.get $bp)))
            (local.set $bv1 (v128.load offset=16 (local.get $bp)))
            (local.set $av (v128.load32_splat offset=0 (local.get $a0)))
            (local.set $c00 (i32x4.add (local.get $c00) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv0))))
            (local.set $c01 (i32x4.add (local.get $c01) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv1))))
            (local.set $av (v128.load32_splat offset=0 (local.get $a1)))
            (local.set $c10 (i32x4.add (local.get $c10) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv0))))
            (local.set $c11 (i32x4.add (local.get $c11) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv1))))
            (local.set $av (v128.load32_splat offset=0 (local.get $a2)))
            (local.set $c20 (i32x4.add (local.get $c20) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv0))))
            (local.set $c21 (i32x4.add (local.get $c21) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv1))))
            (local.set $av (v128.load32_splat offset=0 (local.get $a3)))
            (local.set $c30 (i32x4.add (local.get $c30) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv0))))
            (local.set $c31 (i32x4.add (local.get $c31) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv1))))
            ;; pair 1
            (local.set $bv0 (v128.load offset=32 (local.get $bp)))
            (local.set $bv1 (v128.load offset=48 (local.get $bp)))
            (local.set $av (v128.load32_splat offset=4 (local.get $a0)))
            (local.set $c00 (i32x4.add (local.get $c00) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv0))))
            (local.set $c01 (i32x4.add (local.get $c01) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv1))))
            (local.set $av (v128.load32_splat offset=4 (local.get $a1)))
            (local.set $c10 (i32x4.add (local.get $c10) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv0))))
            (local.set $c11 (i32x4.add (local.get $c11) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv1))))
            (local.set $av (v128.load32_splat offset=4 (local.get $a2)))
            (local.set $c20 (i32x4.add (local.get $c20) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv0))))
            (local.set $c21 (i32x4.add (local.get $c21) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv1))))
            (local.set $av (v128.load32_splat offset=4 (local.get $a3)))
            (local.set $c30 (i32x4.add (local.get $c30) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv0))))
            (local.set $c31 (i32x4.add (local.get $c31) (i32x4.dot_i16x8_s (local.get $av) (local.get $bv1))))
            (local.set $a0 (i32.add (local.get $a0) (i32.const 8)))
            (local.set $a1 (i32.add (local.get $a1) (i32.const 8)))
            (local.set $a2 (i32.add (local.get $a2) (i32.const 8)))
            (local.set $a3 (i32.add (local.get $a3) (i32.const 8)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 64)))
            (br_if $k (i32.lt_u (local.get $bp) (local.get $bEnd))))
          ;; a3 now points at the start of row i+4
          (local.set $a0 (local.get $a3))
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
          (br_if $rows4 (i32.lt_u (local.get $i) (local.get $m4)))))

      ;; ---- remaining 0..3 rows, one at a time -------------------------------------------
      (block $rows1done
        (br_if $rows1done (i32.ge_u (local.get $i) (local.get $m)))
        (loop $rows1
          (local.set $c00 (v128.const i32x4 0 0 0 0))
          (local.set $c01 (v128.const i32x4 0 0 0 0))
          (local.set $bp (local.get $bPanel))
          (loop $k1
            (local.set $av (v128.load32_splat offset=0 (local.get $a0)))
            (local.set $c00 (i32x4.add (local.get $c00) (i32x4.dot_i16x8_s (local.get $av) (v128.load offset=0 (local.get $bp)))))
            (local.set $c01 (i32x4.add (local.get $c01) (i32x4.dot_i16x8_s (local.get $av) (v128.load offset=16 (local.get $bp)))))
            (local.set $a0 (i32.add (local.get $a0) (i32.const 4)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
            (br_if $k1 (i32.lt_u (local.get $bp) (local.get $bEnd))))
          (v128.store offset=0 (local.get $cp) (local.get $c00))
          (v128.store offset=16 (local.get $cp) (local.get $c01))
          (local.set $cp (i32.add (local.get $cp) (local.get $rowC)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $rows1 (i32.lt_u (local.get $i) (local.get $m)))))

      (local.set $bPanel (local.get $bEnd))
      (local.set $cCol (i32.add (local.get $cCol) (i32.const 32)))
      (br_if $panels (i32.lt_u (local.get $cCol) (i32.add (local.get $c) (local.get $rowC)))))
  )
)
