#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

//! `flight plan` as users run it: the built-in example, specs that fail, and the files written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// A fresh, empty directory for one test, removed when the test ends.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(test: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("flight-plan-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Runs `flight plan ARGS` in `dir`: (exit code, stdout, stderr).
fn flight_plan(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_flight")).arg("plan").args(args).current_dir(dir).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Writes `spec` to `dir/NAME.toml` and plans it.
fn plan_spec(dir: &Path, name: &str, spec: &str) -> (i32, String, String) {
    let file = format!("{name}.toml");
    std::fs::write(dir.join(&file), spec).unwrap();
    flight_plan(dir, &[&file])
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `0x0900_0000` as a number.
fn hex(text: &str) -> u64 {
    u64::from_str_radix(&text.trim_start_matches("0x").replace('_', ""), 16).unwrap()
}

/// The JSON segment called `name`.
fn segment<'a>(json: &'a Value, name: &str) -> &'a Value {
    json["segments"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap()
}

const NAMES: [&str; 5] = ["physics", "renderer", "audio", "game-logic", "physics-to-renderer"];

#[test]
fn the_built_in_example_fits_and_writes_every_file() {
    let dir = scratch("example");
    let (code, out, err) = flight_plan(&dir, &[]);
    assert_eq!(code, 0, "{err}");
    let out_dir = dir.join("flight-plan");
    for file in ["example.plan.json", "example.ld", "example-main-ram.svg"] {
        assert!(out_dir.join(file).is_file(), "{file}");
        assert!(out.contains(&format!("  flight-plan/{file}\n")), "{out}");
    }
    assert!(out.contains("\norder    proven optimal\n"), "{out}");
    assert!(out.contains("\n  layout ok\n"), "{out}");

    let json = read_json(&out_dir.join("example.plan.json"));
    let text = std::fs::read_to_string(out_dir.join("example.plan.json")).unwrap();
    assert!(text.starts_with("{\n  \"schema_version\": 1,"), "{text}");
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["platform"], "psp-1000");
    assert_eq!(json["guard"], 4096);
    assert_eq!(json["segments"].as_array().unwrap().len(), 5);
    assert_eq!(json["validation"]["ok"], true);

    // The table's address column and the JSON agree, and every segment is in the top 16 MiB
    // of PSP-1000 user RAM.
    for name in NAMES {
        let row = out.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap();
        let range = row.split_whitespace().nth(3).unwrap();
        let (start, end) = range.split_once("..").unwrap();
        let s = segment(&json, name);
        assert_eq!(
            (hex(start), hex(end)),
            (s["cpu_start"].as_u64().unwrap(), s["cpu_end"].as_u64().unwrap())
        );
        assert!(hex(start) >= 0x0900_0000 && hex(end) <= 0x0a00_0000, "{row}");
        assert_eq!(hex(end) - hex(start), s["size"].as_u64().unwrap());
    }
    assert_eq!(segment(&json, "renderer")["size"], 8 << 20);
    assert_eq!(segment(&json, "renderer")["flags"][0], "dma");

    check_linker_fragment(&std::fs::read_to_string(out_dir.join("example.ld")).unwrap(), &json);
    check_svg(&std::fs::read_to_string(out_dir.join("example-main-ram.svg")).unwrap(), &json);
}

