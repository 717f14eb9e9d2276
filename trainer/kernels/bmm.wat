;; Batched float32 matrix product for the trainer's attention (hand-written WebAssembly SIMD128),
;; registered over the wasm backend's BatchMatMul for batched, untransposed operands
;; (trainer/kernels/batched-matmul.ts). tfjs-backend-wasm runs XNNPACK only for a batch of one;
;; every other product takes a scalar loop at about 0.7 GMAC/s, which made attention about half of
;; a pre-training step.
;;
;;   c[q] (m x n) = a[q] (m x k) * b[q] (k x n),  q < batch; all row-major float32, contiguous.
;;
;; Micro-kernel: 4 rows x 8 columns of c in 8 f32x4 accumulators; for each k, the row k of b
;; (8 columns, two vectors) times a splat of a[r][k] for each of the 4 rows. Rows past the last
;; multiple of 4 and columns past the last multiple of 8 take a scalar loop. Sums run in k order.
(module
  (memory (export "memory") 1)

  (func $bmm (export "bmm")
    (param $a i32) (param $b i32) (param $c i32) (param $batch i32) (param $m i32) (param $k i32) (param $n i32)
    (local $q i32) (local $i i32) (local $j i32) (local $kk i32)
    (local $m4 i32) (local $n8 i32)
    (local $aq i32) (local $bq i32) (local $cq i32)
    (local $ap i32) (local $bp i32) (local $cp i32)
    (local $rowA i32) (local $rowB i32)
    (local $bv0 v128) (local $bv1 v128) (local $s v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $acc f32)
    (local.set $m4 (i32.and (local.get $m) (i32.const -4)))
    (local.set $n8 (i32.and (local.get $n) (i32.const -8)))
    (local.set $rowA (i32.shl (local.get $k) (i32.const 2)))   ;; bytes per row of a
    (local.set $rowB (i32.shl (local.get $n) (i32.const 2)))   ;; bytes per row of b and of c
    (local.set $aq (local.get $a))
    (local.set $bq (local.get $b))
    (local.set $cq (local.get $c))
    (local.set $q (i32.const 0))
    (block $done
      (loop $batches
        (br_if $done (i32.ge_u (local.get $q) (local.get $batch)))
        ;; ---- 4 x 8 tiles ------------------------------------------------------------------
        (local.set $i (i32.const 0))
        (block $rowsDone
          (loop $rows
            (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $m4)))
            (local.set $j (i32.const 0))
            (block $colsDone
              (loop $cols
                (br_if $colsDone (i32.ge_u (local.get $j) (local.get $n8)))
                (local.set $c00 (v128.const i32x4 0 0 0 0)) (local.set $c01 (v128.const i32x4 0 0 0 0))
                (local.set $c10 (v128.const i32x4 0 0 0 0)) (local.set $c11 (v128.const i32x4 0 0 0 0))
                (local.set $c20 (v128.const i32x4 0 0 0 0)) (local.set $c21 (v128.const i32x4 0 0 0 0))
                (local.set $c30 (v128.const i32x4 0 0 0 0)) (local.set $c31 (v128.const i32x4 0 0 0 0))
                ;; ap: a[i][0]; bp: b[0][j]
                (local.set $ap (i32.add (local.get $aq) (i32.mul (local.get $i) (local.get $rowA))))
                (local.set $bp (i32.add (local.get $bq) (i32.shl (local.get $j) (i32.const 2))))
                (local.set $kk (i32.const 0))
                (block $kDone
                  (loop $ks
                    (br_if $kDone (i32.ge_u (local.get $kk) (local.get $k)))
                    (local.set $bv0 (v128.load (local.get $bp)))
                    (local.set $bv1 (v128.load offset=16 (local.get $bp)))
                    (local.set $s (v128.load32_splat (local.get $ap)))
                    (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $s) (local.get $bv0))))
                    (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $s) (local.get $bv1))))
                    (local.set $s (v128.load32_splat (i32.add (local.get $ap) (local.get $rowA))))
                    (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $s) (local.get $bv0))))
                    (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $s) (local.get $bv1))))
                    (local.set $s (v128.load32_splat (i32.add (local.get $ap) (i32.shl (local.get $rowA) (i32.const 1)))))
                    (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $s) (local.get $bv0))))
                    (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $s) (local.get $bv1))))
                    (local.set $s (v128.load32_splat (i32.add (local.get $ap) (i32.mul (local.get $rowA) (i32.const 3)))))
                    (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $s) (local.get $bv0))))
                    (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $s) (local.get $bv1))))
                    (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
                    (local.set $bp (i32.add (local.get $bp) (local.get $rowB)))
                    (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
                    (br $ks)))
                ;; cp: c[i][j]
                (local.set $cp (i32.add (local.get $cq) (i32.add (i32.mul (local.get $i) (local.get $rowB)) (i32.shl (local.get $j) (i32.const 2)))))
                (v128.store (local.get $cp) (local.get $c00))
                (v128.store offset=16 (local.get $cp) (local.get $c01))
                (local.set $cp (i32.add (local.get $cp) (local.get $rowB)))
                (v128.store (local.get $cp) (local.get $c10))
                (v128.store offset=16 (local.get $cp) (local.get $c11))
                (local.set $cp (i32.add (local.get $cp) (local.get $rowB)))
                (v128.store (local.get $cp) (local.get $c20))
                (v128.store offset=16 (local.get $cp) (local.get $c21))
                (local.set $cp (i32.add (local.get $cp) (local.get $rowB)))
                (v128.store (local.get $cp) (local.get $c30))
                (v128.store offset=16 (local.get $cp) (local.get $c31))
                (local.set $j (i32.add (local.get $j) (i32.const 8)))
                (br $cols)))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $rows)))
        ;; ---- scalar tails: rows [m4, m) x all columns, then rows [0, m4) x columns [n8, n) --
        (call $scalar (local.get $aq) (local.get $bq) (local.get $cq) (local.get $m4) (local.get $m) (i32.const 0) (local.get $n) (local.get $k) (local.get $n))
        (call $scalar (local.get $aq) (local.get $bq) (local.get $cq) (i32.const 0) (local.get $m4) (local.get $n8) (local.get $n) (local.get $k) (local.get $n))
        (local.set $aq (i32.add (local.get $aq) (i32.mul (local.get $m) (local.get $rowA))))
        (local.set $bq (i32.add (local.get $bq) (i32.mul (local.get $k) (local.get $rowB))))
        (local.set $cq (i32.add (local.get $cq) (i32.mul (local.get $m) (local.get $rowB))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $batches))))

  ;; c[i][j] = sum_k a[i][k] b[k][j] for rows [i0, i1) and columns [j0, j1) of one batch entry.
  (func $scalar
    (param $a i32) (param $b i32) (param $c i32) (param $i0 i32) (param $i1 i32) (param $j0 i32) (param $j1 i32) (param $k i32) (param $n i32)
    (local $i i32) (local $j i32) (local $kk i32) (local $acc f32) (local $ap i32) (local $bp i32)
    (local.set $i (local.get $i0))
    (block $iDone
      (loop $is
        (br_if $iDone (i32.ge_u (local.get $i) (local.get $i1)))
        (local.set $j (local.get $j0))
        (block $jDone
          (loop $js
            (br_if $jDone (i32.ge_u (local.get $j) (local.get $j1)))
            (local.set $acc (f32.const 0))
            (local.set $ap (i32.add (local.get $a) (i32.shl (i32.mul (local.get $i) (local.get $k)) (i32.const 2))))
            (local.set $bp (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $kk (i32.const 0))
            (block $kDone
              (loop $ks
                (br_if $kDone (i32.ge_u (local.get $kk) (local.get $k)))
                (local.set $acc (f32.add (local.get $acc) (f32.mul (f32.load (local.get $ap)) (f32.load (local.get $bp)))))
                (local.set $ap (i32.add (local.get $ap) (i32.const 4)))
                (local.set $bp (i32.add (local.get $bp) (i32.shl (local.get $n) (i32.const 2))))
                (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
                (br $ks)))
            (f32.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $n)) (local.get $j)) (i32.const 2))) (local.get $acc))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $js)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $is))))
)
