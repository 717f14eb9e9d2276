;; The datapath's vector units in WebAssembly: requantization (with the bias add fused), residual
;; joins, and the per-element passes of LayerNorm and softmax. Per-row work (isqrt, normalized
;; reciprocal) stays in TypeScript (rtl-model/spec), between the passes.
;;
;; Arithmetic is the spec's rq(v, M, sh) = floor((v*M + 2^(sh-1)) * 2^-sh) evaluated in f64: with
;; |v| < 2^31 and |M| < 2^15 the product is below 2^46, so every step is exact in a double and the
;; result equals the integer definition (the same argument as the TypeScript datapath).
;; Per-column constants are passed as three f64 arrays: M, 2^(sh-1), 2^-sh.
(module
  (memory (export "memory") 1)

  ;; out_i8[r, j] = sat8(rq(acc[r, j] + bias[j], M[j], sh[j]))
  ;; acc: i32 [rows * cols]; bias: i32 [cols]; m, half, inv: f64 [cols]; out: i8 [rows * cols]
  ;; Two columns per step with f64x2 (the same f64 operations as the scalar form), scalar tail.
  (func (export "rq_i8") (param $acc i32) (param $bias i32) (param $m i32) (param $half i32) (param $inv i32)
        (param $out i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $j i32) (local $pa i32) (local $po i32) (local $v f64) (local $x v128) (local $even i32)
    (local.set $even (i32.and (local.get $cols) (i32.const -2)))
    (local.set $pa (local.get $acc))
    (local.set $po (local.get $out))
    (local.set $r (i32.const 0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $even)))
        (local.set $x
          (f64x2.floor (f64x2.mul
            (f64x2.add
              (f64x2.mul
                (f64x2.convert_low_i32x4_s (i32x4.add
                  (v128.load64_zero (i32.add (local.get $pa) (i32.shl (local.get $j) (i32.const 2))))
                  (v128.load64_zero (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
                (v128.load (i32.add (local.get $m) (i32.shl (local.get $j) (i32.const 3)))))
              (v128.load (i32.add (local.get $half) (i32.shl (local.get $j) (i32.const 3)))))
            (v128.load (i32.add (local.get $inv) (i32.shl (local.get $j) (i32.const 3)))))))
        (local.set $x (f64x2.min (f64x2.max (local.get $x) (v128.const f64x2 -128 -128)) (v128.const f64x2 127 127)))
        (local.set $x (i32x4.trunc_sat_f64x2_s_zero (local.get $x)))
        (local.set $x (i8x16.narrow_i16x8_s (i16x8.narrow_i32x4_s (local.get $x) (local.get $x)) (local.get $x)))
        (v128.store16_lane 0 (i32.add (local.get $po) (local.get $j)) (local.get $x))
        (local.set $j (i32.add (local.get $j) (i32.const 2)))
        (br $jloop)))
      (if (i32.lt_u (local.get $j) (local.get $cols))
        (then
          (local.set $v
            (f64.floor (f64.mul
              (f64.add
                (f64.mul
                  (f64.convert_i32_s (i32.add
                    (i32.load (i32.add (local.get $pa) (i32.shl (local.get $j) (i32.const 2))))
                    (i32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
                  (f64.load (i32.add (local.get $m) (i32.shl (local.get $j) (i32.const 3)))))
                (f64.load (i32.add (local.get $half) (i32.shl (local.get $j) (i32.const 3)))))
              (f64.load (i32.add (local.get $inv) (i32.shl (local.get $j) (i32.const 3)))))))
          (i32.store8 (i32.add (local.get $po) (local.get $j))
            (i32.trunc_f64_s (f64.min (f64.max (local.get $v) (f64.const -128)) (f64.const 127))))))
      (local.set $pa (i32.add (local.get $pa) (i32.shl (local.get $cols) (i32.const 2))))
      (local.set $po (i32.add (local.get $po) (local.get $cols)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

;; Residual join term: sum[r, j] += sat16(rq(src[r, j] + bias[j], M[j], sh[j]))
  ;; src: i32 (isI8 = 0) or i8 (isI8 = 1); bias: i32 [cols]; sum: i32 [rows * cols]
  ;; Two columns per step with f64x2 (the same f64 operations as the scalar form), scalar tail.
  (func (export "join_term") (param $src i32) (param $isI8 i32) (param $bias i32) (param $m i32) (param $half i32) (param $inv i32)
        (param $sum i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $j i32) (local $ps i32) (local $pd i32) (local $x i32) (local $v f64) (local $p i32)
    (local $xv v128) (local $even i32) (local $step i32)
    (local.set $even (i32.and (local.get $cols) (i32.const -2)))
    ;; bytes per source element: 1 (i8) or 4 (i32)
    (local.set $step (select (i32.const 1) (i32.const 4) (local.get $isI8)))
    (local.set $ps (local.get $src))
    (local.set $pd (local.get $sum))
    (local.set $r (i32.const 0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $j (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $even)))
        ;; two source values as the low two i32 lanes
        (if (local.get $isI8)
          (then (local.set $xv (i32x4.extend_low_i16x8_s (i16x8.extend_low_i8x16_s
                  (v128.load16_splat (i32.add (local.get $ps) (local.get $j)))))))
          (else (local.set $xv (v128.load64_zero (i32.add (local.get $ps) (i32.shl (local.get $j) (i32.const 2)))))))
        (local.set $xv
          (f64x2.floor (f64x2.mul
            (f64x2.add
              (f64x2.mul
                (f64x2.convert_low_i32x4_s (i32x4.add (local.get $xv)
                  (v128.load64_zero (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
                (v128.load (i32.add (local.get $m) (i32.shl (local.get $j) (i32.const 3)))))
              (v128.load (i32.add (local.get $half) (i32.shl (local.get $j) (i32.const 3)))))
            (v128.load (i32.add (local.get $inv) (i32.shl (local.get $j) (i32.const 3)))))))
        (local.set $xv (f64x2.min (f64x2.max (local.get $xv) (v128.const f64x2 -32768 -32768)) (v128.const f64x2 32767 32767)))
        (local.set $p (i32.add (local.get $pd) (i32.shl (local.get $j) (i32.const 2))))
        (v128.store64_lane 0 (local.get $p)
          (i32x4.add (v128.load64_zero (local.get $p)) (i32x4.trunc_sat_f64x2_s_zero (local.get $xv))))
        (local.set $j (i32.add (local.get $j) (i32.const 2)))
        (br $jloop)))
      (if (i32.lt_u (local.get $j) (local.get $cols))
        (then
          (if (local.get $isI8)
            (then (local.set $x (i32.load8_s (i32.add (local.get $ps) (local.get $j)))))
            (else (local.set $x (i32.load (i32.add (local.get $ps) (i32.shl (local.get $j) (i32.const 2)))))))
          (local.set $x (i32.add (local.get $x) (i32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))))
          (local.set $v
            (f64.floor (f64.mul
              (f64.add
                (f64.mul (f64.convert_i32_s (local.get $x)) (f64.load (i32.add (local.get $m) (i32.shl (local.get $j) (i32.const 3)))))
                (f64.load (i32.add (local.get $half) (i32.shl (local.get $j) (i32.const 3)))))
              (f64.load (i32.add (local.get $inv) (i32.shl (local.get $j) (i32.const 3)))))))
          (local.set $p (i32.add (local.get $pd) (i32.shl (local.get $j) (i32.const 2))))
          (i32.store (local.get $p)
            (i32.add (i32.load (local.get $p))
              (i32.trunc_f64_s (f64.min (f64.max (local.get $v) (f64.const -32768)) (f64.const 32767)))))))
      (local.set $ps (i32.add (local.get $ps) (i32.mul (local.get $cols) (local.get $step))))
      (local.set $pd (i32.add (local.get $pd) (i32.shl (local.get $cols) (i32.const 2))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; x[i] = sat16(sum[i]) as i16, in place over n elements (sum: i32, x: i16)
  (func (export "sat16") (param $sum i32) (param $x i32) (param $n i32)
    (local $i i32) (local $v i32)
    (local.set $i (i32.const 0))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $v (i32.load (i32.add (local.get $sum) (i32.shl (local.get $i) (i32.const 2)))))
      (if (i32.lt_s (local.get $v) (i32.const -32768)) (then (local.set $v (i32.const -32768))))
      (if (i32.gt_s (local.get $v) (i32.const 32767)) (then (local.set $v (i32.const 32767))))
      (i32.store16 (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 1))) (local.get $v))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))

  ;; LayerNorm statistics of each row of x (i16 [rows * cols]):
  ;;   mean[r] = sat16(rq(sum x, meanM, meanSh)); sumSq[r] = sum floor(floor((x - mean)/2)^2 * 2^-s)
  ;; mean: i32 [rows]; sumSq: f64 [rows] (at most 2^30, exact)
  (func (export "ln_stats") (param $x i32) (param $rows i32) (param $cols i32) (param $meanM f64) (param $meanHalf f64) (param $meanInv f64)
        (param $sqInv f64) (param $mean i32) (param $sumSq i32)
    (local $r i32) (local $j i32) (local $base i32) (local $s f64) (local $mu f64) (local $u f64) (local $q f64)
    (local.set $r (i32.const 0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $base (i32.add (local.get $x) (i32.shl (i32.mul (local.get $r) (local.get $cols)) (i32.const 1))))
      (local.set $s (f64.const 0))
      (local.set $j (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $cols)))
        (local.set $s (f64.add (local.get $s) (f64.convert_i32_s (i32.load16_s (i32.add (local.get $base) (i32.shl (local.get $j) (i32.const 1)))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jloop)))
      (local.set $mu (f64.floor (f64.mul (f64.add (f64.mul (local.get $s) (local.get $meanM)) (local.get $meanHalf)) (local.get $meanInv))))
      (local.set $mu (f64.min (f64.max (local.get $mu) (f64.const -32768)) (f64.const 32767)))
      (i32.store (i32.add (local.get $mean) (i32.shl (local.get $r) (i32.const 2))) (i32.trunc_f64_s (local.get $mu)))
      (local.set $q (f64.const 0))
      (local.set $j (i32.const 0))
      (block $jdone2 (loop $jloop2
        (br_if $jdone2 (i32.ge_u (local.get $j) (local.get $cols)))
        (local.set $u (f64.floor (f64.mul
          (f64.sub (f64.convert_i32_s (i32.load16_s (i32.add (local.get $base) (i32.shl (local.get $j) (i32.const 1))))) (local.get $mu))
          (f64.const 0.5))))
        (local.set $q (f64.add (local.get $q) (f64.floor (f64.mul (f64.mul (local.get $u) (local.get $u)) (local.get $sqInv)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jloop2)))
      (f64.store (i32.add (local.get $sumSq) (i32.shl (local.get $r) (i32.const 3))) (local.get $q))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; LayerNorm output: n = rq(x - mean[r], R[r], b[r]); o = rq(n, G[j], shG[j]) + B[j]; y = sat8(rq(o, 1, 8))
  ;; rowR, rowHalf, rowInv: f64 [rows] (R, 2^(b-1), 2^-b); g, gHalf, gInv: f64 [cols]; bias: i32 [cols]; y: i8
  (func (export "ln_apply") (param $x i32) (param $rows i32) (param $cols i32) (param $mean i32)
        (param $rowR i32) (param $rowHalf i32) (param $rowInv i32)
        (param $g i32) (param $gHalf i32) (param $gInv i32) (param $bias i32) (param $y i32)
    (local $r i32) (local $j i32) (local $idx i32) (local $mu f64) (local $rr f64) (local $rh f64) (local $ri f64)
    (local $n f64) (local $o f64) (local $v f64) (local $j8 i32)
    (local.set $r (i32.const 0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $mu (f64.convert_i32_s (i32.load (i32.add (local.get $mean) (i32.shl (local.get $r) (i32.const 2))))))
      (local.set $rr (f64.load (i32.add (local.get $rowR) (i32.shl (local.get $r) (i32.const 3)))))
      (local.set $rh (f64.load (i32.add (local.get $rowHalf) (i32.shl (local.get $r) (i32.const 3)))))
      (local.set $ri (f64.load (i32.add (local.get $rowInv) (i32.shl (local.get $r) (i32.const 3)))))
      (local.set $j (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $cols)))
        (local.set $idx (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $j)))
        (local.set $j8 (i32.shl (local.get $j) (i32.const 3)))
        (local.set $n (f64.floor (f64.mul (f64.add (f64.mul
          (f64.sub (f64.convert_i32_s (i32.load16_s (i32.add (local.get $x) (i32.shl (local.get $idx) (i32.const 1))))) (local.get $mu))
          (local.get $rr)) (local.get $rh)) (local.get $ri))))
        (local.set $o (f64.add
          (f64.floor (f64.mul (f64.add (f64.mul (local.get $n) (f64.load (i32.add (local.get $g) (local.get $j8))))
            (f64.load (i32.add (local.get $gHalf) (local.get $j8)))) (f64.load (i32.add (local.get $gInv) (local.get $j8)))))
          (f64.convert_i32_s (i32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))))
        (local.set $v (f64.floor (f64.mul (f64.add (local.get $o) (f64.const 128)) (f64.const 0.00390625))))
        (i32.store8 (i32.add (local.get $y) (local.get $idx))
          (i32.trunc_f64_s (f64.min (f64.max (local.get $v) (f64.const -128)) (f64.const 127))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jloop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; Softmax exponentials of each row of scores (i32 [rows * L]) with a key mask (i32 [L]):
  ;;   mx = max over unmasked keys (masked keys count as -2^30); idx = -rq(s - mx, M, sh);
  ;;   e = mask && idx <= 255 ? lut[idx] : 0; sums[r] = sum e
  ;; e: i32 [rows * L]; lut: i32 [256]; sums: i32 [rows]
  (func (export "sm_exp") (param $s i32) (param $mask i32) (param $rows i32) (param $L i32)
        (param $m f64) (param $half f64) (param $inv f64) (param $lut i32) (param $e i32) (param $sums i32)
    (local $r i32) (local $j i32) (local $base i32) (local $mx i32) (local $v i32) (local $t f64) (local $ev i32) (local $sum i32)
    (local.set $r (i32.const 0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $base (i32.shl (i32.mul (local.get $r) (local.get $L)) (i32.const 2)))
      (local.set $mx (i32.const -2147483648))
      (local.set $j (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $L)))
        (local.set $v (select
          (i32.load (i32.add (i32.add (local.get $s) (local.get $base)) (i32.shl (local.get $j) (i32.const 2))))
          (i32.const -1073741824)
          (i32.load (i32.add (local.get $mask) (i32.shl (local.get $j) (i32.const 2))))))
        (if (i32.gt_s (local.get $v) (local.get $mx)) (then (local.set $mx (local.get $v))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jloop)))
      (local.set $sum (i32.const 0))
      (local.set $j (i32.const 0))
      (block $jdone2 (loop $jloop2
        (br_if $jdone2 (i32.ge_u (local.get $j) (local.get $L)))
        (local.set $ev (i32.const 0))
        (if (i32.load (i32.add (local.get $mask) (i32.shl (local.get $j) (i32.const 2))))
          (then
            ;; t = rq(s - mx, M, sh) <= 0 (s - mx <= 0, M >= 0; |s| < 2^30 so s - mx > -2^31)
            (local.set $t (f64.floor (f64.mul (f64.add (f64.mul
              (f64.convert_i32_s (i32.sub
                (i32.load (i32.add (i32.add (local.get $s) (local.get $base)) (i32.shl (local.get $j) (i32.const 2))))
                (local.get $mx)))
              (local.get $m)) (local.get $half)) (local.get $inv))))
            ;; entries beyond the table (t < -255) are 0
            (if (f64.ge (local.get $t) (f64.const -255))
              (then (local.set $ev (i32.load (i32.add (local.get $lut)
                (i32.shl (i32.trunc_f64_s (f64.neg (local.get $t))) (i32.const 2)))))))))
        (i32.store (i32.add (i32.add (local.get $e) (local.get $base)) (i32.shl (local.get $j) (i32.const 2))) (local.get $ev))
        (local.set $sum (i32.add (local.get $sum) (local.get $ev)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jloop2)))
      (i32.store (i32.add (local.get $sums) (i32.shl (local.get $r) (i32.const 2))) (local.get $sum))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; Softmax normalize: p = min(255, rq(e * R[r], 1, b[r] + 3)); rowR, rowHalf, rowInv: f64 [rows]; p: u8
  (func (export "sm_norm") (param $e i32) (param $rows i32) (param $L i32) (param $rowR i32) (param $rowHalf i32) (param $rowInv i32) (param $p i32)
    (local $r i32) (local $j i32) (local $idx i32) (local $rr f64) (local $rh f64) (local $ri f64) (local $v f64)
    (local.set $r (i32.const 0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $rr (f64.load (i32.add (local.get $rowR) (i32.shl (local.get $r) (i32.const 3)))))
      (local.set $rh (f64.load (i32.add (local.get $rowHalf) (i32.shl (local.get $r) (i32.const 3)))))
      (local.set $ri (f64.load (i32.add (local.get $rowInv) (i32.shl (local.get $r) (i32.const 3)))))
      (local.set $j (i32.const 0))
      (block $jdone (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (local.get $L)))
        (local.set $idx (i32.add (i32.mul (local.get $r) (local.get $L)) (local.get $j)))
        (local.set $v (f64.floor (f64.mul (f64.add (f64.mul
          (f64.convert_i32_s (i32.load (i32.add (local.get $e) (i32.shl (local.get $idx) (i32.const 2)))))
          (local.get $rr)) (local.get $rh)) (local.get $ri))))
        (i32.store8 (i32.add (local.get $p) (local.get $idx)) (i32.trunc_f64_s (f64.min (local.get $v) (f64.const 255))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jloop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))))

  ;; y[i] = lut[x[i] + 128] for int8 x and an int8 table (GELU, tanh)
  (func (export "lut_i8") (param $x i32) (param $lut i32) (param $y i32) (param $n i32)
    (local $i i32)
    (local.set $i (i32.const 0))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (local.get $y) (local.get $i))
        (i32.load8_s (i32.add (local.get $lut) (i32.add (i32.load8_s (i32.add (local.get $x) (local.get $i))) (i32.const 128)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))
)