/// Every line of the fragment is a comment, a symbol assignment or an assertion, and the
/// symbols agree with the JSON.
fn check_linker_fragment(text: &str, json: &Value) {
    let mut symbols = HashMap::new();
    let mut in_comment = false;
    for line in text.lines() {
        if in_comment || line.starts_with("/*") {
            in_comment = !line.ends_with("*/");
            continue;
        }
        if line.is_empty() {
            continue;
        }
        if let Some(assert) = line.strip_prefix("ASSERT(") {
            let (condition, message) = assert.strip_suffix("\");").unwrap().split_once(", \"").unwrap();
            assert!(!message.contains('"') && !condition.is_empty(), "{line}");
            continue;
        }
        let (symbol, value) = line.strip_suffix(';').unwrap().split_once(" = ").unwrap();
        assert!(symbol.starts_with("__flight_"), "{line}");
        assert!(symbol.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{line}");
        assert!(value.starts_with("0x"), "{line}");
        assert!(symbols.insert(symbol.to_string(), hex(value)).is_none(), "{symbol} twice");
    }
    assert!(!in_comment);
    for s in json["segments"].as_array().unwrap() {
        let sym = format!("__flight_{}", s["name"].as_str().unwrap().replace('-', "_"));
        assert_eq!(symbols[&format!("{sym}_start")], s["cpu_start"].as_u64().unwrap(), "{sym}");
        assert_eq!(symbols[&format!("{sym}_end")], s["cpu_end"].as_u64().unwrap(), "{sym}");
        assert_eq!(symbols[&format!("{sym}_size")], s["size"].as_u64().unwrap(), "{sym}");
    }
    assert_eq!(symbols["__flight_budget_main_ram_start"], 0x0900_0000);
    assert_eq!(symbols["__flight_budget_main_ram_end"], 0x0a00_0000);
    assert_eq!(symbols.len(), 5 * 3 + 2);
}

/// The value of attribute `name` in `tag`.
fn attribute<'a>(tag: &'a str, name: &str) -> &'a str {
    let at = tag.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
    &tag[at..at + tag[at..].find('"').unwrap()]
}

