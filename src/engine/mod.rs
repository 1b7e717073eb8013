//! The supervisor proper.

use crate::cli::RunArgs;

/// `steward -c FILE`: run the supervisor in the foreground until shutdown; returns the exit status.
pub fn run_main(_args: &RunArgs) -> i32 {
    eprintln!("Error: run mode is not built yet");
    2
}

/// `steward [--] CMD ARGS…`: run one program tini-style; returns its exit status (128+signal if killed).
pub fn run_single(_cmd: &[String]) -> i32 {
    eprintln!("Error: single-command mode is not built yet");
    2
}
