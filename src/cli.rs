//! Command-line parsing, and the argv[0] aliases: the binary is also `supervisord`, `supervisorctl`,
//! `tini` and `dumb-init`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use clap::{CommandFactory, FromArgMatches, Parser};

use crate::single;

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
    /// Run as this user (from root), as `[supervisord] user=`.
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// umask for steward and its programs (octal, e.g. 022).
    #[arg(short = 'm', long)]
    pub umask: Option<String>,
    /// Change to this directory at start.
    #[arg(short = 'd', long)]
    pub directory: Option<PathBuf>,
    /// steward's own log file.
    #[arg(short = 'l', long)]
    pub logfile: Option<String>,
    /// Rotate steward's log at this size (e.g. 50MB).
    #[arg(short = 'y', long = "logfile_maxbytes")]
    pub logfile_maxbytes: Option<String>,
    /// Rotated copies of steward's log to keep.
    #[arg(short = 'z', long = "logfile_backups")]
    pub logfile_backups: Option<String>,
    /// critical, error, warn, info, debug, trace or blather.
    #[arg(short = 'e', long)]
    pub loglevel: Option<String>,
    /// Write steward's pid here.
    #[arg(short = 'j', long)]
    pub pidfile: Option<PathBuf>,
    /// The identifier the RPC interface reports.
    #[arg(short = 'i', long)]
    pub identifier: Option<String>,
    /// Directory for AUTO child log files.
    #[arg(short = 'q', long)]
    pub childlogdir: Option<PathBuf>,
    /// Keep stale AUTO child logs at start.
    #[arg(short = 'k', long)]
    pub nocleanup: bool,
    /// Raise the open-files limit to at least this.
    #[arg(short = 'a', long)]
    pub minfds: Option<String>,
    /// Strip ANSI escapes from child logs.
    #[arg(short = 't', long = "strip_ansi")]
    pub strip_ansi: bool,
    /// Raise the process limit to at least this.
    #[arg(long)]
    pub minprocs: Option<String>,
    /// Start each line programs write to the console with the local time (steward's;
    /// `[supervisord] console_timestamps`).
    #[arg(long)]
    pub timestamps: bool,
    /// Accepted for compatibility; ignored.
    #[arg(long = "profile_options")]
    pub profile_options: Option<String>,
    /// supervisord's other spelling of -h.
    #[arg(short = '?', action = clap::ArgAction::Help, hide = true)]
    pub help_alias: Option<bool>,
}

/// `steward -f Procfile [OPTIONS]`: the programs of a Procfile, as foreman and honcho run them.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "steward -f Procfile",
    disable_version_flag = true,
    after_help = PROCFILE_AFTER_HELP
)]
pub struct ProcfileArgs {
    /// The Procfile (`name: command` lines). Without -c and -f, ./Procfile is used when no
    /// supervisord.conf or steward.toml is found.
    #[arg(short = 'f', long = "procfile", value_name = "FILE")]
    pub procfile: Option<PathBuf>,
    /// Where the programs run and the default .env is read (default: the Procfile's directory).
    #[arg(short = 'd', long = "root", alias = "app-root", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Environment files to read instead of <root>/.env, comma-separated.
    #[arg(short = 'e', long = "env", value_name = "FILE[,FILE]")]
    pub env: Option<String>,
    /// Base port: each program gets PORT = base + 100 per Procfile entry + 1 per copy (default:
    /// PORT from the env files, else $PORT, else 5000).
    #[arg(short = 'p', long = "port")]
    pub port: Option<u16>,
    /// Copies of each program: web=2,worker=1; all=N for the rest (0 leaves one out).
    #[arg(
        short = 'm',
        long = "formation",
        alias = "concurrency",
        value_name = "NAME=N,..."
    )]
    pub formation: Option<String>,
    /// When a program ends, restart it (autorestart=true) and keep the others running, instead of
    /// stopping everything and exiting with its status.
    #[arg(long = "keep-running")]
    pub keep_running: bool,
    /// Seconds a program gets to stop after SIGTERM before SIGKILL.
    #[arg(short = 't', long = "timeout", default_value_t = crate::config::procfile::DEFAULT_TIMEOUT)]
    pub timeout: u64,
    /// critical, error, warn, info, debug, trace or blather.
    #[arg(long)]
    pub loglevel: Option<String>,
    /// Do not echo steward's own log lines (program output still shows).
    #[arg(short = 's', long)]
    pub silent: bool,
    /// Start each program's console line with the time (as `[supervisord] console_timestamps`).
    #[arg(long)]
    pub timestamps: bool,
}

