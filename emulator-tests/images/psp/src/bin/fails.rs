//! A deliberate failure, for the runner's own tests.
#![no_std]
#![no_main]

flight_platform_psp::entry!(main);

fn main() -> ! {
    flight_suite::deliberate::fail(&flight_images_psp::board(), &mut flight_platform_psp::rt::Console);
    flight_platform_psp::rt::exit()
}
