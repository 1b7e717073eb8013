//! `steward check`: load a config, print the resolved processes, exit 0, or 2 on errors.

use crate::cli::CheckArgs;

pub fn main(_args: &CheckArgs) -> i32 {
    eprintln!("Error: check is not built yet");
    2
}
