//! The serialised form of a layout plan: the `NAME.plan.json` file `flight plan` writes and
//! `flight merge` reads. This crate is its one home: one set of types, read and written.
//!
//! Addresses and sizes are integers (bytes). `start` and `end` are in the region's own address
//! space; `cpu_start` and `cpu_end` are CPU addresses, `null` for a region the CPU cannot
//! address. Permissions are written `rwx`, with `-` for a missing right.
//!
//! # Versions
//!
//! [`SCHEMA_VERSION`] is the version written, first in the file. It changes when a field
//! changes meaning or goes away; a field may be added within a version, and readers ignore
//! fields they do not know. [`read`] accepts exactly the versions this crate knows (1) and
//! names any other before it looks at the rest, so a plan from a newer tool is refused with
//! its version, not with a confusing field error.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The version of the format this crate writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A plan: where every segment of every component lies, and how well it fits.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Plan {
    /// [`SCHEMA_VERSION`] when written by this crate.
    pub schema_version: u32,
    /// The console (`psp-1000`).
    pub platform: String,
    /// The guard gap between neighbouring segments, in bytes.
    pub guard: u64,
    /// The budgets the segments were placed in.
    pub windows: Vec<Window>,
    /// Every segment, in address order within each window.
    pub segments: Vec<Segment>,
    /// The guard gaps between neighbouring segments.
    pub guards: Vec<Guard>,
    /// Bytes used, lost and free.
    pub summary: Summary,
    /// The layout's validation report.
    pub validation: Validation,
}

/// A budget: the part of a region the plan may use.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Window {
    /// The region (`main-ram`).
    pub region: String,
    /// Its first byte, in the region's address space.
    pub start: u64,
    /// One past its last byte.
    pub end: u64,
    /// `end - start`.
    pub size: u64,
    /// `start` as a CPU address, if the CPU can address the region.
    pub cpu_start: Option<u64>,
    /// `end` as a CPU address.
    pub cpu_end: Option<u64>,
}

/// One component's (or a shared region's) place.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Segment {
    /// The segment's name (a component's own segment is named after it by default).
    pub name: String,
    /// The component that owns it; `None` for a shared region no component owns.
    pub owner: Option<String>,
    /// Its region.
    pub region: String,
    /// Its first byte, in the region's address space.
    pub start: u64,
    /// One past its last byte.
    pub end: u64,
    /// `start` as a CPU address, if the CPU can address the region.
    pub cpu_start: Option<u64>,
    /// `end` as a CPU address.
    pub cpu_end: Option<u64>,
    /// `end - start`.
    pub size: u64,
    /// The size asked for, before rounding.
    pub requested: u64,
    /// Its alignment in bytes.
    pub align: u64,
    /// Its flags (`dma`, `video`, `audio`, `wasm`).
    pub flags: Vec<String>,
    /// Who may touch it, and how.
    pub access: Vec<Access>,
}

/// One component's rights over a segment.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Access {
    /// The component.
    pub component: String,
    /// `rwx`, with `-` for a missing right.
    pub permissions: String,
    /// Whether it owns the segment.
    pub owner: bool,
}

impl Access {
    /// Whether the component may write there.
    pub fn writes(&self) -> bool {
        self.permissions.contains('w')
    }
}

/// A gap nobody may touch between two neighbouring segments.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Guard {
    /// The region.
    pub region: String,
    /// Its first byte, in the region's address space.
    pub start: u64,
    /// One past its last byte.
    pub end: u64,
    /// `start` as a CPU address.
    pub cpu_start: Option<u64>,
    /// `end` as a CPU address.
    pub cpu_end: Option<u64>,
    /// `end - start`.
    pub size: u64,
    /// The segment below it.
    pub after: String,
    /// The segment above it.
    pub before: String,
}

/// Bytes used, lost and free, over every budget.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Summary {
    /// The budgets' bytes.
    pub budget: u64,
    /// Bytes in segments.
    pub used: u64,
    /// Bytes lost to rounding sizes up.
    pub rounding: u64,
    /// Bytes in guard gaps.
    pub guards: u64,
    /// Bytes lost to alignment padding.
    pub padding: u64,
    /// `rounding + guards + padding`.
    pub waste: u64,
    /// Bytes left.
    pub free: u64,
    /// Whether the order was proven optimal.
    pub exact: bool,
}

