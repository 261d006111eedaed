//! A deliberate hang, for the runner's own tests: begins, then never ends.
#![no_std]
#![no_main]

use flight_platform_psx::bios::print;
use flight_suite::protocol::BEGIN_MARKER;

flight_platform_psx::entry!(main);

fn main() -> ! {
    print(BEGIN_MARKER);
    print("\ntest spins_forever ... ");
    loop {
        core::hint::spin_loop();
    }
}
