//! The library behind the `flight` command.
//!
//! The consoles' memory maps by name ([`platform`], [`PLATFORMS`]), so every command names a
//! console the same way; and `flight plan`: a TOML spec read and checked ([`spec`]), planned by
//! the layout engine ([`plan`]) and written out as a table, a JSON plan, a linker-script
//! fragment and SVG maps ([`render`]).

pub mod components;
pub mod host;
pub mod plan;
pub mod render;
pub mod spec;

use flight_memory::MemoryMap;

/// The spec `flight plan` plans when given none (`cli/examples/psp-1000.toml`): four
/// components and a shared buffer in 16 MiB of PSP-1000 user RAM.
pub const EXAMPLE: &str = include_str!("../examples/psp-1000.toml");

/// Every console map the command knows, by the name users type (and the two profiles of
/// machines with virtual memory).
pub const PLATFORMS: &[(&str, &MemoryMap)] = &[
    ("psx", &flight_platform_psx::map::MAP),
    ("psp-1000", &flight_platform_psp::map::PSP_1000),
    ("psp-2000", &flight_platform_psp::map::PSP_2000),
    ("dreamcast", &flight_platform_dreamcast::map::DREAMCAST),
    ("modern-32", &flight_memory::profiles::MODERN_32),
    ("modern-64", &flight_memory::profiles::MODERN_64),
];

/// A console name the command does not know.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UnknownPlatform(pub String);

impl std::fmt::Display for UnknownPlatform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let known: Vec<&str> = PLATFORMS.iter().map(|(n, _)| *n).collect();
        write!(f, "unknown platform `{}` (known: {})", self.0, known.join(", "))
    }
}

impl std::error::Error for UnknownPlatform {}

/// The map of the console called `name`.
pub fn platform(name: &str) -> Result<&'static MemoryMap, UnknownPlatform> {
    PLATFORMS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, m)| *m)
        .ok_or_else(|| UnknownPlatform(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_map_validates() {
        for (name, map) in PLATFORMS {
            assert_eq!(map.validate(), Ok(()), "{name}");
        }
    }

    #[test]
    fn names_are_found_and_unknown_ones_listed() {
        assert_eq!(platform("PSX").unwrap().name, "psx");
        let e = platform("n64").unwrap_err().to_string();
        assert!(e.starts_with("unknown platform `n64` (known: psx, "), "{e}");
    }
}
