//! Deliberately bad runs, one per result kind, for the runners' own tests.
//!
//! Every console's images wrap these, so each runner proves it tells fail, panic and hang apart
//! on the same behaviour. A crash is console-specific (what faults, and how an emulator reacts),
//! so each console writes its own.

use core::fmt::Write;

use crate::{Board, Failure, Outcome, Summary, Test, protocol, run};

fn two_is_three(_: &Board) -> Outcome {
    Err(Failure("deliberately failing: 2 != 3".into()))
}

/// The suite plus one check that cannot hold: a `fail`.
pub fn fail(board: &Board, out: &mut dyn Write) -> Summary {
    run(board, out, &[Test::new("two_is_three", two_is_three)])
}

/// Begins, then panics: a `panic` with the message `deliberate panic: index 3 of a table of 3`.
pub fn panic(out: &mut dyn Write) -> ! {
    let _ = writeln!(out, "{}", protocol::BEGIN_MARKER);
    let index = core::hint::black_box(3usize);
    let table = [1u8, 2, 3];
    panic!("deliberate panic: index {index} of a table of {}", table.len());
}

/// Begins, starts a test and never finishes it: a `hang`.
pub fn hang(out: &mut dyn Write) -> ! {
    let _ = writeln!(out, "{}", protocol::BEGIN_MARKER);
    let _ = write!(out, "test spins_forever ... ");
    loop {
        core::hint::spin_loop();
    }
}