const PROCFILE_AFTER_HELP: &str = "\
Each program runs as `sh -c COMMAND` with the env files' variables and its PORT; its output is on the
console, prefixed with its name. When one program ends, the others are stopped and steward exits with
its status (unless --keep-running). The control socket needs no config: `steward ctl status`,
`steward ctl restart web`, `steward ctl tail -f web` from the Procfile's directory find it
($XDG_RUNTIME_DIR/steward/ when set, else .steward.sock next to the Procfile).

Example: steward -f Procfile -m web=2,worker=1 -p 8000";

/// `steward [OPTIONS] [--] CMD ARGS…`: one program, as tini or dumb-init would run it.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "steward", disable_version_flag = true)]
pub struct SingleArgs {
    /// Send signals to the child's whole process group, not just the child (tini -g). When the child
    /// exits, what is left of its group gets SIGTERM.
    #[arg(short = 'g', long = "group")]
    pub group: bool,
    /// Start the child in a new session and signal its whole group (dumb-init's default mode).
    #[arg(long = "setsid", conflicts_with = "single_child")]
    pub setsid: bool,
    /// Signal only the child itself (the default; dumb-init -c).
    #[arg(short = 'c', long = "single-child", conflicts_with = "group")]
    pub single_child: bool,
    /// Forward signal FROM as TO (names or numbers); TO=0 drops FROM. Repeatable: -r TERM:QUIT.
    #[arg(short = 'r', long = "rewrite", value_name = "FROM:TO", value_parser = parse_rewrite)]
    pub rewrite: Vec<(i32, i32)>,
    /// Exit 0 when the child's status (its exit code, or 128+N for signal N) is CODE. Repeatable.
    #[arg(short = 'e', long = "remap-exit", value_name = "CODE", value_parser = clap::value_parser!(u8))]
    pub remap_exit: Vec<u8>,
    /// Get SIG (then forwarded like any other) when steward's parent dies.
    #[arg(short = 'p', long = "pdeathsig", value_name = "SIG", value_parser = parse_signal)]
    pub pdeathsig: Option<i32>,
    /// Print a line for every orphan reaped.
    #[arg(short = 'w', long = "warn-reap")]
    pub warn_reap: bool,
    /// More output on stderr (spawn, exit, each signal); repeatable.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Register as a child subreaper (steward always does when it is not PID 1; with -s, failing is
    /// an error).
    #[arg(short = 's', long = "subreaper")]
    pub subreaper: bool,
    /// The program and its arguments.
    #[arg(
        value_name = "CMD",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<OsString>,
}

fn parse_rewrite(s: &str) -> Result<(i32, i32), String> {
    single::parse_rewrite(s)
}

fn parse_signal(s: &str) -> Result<i32, String> {
    single::parse_signal(s)
}

impl SingleArgs {
    pub fn options(&self) -> single::Options {
        let mut o = single::Options::new(single::Personality::Steward, self.command.clone());
        o.setsid = self.setsid;
        o.group = self.group || self.setsid;
        o.term_group_at_exit = o.group;
        o.rewrite = self.rewrite.iter().copied().collect();
        o.remap_exit = self.remap_exit.clone();
        o.pdeathsig = self.pdeathsig;
        o.warn_reap = self.warn_reap;
        o.verbosity = o.verbosity.saturating_add(self.verbose);
        o.subreaper = self.subreaper;
        o
    }
}

/// `steward check [-c FILE] [--json] [--strict]`.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "steward check",
    after_help = "Example: steward check --strict -c /etc/supervisord.conf"
)]
pub struct CheckArgs {
    #[arg(short = 'c', long = "configuration")]
    pub configuration: Option<PathBuf>,
    /// Check a Procfile (and its .env) instead of a supervisord config.
    #[arg(
        short = 'f',
        long = "procfile",
        value_name = "FILE",
        conflicts_with = "configuration"
    )]
    pub procfile: Option<PathBuf>,
    /// Print the resolved model as JSON.
    #[arg(long)]
    pub json: bool,
    /// Treat warnings as errors: print them as errors and exit 2 (for CI that lints images).
    #[arg(long)]
    pub strict: bool,
}

