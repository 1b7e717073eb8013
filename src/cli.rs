//! Command-line parsing, and the argv[0] aliases: the binary is also `supervisord` and `supervisorctl`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Parser;

/// `steward [-c FILE] [supervisord flags]` / `supervisord [flags]`: run the supervisor.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "steward", disable_version_flag = true)]
pub struct RunArgs {
    /// Configuration file (INI or TOML).
    #[arg(short = 'c', long = "configuration")]
    pub configuration: Option<PathBuf>,
    /// Stay in the foreground (steward never daemonizes; accepted for compatibility).
    #[arg(short = 'n', long)]
    pub nodaemon: bool,
    /// Do not echo steward's log to stdout.
    #[arg(short = 's', long)]
    pub silent: bool,
    /// Print the version and exit.
    #[arg(short = 'v', long)]
    pub version: bool,
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    #[arg(short = 'm', long)]
    pub umask: Option<String>,
    #[arg(short = 'd', long)]
    pub directory: Option<PathBuf>,
    #[arg(short = 'l', long)]
    pub logfile: Option<String>,
    #[arg(short = 'y', long = "logfile_maxbytes")]
    pub logfile_maxbytes: Option<String>,
    #[arg(short = 'z', long = "logfile_backups")]
    pub logfile_backups: Option<String>,
    #[arg(short = 'e', long)]
    pub loglevel: Option<String>,
    #[arg(short = 'j', long)]
    pub pidfile: Option<PathBuf>,
    #[arg(short = 'i', long)]
    pub identifier: Option<String>,
    #[arg(short = 'q', long)]
    pub childlogdir: Option<PathBuf>,
    #[arg(short = 'k', long)]
    pub nocleanup: bool,
    #[arg(short = 'a', long)]
    pub minfds: Option<String>,
    #[arg(short = 't', long = "strip_ansi")]
    pub strip_ansi: bool,
    #[arg(long)]
    pub minprocs: Option<String>,
    #[arg(long = "profile_options")]
    pub profile_options: Option<String>,
    /// supervisord's other spelling of -h.
    #[arg(short = '?', action = clap::ArgAction::Help, hide = true)]
    pub help_alias: Option<bool>,
}

/// `steward check [-c FILE] [--json]`.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "steward check")]
pub struct CheckArgs {
    #[arg(short = 'c', long = "configuration")]
    pub configuration: Option<PathBuf>,
    /// Print the resolved model as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `steward ctl [options] COMMAND…` / `supervisorctl [options] COMMAND…`.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "steward ctl", disable_version_flag = true)]
pub struct CtlArgs {
    #[arg(short = 'c', long = "configuration")]
    pub configuration: Option<PathBuf>,
    /// unix:///path/to/sock or http://host:port
    #[arg(short = 's', long = "serverurl")]
    pub serverurl: Option<String>,
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    #[arg(short = 'p', long)]
    pub password: Option<String>,
    #[arg(short = 'i', long)]
    pub interactive: bool,
    #[arg(short = 'r', long = "history_file")]
    pub history_file: Option<PathBuf>,
    /// supervisorctl's other spelling of -h.
    #[arg(short = '?', action = clap::ArgAction::Help, hide = true)]
    pub help_alias: Option<bool>,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Mode {
    Run(RunArgs),
    /// `steward [--] CMD ARGS…`: one program, tini-style.
    Single(Vec<String>),
    Check(CheckArgs),
    Ctl(CtlArgs),
}

/// What the binary was invoked as.
pub fn invoked_as(argv0: &Path) -> &str {
    match argv0.file_name().and_then(|n| n.to_str()) {
        Some("supervisord") => "supervisord",
        Some("supervisorctl") => "supervisorctl",
        _ => "steward",
    }
}

/// Parse the whole command line (argv[0] included).
pub fn parse(args: Vec<OsString>) -> Result<Mode, clap::Error> {
    let argv0 = args.first().cloned().unwrap_or_else(|| "steward".into());
    match invoked_as(Path::new(&argv0)) {
        "supervisord" => return Ok(Mode::Run(RunArgs::try_parse_from(&args)?)),
        "supervisorctl" => return Ok(Mode::Ctl(CtlArgs::try_parse_from(&args)?)),
        _ => {}
    }
    let rest = &args[1.min(args.len())..];
    let first = rest.first().and_then(|a| a.to_str());
    match first {
        Some("check") => {
            let mut v = vec![OsString::from("steward check")];
            v.extend(rest[1..].iter().cloned());
            Ok(Mode::Check(CheckArgs::try_parse_from(v)?))
        }
        Some("ctl") => {
            let mut v = vec![OsString::from("steward ctl")];
            v.extend(rest[1..].iter().cloned());
            Ok(Mode::Ctl(CtlArgs::try_parse_from(v)?))
        }
        Some("--") => Ok(Mode::Single(
            rest[1..]
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        )),
        // Anything that is not an option starts a single command: `steward nginx -g 'daemon off;'`.
        Some(a) if !a.starts_with('-') => Ok(Mode::Single(
            rest.iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        )),
        _ => {
            // Options first, then possibly `-- CMD…` (e.g. `steward -s -- cmd`).
            if let Some(pos) = rest.iter().position(|a| a == "--") {
                let cmd: Vec<String> = rest[pos + 1..]
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect();
                if !cmd.is_empty() {
                    return Ok(Mode::Single(cmd));
                }
            }
            Ok(Mode::Run(RunArgs::try_parse_from(&args)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Mode {
        parse(v.iter().map(OsString::from).collect()).unwrap()
    }

    #[test]
    fn modes() {
        assert!(
            matches!(p(&["steward", "-c", "x.conf"]), Mode::Run(a) if a.configuration == Some("x.conf".into()))
        );
        assert!(
            matches!(p(&["/usr/bin/supervisord", "-n", "-c", "x"]), Mode::Run(a) if a.nodaemon)
        );
        assert!(
            matches!(p(&["steward", "--", "sh", "-c", "exit 3"]), Mode::Single(c) if c == ["sh", "-c", "exit 3"])
        );
        assert!(matches!(p(&["steward", "sleep", "1"]), Mode::Single(c) if c == ["sleep", "1"]));
        assert!(matches!(p(&["steward", "check", "--json"]), Mode::Check(a) if a.json));
        assert!(
            matches!(p(&["steward", "ctl", "-s", "unix:///x", "status", "-x"]), Mode::Ctl(a) if a.command == ["status", "-x"])
        );
        assert!(
            matches!(p(&["supervisorctl", "tail", "-f", "web"]), Mode::Ctl(a) if a.command == ["tail", "-f", "web"])
        );
        assert!(parse(vec!["steward".into(), "--bogus".into()]).is_err());
    }
}
