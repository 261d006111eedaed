//! `flight run` as users run it: components planned, merged and run on the host, each trap
//! reported with its component, why and where, the others running on.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};

mod common;

use common::flight;

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("flight-run-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

const SPEC: &str = "platform = \"psx\"\n\
    [[component]]\nname = \"writer\"\nsize = \"64 KiB\"\nflags = [\"wasm\"]\n\
    [[component]]\nname = \"reader\"\nsize = \"64 KiB\"\nflags = [\"wasm\"]\n\
    [[shared]]\nname = \"ring\"\nsize = \"4 KiB\"\nsharers = { writer = \"rw\", reader = \"r\" }\n";

/// Writes `n * 3` into the ring each frame and returns it; at frame 2 stores past its memory.
const WRITER: &str = r#"(module (memory 1)
    (global $ring (mut i32) (i32.const 0))
    (func (export "attach") (param i32 i32) local.get 1 global.set $ring)
    (func (export "frame") (param i32) (result i32)
      global.get $ring local.get 0 i32.const 3 i32.mul i32.store
      local.get 0 i32.const 2 i32.eq if i32.const 65540 i32.const 1 i32.store end
      local.get 0 i32.const 3 i32.mul))"#;

/// Returns what the ring holds; at frame 3 writes to it, at frame 4 divides by zero.
const READER: &str = r#"(module (memory 1)
    (global $ring (mut i32) (i32.const 0))
    (func (export "attach") (param i32 i32) local.get 1 global.set $ring)
    (func (export "frame") (param i32) (result i32)
      local.get 0 i32.const 3 i32.eq if global.get $ring i32.const 0 i32.store end
      local.get 0 i32.const 4 i32.eq if i32.const 1 i32.const 0 i32.div_u drop end
      global.get $ring i32.load))"#;

fn setup(d: &Path, writer: &str, reader: &str) -> (String, String, String) {
    std::fs::write(d.join("game.toml"), SPEC).unwrap();
    std::fs::write(d.join("w.wasm"), wat::parse_str(writer).unwrap()).unwrap();
    std::fs::write(d.join("r.wasm"), wat::parse_str(reader).unwrap()).unwrap();
    (
        s(&d.join("game.toml")),
        format!("writer={}", s(&d.join("w.wasm"))),
        format!("reader={}", s(&d.join("r.wasm"))),
    )
}

#[test]
fn components_run_frame_by_frame_and_a_trap_stops_only_its_component() {
    let d = dir("ok");
    let (spec, w, r) = setup(&d, WRITER, READER);
    let (ok, out, err) = flight(&["run", &spec, &w, &r, "--frames", "6"]);
    assert!(ok, "{err}");
    let (ok, _, err) = flight(&["plan", &spec, "--out-dir", &s(&d)]);
    assert!(ok, "{err}");
    let plan = flight_plan::read(&std::fs::read_to_string(d.join("game.plan.json")).unwrap()).unwrap();
    let cpu = |name: &str| plan.segments.iter().find(|s| s.name == name).unwrap().cpu_start.unwrap();
    let past = cpu("writer") + 65540;
    let ring = cpu("ring");
    let expected = format!(
        "@@BEGIN@@\n\
         frame 0: writer=0 reader=0\n\
         frame 1: writer=3 reader=3\n\
         trap writer: write outside its memory at {}\n\
         frame 2: writer=trap reader=6\n\
         trap reader: write to a read-only shared region at {}\n\
         frame 3: writer=9 reader=trap\n\
         trap reader: integer divide by zero\n\
         frame 4: writer=12 reader=trap\n\
         frame 5: writer=15 reader=15\n\
         @@END@@\n",
        flight_memory::Address::new(past),
        flight_memory::Address::new(ring)
    );
    assert_eq!(out, expected);
    // Unchecked, the stray writes land: nothing stops either component (the reader's write
    // reaches the ring, so frame 3 reads 0), and only WebAssembly's own trap remains.
    let (ok, out, err) = flight(&["run", &spec, &w, &r, "--frames", "5", "--unchecked"]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "@@BEGIN@@\nframe 0: writer=0 reader=0\nframe 1: writer=3 reader=3\nframe 2: writer=6 reader=6\n\
         frame 3: writer=9 reader=0\ntrap reader: integer divide by zero\nframe 4: writer=12 reader=trap\n@@END@@\n"
    );
}

