;; Each frame from 1 to 5 ends in one of WebAssembly's own traps: unreachable, the call stack
;; exhausted, integer overflow, an invalid conversion, an indirect call through a null entry.
;; Other frames return a running sum kept in memory.
(module
  (type $v (func))
  (memory 1)
  (table 2 funcref)
  (func $deep (param i32) (result i32) local.get 0 i32.const 1 i32.add call $deep)
  (func (export "frame") (param $n i32) (result i32)
    local.get $n i32.const 1 i32.eq
    if unreachable end
    local.get $n i32.const 2 i32.eq
    if i32.const 0 call $deep drop end
    local.get $n i32.const 3 i32.eq
    if i32.const 0x80000000 local.get $n i32.const 4 i32.sub i32.div_s drop end
    local.get $n i32.const 4 i32.eq
    if f32.const nan i32.trunc_f32_s drop end
    local.get $n i32.const 5 i32.eq
    if i32.const 1 call_indirect (type $v) end
    i32.const 16
    i32.const 16 i32.load local.get $n i32.add i32.const 7 i32.mul
    i32.store
    i32.const 16 i32.load))