/// One rectangle per segment, as wide as its size, inside a well-formed-looking document.
fn check_svg(text: &str, json: &Value) {
    assert!(text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{text}");
    assert!(text.ends_with("</svg>\n"));
    assert_eq!(text.matches('<').count(), text.matches('>').count());
    for tag in ["text", "title", "pattern", "defs"] {
        assert_eq!(
            text.matches(&format!("<{tag}")).count(),
            text.matches(&format!("</{tag}>")).count(),
            "{tag}"
        );
    }
    // Each rectangle is closed: `<rect .../>` or `<rect ...>...</rect>`.
    let self_closed =
        text.split("<rect").skip(1).filter(|r| r[..r.find('>').unwrap()].ends_with('/')).count();
    assert_eq!(text.matches("<rect").count(), self_closed + text.matches("</rect>").count());
    let rects: Vec<&str> = text.split("<rect class=\"segment\"").skip(1).collect();
    assert_eq!(rects.len(), 5);
    let window = 16.0 * 1024.0 * 1024.0;
    let bar: f64 = attribute(text.split("<rect class=\"free\"").nth(1).unwrap(), "width").parse().unwrap();
    for rect in rects {
        let name = rect.split("<title>").nth(1).unwrap().split(':').next().unwrap();
        let width: f64 = attribute(rect, "width").parse().unwrap();
        let size = segment(json, name)["size"].as_f64().unwrap();
        assert!((width - size / window * bar).abs() < 0.001, "{name}: {width}");
    }
    assert_eq!(text.matches("<rect class=\"guard\"").count(), 4);
    assert!(text.contains(">0x0900_0000</text>") && text.contains(">0x0a00_0000</text>"), "{text}");
}

const PSP: &str = "platform = \"psp-1000\"\n[[budget]]\nregion = \"main-ram\"\nsize = \"16 MiB\"\n";

#[test]
fn a_spec_that_does_not_fit_names_the_segment_and_the_missing_bytes() {
    let dir = scratch("too-big");
    let spec = format!(
        "{PSP}[[component]]\nname = \"world\"\nsize = \"10 MiB\"\n\n\
         [[component]]\nname = \"video\"\nsize = \"7 MiB\"\n"
    );
    let (code, out, err) = plan_spec(&dir, "big", &spec);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    // 17 MiB and one 4 KiB guard gap in 16 MiB.
    let tail = "does not fit in the budget of `main-ram`: 1028 KiB (1052672 bytes) missing\n";
    assert!(
        err == format!("big.toml:6:8: error: segment `world` {tail}")
            || err == format!("big.toml:10:8: error: segment `video` {tail}"),
        "{err}"
    );
    assert!(!dir.join("flight-plan").exists());
}

#[test]
fn a_malformed_spec_names_line_column_and_field() {
    let dir = scratch("malformed");
    let component = "[[component]]\nname = \"physics\"\n";
    for (spec, expected) in [
        (
            format!("{PSP}{component}size = \"4 MeB\"\n"),
            "bad.toml:7:8: error: component `physics`, field `size`: unknown unit `MeB` in `4 MeB` \
             (known: B, KiB, MiB, GiB, TiB)\n",
        ),
        (
            format!("{PSP}{component}size = 1\nflags = [\"dma\", \"mmu\"]\n"),
            "bad.toml:8:17: error: component `physics`, field `flags`: unknown flag `mmu` \
             (known: dma, video, wasm, audio)\n",
        ),
        (
            format!("{PSP}{component}size = 1\nalign = \"48 B\"\n"),
            "bad.toml:8:9: error: component `physics`, field `align`: alignment 48 is not a power of two\n",
        ),
        (
            format!("{PSP}{component}size = 1\ncolour = \"red\"\n"),
            "bad.toml:8:1: error: unknown field `colour`, expected one of `name`, `size`, `align`, \
             `flags`, `permissions`, `region`, `segment`, `isolation`\n",
        ),
        (
            format!("{PSP}{component}size = 1\nflags = [\"wasm\", \"masked\"]\n"),
            "bad.toml:8:18: error: component `physics`, field `flags`: unknown flag `masked` \
             (known: dma, video, wasm, audio); a component is masked with `isolation = \"mask\"`\n",
        ),
        (
            format!("{PSP}{component}size = 1\nisolation = \"mask\"\n"),
            "bad.toml:8:13: error: component `physics`, field `isolation`: masking confines a WebAssembly \
             component's accesses; add the `wasm` flag\n",
        ),
        (
            format!("{PSP}{component}size = 1\nflags = [\"wasm\"]\nisolation = \"paging\"\n"),
            "bad.toml:9:13: error: component `physics`, field `isolation`: unknown isolation `paging` \
             (known: checks, a bounds check before each access; mask, each address masked into a \
             power-of-two segment)\n",
        ),
        (
            format!(
                "{PSP}{component}size = 1\nflags = [\"wasm\"]\nisolation = \"mask\"\n\
                 [[shared]]\nname = \"s\"\nsize = 16\nsharers = {{ physics = \"r\" }}\n"
            ),
            "bad.toml:11:8: error: shared `s`: component `physics` is masked (isolation = \"mask\"), and a \
             mask reaches only its own segment; give it isolation = \"checks\" to share\n",
        ),
        (
            format!("{PSP}{component}size = [1]\n"),
            "bad.toml:7:8: error: field `size`: invalid type: sequence, expected a size: a number of \
             bytes or a string such as \"4 MiB\"\n",
        ),
        (
            format!("platform = \"psp-1000\"\n[[budget]]\nregion = \"ram\"\nsize = 1\n{component}size = 1\n"),
            "bad.toml:3:10: error: budget 1 (`ram`), field `region`: the map has no region `ram` \
             (regions of psp-1000: main-ram, scratchpad, vram, me-ram)\n",
        ),
        (
            format!(
                "{PSP}[[budget]]\nregion = \"main-ram\"\nsize = \"1 MiB\"\nstart = 0\n{component}size = 1\n"
            ),
            "bad.toml:6:10: error: budget in `main-ram`: window 0x0000_0000..0x0010_0000 (1 MiB) of region \
             `main-ram`: it lies outside the region\n",
        ),
    ] {
        let (code, out, err) = plan_spec(&dir, "bad", &spec);
        assert_eq!((code, out.as_str(), err.as_str()), (1, "", expected), "{spec}");
    }
}

#[test]
fn an_unknown_platform_lists_the_known_ones() {
    let dir = scratch("platform");
    let (code, _, err) = plan_spec(&dir, "n64", "platform = \"n64\"\n");
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "n64.toml:1:12: error: field `platform`: unknown platform `n64` \
         (known: psx, psp-1000, psp-2000, dreamcast, modern-32, modern-64)\n"
    );
}

