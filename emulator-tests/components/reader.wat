;; Returns what the ring holds; at frame 3 it writes to the ring, which it may only read; at
;; frame 4 it reads past its memory; at frame 5 it divides by zero.
(module
  (memory 1)
  (global $ring (mut i32) (i32.const 0))
  (func (export "attach") (param i32 i32) local.get 1 global.set $ring)
  (func (export "frame") (param i32) (result i32)
    local.get 0 i32.const 3 i32.eq
    if global.get $ring i32.const 0 i32.store end
    local.get 0 i32.const 4 i32.eq
    if i32.const 70000 i32.load drop end
    local.get 0 i32.const 5 i32.eq
    if i32.const 1 i32.const 0 i32.div_u drop end
    global.get $ring i32.load))
