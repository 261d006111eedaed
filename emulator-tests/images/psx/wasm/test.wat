;; The WebAssembly module of the `wasm2c` image: translated to C by wasm2c (name `test`),
;; compiled by the PlayStation's C toolchain and linked into the Rust image, which calls its
;; exports and implements its imports. Each export is one kind of thing the route must get
;; right; the image's checks say what each call must answer.
(module $test
  (type $i_i (func (param i32) (result i32)))

  ;; C calls Rust: console output from linear memory, and a function whose answer is used.
  (import "env" "print" (func $print (param i32 i32)))
  (import "env" "scale" (func $scale (param i32 i64) (result i64)))

  ;; One page, never grown: the embedder gives its place.
  (memory (export "memory") 1 1)
  (data (i32.const 1024) "hello from wasm\n")

  (global $calls (mut i32) (i32.const 0))

  ;; Entry 3 stays null; entry 2 has another type than $i_i.
  (table 4 funcref)
  (elem (i32.const 0) $double $square $negate)
  (func $double (type $i_i) (i32.shl (local.get 0) (i32.const 1)))
  (func $square (type $i_i) (i32.mul (local.get 0) (local.get 0)))
  (func $negate (param f64) (result f64) (f64.neg (local.get 0)))

  (func (export "add") (param i32 i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.add (local.get 0) (local.get 1)))
  (func (export "calls") (result i32) (global.get $calls))

  (func (export "greet") (call $print (i32.const 1024) (i32.const 16)))
  (func (export "host") (param i32 i64) (result i64)
    (i64.add (call $scale (local.get 0) (local.get 1)) (i64.const 1)))

  ;; Integer arithmetic: 64-bit operations on a and b; 32-bit ones (from 20) on their low
  ;; halves, sign-extended back. Any other op is `unreachable`.
  (func (export "op64") (param $op i32) (param $a i64) (param $b i64) (result i64)
    (local $x i32) (local $y i32)
    (local.set $x (i32.wrap_i64 (local.get $a)))
    (local.set $y (i32.wrap_i64 (local.get $b)))
    (if (i32.eq (local.get $op) (i32.const 0)) (then (return (i64.add (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 1)) (then (return (i64.sub (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 2)) (then (return (i64.mul (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 3)) (then (return (i64.div_s (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 4)) (then (return (i64.div_u (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 5)) (then (return (i64.rem_s (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 6)) (then (return (i64.rem_u (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 7)) (then (return (i64.shl (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 8)) (then (return (i64.shr_s (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 9)) (then (return (i64.shr_u (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 10)) (then (return (i64.rotl (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 11)) (then (return (i64.rotr (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 12)) (then (return (i64.clz (local.get $a)))))
    (if (i32.eq (local.get $op) (i32.const 13)) (then (return (i64.ctz (local.get $a)))))
    (if (i32.eq (local.get $op) (i32.const 14)) (then (return (i64.popcnt (local.get $a)))))
    (if (i32.eq (local.get $op) (i32.const 15)) (then (return (i64.extend_i32_u (i64.lt_s (local.get $a) (local.get $b))))))
    (if (i32.eq (local.get $op) (i32.const 16)) (then (return (i64.extend_i32_u (i64.lt_u (local.get $a) (local.get $b))))))
    (if (i32.eq (local.get $op) (i32.const 20)) (then (return (i64.extend_i32_s (i32.mul (local.get $x) (local.get $y))))))
    (if (i32.eq (local.get $op) (i32.const 21)) (then (return (i64.extend_i32_s (i32.div_s (local.get $x) (local.get $y))))))
    (if (i32.eq (local.get $op) (i32.const 22)) (then (return (i64.extend_i32_s (i32.div_u (local.get $x) (local.get $y))))))
    (if (i32.eq (local.get $op) (i32.const 23)) (then (return (i64.extend_i32_s (i32.rem_s (local.get $x) (local.get $y))))))
    (if (i32.eq (local.get $op) (i32.const 24)) (then (return (i64.extend_i32_s (i32.rem_u (local.get $x) (local.get $y))))))
    (if (i32.eq (local.get $op) (i32.const 25)) (then (return (i64.extend_i32_s (i32.rotl (local.get $x) (local.get $y))))))
    (if (i32.eq (local.get $op) (i32.const 26)) (then (return (i64.extend_i32_s (i32.clz (local.get $x))))))
    (if (i32.eq (local.get $op) (i32.const 27)) (then (return (i64.extend_i32_s (i32.ctz (local.get $x))))))
    (if (i32.eq (local.get $op) (i32.const 28)) (then (return (i64.extend_i32_s (i32.popcnt (local.get $x))))))
    (if (i32.eq (local.get $op) (i32.const 29)) (then (return (i64.extend_i32_s (i32.shr_s (local.get $x) (local.get $y))))))
    unreachable)

  ;; Float arithmetic: f64 on a and b; f32 (from 20) on a and b demoted, promoted back.
  (func (export "fop") (param $op i32) (param $a f64) (param $b f64) (result f64)
    (local $x f32) (local $y f32)
    (local.set $x (f32.demote_f64 (local.get $a)))
    (local.set $y (f32.demote_f64 (local.get $b)))
    (if (i32.eq (local.get $op) (i32.const 0)) (then (return (f64.add (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 1)) (then (return (f64.sub (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 2)) (then (return (f64.mul (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 3)) (then (return (f64.div (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 4)) (then (return (f64.sqrt (local.get $a)))))
    (if (i32.eq (local.get $op) (i32.const 5)) (then (return (f64.min (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 6)) (then (return (f64.max (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 7)) (then (return (f64.floor (local.get $a)))))
    (if (i32.eq (local.get $op) (i32.const 8)) (then (return (f64.ceil (local.get $a)))))
    (if (i32.eq (local.get $op) (i32.const 9)) (then (return (f64.trunc (local.get $a)))))
    (if (i32.eq (local.get $op) (i32.const 10)) (then (return (f64.nearest (local.get $a)))))
    (if (i32.eq (local.get $op) (i32.const 11)) (then (return (f64.abs (local.get $a)))))
    (if (i32.eq (local.get $op) (i32.const 12)) (then (return (f64.neg (local.get $a)))))
    (if (i32.eq (local.get $op) (i32.const 13)) (then (return (f64.copysign (local.get $a) (local.get $b)))))
    (if (i32.eq (local.get $op) (i32.const 14)) (then (return (f64.convert_i32_u (f64.lt (local.get $a) (local.get $b))))))
    (if (i32.eq (local.get $op) (i32.const 20)) (then (return (f64.promote_f32 (f32.add (local.get $x) (local.get $y))))))
    (if (i32.eq (local.get $op) (i32.const 21)) (then (return (f64.promote_f32 (f32.sub (local.get $x) (local.get $y))))))
    (if (i32.eq (local.get $op) (i32.const 22)) (then (return (f64.promote_f32 (f32.mul (local.get $x) (local.get $y))))))
    (if (i32.eq (local.get $op) (i32.const 23)) (then (return (f64.promote_f32 (f32.div (local.get $x) (local.get $y))))))
    (if (i32.eq (local.get $op) (i32.const 24)) (then (return (f64.promote_f32 (f32.sqrt (local.get $x))))))
    (if (i32.eq (local.get $op) (i32.const 25)) (then (return (f64.promote_f32 (f32.nearest (local.get $x))))))
    (if (i32.eq (local.get $op) (i32.const 26)) (then (return (f64.promote_f32 (local.get $x)))))
    unreachable)

  ;; Conversions between integers and floats (float results as their bits).
  (func (export "conv") (param $op i32) (param $a f64) (param $b i64) (result i64)
    (if (i32.eq (local.get $op) (i32.const 0)) (then (return (i64.trunc_f64_s (local.get $a)))))
    (if (i32.eq (local.get $op) (i32.const 1)) (then (return (i64.trunc_f64_u (local.get $a)))))
    (if (i32.eq (local.get $op) (i32.const 2)) (then (return (i64.extend_i32_s (i32.trunc_f64_s (local.get $a))))))
    (if (i32.eq (local.get $op) (i32.const 3)) (then (return (i64.extend_i32_u (i32.trunc_f64_u (local.get $a))))))
    (if (i32.eq (local.get $op) (i32.const 4)) (then (return (i64.extend_i32_s (i32.trunc_f32_s (f32.demote_f64 (local.get $a)))))))
    (if (i32.eq (local.get $op) (i32.const 5)) (then (return (i64.reinterpret_f64 (f64.convert_i64_s (local.get $b))))))
    (if (i32.eq (local.get $op) (i32.const 6)) (then (return (i64.reinterpret_f64 (f64.convert_i64_u (local.get $b))))))
    (if (i32.eq (local.get $op) (i32.const 7)) (then (return (i64.extend_i32_u (i32.reinterpret_f32 (f32.convert_i64_s (local.get $b)))))))
    (if (i32.eq (local.get $op) (i32.const 8)) (then (return (i64.reinterpret_f64 (f64.convert_i32_s (i32.wrap_i64 (local.get $b)))))))
    (if (i32.eq (local.get $op) (i32.const 9)) (then (return (i64.reinterpret_f64 (f64.convert_i32_u (i32.wrap_i64 (local.get $b)))))))
    (if (i32.eq (local.get $op) (i32.const 10)) (then (return (i64.extend_i32_u (i32.reinterpret_f32 (f32.convert_i32_u (i32.wrap_i64 (local.get $b))))))))
    (if (i32.eq (local.get $op) (i32.const 11)) (then (return (i64.extend_i32_u (i32.reinterpret_f32 (f32.demote_f64 (local.get $a)))))))
    unreachable)

  ;; Linear memory, at any alignment.
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "store64") (param i32 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store32") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "sum") (param $at i32) (param $n i32) (result i32)
    (local $s i32)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $at))))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $s))

  ;; Calls through the table: entry i, with x.
  (func (export "dispatch") (param $i i32) (param $x i32) (result i32)
    (call_indirect (type $i_i) (local.get $x) (local.get $i)))

  ;; Traps of their own: `unreachable`, and a recursion with no end.
  (func (export "boom") unreachable)
  (func $deep (export "deep") (param i32) (result i32)
    (i32.add (call $deep (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))

  ;; n steps of a 64-bit linear congruential generator (Knuth's MMIX constants), for timing.
  (func (export "lcg") (param $n i32) (param $s i64) (result i64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (i64.add (i64.mul (local.get $s) (i64.const 6364136223846793005))
                               (i64.const 1442695040888963407)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $s)))
