//! The TOML spec `flight plan` reads: a console, a guard size, budgets, and the segments to
//! place (components' own and shared ones).
//!
//! [`Spec::parse`] reads the text in two steps: serde with `deny_unknown_fields` checks the
//! structure and keeps the position of every value ([`toml::Spanned`]); then each value is
//! checked against the console (sizes, alignments, flags, permissions, regions), so every
//! error carries the byte span it is about and names its field ([`SpecError`]).

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use flight_memory::layout::{MAX_SHARERS, SegmentFlags, SegmentRequest, Sharer};
use flight_memory::{Alignment, ByteSize, MemoryMap, Permissions};
use serde::Deserialize;
use toml::Spanned;

/// What is wrong with a spec (or with planning it), and where.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SpecError {
    /// The bytes of the spec the error is about, if it is about a place.
    pub span: Option<Range<usize>>,
    /// What is wrong.
    pub message: String,
}

impl SpecError {
    /// An error about the bytes `span`.
    pub fn at(span: Range<usize>, message: impl Into<String>) -> Self {
        Self { span: Some(span), message: message.into() }
    }

    /// An error about the spec as a whole.
    pub fn whole(message: impl Into<String>) -> Self {
        Self { span: None, message: message.into() }
    }

    /// `PATH:LINE:COL: error: MESSAGE` (`PATH: error: MESSAGE` without a place), for the spec
    /// `source` read from `path`.
    pub fn located(&self, path: &str, source: &str) -> String {
        match &self.span {
            Some(span) => {
                let (line, col) = line_col(source, span.start);
                format!("{path}:{line}:{col}: error: {}", self.message)
            }
            None => format!("{path}: error: {}", self.message),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SpecError {}

/// The 1-based line and column (in characters) of byte `at` of `source`.
pub fn line_col(source: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(source.len());
    while !source.is_char_boundary(at) {
        at -= 1;
    }
    let before = &source[..at];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

/// The units a size may carry, and their bytes.
const UNITS: &[(&str, u64)] =
    &[("B", 1), ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40)];

/// Parses a size: a decimal or `0x` hexadecimal number (`_` may group digits), optionally
/// followed by a unit (`B`, `KiB`, `MiB`, `GiB`, `TiB`): `"4 MiB"`, `"256KiB"`, `"0x1000"`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, radix, rest) = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => {
            let end = hex.find(|c: char| !(c.is_ascii_hexdigit() || c == '_')).unwrap_or(hex.len());
            (&hex[..end], 16, &hex[end..])
        }
        None => {
            let end = t.find(|c: char| !(c.is_ascii_digit() || c == '_')).unwrap_or(t.len());
            (&t[..end], 10, &t[end..])
        }
    };
    let bad = || {
        format!(
            "`{text}` is not a size: give bytes, or a number and a unit (B, KiB, MiB, GiB, TiB), or 0x hex"
        )
    };
    if !digits.starts_with(|c: char| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let number =
        u64::from_str_radix(&digits.replace('_', ""), radix).map_err(|_| format!("`{text}` is too large"))?;
    let unit = rest.trim();
    let scale = if unit.is_empty() {
        1
    } else {
        let known = UNITS.iter().find(|(name, _)| *name == unit);
        known
            .map(|(_, bytes)| *bytes)
            .ok_or_else(|| format!("unknown unit `{unit}` in `{text}` (known: B, KiB, MiB, GiB, TiB)"))?
    };
    number.checked_mul(scale).ok_or_else(|| format!("`{text}` is too large"))
}

/// A size as written: bytes, or text for [`parse_size`].
#[derive(Clone, PartialEq, Eq, Debug)]
enum RawSize {
    Bytes(u64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = RawSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size: a number of bytes or a string such as \"4 MiB\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RawSize, E> {
                u64::try_from(v).map(RawSize::Bytes).map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RawSize, E> {
                Ok(RawSize::Bytes(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawSize, E> {
                Ok(RawSize::Text(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A `sharers` table, in the order written.
#[derive(Clone, Debug)]
struct RawSharers(Vec<(String, Spanned<String>)>);

impl<'de> Deserialize<'de> for RawSharers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawSharers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of component = \"permissions\"")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<RawSharers, A::Error> {
                let mut v = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    v.push(entry);
                }
                Ok(RawSharers(v))
            }
        }
        d.deserialize_map(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    platform: Spanned<String>,
    guard: Option<Spanned<RawSize>>,
    #[serde(default)]
    budget: Vec<RawBudget>,
    #[serde(default)]
    component: Vec<RawComponent>,
    #[serde(default)]
    shared: Vec<RawShared>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBudget {
    region: Spanned<String>,
    size: Spanned<RawSize>,
    start: Option<Spanned<RawSize>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    name: Spanned<String>,
    size: Spanned<RawSize>,
    align: Option<Spanned<RawSize>>,
    #[serde(default)]
    flags: Vec<Spanned<String>>,
    permissions: Option<Spanned<String>>,
    region: Option<Spanned<String>>,
    segment: Option<Spanned<String>>,
    isolation: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShared {
    name: Spanned<String>,
    size: Spanned<RawSize>,
    align: Option<Spanned<RawSize>>,
    #[serde(default)]
    flags: Vec<Spanned<String>>,
    region: Option<Spanned<String>>,
    sharers: Spanned<RawSharers>,
}

/// A budget: a window of a region the plan may use.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Budget {
    /// The region's name.
    pub region: String,
    /// How many bytes.
    pub size: ByteSize,
    /// Where it starts in the region's own address space; `None`: at the top of the region's
    /// largest free part.
    pub start: Option<u64>,
    /// Where the spec gives it.
    pub span: Range<usize>,
}

/// A segment to place: a component's own, or a shared one.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SegmentSpec {
    /// The segment's name.
    pub name: String,
    /// The component that owns it; `None` for a shared segment.
    pub owner: Option<String>,
    /// What the owner may do.
    pub permissions: Permissions,
    /// The other components that may use it, and how.
    pub sharers: Vec<(String, Permissions)>,
    /// How many bytes.
    pub size: ByteSize,
    /// The alignment asked for.
    pub align: Option<Alignment>,
    /// What it needs from its region.
    pub flags: SegmentFlags,
    /// The region it must go in.
    pub region: Option<String>,
    /// Where the spec names it.
    pub span: Range<usize>,
}

/// A checked spec.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The console's name, as the platform table spells it.
    pub platform: &'static str,
    /// The console's map.
    pub map: &'static MemoryMap,
    /// The guard gap between neighbouring segments.
    pub guard: ByteSize,
    /// The budgets, in the order given (none: see [`Spec::default_regions`]).
    pub budgets: Vec<Budget>,
    /// The segments, components' first, then shared ones, each in the order given.
    pub segments: Vec<SegmentSpec>,
}

/// The guard gap when the spec gives none.
pub const DEFAULT_GUARD: ByteSize = ByteSize::kib(4);

/// The bytes of `v` as a size, or an error naming `what` (`component `x`, field `size``).
fn size_of(v: &Spanned<RawSize>, what: &str) -> Result<u64, SpecError> {
    match v.get_ref() {
        RawSize::Bytes(b) => Ok(*b),
        RawSize::Text(t) => parse_size(t).map_err(|e| SpecError::at(v.span(), format!("{what}: {e}"))),
    }
}

/// The alignment `v`, or an error naming `what`.
fn align_of(v: &Spanned<RawSize>, what: &str) -> Result<Alignment, SpecError> {
    let n = size_of(v, what)?;
    Alignment::new(n).map_err(|e| SpecError::at(v.span(), format!("{what}: {e}")))
}

/// The permissions `v`, or an error naming `what`.
fn permissions_of(v: &Spanned<String>, what: &str) -> Result<Permissions, SpecError> {
    Permissions::parse(v.get_ref()).filter(|p| !p.is_empty()).ok_or_else(|| {
        SpecError::at(
            v.span(),
            format!("{what}: `{}` is not a set of permissions (use r, rw, rx or rwx)", v.get_ref()),
        )
    })
}

/// How a WebAssembly component is kept inside its segment: the flags `isolation = "..."` adds.
fn isolation_of(v: &Spanned<String>, flags: SegmentFlags, what: &str) -> Result<SegmentFlags, SpecError> {
    match v.get_ref().as_str() {
        "checks" => Ok(SegmentFlags::NONE),
        "mask" if flags.contains(SegmentFlags::WASM) => Ok(SegmentFlags::MASKED),
        "mask" => Err(SpecError::at(
            v.span(),
            format!("{what}: masking confines a WebAssembly component's accesses; add the `wasm` flag"),
        )),
        other => Err(SpecError::at(
            v.span(),
            format!(
                "{what}: unknown isolation `{other}` (known: checks, a bounds check before each access; \
                 mask, each address masked into a power-of-two segment)"
            ),
        )),
    }
}

/// The flags `v`, or an error naming `what`.
fn flags_of(v: &[Spanned<String>], what: &str) -> Result<SegmentFlags, SpecError> {
    v.iter().try_fold(SegmentFlags::NONE, |flags, f| {
        let flag = SegmentFlags::parse(f.get_ref()).ok_or_else(|| {
            let hint = if f.get_ref() == "masked" {
                "; a component is masked with `isolation = \"mask\"`"
            } else {
                ""
            };
            SpecError::at(
                f.span(),
                format!("{what}: unknown flag `{}` (known: dma, video, wasm, audio){hint}", f.get_ref()),
            )
        })?;
        Ok(flags.union(flag))
    })
}

/// Whether `name` is a name: printable text, not empty.
fn is_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(char::is_control)
}

/// The name `v`, or an error naming `what`.
fn name_of(v: &Spanned<String>, what: &str) -> Result<String, SpecError> {
    if !is_name(v.get_ref()) {
        return Err(SpecError::at(v.span(), format!("{what}: a name is printable text, not empty")));
    }
    Ok(v.get_ref().clone())
}

/// The region `v` of `map`, or an error listing the map's regions.
fn region_of(map: &MemoryMap, v: &Spanned<String>, what: &str) -> Result<String, SpecError> {
    if map.region(v.get_ref()).is_some() {
        return Ok(v.get_ref().clone());
    }
    let known: Vec<&str> = map.regions.iter().map(|r| r.name).collect();
    let e = flight_memory::layout::LayoutError::UnknownRegion(v.get_ref());
    Err(SpecError::at(v.span(), format!("{what}: {e} (regions of {}: {})", map.name, known.join(", "))))
}

/// A toml error as a [`SpecError`]. Type errors name the key the value belongs to.
fn toml_error(e: &toml::de::Error, source: &str) -> SpecError {
    let message = e.message().trim_end().to_string();
    let Some(span) = e.span() else { return SpecError::whole(message) };
    // The key of a value is the last `key =` on its line before it.
    let line = source.get(..span.start).map_or("", |b| b.rsplit('\n').next().unwrap_or(""));
    let key = line.rsplit_once('=').map(|(k, _)| k.rsplit(['{', ',']).next().unwrap_or(k).trim());
    match key {
        Some(k) if !k.is_empty() && message.starts_with("invalid ") => {
            SpecError::at(span, format!("field `{}`: {message}", k.trim_matches('"')))
        }
        _ => SpecError::at(span, message),
    }
}

impl Spec {
    /// The most segments a spec may have (the planner's table capacity).
    pub const MAX_SEGMENTS: usize = crate::plan::CAPACITY;

    /// Reads and checks a spec.
    pub fn parse(source: &str) -> Result<Self, SpecError> {
        let raw: RawSpec = toml::from_str(source).map_err(|e| toml_error(&e, source))?;
        let platform = crate::platform(raw.platform.get_ref())
            .map_err(|e| SpecError::at(raw.platform.span(), format!("field `platform`: {e}")))?;
        let guard = match &raw.guard {
            Some(g) => ByteSize::bytes(size_of(g, "field `guard`")?),
            None => DEFAULT_GUARD,
        };
        let mut budgets = Vec::new();
        for (i, b) in raw.budget.iter().enumerate() {
            let what = |field: &str| format!("budget {} (`{}`), field `{field}`", i + 1, b.region.get_ref());
            budgets.push(Budget {
                region: region_of(platform, &b.region, &what("region"))?,
                size: ByteSize::bytes(size_of(&b.size, &what("size"))?),
                start: b.start.as_ref().map(|s| size_of(s, &what("start"))).transpose()?,
                span: b.region.span(),
            });
        }
        if budgets.len() > flight_memory::layout::MAX_WINDOWS {
            let at = raw.budget[flight_memory::layout::MAX_WINDOWS].region.span();
            let max = flight_memory::layout::MAX_WINDOWS;
            return Err(SpecError::at(at, format!("a spec has at most {max} budgets")));
        }
        let mut segments = Vec::new();
        for c in &raw.component {
            let what = |field: &str| format!("component `{}`, field `{field}`", c.name.get_ref());
            let name_field = c.segment.as_ref().unwrap_or(&c.name);
            let mut flags = flags_of(&c.flags, &what("flags"))?;
            if let Some(i) = &c.isolation {
                flags = flags.union(isolation_of(i, flags, &what("isolation"))?);
            }
            segments.push(SegmentSpec {
                name: name_of(name_field, &what(if c.segment.is_some() { "segment" } else { "name" }))?,
                owner: Some(name_of(&c.name, &what("name"))?),
                permissions: match &c.permissions {
                    Some(p) => permissions_of(p, &what("permissions"))?,
                    None => Permissions::RW,
                },
                sharers: Vec::new(),
                size: ByteSize::bytes(size_of(&c.size, &what("size"))?),
                align: c.align.as_ref().map(|a| align_of(a, &what("align"))).transpose()?,
                flags,
                region: c.region.as_ref().map(|r| region_of(platform, r, &what("region"))).transpose()?,
                span: name_field.span(),
            });
        }
        for s in &raw.shared {
            let what = |field: &str| format!("shared `{}`, field `{field}`", s.name.get_ref());
            let mut sharers = Vec::new();
            for (component, p) in &s.sharers.get_ref().0 {
                let what = what("sharers");
                if !is_name(component) {
                    return Err(SpecError::at(
                        s.sharers.span(),
                        format!("{what}: a name is printable text, not empty"),
                    ));
                }
                sharers.push((component.clone(), permissions_of(p, &format!("{what}, `{component}`"))?));
            }
            if sharers.is_empty() || sharers.len() > MAX_SHARERS {
                let m = format!("{}: a shared segment has 1 to {MAX_SHARERS} sharers", what("sharers"));
                return Err(SpecError::at(s.sharers.span(), m));
            }
            segments.push(SegmentSpec {
                name: name_of(&s.name, &what("name"))?,
                owner: None,
                permissions: Permissions::NONE,
                sharers,
                size: ByteSize::bytes(size_of(&s.size, &what("size"))?),
                align: s.align.as_ref().map(|a| align_of(a, &what("align"))).transpose()?,
                flags: flags_of(&s.flags, &what("flags"))?,
                region: s.region.as_ref().map(|r| region_of(platform, r, &what("region"))).transpose()?,
                span: s.name.span(),
            });
        }
        check_segments(&segments)?;
        // A mask reaches nothing outside the component's segment.
        for s in &segments {
            for (sharer, _) in &s.sharers {
                if segments
                    .iter()
                    .any(|m| m.owner.as_ref() == Some(sharer) && m.flags.contains(SegmentFlags::MASKED))
                {
                    return Err(SpecError::at(
                        s.span.clone(),
                        format!(
                            "shared `{}`: component `{sharer}` is masked (isolation = \"mask\"), and a mask reaches \
                             only its own segment; give it isolation = \"checks\" to share",
                            s.name
                        ),
                    ));
                }
            }
        }
        Ok(Self { platform: platform.name, map: platform, guard, budgets, segments })
    }

    /// The regions whose largest free part is the budget when the spec gives none: every
    /// main-RAM region the CPU addresses, and every region a segment names, in map order.
    pub fn default_regions(&self) -> Vec<&'static str> {
        let named = |name: &str| self.segments.iter().any(|s| s.region.as_deref() == Some(name));
        let main = |r: &flight_memory::Region| {
            r.kind == flight_memory::RegionKind::Main && r.attributes.cpu_addressable
        };
        self.map.regions.iter().filter(|r| main(r) || named(r.name)).map(|r| r.name).collect()
    }

    /// Each segment's sharers, as the planner takes them (index by segment).
    pub fn sharers(&self) -> Vec<Vec<Sharer<'_>>> {
        self.segments
            .iter()
            .map(|s| {
                s.sharers.iter().map(|(c, p)| Sharer { component: c.as_str(), permissions: *p }).collect()
            })
            .collect()
    }

    /// The planner's requests, with the sharers of [`sharers`](Self::sharers).
    pub fn requests<'s>(&'s self, sharers: &'s [Vec<Sharer<'s>>]) -> Vec<SegmentRequest<'s>> {
        self.segments
            .iter()
            .zip(sharers)
            .map(|(s, shared)| {
                let mut r = match &s.owner {
                    Some(owner) => SegmentRequest::new(owner, s.size)
                        .named(&s.name)
                        .with_permissions(s.permissions)
                        .shared_with(shared),
                    None => SegmentRequest::shared(&s.name, s.size, shared),
                };
                r.align = s.align;
                r.flags = s.flags;
                r.region = s.region.as_deref();
                r
            })
            .collect()
    }

    /// The segment called `name`.
    pub fn segment(&self, name: &str) -> Option<&SegmentSpec> {
        self.segments.iter().find(|s| s.name == name)
    }
}