/// The layout's validation report.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Validation {
    /// No finding is an error.
    pub ok: bool,
    /// Every finding, in words.
    pub findings: Vec<String>,
    /// Findings beyond the report's capacity, counted only.
    pub dropped: usize,
    /// Each budget's use.
    pub windows: Vec<Usage>,
}

/// One budget's use.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
pub struct Usage {
    /// The budget's first byte.
    pub start: u64,
    /// One past its last byte.
    pub end: u64,
    /// Segments in it.
    pub segments: usize,
    /// Bytes in segments.
    pub used: u64,
    /// Bytes lost.
    pub waste: u64,
    /// Bytes free.
    pub free: u64,
    /// The largest free run.
    pub largest_free: u64,
    /// `1 - largest_free / free`.
    pub fragmentation: f32,
}

/// Why a plan could not be read, or has no segment for a component.
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Error {
    /// Not JSON, or not a plan: serde's message, with line and column.
    Malformed(String),
    /// A version this crate does not read.
    Version(u32),
    /// No segment is named after the component or owned by it.
    NoSegment(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(why) => write!(f, "not a plan: {why}"),
            Self::Version(v) => {
                write!(f, "plan schema version {v}, but this reads version {SCHEMA_VERSION} (plan it again)")
            }
            Self::NoSegment(c) => write!(f, "the plan has no segment named `{c}` or owned by it"),
        }
    }
}

impl std::error::Error for Error {}

/// Reads a plan (see [the versions](crate#versions)).
pub fn read(json: &str) -> Result<Plan, Error> {
    #[derive(Deserialize)]
    struct Versioned {
        schema_version: u32,
    }
    let v: Versioned = serde_json::from_str(json).map_err(|e| Error::Malformed(e.to_string()))?;
    if v.schema_version != SCHEMA_VERSION {
        return Err(Error::Version(v.schema_version));
    }
    serde_json::from_str(json).map_err(|e| Error::Malformed(e.to_string()))
}

