//! Every WebAssembly instruction that takes a memory immediate (a memarg), with what the
//! rebaser needs to know about it: its name in the text format, how many bytes it touches, what
//! it does, and which operands lie on the stack above its address.

use serde::Serialize;
use wasmparser::{MemArg, Operator};

/// What a memory instruction does with the bytes it touches.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessKind {
    /// Reads memory (plain, narrow, sign- or zero-extending, SIMD, splat, lane, atomic loads).
    Load,
    /// Writes memory (plain, narrow, SIMD, lane, atomic stores).
    Store,
    /// Reads and writes memory in one atomic step (`atomic.rmw*`, `cmpxchg`).
    ReadModifyWrite,
    /// `memory.atomic.wait32` / `wait64`: reads the address and may suspend the thread.
    Wait,
    /// `memory.atomic.notify`: wakes the threads waiting at the address.
    Notify,
}

/// A value type of an operand the rebaser may have to set aside while it checks an address.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub(crate) enum Operand {
    I32,
    I64,
    F32,
    F64,
    V128,
}

impl Operand {
    /// A dense index, for tables of scratch locals.
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The encoder's value type.
    pub(crate) fn val_type(self) -> wasm_encoder::ValType {
        match self {
            Self::I32 => wasm_encoder::ValType::I32,
            Self::I64 => wasm_encoder::ValType::I64,
            Self::F32 => wasm_encoder::ValType::F32,
            Self::F64 => wasm_encoder::ValType::F64,
            Self::V128 => wasm_encoder::ValType::V128,
        }
    }
}

/// One memory instruction: its immediate and its description.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct MemoryOp {
    /// Its immediate.
    pub memarg: MemArg,
    /// What every instance of it is.
    pub info: &'static OpInfo,
}

/// What a memory instruction is, whatever its immediate.
#[derive(PartialEq, Eq, Debug)]
pub(crate) struct OpInfo {
    /// Its name in the text format (`i32.load8_s`).
    pub name: &'static str,
    /// The bytes it touches at `address + offset`.
    pub size: u8,
    /// What it does.
    pub kind: AccessKind,
    /// Whether it is an atomic instruction (threads proposal).
    pub atomic: bool,
    /// The operands above the address on the stack, bottom first (a store's value; a
    /// `cmpxchg`'s expected and replacement values; a `wait`'s expected value and timeout).
    pub above: &'static [Operand],
}

use AccessKind::{Load, Notify, ReadModifyWrite as Rmw, Store, Wait};
use Operand::{F32, F64, I32, I64, V128};

macro_rules! memory_ops {
    ($($op:ident => $name:literal, $size:literal, $kind:ident, $atomic:literal, [$($above:ident),*];)*) => {
        /// Every memory instruction's description, named as wasmparser names the operator.
        #[allow(non_upper_case_globals)]
        pub(crate) mod info {
            use super::*;
            $(
                #[doc = concat!("`", $name, "`.")]
                pub(crate) static $op: OpInfo =
                    OpInfo { name: $name, size: $size, kind: $kind, atomic: $atomic, above: &[$($above),*] };
            )*
        }

        /// The description of `op` if it takes a memarg, `None` for every other instruction.
        #[inline]
        pub(crate) fn memory_op(op: &Operator<'_>) -> Option<MemoryOp> {
            match op {
                $(Operator::$op { memarg, .. } => Some(MemoryOp { memarg: *memarg, info: &info::$op }),)*
                _ => None,
            }
        }

        /// The names of every instruction [`memory_op`] knows, for tests and documentation.
        #[cfg(test)]
        pub(crate) const NAMES: &[&str] = &[$($name),*];
    };
}

