//! `steward ctl` / `supervisorctl`: commands and their output, in supervisorctl's format and exit codes.

use crate::cli::CtlArgs;

pub fn main(_args: &CtlArgs) -> i32 {
    eprintln!("Error: ctl is not built yet");
    2
}
