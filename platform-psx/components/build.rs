//! Links the runtime with the merged components `flight build` compiled, the plan's fragment
//! and the platform's `components.ld`, before its `psx.ld` (see `flight_linker::link_components`).

fn main() {
    flight_linker::link_components("psx.ld");
}
