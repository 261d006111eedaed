;; Masked (isolation = "mask"): every frame it writes n + 1 at address 16 of each of the eight
;; 64 KiB blocks above its memory, then of the eight below (wrapping around 4 GiB), where,
;; unmasked, the other components' segments would be (`faults` keeps its running sum at its
;; address 16). Masked, each write lands at its own address 16, which it returns: no trap,
;; nothing else touched.
(module
  (memory 1)
  (func $blocks (param $n i32) (param $sign i32) (local $k i32)
    i32.const 1 local.set $k
    loop $next
      local.get $k i32.const 16 i32.shl local.get $sign i32.mul i32.const 16 i32.add
      local.get $n i32.const 1 i32.add
      i32.store
      local.get $k i32.const 1 i32.add local.tee $k
      i32.const 8 i32.le_u br_if $next
    end)
  (func (export "frame") (param $n i32) (result i32)
    local.get $n i32.const 1 call $blocks
    local.get $n i32.const -1 call $blocks
    i32.const 16 i32.load))