#[test]
fn wasm_segments_are_whole_pages() {
    let dir = scratch("wasm");
    let spec = "platform = \"psx\"\n[[component]]\nname = \"script\"\nsize = 1000\nflags = [\"wasm\"]\n\
                [[component]]\nname = \"tiny\"\nsize = \"0x40\"\n";
    let (code, out, err) = plan_spec(&dir, "wasm", spec);
    assert_eq!(code, 0, "{err}");
    let row = out.lines().find(|l| l.starts_with("script ")).unwrap();
    assert!(row.contains(" 64 KiB (1000 B asked) ") && row.ends_with(" wasm"), "{row}");
    let json = read_json(&dir.join("flight-plan/wasm.plan.json"));
    let s = segment(&json, "script");
    assert_eq!(
        (s["size"].as_u64(), s["requested"].as_u64(), s["align"].as_u64()),
        (Some(65536), Some(1000), Some(65536))
    );
    assert_eq!(s["start"].as_u64().unwrap() % 65536, 0);
    assert_eq!(json["summary"]["rounding"], 65536 - 1000);
    // No budget: the largest free part of main RAM, past the BIOS's 64 KiB.
    assert_eq!(json["windows"][0]["start"], 0x1_0000);
    assert_eq!(json["windows"][0]["cpu_start"], 0x8001_0000_u64);
    assert!(dir.join("flight-plan/wasm-main-ram.svg").is_file());
}

#[test]
fn shared_segments_list_their_sharers() {
    let dir = scratch("shared");
    let spec = format!(
        "{PSP}[[component]]\nname = \"physics\"\nsize = \"1 MiB\"\npermissions = \"rwx\"\n\
         [[shared]]\nname = \"bodies\"\nsize = \"64 KiB\"\n\
         sharers = {{ physics = \"rw\", renderer = \"r\", audio = \"r\" }}\n"
    );
    let (code, out, err) = plan_spec(&dir, "shared", &spec);
    assert_eq!(code, 0, "{err}");
    let row = out.lines().find(|l| l.starts_with("bodies ")).unwrap();
    assert!(row.contains(" shared ") && row.contains(" physics rw-, renderer r--, audio r-- "), "{row}");
    let json = read_json(&dir.join("flight-plan/shared.plan.json"));
    let bodies = segment(&json, "bodies");
    assert_eq!(bodies["owner"], Value::Null);
    let access: Vec<(&str, &str, bool)> = bodies["access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["component"].as_str().unwrap(),
                a["permissions"].as_str().unwrap(),
                a["owner"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(access, [("physics", "rw-", false), ("renderer", "r--", false), ("audio", "r--", false)]);
    let physics = &segment(&json, "physics")["access"];
    assert_eq!(
        (physics[0]["permissions"].as_str(), physics[0]["owner"].as_bool()),
        (Some("rwx"), Some(true))
    );
}

#[test]
fn a_bad_sharer_permission_is_placed() {
    let dir = scratch("sharer");
    let spec = format!("{PSP}[[shared]]\nname = \"b\"\nsize = 64\nsharers = {{ a = \"rw\", c = \"rq\" }}\n");
    let (code, _, err) = plan_spec(&dir, "s", &spec);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "s.toml:8:27: error: shared `b`, field `sharers`, `c`: `rq` is not a set of permissions \
         (use r, rw, rx or rwx)\n"
    );
}

#[test]
fn a_missing_spec_is_an_error() {
    let dir = scratch("missing");
    let (code, out, err) = flight_plan(&dir, &["nowhere.toml"]);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(err.starts_with("error: cannot read nowhere.toml: "), "{err}");
}

#[test]
fn out_dir_names_the_directory() {
    let dir = scratch("out-dir");
    let (code, out, err) = flight_plan(&dir, &["--out-dir", "plans/psp"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.ends_with(
            "wrote\n  plans/psp/example.plan.json\n  plans/psp/example.ld\n  plans/psp/example-main-ram.svg\n"
        ),
        "{out}"
    );
}
