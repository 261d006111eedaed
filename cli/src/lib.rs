//! The library behind the `flight` command.
//!
//! Today: the consoles' memory maps by name ([`platform`], [`PLATFORMS`]). Later subcommands
//! (plan a layout, render its map, rebase and merge modules) build on the same table, so every
//! command names a console the same way.

use flight_memory::MemoryMap;

/// Every console map the command knows, by the name users type.
pub const PLATFORMS: &[(&str, &MemoryMap)] = &[
    ("psx", &flight_platform_psx::map::MAP),
    ("psp-1000", &flight_platform_psp::map::PSP_1000),
    ("psp-2000", &flight_platform_psp::map::PSP_2000),
    ("dreamcast", &flight_platform_dreamcast::map::DREAMCAST),
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