/// `steward ctl [options] COMMAND…` / `supervisorctl [options] COMMAND…`.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "steward ctl", disable_version_flag = true, after_help = CTL_AFTER_HELP)]
pub struct CtlArgs {
    #[arg(short = 'c', long = "configuration")]
    pub configuration: Option<PathBuf>,
    /// unix:///path/to/sock or http://host:port
    #[arg(short = 's', long = "serverurl")]
    pub serverurl: Option<String>,
    /// Username for the server's Basic auth.
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// Password for the server's Basic auth.
    #[arg(short = 'p', long)]
    pub password: Option<String>,
    /// The interactive shell (what no COMMAND gives too); with COMMAND, shutdown and reload ask first.
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Keep the shell's history in this file.
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
    /// `steward -f Procfile [OPTIONS]`, or a `./Procfile` found when no config is.
    Procfile(ProcfileArgs),
    /// `steward [OPTIONS] [--] CMD ARGS…`: one program, tini-style.
    Single(SingleArgs),
    /// The binary called `tini` or `dumb-init`: that tool's command line (argv[0] included).
    SingleAlias(single::Personality, Vec<OsString>),
    Check(CheckArgs),
    Ctl(CtlArgs),
    /// `steward help [TOPIC]`: the text to print on stdout.
    Help(String),
}

/// What the binary was invoked as.
pub fn invoked_as(argv0: &Path) -> &str {
    match argv0.file_name().and_then(|n| n.to_str()) {
        Some("supervisord") => "supervisord",
        Some("supervisorctl") => "supervisorctl",
        Some("tini") | Some("tini-static") => "tini",
        Some("dumb-init") => "dumb-init",
        _ => "steward",
    }
}

/// Parse the whole command line (argv[0] included).
pub fn parse(args: Vec<OsString>) -> Result<Mode, clap::Error> {
    let argv0 = args.first().cloned().unwrap_or_else(|| "steward".into());
    match invoked_as(Path::new(&argv0)) {
        "supervisord" => return Ok(Mode::Run(RunArgs::try_parse_from(&args)?)),
        "supervisorctl" => return Ok(Mode::Ctl(CtlArgs::try_parse_from(&args)?)),
        "tini" => return Ok(Mode::SingleAlias(single::Personality::Tini, args)),
        "dumb-init" => return Ok(Mode::SingleAlias(single::Personality::DumbInit, args)),
        _ => {}
    }
    let rest = &args[1.min(args.len())..];
    let first = rest.first().and_then(|a| a.to_str());
    let single = |words: &[OsString]| {
        let mut v = vec![OsString::from("steward")];
        v.extend(words.iter().cloned());
        SingleArgs::try_parse_from(v).map(Mode::Single)
    };
    match first {
        Some("help") => help(rest.get(1).map(|t| t.to_string_lossy())),
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
        // Anything that is not an option starts a single command: `steward nginx -g 'daemon off;'`,
        // unless it is no program at all but a misspelt subcommand.
        Some(a) if !a.starts_with('-') => match misspelt(a) {
            Some(meant) => Err(clap::Error::raw(
                clap::error::ErrorKind::InvalidSubcommand,
                format!(
                    "`{a}` is not a program on PATH; did you mean `steward {meant}`?\n\nFor more information, try 'steward --help'.\n"
                ),
            )),
            None => single(rest),
        },
        // Single-command options end with `--`: `steward -g -r TERM:QUIT -- cmd`.
        _ if rest.iter().any(|a| a == "--") => single(rest),
        _ if procfile_run(&argv0, rest) != Procfile::No => {
            let mut v = vec![OsString::from("steward")];
            v.extend(rest.iter().cloned());
            let parsed = procfile_command()
                .try_get_matches_from(v)
                .and_then(|m| ProcfileArgs::from_arg_matches(&m));
            match (parsed, procfile_run(&argv0, rest)) {
                (Ok(a), _) => Ok(Mode::Procfile(a)),
                (Err(e), Procfile::Named) => Err(e),
                // A ./Procfile nobody asked for: flags it does not take mean another mode.
                (Err(_), _) => parse_options(&args, rest),
            }
        }
        _ => parse_options(&args, rest),
    }
}