#[test]
fn components_the_runtime_cannot_run_are_refused_with_a_sentence() {
    let d = dir("bad");
    let no_frame = r#"(module (memory 1) (func (export "step")))"#;
    let (spec, w, r) = setup(&d, WRITER, no_frame);
    let (ok, _, err) = flight(&["run", &spec, &w, &r]);
    assert!(!ok && err.contains("component `reader` exports no `frame` function"), "{err}");
    let imports = r#"(module (import "env" "log" (func (param i32))) (memory 1)
        (func (export "frame") (param i32) (result i32) local.get 0))"#;
    let (spec, w, r) = setup(&d, WRITER, imports);
    let (ok, _, err) = flight(&["run", &spec, &w, &r]);
    assert!(!ok && err.contains("imports `env.log`: components may import nothing"), "{err}");
    let (ok, _, err) = flight(&["run", &spec, &w, &format!("stranger={}", s(&d.join("r.wasm")))]);
    assert!(!ok && err.contains("stranger"), "{err}");
}

/// A masked component (`isolation = "mask"`) whose stray writes, one at each 64 KiB block of
/// the memory above and below it, all land in its own segment: its neighbour's running sum,
/// kept where those writes point, is what it is alone; unmasked, the writes corrupt it. The
/// plan shows the segment masked and what masking costs.
#[test]
fn a_masked_component_stays_in_its_segment() {
    let d = dir("mask");
    let spec = "platform = \"psx\"\nguard = \"4 KiB\"\n\
        [[budget]]\nregion = \"main-ram\"\nstart = \"1 MiB\"\nsize = \"512 KiB\"\n\
        [[component]]\nname = \"sum\"\nsize = \"64 KiB\"\nflags = [\"wasm\"]\n\
        [[component]]\nname = \"wild\"\nsize = \"64 KiB\"\nflags = [\"wasm\"]\nisolation = \"mask\"\n";
    std::fs::write(d.join("game.toml"), spec).unwrap();
    let sum = r#"(module (memory 1) (func (export "frame") (param i32) (result i32)
        i32.const 16 i32.const 16 i32.load local.get 0 i32.add i32.const 7 i32.mul i32.store
        i32.const 16 i32.load))"#;
    let wild = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../emulator-tests/components/wild.wat"),
    )
    .unwrap();
    std::fs::write(d.join("sum.wasm"), wat::parse_str(sum).unwrap()).unwrap();
    std::fs::write(d.join("wild.wasm"), wat::parse_str(&wild).unwrap()).unwrap();
    let (spec, sum, wild) = (
        s(&d.join("game.toml")),
        format!("sum={}", s(&d.join("sum.wasm"))),
        format!("wild={}", s(&d.join("wild.wasm"))),
    );
    let (ok, alone, err) = flight(&["run", &spec, &sum, "--frames", "4"]);
    assert!(ok, "{err}");
    let (ok, both, err) = flight(&["run", &spec, &sum, &wild, "--frames", "4"]);
    assert!(ok, "{err}");
    assert_eq!(
        alone,
        "@@BEGIN@@\nframe 0: sum=0\nframe 1: sum=7\nframe 2: sum=63\nframe 3: sum=462\n@@END@@\n"
    );
    assert_eq!(
        both,
        "@@BEGIN@@\nframe 0: sum=0 wild=1\nframe 1: sum=7 wild=2\nframe 2: sum=63 wild=3\nframe 3: sum=462 wild=4\n@@END@@\n"
    );
    // Unmasked, the writes reach the neighbour's sum (and past the memory's end).
    let (ok, unmasked, err) = flight(&["run", &spec, &sum, &wild, "--frames", "4", "--unchecked"]);
    assert!(ok, "{err}");
    assert!(unmasked.contains("frame 1: sum=14 "), "{unmasked}");
    let (ok, plan, err) = flight(&["plan", &spec, "--out-dir", &s(&d)]);
    assert!(ok, "{err}");
    assert!(plan.lines().any(|l| l.starts_with("wild ") && l.ends_with("wasm masked")), "{plan}");
    assert!(plan.lines().any(|l| l.starts_with("masking ")), "{plan}");
}
