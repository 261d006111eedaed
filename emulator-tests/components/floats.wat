;; Floating point as every console computes it (soft float on the R3000, single-precision
;; hardware and double-precision helpers on the Allegrex, the SH-4's FPU): square roots,
;; products, conversions both ways, rounding; the frame's result mixes their bits, so any
;; difference from the host shows.
(module
  (memory 1)
  (func (export "frame") (param $n i32) (result i32) (local $x f64) (local $y f32)
    local.get $n f64.convert_i32_s f64.const 1.25 f64.mul f64.const 3 f64.add f64.sqrt
    local.set $x
    local.get $n f32.convert_i32_u f32.const 0.1 f32.mul f32.sqrt
    local.set $y
    local.get $x f64.const 1e6 f64.mul i32.trunc_f64_s
    local.get $y f32.const 1e4 f32.mul i32.trunc_f32_u
    i32.xor
    local.get $x f32.demote_f64 local.get $y f32.add i32.reinterpret_f32
    i32.add
    local.get $x f64.const 0.5 f64.div f64.floor i64.trunc_f64_s i32.wrap_i64
    i32.add
    local.get $y f64.promote_f32 local.get $x f64.div i64.reinterpret_f64 i32.wrap_i64
    i32.xor))
