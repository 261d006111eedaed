//! The `flight` binary as users run it.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod common;

use common::flight;

#[test]
fn map_prints_the_psx_map() {
    let (ok, out, _) = flight(&["map", "psx"]);
    assert!(ok);
    assert!(out.starts_with("psx memory map\n"), "{out}");
    assert!(out.contains("view kseg1    0xa000_0000 uncached"), "{out}");
    assert!(out.contains("vram           video         1 MiB at gpu"), "{out}");
}

#[test]
fn an_unknown_platform_is_an_error_that_lists_the_known_ones() {
    let (ok, out, err) = flight(&["map", "gamecube"]);
    assert!(!ok && out.is_empty());
    assert!(
        err.contains(
            "unknown platform `gamecube` (known: psx, psp-1000, psp-2000, dreamcast, modern-32, modern-64)"
        ),
        "{err}"
    );
}

#[test]
fn platforms_lists_every_console() {
    let (ok, out, _) = flight(&["platforms"]);
    assert!(ok);
    assert!(out.contains("psx        2 MiB main RAM"), "{out}");
    assert_eq!(out.lines().count(), 6, "{out}");
}
