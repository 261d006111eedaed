//! The command line every benchmark binary takes: nothing, or `--quick`.

use std::process::ExitCode;

/// Whether `--quick` was given. After `--help`, or an argument the binary does not know, the
/// `Err` is the exit code to return (the usage or the complaint has been printed).
pub fn quick(name: &str, quick_help: &str) -> Result<bool, ExitCode> {
    let mut quick = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quick" => quick = true,
            "--help" | "-h" => {
                println!("usage: {name} [--quick]\n\n  --quick  {quick_help}");
                return Err(ExitCode::SUCCESS);
            }
            other => {
                eprintln!("{name}: unknown argument {other:?} (try --help)");
                return Err(ExitCode::FAILURE);
            }
        }
    }
    Ok(quick)
}
