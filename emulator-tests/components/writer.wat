;; Writes 3n into the ring each frame and returns it; at frame 2 it stores past its memory.
(module
  (memory 1)
  (global $ring (mut i32) (i32.const 0))
  (func (export "attach") (param i32 i32) local.get 1 global.set $ring)
  (func (export "frame") (param i32) (result i32)
    global.get $ring local.get 0 i32.const 3 i32.mul i32.store
    local.get 0 i32.const 2 i32.eq
    if i32.const 65540 i32.const 1 i32.store end
    local.get 0 i32.const 3 i32.mul))
