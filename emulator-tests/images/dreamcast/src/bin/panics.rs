//! A deliberate panic, for the runners' own tests (exit status 101, from the panic handler).
#![no_std]
#![no_main]

flight_platform_dreamcast::entry!(main);

fn main() -> ! {
    flight_suite::deliberate::panic(&mut flight_platform_dreamcast::rt::Console)
}