/// Options alone: run mode's, else single-command ones (`steward -g sleep 9`).
fn parse_options(args: &[OsString], rest: &[OsString]) -> Result<Mode, clap::Error> {
    match run_command().try_get_matches_from(args) {
        Ok(m) => Ok(Mode::Run(RunArgs::from_arg_matches(&m)?)),
        // Not the supervisor's flags: perhaps single-command ones, `steward -g sleep 9`.
        Err(e) => {
            let mut v = vec![OsString::from("steward")];
            v.extend(rest.iter().cloned());
            match SingleArgs::try_parse_from(v).map(Mode::Single) {
                // A misspelt supervisor flag is not a command.
                Ok(Mode::Single(a))
                    if a.command
                        .first()
                        .is_some_and(|c| c.as_bytes().starts_with(b"-")) =>
                {
                    Err(e)
                }
                Ok(m) => Ok(m),
                Err(se) if is_value_error(&se) => Err(se),
                Err(_) => Err(e),
            }
        }
    }
}

/// Whether the options `rest` start a Procfile run: they name one with `-f`/`--procfile`, or they
/// name no config (`-c`) and there is none on supervisord's search list but a `./Procfile`.
fn procfile_run(argv0: &OsString, rest: &[OsString]) -> Procfile {
    let has = |short: &str, long: &str| {
        rest.iter().any(|a| {
            a.to_str().is_some_and(|a| {
                a == short
                    || a == long
                    || a.starts_with(&format!("{long}="))
                    || (a.starts_with(short) && !a.starts_with("--"))
            })
        })
    };
    if has("-f", "--procfile") {
        return Procfile::Named;
    }
    // Asking for help or the version is about run mode, whatever lies in the directory.
    let about = ["-h", "--help", "-?", "-v", "--version"];
    if has("-c", "--configuration") || rest.iter().any(|a| about.iter().any(|x| a == x)) {
        return Procfile::No;
    }
    if crate::config::locate(Path::new(argv0)).is_none() && Path::new("Procfile").is_file() {
        Procfile::Found
    } else {
        Procfile::No
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Procfile {
    /// `-f`/`--procfile` on the command line.
    Named,
    /// No config on the search list, but `./Procfile`.
    Found,
    No,
}

/// clap's command for a Procfile run.
fn procfile_command() -> clap::Command {
    ProcfileArgs::command().help_template(
        "Procfile mode: steward -f Procfile [OPTIONS]\nRuns the programs of a Procfile as foreman \
         and honcho do.\n\nOptions:\n{options}\n{after-help}",
    )
}

/// A flag that was understood but given a bad value (so the single-command reading was meant).
fn is_value_error(e: &clap::Error) -> bool {
    use clap::error::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::ValueValidation | ErrorKind::InvalidValue | ErrorKind::ArgumentConflict
    )
}

/// The commands `steward ctl` knows, for its help and the shell's completion.
pub const CTL_COMMANDS: &[&str] = &[
    "add", "avail", "clear", "exit", "fg", "health", "help", "maintail", "open", "pid", "quit",
    "reload", "remove", "reread", "restart", "shutdown", "signal", "start", "status", "stop",
    "tail", "update", "version",
];

const CTL_AFTER_HELP: &str = "\
Commands (`steward ctl help COMMAND` for one): add avail clear fg health maintail open pid reload
remove reread restart shutdown signal start status stop tail update version. Without COMMAND, an
interactive shell (line editing, history, TAB completes commands and process names).

Without -c or -s: the socket of a Procfile run (steward -f) of this directory or one above it; else
the [supervisorctl] section of the first supervisord.conf found where supervisorctl looks; else the
unix socket of a steward or supervisord running in this PID namespace; else http://localhost:9001.

Example: steward ctl restart web";

/// The top of `steward --help`: every mode, one example each.
const OVERVIEW: &str = "\
steward: a supervisord-compatible PID 1 for containers.

Usage:
  steward [-c FILE] [OPTIONS]            Run the programs of a supervisord.conf (or steward.toml).
      steward -c /etc/supervisord.conf
  steward -f Procfile [OPTIONS]          Run the programs of a Procfile, as foreman/honcho (also
                                         ./Procfile when no config is found; steward help procfile).
      steward -f Procfile -m web=2 -p 8000
  steward [OPTIONS] -- CMD [ARGS...]     Run one program, tini-style (options below).
      steward -g -r TERM:QUIT -- nginx -g 'daemon off;'
  steward check [-c FILE] [--json] [--strict]
                                         Validate a config and print its processes.
      steward check --strict -c /etc/supervisord.conf
  steward ctl [OPTIONS] [COMMAND...]     Control a running steward (or supervisord), as supervisorctl.
      steward ctl status
  steward help [run|single|check|ctl|procfile|CTL-COMMAND]
                                         Help for one mode.
      steward help ctl
  The same binary under the names supervisord, supervisorctl, tini and dumb-init (a symlink) takes
  that tool's command line:
      ln -s steward /usr/local/bin/supervisorctl && supervisorctl status
";

/// clap's command for run mode, whose help is also `steward --help`.
fn run_command() -> clap::Command {
    RunArgs::command()
        .help_template(format!(
            "{OVERVIEW}\nOptions (run mode; supervisord's):\n{{options}}\n{{after-help}}"
        ))
        .after_help(single_help())
}

/// The help topics, with the names people may use for them.
const TOPICS: &[(&str, &str)] = &[
    ("run", "run"),
    ("supervisord", "run"),
    ("procfile", "procfile"),
    ("foreman", "procfile"),
    ("honcho", "procfile"),
    ("single", "single"),
    ("tini", "single"),
    ("dumb-init", "single"),
    ("check", "check"),
    ("ctl", "ctl"),
    ("supervisorctl", "ctl"),
];

/// `steward help [TOPIC]`.
fn help(topic: Option<std::borrow::Cow<'_, str>>) -> Result<Mode, clap::Error> {
    let Some(topic) = topic else {
        return Ok(Mode::Help(run_command().render_help().to_string()));
    };
    let text = match TOPICS.iter().find(|(t, _)| *t == topic).map(|(_, t)| *t) {
        Some("run") => RunArgs::command()
            .about("Run the programs of a supervisord.conf (or steward.toml), in the foreground.")
            .after_help(
                "Without -c: <exe>/../etc/, <exe>/../, ./, ./etc/, /etc/, /etc/supervisor/, \
                 steward.toml before supervisord.conf in each; when none is there, a ./Procfile \
                 runs as `steward -f Procfile` would (steward help procfile).\n\n\
                 Example: steward -c /etc/supervisord.conf",
            )
            .render_help()
            .to_string(),
        Some("single") => format!(
            "{}\nExample: steward -g -r TERM:QUIT -- nginx -g 'daemon off;'\n",
            single_help()
        ),
        Some("procfile") => procfile_command().render_help().to_string(),
        Some("check") => CheckArgs::command().render_help().to_string(),
        Some("ctl") => CtlArgs::command().render_help().to_string(),
        _ => match crate::ctl::help_text(&topic) {
            Some(t) => format!("steward ctl {t}\n"),
            None => {
                let known: Vec<&str> = TOPICS.iter().map(|(t, _)| *t).collect();
                let hint = closest(&topic, &known)
                    .map(|m| format!("; did you mean `{m}`?"))
                    .unwrap_or_default();
                return Err(clap::Error::raw(
                    clap::error::ErrorKind::InvalidSubcommand,
                    format!(
                        "no help topic `{topic}`{hint}\n\nTopics: run, procfile, single, check, ctl, or a ctl command (status, start, tail, ...).\n"
                    ),
                ));
            }
        },
    };
    Ok(Mode::Help(text))
}

/// The subcommand `word` was probably meant to be, when it names no program (it is not a path and not
/// on PATH): `chek` -> `check`, `status` -> `ctl status`. `None` runs it as a command, tini-style.
fn misspelt(word: &str) -> Option<String> {
    if word.contains('/') || on_path(word) {
        return None;
    }
    if let Some(m) = closest(word, &["check", "ctl", "help"]) {
        return Some(m.to_string());
    }
    CTL_COMMANDS.contains(&word).then(|| format!("ctl {word}"))
}

/// The candidate within a small edit distance of `word` (one edit, two for words of five letters or
/// more), ignoring case.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let w = word.to_lowercase();
    let limit = if w.chars().count() >= 5 { 2 } else { 1 };
    crate::suggest::nearest(&w, candidates.iter().copied(), limit)
}

