//! Makes the PSX linker scripts findable by images built for the console.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("mips") {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("link");
        flight_linker::add_search_paths(&dir);
    }
}