impl Plan {
    /// The plan as pretty-printed JSON, `schema_version` first, ending with a newline.
    pub fn to_json(&self) -> String {
        // Strings, integers, bools, lists and one finite float: serialising cannot fail.
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The segment of `component`: the one named after it, else the one it owns (a segment
    /// flagged `wasm` first when several are).
    pub fn segment_for(&self, component: &str) -> Result<&Segment, Error> {
        let wasm = |s: &&&Segment| s.flags.iter().any(|f| f == "wasm");
        let named: Vec<&Segment> = self.segments.iter().filter(|s| s.name == component).collect();
        let owned: Vec<&Segment> =
            self.segments.iter().filter(|s| s.owner.as_deref() == Some(component)).collect();
        for group in [named, owned] {
            if let Some(s) = group.iter().find(wasm).or(group.first()) {
                return Ok(s);
            }
        }
        Err(Error::NoSegment(component.to_string()))
    }

    /// The segments `component` may reach without owning them (the shared regions it is a
    /// sharer of), each with its rights there.
    pub fn shared_with<'a>(&'a self, component: &'a str) -> impl Iterator<Item = (&'a Segment, &'a Access)> {
        self.segments.iter().filter_map(move |s| {
            let access = s.access.iter().find(|a| a.component == component && !a.owner)?;
            Some((s, access))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;

    fn segment(name: &str, owner: Option<&str>, start: u64, size: u64, flags: &[&str]) -> Segment {
        Segment {
            name: name.into(),
            owner: owner.map(Into::into),
            region: "main-ram".into(),
            start,
            end: start + size,
            cpu_start: Some(0x0880_0000 + start),
            cpu_end: Some(0x0880_0000 + start + size),
            size,
            requested: size,
            align: 65536,
            flags: flags.iter().map(|f| f.to_string()).collect(),
            access: owner
                .map(|o| Access { component: o.into(), permissions: "rw-".into(), owner: true })
                .into_iter()
                .collect(),
        }
    }

    fn plan() -> Plan {
        Plan {
            schema_version: SCHEMA_VERSION,
            platform: "psp-1000".into(),
            guard: 4096,
            windows: vec![Window {
                region: "main-ram".into(),
                start: 0,
                end: 1 << 20,
                size: 1 << 20,
                cpu_start: Some(0x0880_0000),
                cpu_end: Some(0x0890_0000),
            }],
            segments: vec![
                segment("physics", Some("physics"), 65536, 131072, &["wasm"]),
                segment("audio-data", Some("audio"), 262144, 4096, &[]),
                segment("heap", Some("audio"), 327680, 65536, &["wasm"]),
                segment("frames", None, 458752, 65536, &[]),
            ],
            guards: vec![Guard {
                region: "main-ram".into(),
                start: 196608,
                end: 200704,
                cpu_start: None,
                cpu_end: None,
                size: 4096,
                after: "physics".into(),
                before: "audio-data".into(),
            }],
            summary: Summary {
                budget: 1 << 20,
                used: 266240,
                rounding: 0,
                guards: 4096,
                padding: 0,
                waste: 4096,
                free: 778240,
                exact: true,
            },
            validation: Validation {
                ok: true,
                findings: vec![],
                dropped: 0,
                windows: vec![Usage {
                    start: 0,
                    end: 1 << 20,
                    segments: 4,
                    used: 266240,
                    waste: 4096,
                    free: 778240,
                    largest_free: 589824,
                    fragmentation: 0.242_105_26,
                }],
            },
        }
    }

    #[test]
    fn a_sharer_reaches_the_shared_regions_it_is_listed_in_with_its_rights() {
        let mut plan = plan();
        plan.segments[3].access = vec![
            Access { component: "physics".into(), permissions: "rw-".into(), owner: false },
            Access { component: "audio".into(), permissions: "r--".into(), owner: false },
        ];
        let rights = |c: &str| -> Vec<(String, bool)> {
            plan.shared_with(c).map(|(s, a)| (s.name.clone(), a.writes())).collect()
        };
        assert_eq!(rights("physics"), [("frames".to_string(), true)]);
        assert_eq!(rights("audio"), [("frames".to_string(), false)], "not its own segments");
        assert!(rights("renderer").is_empty());
    }

    #[test]
    fn a_plan_reads_back_as_written_version_first() {
        let p = plan();
        let text = p.to_json();
        assert!(text.starts_with("{\n  \"schema_version\": 1,\n  \"platform\": \"psp-1000\",\n"), "{text}");
        assert!(text.ends_with("}\n"));
        assert_eq!(read(&text).unwrap(), p);
    }

    #[test]
    fn fields_a_later_tool_adds_are_ignored() {
        let text = plan().to_json().replacen("\"guard\": 4096,", "\"guard\": 4096, \"colour\": \"blue\",", 1);
        assert_eq!(read(&text).unwrap(), plan());
    }

    #[test]
    fn another_version_or_a_broken_file_is_named() {
        let v2 = plan().to_json().replacen("\"schema_version\": 1", "\"schema_version\": 2", 1);
        assert_eq!(read(&v2).unwrap_err(), Error::Version(2));
        assert_eq!(
            Error::Version(2).to_string(),
            "plan schema version 2, but this reads version 1 (plan it again)"
        );
        let e = read("{").unwrap_err().to_string();
        assert!(e.starts_with("not a plan: EOF while parsing"), "{e}");
        // A version 1 plan with a field missing: serde names it.
        let e = read(r#"{"schema_version": 1, "segments": []}"#).unwrap_err().to_string();
        assert!(e.starts_with("not a plan: missing field `platform`"), "{e}");
        let e = read(r#"{"segments": []}"#).unwrap_err().to_string();
        assert!(e.contains("missing field `schema_version`"), "{e}");
    }

    #[test]
    fn a_component_s_segment_is_the_one_named_after_it_else_one_it_owns() {
        let p = plan();
        assert_eq!(p.segment_for("physics").unwrap().start, 65536);
        // audio owns two: the one flagged wasm.
        assert_eq!(p.segment_for("audio").unwrap().name, "heap");
        assert_eq!(p.segment_for("frames").unwrap().name, "frames");
        let e = p.segment_for("renderer").unwrap_err();
        assert_eq!(e.to_string(), "the plan has no segment named `renderer` or owned by it");
    }
}
