//! What a bounds check and a mask cost in the code each console runs: a probe of
//! [`ACCESSES`] loads and stores, rebased into a segment with checks, with masks and with
//! neither, translated by wasm2c and compiled as a components' build compiles it; the
//! instructions on its path from entry to return (the checks' trap calls lie off it) are
//! counted in the console's disassembly.

use std::path::Path;
use std::process::Command;

use flight_rebase::Options;

use crate::components::{self, Console};
use crate::{Error, output};

/// The probe's accesses: eight loads, then eight stores, at distinct offsets of an address
/// the rebaser cannot prove in bounds.
pub const ACCESSES: u32 = 16;

const PROBE: &str = r#"(module (memory 1)
  (func (export "probe") (param $a i32) (result i32) (local $s i32)
    local.get $a i32.load offset=0
    local.get $a i32.load offset=4 i32.add
    local.get $a i32.load offset=8 i32.add
    local.get $a i32.load offset=12 i32.add
    local.get $a i32.load offset=16 i32.add
    local.get $a i32.load offset=20 i32.add
    local.get $a i32.load offset=24 i32.add
    local.get $a i32.load offset=28 i32.add
    local.set $s
    local.get $a local.get $s i32.store offset=32
    local.get $a local.get $s i32.store offset=36
    local.get $a local.get $s i32.store offset=40
    local.get $a local.get $s i32.store offset=44
    local.get $a local.get $s i32.store offset=48
    local.get $a local.get $s i32.store offset=52
    local.get $a local.get $s i32.store offset=56
    local.get $a local.get $s i32.store offset=60
    local.get $s))"#;

/// The count on one console.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Cost {
    /// Instructions on the probe's path, checked.
    pub checked: u32,
    /// The same, masked.
    pub masked: u32,
    /// The same, neither.
    pub unchecked: u32,
}

impl Cost {
    /// The extra instructions per checked access, in hundredths (rounded).
    pub fn per_access_x100(self) -> u32 {
        Self::extra_x100(self.checked, self.unchecked)
    }

    /// The extra instructions per masked access, in hundredths (rounded).
    pub fn per_masked_access_x100(self) -> u32 {
        Self::extra_x100(self.masked, self.unchecked)
    }

    fn extra_x100(confined: u32, unconfined: u32) -> u32 {
        (confined.saturating_sub(unconfined) * 100 + ACCESSES / 2) / ACCESSES
    }
}

/// The instructions of `function` in `disassembly` (objdump -d) from its entry to its first
/// return and that return's delay slot (`jr ra` on MIPS, `rts` on the SH-4).
pub fn path_length(disassembly: &str, function: &str) -> Option<u32> {
    let mut lines = disassembly.lines().skip_while(|l| !l.ends_with(&format!("<{function}>:"))).skip(1);
    let mut count = 0;
    for line in lines.by_ref() {
        let Some((_, instruction)) = line.split_once(":\t") else {
            return None; // the function ended before a return
        };
        if instruction.starts_with(".word") || instruction.starts_with(".long") {
            continue; // a constant pool, not an instruction
        }
        count += 1;
        let op = instruction.split_whitespace().next().unwrap_or_default();
        if (op == "jr" && instruction.contains("ra")) || op == "rts" {
            return Some(count + 1);
        }
    }
    None
}

/// Counts the probe's path on `console`, with work files in `dir`.
pub fn measure(console: Console, dir: &Path) -> Result<Cost, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::new(format!("{}: {e}", dir.display())))?;
    let probe = wat::parse_str(PROBE).map_err(|e| Error::new(format!("the probe: {e}")))?;
    let mut counts = [0; 3];
    for (count, (name, checks, masks)) in counts.iter_mut().zip([
        ("checked", true, false),
        ("masked", false, true),
        ("unchecked", false, false),
    ]) {
        let options = Options::new(0x10_0000, 0x1_0000).with_bounds_checks(checks).with_masking(masks);
        let (rebased, _) =
            flight_rebase::rebase(&probe, &options).map_err(|e| Error::new(format!("the probe: {e}")))?;
        let (wasm, c, object) =
            (dir.join(format!("{name}.wasm")), dir.join(format!("{name}.c")), dir.join(format!("{name}.o")));
        std::fs::write(&wasm, rebased).map_err(|e| Error::new(format!("{}: {e}", wasm.display())))?;
        crate::wasm2c(&wasm, name, &c)?;
        components::compile(console, &c, &object, dir)?;
        let (_, c) = components::settings(console)?;
        let objdump = c.tool("objdump");
        let text = output(Command::new(&objdump).args(["-d", "--no-show-raw-insn"]).arg(&object), "objdump")?;
        let function = crate::wasm2c_symbol(name, "probe");
        *count = path_length(&text, &function)
            .ok_or_else(|| Error::new(format!("{}: no return found in {function}", object.display())))?;
    }
    Ok(Cost { checked: counts[0], masked: counts[1], unchecked: counts[2] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_ends_after_the_return_and_its_delay_slot() {
        let mips = "00000000 <f>:\n   0:\tlw\tv0,0(a0)\n   4:\tjr\tra\n   8:\tnop\n   c:\tjal\t0\n";
        assert_eq!(path_length(mips, "f"), Some(3));
        let sh4 = "00000000 <g>:\n   0:\tmov.l\t@r4,r0\n   2:\trts\t\n   4:\tnop\t\n   6:\t.word 0x1234\n";
        assert_eq!(path_length(sh4, "g"), Some(3));
        assert_eq!(path_length(mips, "h"), None);
        assert_eq!(path_length("00000000 <f>:\n   0:\tnop\n\n", "f"), None);
        assert_eq!(Cost { checked: 83, masked: 67, unchecked: 35 }.per_access_x100(), 300);
        assert_eq!(Cost { checked: 83, masked: 67, unchecked: 35 }.per_masked_access_x100(), 200);
        assert_eq!(Cost { checked: 184, masked: 0, unchecked: 109 }.per_access_x100(), 469);
    }
}
