//! Makes the PSP linker script findable by images built for the console.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("psp") {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("link");
        flight_linker::add_search_paths(&dir);
    }
}
