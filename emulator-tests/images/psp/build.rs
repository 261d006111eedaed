//! Links every PSP image with the platform's script additions.
fn main() {
    flight_linker::use_script("psp.ld");
}
