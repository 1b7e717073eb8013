use std::process::ExitCode;

use steward::cli::{self, Mode};

fn main() -> ExitCode {
    let mode = match cli::parse(std::env::args_os().collect()) {
        Ok(m) => m,
        Err(e) => {
            // As for help below: a closed stderr is no reason to fail louder than the exit status.
            let _ = std::io::Write::write_all(&mut std::io::stderr(), e.to_string().as_bytes());
            return ExitCode::from(2);
        }
    };
    let code = match mode {
        Mode::Check(a) => steward::check::main(&a),
        Mode::Run(a) => steward::run::main(&a),
        Mode::Procfile(a) => steward::run::main_procfile(&a),
        Mode::Single(a) => steward::single::run(&a.options()),
        Mode::SingleAlias(who, args) => steward::single::main_alias(who, args),
        Mode::Ctl(a) => steward::ctl::main(&a),
        Mode::Help(text) => {
            // A closed stdout (`steward help | head -1`) is not an error worth more than the exit.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
            0
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}