/// Checks what the segments need together: some, not too many, unique names and linker
/// symbols, sizes not zero.
fn check_segments(segments: &[SegmentSpec]) -> Result<(), SpecError> {
    if segments.is_empty() {
        return Err(SpecError::whole("the spec has no [[component]] and no [[shared]] segment"));
    }
    if segments.len() > Spec::MAX_SEGMENTS {
        return Err(SpecError::whole(format!(
            "the spec has {} segments; `flight plan` places at most {}",
            segments.len(),
            Spec::MAX_SEGMENTS
        )));
    }
    let mut components: Vec<&str> = segments
        .iter()
        .flat_map(|s| s.owner.iter().map(String::as_str).chain(s.sharers.iter().map(|(c, _)| c.as_str())))
        .collect();
    components.sort_unstable();
    components.dedup();
    if components.len() > Spec::MAX_SEGMENTS {
        return Err(SpecError::whole(format!(
            "the spec names {} components; `flight plan` handles at most {}",
            components.len(),
            Spec::MAX_SEGMENTS
        )));
    }
    let mut symbols: HashMap<String, &SegmentSpec> = HashMap::new();
    for s in segments {
        if s.size == ByteSize::ZERO {
            return Err(SpecError::at(s.span.clone(), format!("segment `{}`: its size is zero", s.name)));
        }
        if let Some(first) = symbols.insert(crate::render::symbol(&s.name), s) {
            let message = if first.name == s.name {
                format!("two segments are called `{}`", s.name)
            } else {
                format!(
                    "segments `{}` and `{}` would have the same linker symbols (__flight_{}_start ...)",
                    first.name,
                    s.name,
                    crate::render::symbol(&s.name)
                )
            };
            return Err(SpecError::at(s.span.clone(), message));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_units_hex_and_separators() {
        for (text, bytes) in [
            ("4 MiB", 4 << 20),
            ("256 KiB", 256 << 10),
            ("256KiB", 256 << 10),
            ("0x1000", 0x1000),
            ("0x10 KiB", 16 << 10),
            ("0x1B", 27),
            ("512 B", 512),
            ("512", 512),
            (" 1_024 ", 1024),
            ("2 GiB", 2 << 30),
            ("128 TiB", 128 << 40),
            ("0x0900_0000", 0x0900_0000),
        ] {
            assert_eq!(parse_size(text), Ok(bytes), "{text}");
        }
    }

    #[test]
    fn bad_sizes_say_why() {
        assert_eq!(
            parse_size("4 MeB").unwrap_err(),
            "unknown unit `MeB` in `4 MeB` (known: B, KiB, MiB, GiB, TiB)"
        );
        assert!(parse_size("4 KB").unwrap_err().starts_with("unknown unit `KB`"));
        assert!(parse_size("").unwrap_err().contains("is not a size"));
        assert!(parse_size("MiB").unwrap_err().contains("is not a size"));
        assert!(parse_size("-4").unwrap_err().contains("is not a size"));
        assert!(parse_size("1.5 MiB").unwrap_err().starts_with("unknown unit `.5 MiB`"));
        assert_eq!(parse_size("0x").unwrap_err(), parse_size("0x").unwrap_err());
        assert!(parse_size("0x").unwrap_err().contains("is not a size"));
        assert_eq!(parse_size("99999999999999999999").unwrap_err(), "`99999999999999999999` is too large");
        assert_eq!(parse_size("16777216 TiB").unwrap_err(), "`16777216 TiB` is too large");
    }

    #[test]
    fn lines_and_columns_count_characters() {
        let s = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(s, 0), (1, 1));
        assert_eq!(line_col(s, 6), (2, 1));
        assert_eq!(line_col(s, s.find('"').unwrap()), (2, 6));
        assert_eq!(line_col(s, 999), (3, 1));
    }

    #[test]
    fn the_built_in_example_is_a_valid_spec() {
        let spec = Spec::parse(crate::EXAMPLE).unwrap();
        assert_eq!((spec.platform, spec.guard), ("psp-1000", ByteSize::kib(4)));
        let names: Vec<&str> = spec.segments.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["physics", "renderer", "audio", "game-logic", "physics-to-renderer"]);
        let shared = &spec.segments[4];
        assert_eq!(shared.owner, None);
        assert_eq!(
            shared.sharers,
            [("physics".to_string(), Permissions::RW), ("renderer".to_string(), Permissions::READ)]
        );
    }

    fn error(source: &str) -> String {
        Spec::parse(source).unwrap_err().located("s.toml", source)
    }

    #[test]
    fn errors_name_place_and_field() {
        let head = "platform = \"psp-1000\"\n[[component]]\nname = \"a\"\n";
        assert_eq!(
            error(&format!("{head}size = \"4 MeB\"\n")),
            "s.toml:4:8: error: component `a`, field `size`: unknown unit `MeB` in `4 MeB` \
             (known: B, KiB, MiB, GiB, TiB)"
        );
        assert_eq!(
            error(&format!("{head}size = 1\nalign = 12\n")),
            "s.toml:5:9: error: component `a`, field `align`: alignment 12 is not a power of two"
        );
        assert_eq!(
            error(&format!("{head}size = 1\nflags = [\"dma\", \"dmx\"]\n")),
            "s.toml:5:17: error: component `a`, field `flags`: unknown flag `dmx` \
             (known: dma, video, wasm, audio)"
        );
        assert!(
            error(&format!("{head}size = 1\ncolour = 3\n"))
                .starts_with("s.toml:5:1: error: unknown field `colour`")
        );
        assert!(
            error(&format!("{head}size = true\n"))
                .starts_with("s.toml:4:8: error: field `size`: invalid type")
        );
        assert!(error(&format!("{head}size = -1\n")).contains("a size cannot be negative"));
        assert_eq!(
            error("platform = \"n64\"\n"),
            "s.toml:1:12: error: field `platform`: unknown platform `n64` \
             (known: psx, psp-1000, psp-2000, dreamcast, modern-32, modern-64)"
        );
        assert!(
            error(&format!("{head}size = 1\nregion = \"ram\"\n"))
                .contains("field `region`: the map has no region `ram` (regions of psp-1000: main-ram, ")
        );
        assert!(error(&format!("{head}size = 1\npermissions = \"rq\"\n")).contains("`rq` is not a set"));
        assert!(error(&format!("{head}size = 0\n")).ends_with("segment `a`: its size is zero"));
        assert!(
            error(&format!("{head}size = 1\n[[component]]\nname = \"a\"\nsize = 1\n"))
                .starts_with("s.toml:6:8: error: two segments")
        );
        let clash = format!("{head}size = 1\n[[component]]\nname = \"a.b\"\nsegment = \"a\"\nsize = 1\n");
        assert!(error(&clash).contains("two segments are called `a`"), "{}", error(&clash));
        let clash = format!(
            "{head}size = 1\n[[component]]\nname = \"a-\"\nsize = 1\n[[component]]\nname = \"a_\"\nsize = 1\n"
        );
        assert!(error(&clash).contains("segments `a-` and `a_` would have the same linker symbols"));
        assert_eq!(
            error("platform = \"psx\"\n"),
            "s.toml: error: the spec has no [[component]] and no [[shared]] segment"
        );
        assert!(
            error("platform = \"psx\"\n[[shared]]\nname = \"s\"\nsize = 1\nsharers = {}\n")
                .contains("1 to 8 sharers")
        );
    }
}