memory_ops! {
    I32Load => "i32.load", 4, Load, false, [];
    I64Load => "i64.load", 8, Load, false, [];
    F32Load => "f32.load", 4, Load, false, [];
    F64Load => "f64.load", 8, Load, false, [];
    I32Load8S => "i32.load8_s", 1, Load, false, [];
    I32Load8U => "i32.load8_u", 1, Load, false, [];
    I32Load16S => "i32.load16_s", 2, Load, false, [];
    I32Load16U => "i32.load16_u", 2, Load, false, [];
    I64Load8S => "i64.load8_s", 1, Load, false, [];
    I64Load8U => "i64.load8_u", 1, Load, false, [];
    I64Load16S => "i64.load16_s", 2, Load, false, [];
    I64Load16U => "i64.load16_u", 2, Load, false, [];
    I64Load32S => "i64.load32_s", 4, Load, false, [];
    I64Load32U => "i64.load32_u", 4, Load, false, [];
    I32Store => "i32.store", 4, Store, false, [I32];
    I64Store => "i64.store", 8, Store, false, [I64];
    F32Store => "f32.store", 4, Store, false, [F32];
    F64Store => "f64.store", 8, Store, false, [F64];
    I32Store8 => "i32.store8", 1, Store, false, [I32];
    I32Store16 => "i32.store16", 2, Store, false, [I32];
    I64Store8 => "i64.store8", 1, Store, false, [I64];
    I64Store16 => "i64.store16", 2, Store, false, [I64];
    I64Store32 => "i64.store32", 4, Store, false, [I64];

    V128Load => "v128.load", 16, Load, false, [];
    V128Load8x8S => "v128.load8x8_s", 8, Load, false, [];
    V128Load8x8U => "v128.load8x8_u", 8, Load, false, [];
    V128Load16x4S => "v128.load16x4_s", 8, Load, false, [];
    V128Load16x4U => "v128.load16x4_u", 8, Load, false, [];
    V128Load32x2S => "v128.load32x2_s", 8, Load, false, [];
    V128Load32x2U => "v128.load32x2_u", 8, Load, false, [];
    V128Load8Splat => "v128.load8_splat", 1, Load, false, [];
    V128Load16Splat => "v128.load16_splat", 2, Load, false, [];
    V128Load32Splat => "v128.load32_splat", 4, Load, false, [];
    V128Load64Splat => "v128.load64_splat", 8, Load, false, [];
    V128Load32Zero => "v128.load32_zero", 4, Load, false, [];
    V128Load64Zero => "v128.load64_zero", 8, Load, false, [];
    V128Store => "v128.store", 16, Store, false, [V128];
    V128Load8Lane => "v128.load8_lane", 1, Load, false, [V128];
    V128Load16Lane => "v128.load16_lane", 2, Load, false, [V128];
    V128Load32Lane => "v128.load32_lane", 4, Load, false, [V128];
    V128Load64Lane => "v128.load64_lane", 8, Load, false, [V128];
    V128Store8Lane => "v128.store8_lane", 1, Store, false, [V128];
    V128Store16Lane => "v128.store16_lane", 2, Store, false, [V128];
    V128Store32Lane => "v128.store32_lane", 4, Store, false, [V128];
    V128Store64Lane => "v128.store64_lane", 8, Store, false, [V128];

    MemoryAtomicNotify => "memory.atomic.notify", 4, Notify, true, [I32];
    MemoryAtomicWait32 => "memory.atomic.wait32", 4, Wait, true, [I32, I64];
    MemoryAtomicWait64 => "memory.atomic.wait64", 8, Wait, true, [I64, I64];
    I32AtomicLoad => "i32.atomic.load", 4, Load, true, [];
    I64AtomicLoad => "i64.atomic.load", 8, Load, true, [];
    I32AtomicLoad8U => "i32.atomic.load8_u", 1, Load, true, [];
    I32AtomicLoad16U => "i32.atomic.load16_u", 2, Load, true, [];
    I64AtomicLoad8U => "i64.atomic.load8_u", 1, Load, true, [];
    I64AtomicLoad16U => "i64.atomic.load16_u", 2, Load, true, [];
    I64AtomicLoad32U => "i64.atomic.load32_u", 4, Load, true, [];
    I32AtomicStore => "i32.atomic.store", 4, Store, true, [I32];
    I64AtomicStore => "i64.atomic.store", 8, Store, true, [I64];
    I32AtomicStore8 => "i32.atomic.store8", 1, Store, true, [I32];
    I32AtomicStore16 => "i32.atomic.store16", 2, Store, true, [I32];
    I64AtomicStore8 => "i64.atomic.store8", 1, Store, true, [I64];
    I64AtomicStore16 => "i64.atomic.store16", 2, Store, true, [I64];
    I64AtomicStore32 => "i64.atomic.store32", 4, Store, true, [I64];
    I32AtomicRmwAdd => "i32.atomic.rmw.add", 4, Rmw, true, [I32];
    I64AtomicRmwAdd => "i64.atomic.rmw.add", 8, Rmw, true, [I64];
    I32AtomicRmw8AddU => "i32.atomic.rmw8.add_u", 1, Rmw, true, [I32];
    I32AtomicRmw16AddU => "i32.atomic.rmw16.add_u", 2, Rmw, true, [I32];
    I64AtomicRmw8AddU => "i64.atomic.rmw8.add_u", 1, Rmw, true, [I64];
    I64AtomicRmw16AddU => "i64.atomic.rmw16.add_u", 2, Rmw, true, [I64];
    I64AtomicRmw32AddU => "i64.atomic.rmw32.add_u", 4, Rmw, true, [I64];
    I32AtomicRmwSub => "i32.atomic.rmw.sub", 4, Rmw, true, [I32];
    I64AtomicRmwSub => "i64.atomic.rmw.sub", 8, Rmw, true, [I64];
    I32AtomicRmw8SubU => "i32.atomic.rmw8.sub_u", 1, Rmw, true, [I32];
    I32AtomicRmw16SubU => "i32.atomic.rmw16.sub_u", 2, Rmw, true, [I32];
    I64AtomicRmw8SubU => "i64.atomic.rmw8.sub_u", 1, Rmw, true, [I64];
    I64AtomicRmw16SubU => "i64.atomic.rmw16.sub_u", 2, Rmw, true, [I64];
    I64AtomicRmw32SubU => "i64.atomic.rmw32.sub_u", 4, Rmw, true, [I64];
    I32AtomicRmwAnd => "i32.atomic.rmw.and", 4, Rmw, true, [I32];
    I64AtomicRmwAnd => "i64.atomic.rmw.and", 8, Rmw, true, [I64];
    I32AtomicRmw8AndU => "i32.atomic.rmw8.and_u", 1, Rmw, true, [I32];
    I32AtomicRmw16AndU => "i32.atomic.rmw16.and_u", 2, Rmw, true, [I32];
    I64AtomicRmw8AndU => "i64.atomic.rmw8.and_u", 1, Rmw, true, [I64];
    I64AtomicRmw16AndU => "i64.atomic.rmw16.and_u", 2, Rmw, true, [I64];
    I64AtomicRmw32AndU => "i64.atomic.rmw32.and_u", 4, Rmw, true, [I64];
    I32AtomicRmwOr => "i32.atomic.rmw.or", 4, Rmw, true, [I32];
    I64AtomicRmwOr => "i64.atomic.rmw.or", 8, Rmw, true, [I64];
    I32AtomicRmw8OrU => "i32.atomic.rmw8.or_u", 1, Rmw, true, [I32];
    I32AtomicRmw16OrU => "i32.atomic.rmw16.or_u", 2, Rmw, true, [I32];
    I64AtomicRmw8OrU => "i64.atomic.rmw8.or_u", 1, Rmw, true, [I64];
    I64AtomicRmw16OrU => "i64.atomic.rmw16.or_u", 2, Rmw, true, [I64];
    I64AtomicRmw32OrU => "i64.atomic.rmw32.or_u", 4, Rmw, true, [I64];
    I32AtomicRmwXor => "i32.atomic.rmw.xor", 4, Rmw, true, [I32];
    I64AtomicRmwXor => "i64.atomic.rmw.xor", 8, Rmw, true, [I64];
    I32AtomicRmw8XorU => "i32.atomic.rmw8.xor_u", 1, Rmw, true, [I32];
    I32AtomicRmw16XorU => "i32.atomic.rmw16.xor_u", 2, Rmw, true, [I32];
    I64AtomicRmw8XorU => "i64.atomic.rmw8.xor_u", 1, Rmw, true, [I64];
    I64AtomicRmw16XorU => "i64.atomic.rmw16.xor_u", 2, Rmw, true, [I64];
    I64AtomicRmw32XorU => "i64.atomic.rmw32.xor_u", 4, Rmw, true, [I64];
    I32AtomicRmwXchg => "i32.atomic.rmw.xchg", 4, Rmw, true, [I32];
    I64AtomicRmwXchg => "i64.atomic.rmw.xchg", 8, Rmw, true, [I64];
    I32AtomicRmw8XchgU => "i32.atomic.rmw8.xchg_u", 1, Rmw, true, [I32];
    I32AtomicRmw16XchgU => "i32.atomic.rmw16.xchg_u", 2, Rmw, true, [I32];
    I64AtomicRmw8XchgU => "i64.atomic.rmw8.xchg_u", 1, Rmw, true, [I64];
    I64AtomicRmw16XchgU => "i64.atomic.rmw16.xchg_u", 2, Rmw, true, [I64];
    I64AtomicRmw32XchgU => "i64.atomic.rmw32.xchg_u", 4, Rmw, true, [I64];
    I32AtomicRmwCmpxchg => "i32.atomic.rmw.cmpxchg", 4, Rmw, true, [I32, I32];
    I64AtomicRmwCmpxchg => "i64.atomic.rmw.cmpxchg", 8, Rmw, true, [I64, I64];
    I32AtomicRmw8CmpxchgU => "i32.atomic.rmw8.cmpxchg_u", 1, Rmw, true, [I32, I32];
    I32AtomicRmw16CmpxchgU => "i32.atomic.rmw16.cmpxchg_u", 2, Rmw, true, [I32, I32];
    I64AtomicRmw8CmpxchgU => "i64.atomic.rmw8.cmpxchg_u", 1, Rmw, true, [I64, I64];
    I64AtomicRmw16CmpxchgU => "i64.atomic.rmw16.cmpxchg_u", 2, Rmw, true, [I64, I64];
    I64AtomicRmw32CmpxchgU => "i64.atomic.rmw32.cmpxchg_u", 4, Rmw, true, [I64, I64];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_memarg_instruction_is_described_once() {
        // wasmparser's list of operators with a memarg, as of the version this crate uses.
        let mut names = NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), NAMES.len());
        assert_eq!(NAMES.len(), 111);
    }

    #[test]
    fn sizes_match_the_natural_alignment_limits() {
        // A memarg's largest valid alignment is the access size, except for lane and
        // splat/extend loads whose limit is the element size, which is what they touch here too,
        // and the 64-bit extending loads (`v128.load8x8_s` touches 8 bytes, aligns to 8).
        let module = wat::parse_str(
            r#"(module (memory 1 1 shared)
                (func (param i32) (result v128)
                  local.get 0 v128.load8x8_s align=8
                  local.get 0 v128.load32_zero align=4 i8x16.add
                  local.get 0 v128.load64_splat align=8 i8x16.add))"#,
        )
        .unwrap();
        let analysis = crate::analyse(&module).unwrap();
        let sizes: Vec<u8> = analysis.accesses.iter().map(|a| a.size).collect();
        assert_eq!(sizes, [8, 4, 8]);
    }
}
