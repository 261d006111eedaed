//! Links every PSX image with the platform's script.
fn main() {
    flight_linker::use_script("psx.ld");
}