/// Whether execvp would find `name` on PATH (an executable regular file).
fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path).any(|dir| {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        std::fs::metadata(dir.join(name))
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// The single-command flags, appended to `steward --help`.
fn single_help() -> String {
    let opts = SingleArgs::command()
        .help_template("{options}")
        .render_help()
        .to_string();
    format!(
        "Single-command mode: steward [OPTIONS] [--] CMD [ARGS...]\n\
         Runs CMD as the only child (as tini or dumb-init would; steward answers to those names too):\n\
         forwards every signal, reaps orphans, exits with CMD's status or 128+N.\n{opts}"
    )
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
            matches!(p(&["steward", "--", "sh", "-c", "exit 3"]), Mode::Single(a) if a.command == ["sh", "-c", "exit 3"])
        );
        assert!(
            matches!(p(&["steward", "sleep", "1"]), Mode::Single(a) if a.command == ["sleep", "1"])
        );
        assert!(matches!(p(&["steward", "check", "--json"]), Mode::Check(a) if a.json));
        assert!(matches!(p(&["steward", "check", "--strict"]), Mode::Check(a) if a.strict));
        assert!(
            matches!(p(&["steward", "ctl", "-s", "unix:///x", "status", "-x"]), Mode::Ctl(a) if a.command == ["status", "-x"])
        );
        assert!(
            matches!(p(&["supervisorctl", "tail", "-f", "web"]), Mode::Ctl(a) if a.command == ["tail", "-f", "web"])
        );
        assert!(parse(vec!["steward".into(), "--bogus".into()]).is_err());
    }

    #[test]
    fn near_misses() {
        let subs = ["check", "ctl", "help"];
        for (typo, meant) in [
            ("chek", Some("check")),
            ("chekc", Some("check")),
            ("chck", Some("check")),
            ("CTL", Some("ctl")),
            ("ctrl", Some("ctl")),
            ("hepl", Some("help")),
            ("cat", None),
            ("sh", None),
            ("nginx", None),
            ("checkers", None),
        ] {
            assert_eq!(closest(typo, &subs), meant, "{typo}");
        }
    }

    #[test]
    fn single_command_flags() {
        let Mode::Single(a) = p(&[
            "steward",
            "-g",
            "-r",
            "TERM:QUIT",
            "-r",
            "hup:0",
            "-e",
            "143",
            "-p",
            "KILL",
            "-vv",
            "--",
            "sh",
            "-c",
            "x",
        ]) else {
            panic!()
        };
        let o = a.options();
        assert!(o.group && !o.setsid && o.term_group_at_exit && o.restore_signals);
        assert_eq!(o.rewrite.get(&15), Some(&3));
        assert_eq!(o.rewrite.get(&1), Some(&0));
        assert_eq!(o.remap_exit, [143]);
        assert_eq!(o.pdeathsig, Some(9));
        assert_eq!(o.verbosity, 3);
        // Without `--`, options that are not the supervisor's still start a command.
        assert!(
            matches!(p(&["steward", "-g", "sleep", "9"]), Mode::Single(a) if a.group && a.command == ["sleep", "9"])
        );
        assert!(matches!(p(&["steward", "-v"]), Mode::Run(a) if a.version));
        assert!(parse(vec!["steward".into(), "-g".into(), "--bogus".into()]).is_err());
        assert!(matches!(p(&["steward", "-s", "-c", "x.conf"]), Mode::Run(a) if a.silent));
        for bad in [
            &["steward", "-e", "256", "--", "x"][..],
            &["steward", "-r", "TERM", "--", "x"],
            &["steward", "-r", "KILL:TERM", "x"],
            &["steward", "--setsid", "-c", "--", "x"],
            &["steward", "--"],
        ] {
            assert!(
                parse(bad.iter().map(OsString::from).collect()).is_err(),
                "{bad:?}"
            );
        }
        assert!(matches!(
            p(&["steward", "-f", "Procfile", "-m", "web=2", "-p", "9000", "-e", "a.env"]),
            Mode::Procfile(a) if a.formation.as_deref() == Some("web=2") && a.port == Some(9000)
                && a.env.as_deref() == Some("a.env") && !a.keep_running && a.timeout == 5
        ));
        assert!(matches!(
            p(&["steward", "--procfile=P", "--keep-running", "-d", "app"]),
            Mode::Procfile(a) if a.keep_running && a.root == Some(PathBuf::from("app"))
        ));
        // -f names a Procfile run: its flags, not supervisord's (-m is not umask there).
        assert!(parse(
            ["steward", "-f", "P", "-u", "x"]
                .map(OsString::from)
                .to_vec()
        )
        .is_err());
        assert!(
            matches!(p(&["steward", "-c", "x.conf", "-m", "022"]), Mode::Run(a) if a.umask.as_deref() == Some("022"))
        );
        assert!(matches!(
            p(&["/sbin/tini", "-g", "x"]),
            Mode::SingleAlias(single::Personality::Tini, _)
        ));
        assert!(matches!(
            p(&["dumb-init", "x"]),
            Mode::SingleAlias(single::Personality::DumbInit, _)
        ));
    }
}
