//! `flight run`: merged components run on the host, as a console runs them.

use std::path::PathBuf;

/// Run components on the host: plan the spec, merge the components into their segments (each
/// with bounds checks, or masked where the spec says `isolation = "mask"`; neither with
/// --unchecked) and run frames under wasmi, printing each frame's results
/// and every trap, exactly as a console's run prints them.
///
/// Each component exports `frame(n: i32) -> i32` and may export `attach(index: i32, address:
/// i32)`, which receives the address of each shared region the plan gives it before the first
/// frame. A trap ends that component's frame only: `trap COMPONENT: WHY` is printed and the
/// others go on.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The spec (TOML, as `flight plan` reads).
    spec: PathBuf,
    /// The components, in the order they run: FILE (the component is the file's stem) or
    /// NAME=FILE.
    #[arg(required = true, value_name = "[NAME=]FILE")]
    modules: Vec<String>,
    /// How many frames.
    #[arg(long, default_value_t = 300)]
    frames: u32,
    /// Merge without bounds checks or masks (a component can then reach any byte of the memory).
    #[arg(long)]
    unchecked: bool,
}

/// Runs `flight run`; returns what to print, or the error.
pub fn run(args: &RunArgs) -> Result<String, String> {
    use flight_cli::components::Confinement;
    let confinement = if args.unchecked { Confinement::Nothing } else { Confinement::Planned };
    let components = flight_cli::components::from_spec(&args.spec, &args.modules, confinement)?;
    flight_cli::host::run(&components, args.frames)
}
