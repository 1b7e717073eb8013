//! Command-line parsing, and the argv[0] aliases: the binary is also `supervisord`, `supervisorctl`,
//! `tini` and `dumb-init`.
//!
//! One small parser serves every steward mode, driven by a table of options per mode (names, value,
//! help line, what the option sets); the help pages are rendered from the same tables. tini's and
//! dumb-init's command lines are getopt's, not this one's: single.rs parses them.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::single;

/// `steward [-c FILE] [supervisord flags]` / `supervisord [flags]`: run the supervisor.
#[derive(Debug, Clone, Default)]
pub struct RunArgs {
    pub configuration: Option<PathBuf>,
    pub nodaemon: bool,
    pub silent: bool,
    pub version: bool,
    pub user: Option<String>,
    pub umask: Option<String>,
    pub directory: Option<PathBuf>,
    pub logfile: Option<String>,
    pub logfile_maxbytes: Option<String>,
    pub logfile_backups: Option<String>,
    pub loglevel: Option<String>,
    pub pidfile: Option<PathBuf>,
    pub identifier: Option<String>,
    pub childlogdir: Option<PathBuf>,
    pub nocleanup: bool,
    pub minfds: Option<String>,
    pub strip_ansi: bool,
    pub minprocs: Option<String>,
    pub timestamps: bool,
    pub profile_options: Option<String>,
}

const RUN_OPTS: &[Opt<RunArgs>] = &[
    Opt::new(
        "-c, --configuration <CONFIGURATION>",
        "Configuration file (INI or TOML)",
        Value(|a, v| path(v).map(|p| a.configuration = Some(p))),
    ),
    Opt::new(
        "-n, --nodaemon",
        "Stay in the foreground (steward never daemonizes; accepted for compatibility)",
        Flag(|a| a.nodaemon = true),
    ),
    Opt::new(
        "-s, --silent",
        "Do not echo steward's log to stdout",
        Flag(|a| a.silent = true),
    ),
    Opt::new(
        "-v, --version",
        "Print the version and exit",
        Flag(|a| a.version = true),
    ),
    Opt::new(
        "-u, --user <USER>",
        "Run as this user (from root), as `[supervisord] user=`",
        Value(|a, v| text(v).map(|s| a.user = Some(s))),
    ),
    Opt::new(
        "-m, --umask <UMASK>",
        "umask for steward and its programs (octal, e.g. 022)",
        Value(|a, v| text(v).map(|s| a.umask = Some(s))),
    ),
    Opt::new(
        "-d, --directory <DIRECTORY>",
        "Change to this directory at start",
        Value(|a, v| path(v).map(|p| a.directory = Some(p))),
    ),
    Opt::new(
        "-l, --logfile <LOGFILE>",
        "steward's own log file",
        Value(|a, v| text(v).map(|s| a.logfile = Some(s))),
    ),
    Opt::new(
        "-y, --logfile_maxbytes <LOGFILE_MAXBYTES>",
        "Rotate steward's log at this size (e.g. 50MB)",
        Value(|a, v| text(v).map(|s| a.logfile_maxbytes = Some(s))),
    ),
    Opt::new(
        "-z, --logfile_backups <LOGFILE_BACKUPS>",
        "Rotated copies of steward's log to keep",
        Value(|a, v| text(v).map(|s| a.logfile_backups = Some(s))),
    ),
    Opt::new(
        "-e, --loglevel <LOGLEVEL>",
        "critical, error, warn, info, debug, trace or blather",
        Value(|a, v| text(v).map(|s| a.loglevel = Some(s))),
    ),
    Opt::new(
        "-j, --pidfile <PIDFILE>",
        "Write steward's pid here",
        Value(|a, v| path(v).map(|p| a.pidfile = Some(p))),
    ),
    Opt::new(
        "-i, --identifier <IDENTIFIER>",
        "The identifier the RPC interface reports",
        Value(|a, v| text(v).map(|s| a.identifier = Some(s))),
    ),
    Opt::new(
        "-q, --childlogdir <CHILDLOGDIR>",
        "Directory for AUTO child log files",
        Value(|a, v| path(v).map(|p| a.childlogdir = Some(p))),
    ),
    Opt::new(
        "-k, --nocleanup",
        "Keep stale AUTO child logs at start",
        Flag(|a| a.nocleanup = true),
    ),
    Opt::new(
        "-a, --minfds <MINFDS>",
        "Raise the open-files limit to at least this",
        Value(|a, v| text(v).map(|s| a.minfds = Some(s))),
    ),
    Opt::new(
        "-t, --strip_ansi",
        "Strip ANSI escapes from child logs",
        Flag(|a| a.strip_ansi = true),
    ),
    Opt::new(
        "--minprocs <MINPROCS>",
        "Raise the process limit to at least this",
        Value(|a, v| text(v).map(|s| a.minprocs = Some(s))),
    ),
    Opt::new(
        "--timestamps",
        "Start each line programs write to the console with the local time (steward's; \
         `[supervisord] console_timestamps`)",
        Flag(|a| a.timestamps = true),
    ),
    Opt::new(
        "--profile_options <PROFILE_OPTIONS>",
        "Accepted for compatibility; ignored",
        Value(|a, v| text(v).map(|s| a.profile_options = Some(s))),
    ),
];

const RUN: Spec<RunArgs> = Spec {
    usage: "[OPTIONS]",
    opts: RUN_OPTS,
    aliases: &[],
    conflicts: &[],
    command: false,
    help: |prog| {
        if prog == "steward" {
            overview()
        } else {
            run_page(prog)
        }
    },
};

/// `steward -f Procfile [OPTIONS]`: the programs of a Procfile, as foreman and honcho run them.
#[derive(Debug, Clone)]
pub struct ProcfileArgs {
    pub procfile: Option<PathBuf>,
    pub root: Option<PathBuf>,
    pub env: Option<String>,
    pub port: Option<u16>,
    pub formation: Option<String>,
    pub keep_running: bool,
    pub timeout: u64,
    pub loglevel: Option<String>,
    pub silent: bool,
    pub timestamps: bool,
}

impl Default for ProcfileArgs {
    fn default() -> Self {
        ProcfileArgs {
            procfile: None,
            root: None,
            env: None,
            port: None,
            formation: None,
            keep_running: false,
            timeout: crate::config::procfile::DEFAULT_TIMEOUT,
            loglevel: None,
            silent: false,
            timestamps: false,
        }
    }
}

const PROCFILE_OPTS: &[Opt<ProcfileArgs>] = &[
    Opt::new(
        "-f, --procfile <FILE>",
        "The Procfile (`name: command` lines). Without -c and -f, ./Procfile is used when no \
         supervisord.conf or steward.toml is found",
        Value(|a, v| path(v).map(|p| a.procfile = Some(p))),
    ),
    Opt::new(
        "-d, --root <DIR>",
        "Where the programs run and the default .env is read (default: the Procfile's directory)",
        Value(|a, v| path(v).map(|p| a.root = Some(p))),
    ),
    Opt::new(
        "-e, --env <FILE[,FILE]>",
        "Environment files to read instead of <root>/.env, comma-separated",
        Value(|a, v| text(v).map(|s| a.env = Some(s))),
    ),
    Opt::new(
        "-p, --port <PORT>",
        "Base port: each program gets PORT = base + 100 per Procfile entry + 1 per copy (default: \
         PORT from the env files, else $PORT, else 5000)",
        Value(|a, v| number(v, u16::MAX.into()).map(|n| a.port = Some(n as u16))),
    ),
    Opt::new(
        "-m, --formation <NAME=N,...>",
        "Copies of each program: web=2,worker=1; all=N for the rest (0 leaves one out)",
        Value(|a, v| text(v).map(|s| a.formation = Some(s))),
    ),
    Opt::new(
        "--keep-running",
        "When a program ends, restart it (autorestart=true) and keep the others running, instead \
         of stopping everything and exiting with its status",
        Flag(|a| a.keep_running = true),
    ),
    Opt::new(
        "-t, --timeout <TIMEOUT>",
        "Seconds a program gets to stop after SIGTERM before SIGKILL [default: 5]",
        Value(|a, v| number(v, u64::MAX).map(|n| a.timeout = n)),
    ),
    Opt::new(
        "--loglevel <LOGLEVEL>",
        "critical, error, warn, info, debug, trace or blather",
        Value(|a, v| text(v).map(|s| a.loglevel = Some(s))),
    ),
    Opt::new(
        "-s, --silent",
        "Do not echo steward's own log lines (program output still shows)",
        Flag(|a| a.silent = true),
    ),
    Opt::new(
        "--timestamps",
        "Start each program's console line with the time (as `[supervisord] console_timestamps`)",
        Flag(|a| a.timestamps = true),
    ),
];

const PROCFILE: Spec<ProcfileArgs> = Spec {
    usage: "-f Procfile [OPTIONS]",
    opts: PROCFILE_OPTS,
    aliases: &[("app-root", "root"), ("concurrency", "formation")],
    conflicts: &[],
    command: false,
    help: |_| procfile_page(),
};

/// `steward [OPTIONS] [--] CMD ARGS…`: one program, as tini or dumb-init would run it.
#[derive(Debug, Clone, Default)]
pub struct SingleArgs {
    pub group: bool,
    pub setsid: bool,
    pub single_child: bool,
    pub rewrite: Vec<(i32, i32)>,
    pub remap_exit: Vec<u8>,
    pub pdeathsig: Option<i32>,
    pub warn_reap: bool,
    pub verbose: u8,
    pub subreaper: bool,
    /// The program and its arguments.
    pub command: Vec<OsString>,
}

const SINGLE_OPTS: &[Opt<SingleArgs>] = &[
    Opt::new(
        "-g, --group",
        "Send signals to the child's whole process group, not just the child, as tini -g does. When \
         the child exits, what is left of its group gets SIGTERM",
        Flag(|a| a.group = true),
    ),
    Opt::new(
        "--setsid",
        "Start the child in a new session and signal its whole group (dumb-init's default mode)",
        Flag(|a| a.setsid = true),
    ),
    Opt::new(
        "-c, --single-child",
        "Signal only the child itself (the default; dumb-init -c). Short -c means this only on a \
         command line with `--` (steward -c -- CMD); elsewhere it can be read as -c FILE",
        Flag(|a| a.single_child = true),
    ),
    Opt::new(
        "-r, --rewrite <FROM:TO>",
        "Forward signal FROM as TO (names or numbers); TO=0 drops FROM. Repeatable: -r TERM:QUIT",
        Value(|a, v| text(v).and_then(|s| single::parse_rewrite(&s)).map(|r| a.rewrite.push(r))),
    ),
    Opt::new(
        "-e, --remap-exit <CODE>",
        "Exit 0 when the child's status (its exit code, or 128+N for signal N) is CODE. Repeatable",
        Value(|a, v| number(v, u8::MAX.into()).map(|n| a.remap_exit.push(n as u8))),
    ),
    Opt::new(
        "-p, --pdeathsig <SIG>",
        "Get SIG (then forwarded like any other) when steward's parent dies",
        Value(|a, v| text(v).and_then(|s| single::parse_signal(&s)).map(|n| a.pdeathsig = Some(n))),
    ),
    Opt::new(
        "-w, --warn-reap",
        "Print a line for every orphan reaped",
        Flag(|a| a.warn_reap = true),
    ),
    Opt::new(
        "-v, --verbose",
        "More output on stderr (spawn, exit, each signal); repeatable",
        Flag(|a| a.verbose = a.verbose.saturating_add(1)),
    ),
    Opt::new(
        "-s, --subreaper",
        "Register as a child subreaper (steward always does when it is not PID 1; with -s, failing \
         is an error)",
        Flag(|a| a.subreaper = true),
    ),
];

const SINGLE: Spec<SingleArgs> = Spec {
    usage: "[OPTIONS] [--] CMD [ARGS...]",
    opts: SINGLE_OPTS,
    aliases: &[],
    conflicts: &[("setsid", "single-child"), ("group", "single-child")],
    command: true,
    help: |_| single_page(),
};

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
#[derive(Debug, Clone, Default)]
pub struct CheckArgs {
    pub configuration: Option<PathBuf>,
    pub procfile: Option<PathBuf>,
    pub json: bool,
    pub strict: bool,
}

const CHECK_OPTS: &[Opt<CheckArgs>] = &[
    Opt::new(
        "-c, --configuration <CONFIGURATION>",
        "Configuration file (INI or TOML)",
        Value(|a, v| path(v).map(|p| a.configuration = Some(p))),
    ),
    Opt::new(
        "-f, --procfile <FILE>",
        "Check a Procfile (and its .env) instead of a supervisord config",
        Value(|a, v| path(v).map(|p| a.procfile = Some(p))),
    ),
    Opt::new(
        "--json",
        "Print the resolved model as JSON",
        Flag(|a| a.json = true),
    ),
    Opt::new(
        "--strict",
        "Treat warnings as errors: print them as errors and exit 2 (for CI that lints images)",
        Flag(|a| a.strict = true),
    ),
];

const CHECK: Spec<CheckArgs> = Spec {
    usage: "[OPTIONS]",
    opts: CHECK_OPTS,
    aliases: &[],
    conflicts: &[("configuration", "procfile")],
    command: false,
    help: |prog| {
        page(
            "Validate a config and print its processes.",
            prog,
            &CHECK,
            "Example: steward check --strict -c /etc/supervisord.conf",
        )
    },
};

/// `steward ctl [options] COMMAND…` / `supervisorctl [options] COMMAND…`.
#[derive(Debug, Clone, Default)]
pub struct CtlArgs {
    pub configuration: Option<PathBuf>,
    pub serverurl: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub interactive: bool,
    pub history_file: Option<PathBuf>,
    /// The command and its arguments.
    pub command: Vec<String>,
}

const CTL_OPTS: &[Opt<CtlArgs>] = &[
    Opt::new(
        "-c, --configuration <CONFIGURATION>",
        "The config file whose [supervisorctl] section to use",
        Value(|a, v| path(v).map(|p| a.configuration = Some(p))),
    ),
    Opt::new(
        "-s, --serverurl <SERVERURL>",
        "unix:///path/to/sock or http://host:port",
        Value(|a, v| text(v).map(|s| a.serverurl = Some(s))),
    ),
    Opt::new(
        "-u, --username <USERNAME>",
        "Username for the server's Basic auth",
        Value(|a, v| text(v).map(|s| a.username = Some(s))),
    ),
    Opt::new(
        "-p, --password <PASSWORD>",
        "Password for the server's Basic auth",
        Value(|a, v| text(v).map(|s| a.password = Some(s))),
    ),
    Opt::new(
        "-i, --interactive",
        "The interactive shell (what no COMMAND gives too); with COMMAND, shutdown and reload ask \
         first",
        Flag(|a| a.interactive = true),
    ),
    Opt::new(
        "-r, --history_file <HISTORY_FILE>",
        "Keep the shell's history in this file",
        Value(|a, v| path(v).map(|p| a.history_file = Some(p))),
    ),
];

const CTL: Spec<CtlArgs> = Spec {
    usage: "[OPTIONS] [COMMAND]...",
    opts: CTL_OPTS,
    aliases: &[],
    conflicts: &[],
    command: true,
    help: |prog| {
        page(
            "Control a running steward (or supervisord), as supervisorctl.",
            prog,
            &CTL,
            CTL_AFTER_HELP,
        )
    },
};

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
    /// `--help`, `steward help [TOPIC]`: the text to print on stdout.
    Help(String),
}

/// A command line steward cannot take: the whole message for stderr (exit status 2).
#[derive(Debug)]
pub struct Error {
    kind: Kind,
    /// How many of the words were read when it was found.
    at: usize,
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A word the mode does not know (an option, or a word where none is taken).
    Unknown,
    /// A known option with a bad or missing value, or two that cannot go together.
    Value,
    /// Single-command options but no command.
    NoCommand,
}

impl Error {
    /// `message` with the usage line and where to read more, as every mode's errors end.
    fn usage<T>(kind: Kind, at: usize, prog: &str, spec: &Spec<T>, message: &str) -> Error {
        Error {
            kind,
            at,
            text: format!(
                "error: {message}\n\nUsage: {prog} {}\n\n\
                 For more information, try '{prog} --help'.\n",
                spec.usage
            ),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// One option of a mode's table.
struct Opt<T> {
    /// Its names as help shows them, with the value it takes if any: `-c, --configuration <FILE>`,
    /// `--json`.
    names: &'static str,
    help: &'static str,
    set: Set<T>,
}

/// What an option does to the mode's arguments. Given twice, it does it twice: the last value wins,
/// a list grows, a count counts.
enum Set<T> {
    Flag(fn(&mut T)),
    Value(fn(&mut T, &OsStr) -> Result<(), String>),
}

use Set::{Flag, Value};

impl<T> Opt<T> {
    const fn new(names: &'static str, help: &'static str, set: Set<T>) -> Opt<T> {
        Opt { names, help, set }
    }

    /// The letter of its short name: `c` for `-c, --configuration`.
    fn short(&self) -> Option<u8> {
        match self.names.as_bytes() {
            [b'-', c, ..] if *c != b'-' => Some(*c),
            _ => None,
        }
    }

    /// How errors name it: `--port <PORT>`.
    fn name(&self) -> &'static str {
        self.names
            .find("--")
            .map_or(self.names, |i| &self.names[i..])
    }

    /// Its long name without the dashes: `port`.
    fn long(&self) -> &'static str {
        let name = self.name().trim_start_matches('-');
        name.split(' ').next().unwrap_or(name)
    }
}

/// A mode's command line.
struct Spec<T: 'static> {
    /// What follows the program's name in the usage line.
    usage: &'static str,
    opts: &'static [Opt<T>],
    /// Other long names of options: (alias, long name).
    aliases: &'static [(&'static str, &'static str)],
    /// Pairs of options (long names) that cannot be given together.
    conflicts: &'static [(&'static str, &'static str)],
    /// Whether words follow the options (a command): from the first word that is not an option, or
    /// after `--`, every word is the command's.
    command: bool,
    /// The help page, for the program's name.
    help: fn(&str) -> String,
}

/// What a mode's command line asked for.
enum Parsed<T> {
    /// The options, and the command's words (none for a mode without one).
    Args(T, Vec<OsString>),
    /// `-h`, `--help` or `-?`: this page.
    Help(String),
}

/// Parse `args` (the words after the program's name and subcommand) by `spec`. `prog` is how errors
/// and help name the program: `steward check`, `supervisorctl`.
///
/// As getopt does: `-abc` is three flags; a short option's value may be attached (`-cFILE`,
/// `-c=FILE`) or the next word, a long one's `--name=VALUE` or the next word. A next word that
/// looks like an option (`-x`, `--`, but not `-` or `-1`) is no value.
fn parse_with<T: Default>(
    spec: &Spec<T>,
    prog: &str,
    args: &[OsString],
) -> Result<Parsed<T>, Error> {
    let mut out = T::default();
    let mut given = vec![false; spec.opts.len()];
    let mut i = 0;
    let err = |kind: Kind, at: usize, msg: String| Error::usage(kind, at, prog, spec, &msg);
    let mut command = Vec::new();
    while let Some(arg) = args.get(i) {
        i += 1;
        let b = arg.as_bytes();
        if b == b"--" || b.len() < 2 || b[0] != b'-' {
            let from = if b == b"--" { i } else { i - 1 };
            command = args[from..].to_vec();
            break;
        }
        // The option (index into the table) and its value, if it came attached.
        let mut found: Vec<(usize, Option<&OsStr>)> = Vec::new();
        if let Some(long) = b.strip_prefix(b"--") {
            let (name, attached) = match long.iter().position(|&c| c == b'=') {
                Some(p) => (&long[..p], Some(OsStr::from_bytes(&long[p + 1..]))),
                None => (long, None),
            };
            if name == b"help" {
                return Ok(Parsed::Help((spec.help)(prog)));
            }
            let long = match spec.aliases.iter().find(|(a, _)| a.as_bytes() == name) {
                Some((_, long)) => long.as_bytes(),
                None => name,
            };
            let Some(k) = spec.opts.iter().position(|o| o.long().as_bytes() == long) else {
                let shown = String::from_utf8_lossy(name);
                let names = spec.opts.iter().map(Opt::long);
                let hint = closest(&shown, names.chain(spec.aliases.iter().map(|(a, _)| *a)))
                    .map(|m| format!("; did you mean '--{m}'?"))
                    .unwrap_or_default();
                return Err(err(
                    Kind::Unknown,
                    i,
                    format!("unexpected argument '--{shown}' found{hint}"),
                ));
            };
            if let (Flag(_), Some(v)) = (&spec.opts[k].set, attached) {
                return Err(err(
                    Kind::Value,
                    i,
                    format!(
                        "unexpected value '{}' for '{}': it takes none",
                        v.to_string_lossy(),
                        spec.opts[k].name()
                    ),
                ));
            }
            found.push((k, attached));
        } else {
            // Short options in a cluster: one that takes a value takes the rest of the word, if any
            for (j, &c) in b.iter().enumerate().skip(1) {
                if c == b'h' || c == b'?' {
                    return Ok(Parsed::Help((spec.help)(prog)));
                }
                let Some(k) = spec.opts.iter().position(|o| o.short() == Some(c)) else {
                    let shown = if c.is_ascii() {
                        char::from(c).to_string()
                    } else {
                        String::from_utf8_lossy(&b[j..]).into_owned()
                    };
                    return Err(err(
                        Kind::Unknown,
                        i,
                        format!("unexpected argument '-{shown}' found"),
                    ));
                };
                if let Flag(_) = spec.opts[k].set {
                    found.push((k, None));
                    continue;
                }
                let rest = &b[j + 1..];
                let attached = match rest.strip_prefix(b"=") {
                    Some(r) => Some(r),
                    None => (!rest.is_empty()).then_some(rest),
                };
                found.push((k, attached.map(OsStr::from_bytes)));
                break;
            }
        }
        for (k, attached) in found {
            given[k] = true;
            let opt = &spec.opts[k];
            let set = match opt.set {
                Flag(set) => {
                    set(&mut out);
                    continue;
                }
                Value(set) => set,
            };
            let value = match attached {
                Some(v) => v,
                None => match args.get(i).filter(|v| is_value(v)) {
                    Some(v) => {
                        i += 1;
                        v.as_os_str()
                    }
                    None => {
                        return Err(err(
                            Kind::Value,
                            i,
                            format!(
                                "a value is required for '{}' but none was supplied",
                                opt.name()
                            ),
                        ))
                    }
                },
            };
            set(&mut out, value).map_err(|e| {
                err(
                    Kind::Value,
                    i,
                    format!(
                        "invalid value '{}' for '{}': {e}",
                        value.to_string_lossy(),
                        opt.name()
                    ),
                )
            })?;
        }
    }
    for (a, b) in spec.conflicts {
        let is_given = |n: &str| {
            spec.opts
                .iter()
                .zip(&given)
                .any(|(o, g)| *g && o.long() == n)
        };
        if is_given(a) && is_given(b) {
            return Err(err(
                Kind::Value,
                args.len(),
                format!("the argument '--{a}' cannot be used with '--{b}'"),
            ));
        }
    }
    if !spec.command {
        if let Some(w) = command.first() {
            return Err(err(
                Kind::Unknown,
                args.len() - command.len() + 1,
                format!("unexpected argument '{}' found", w.to_string_lossy()),
            ));
        }
    }
    Ok(Parsed::Args(out, command))
}

/// Whether `word` can be an option's value: not `-x` or `--x`, while `-` and `-1` can.
fn is_value(word: &OsString) -> bool {
    match word.as_bytes() {
        [b'-', c, ..] => c.is_ascii_digit(),
        _ => true,
    }
}

/// An option's value as a path: any bytes.
fn path(v: &OsStr) -> Result<PathBuf, String> {
    Ok(v.into())
}

/// An option's value as text.
fn text(v: &OsStr) -> Result<String, String> {
    v.to_str()
        .map(str::to_owned)
        .ok_or_else(|| "not valid UTF-8".to_string())
}

/// An option's value as a whole number from 0 to `max`.
fn number(v: &OsStr, max: u64) -> Result<u64, String> {
    let s = text(v)?;
    let digits = s.strip_prefix('-').unwrap_or(&s);
    match s.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Err(format!("{s} is not in 0..={max}"))
        }
        _ => Err("expected a whole number".to_string()),
    }
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

/// `steward ctl`'s words: the options, and the command, which must be text (it is sent as a line).
fn ctl(prog: &str, args: &[OsString]) -> Result<Mode, Error> {
    match parse_with(&CTL, prog, args)? {
        Parsed::Help(h) => Ok(Mode::Help(h)),
        Parsed::Args(mut a, words) => {
            for w in words {
                match w.into_string() {
                    Ok(w) => a.command.push(w),
                    Err(w) => {
                        let msg =
                            format!("the command is not valid UTF-8: '{}'", w.to_string_lossy());
                        return Err(Error::usage(Kind::Value, args.len(), prog, &CTL, &msg));
                    }
                }
            }
            Ok(Mode::Ctl(a))
        }
    }
}

/// A mode without a command: its options, or its help.
fn mode<T: Default>(
    spec: &Spec<T>,
    prog: &str,
    args: &[OsString],
    wrap: fn(T) -> Mode,
) -> Result<Mode, Error> {
    Ok(match parse_with(spec, prog, args)? {
        Parsed::Args(a, _) => wrap(a),
        Parsed::Help(h) => Mode::Help(h),
    })
}

/// Single-command mode's words: the options and the command, which is required.
fn single_mode(args: &[OsString]) -> Result<Mode, Error> {
    match parse_with(&SINGLE, "steward", args)? {
        Parsed::Help(h) => Ok(Mode::Help(h)),
        Parsed::Args(_, words) if words.is_empty() => Err(Error::usage(
            Kind::NoCommand,
            args.len(),
            "steward",
            &SINGLE,
            "no command to run: CMD is required",
        )),
        Parsed::Args(mut a, words) => {
            a.command = words;
            Ok(Mode::Single(a))
        }
    }
}

/// Parse the whole command line (argv[0] included).
pub fn parse(args: Vec<OsString>) -> Result<Mode, Error> {
    let argv0 = args.first().cloned().unwrap_or_else(|| "steward".into());
    let rest = &args[1.min(args.len())..];
    match invoked_as(Path::new(&argv0)) {
        "supervisord" => return mode(&RUN, "supervisord", rest, Mode::Run),
        "supervisorctl" => return ctl("supervisorctl", rest),
        "tini" => return Ok(Mode::SingleAlias(single::Personality::Tini, args)),
        "dumb-init" => return Ok(Mode::SingleAlias(single::Personality::DumbInit, args)),
        _ => {}
    }
    let first = rest.first().and_then(|a| a.to_str());
    match first {
        Some("help") => help(rest.get(1).map(|t| t.to_string_lossy())),
        Some("check") => mode(&CHECK, "steward check", &rest[1..], Mode::Check),
        Some("ctl") => ctl("steward ctl", &rest[1..]),
        // Anything that is not an option starts a single command: `steward nginx -g 'daemon off;'`,
        // unless it is no program at all but a misspelt subcommand.
        Some(a) if !a.starts_with('-') => match misspelt(a) {
            Some(meant) => Err(Error {
                kind: Kind::Unknown,
                at: 0,
                text: format!(
                    "error: `{a}` is not a program on PATH; did you mean `steward {meant}`?\n\nFor more information, try 'steward --help'.\n"
                ),
            }),
            None => single_mode(rest),
        },
        // Single-command options end with `--`: `steward -g -r TERM:QUIT -- cmd`.
        _ if rest.iter().any(|a| a == "--") => single_mode(rest),
        _ => match procfile_run(&argv0, rest) {
            Procfile::No => run_or_single(rest),
            Procfile::Named => mode(&PROCFILE, "steward", rest, Mode::Procfile),
            // A ./Procfile nobody asked for: flags it does not take mean another mode.
            Procfile::Found => {
                mode(&PROCFILE, "steward", rest, Mode::Procfile).or_else(|_| run_or_single(rest))
            }
        },
    }
}

/// Options alone: run mode's, else single-command ones (`steward -g sleep 9`).
fn run_or_single(rest: &[OsString]) -> Result<Mode, Error> {
    let run_err = match mode(&RUN, "steward", rest, Mode::Run) {
        Ok(m) => return Ok(m),
        Err(e) => e,
    };
    match single_mode(rest) {
        Ok(m) => Ok(m),
        // The single-command reading was meant: its flags were understood but a value was bad, or
        // run mode stumbled on a word it read past (no command after them is such a case).
        Err(e) if e.kind == Kind::Value => Err(e),
        Err(e)
            if run_err.kind == Kind::Unknown
                && (e.at > run_err.at || e.kind == Kind::NoCommand) =>
        {
            Err(e)
        }
        Err(_) => Err(run_err),
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

const PROCFILE_AFTER_HELP: &str = "\
Each program runs as `sh -c COMMAND` with the env files' variables and its PORT; its output is on the
console, prefixed with its name. When one program ends, the others are stopped and steward exits with
its status (unless --keep-running). The control socket needs no config: `steward ctl status`,
`steward ctl restart web`, `steward ctl tail -f web` from the Procfile's directory find it
($XDG_RUNTIME_DIR/steward/ when set, else .steward.sock next to the Procfile).

Example: steward -f Procfile -m web=2,worker=1 -p 8000";

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
  steward ctl [OPTIONS] [COMMAND...]     Control a running steward (or supervisord), as
                                         supervisorctl.
      steward ctl status
  steward help [run|single|check|ctl|procfile|CTL-COMMAND]
                                         Help for one mode.
      steward help ctl
  The same binary under the names supervisord, supervisorctl, tini and dumb-init (a symlink) takes
  that tool's command line:
      ln -s steward /usr/local/bin/supervisorctl && supervisorctl status
";

/// The widest line of a help page: 80-column terminals are rare now, 200-column lines are not
/// readable anywhere.
const HELP_WIDTH: usize = 100;

/// `text`'s words in lines of at most [`HELP_WIDTH`] columns, the first starting at column `at` (what
/// comes before it is already written), the others indented by `hang`. A word longer than a line
/// gets a line of its own.
fn fill(text: &str, at: usize, hang: usize) -> String {
    let mut out = String::new();
    let mut col = at;
    let mut fresh = true;
    for word in text.split_whitespace() {
        let w = word.chars().count();
        if !fresh && col + 1 + w > HELP_WIDTH {
            out.push('\n');
            out.push_str(&" ".repeat(hang));
            col = hang;
            fresh = true;
        }
        if !fresh {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += w;
        fresh = false;
    }
    out
}

/// Free text with every line over [`HELP_WIDTH`] wrapped, its continuation lines as indented as it is.
fn fill_lines(text: &str) -> String {
    let mut out = String::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.chars().count() <= HELP_WIDTH {
            out.push_str(line);
        } else {
            let lead = line.len() - line.trim_start_matches(' ').len();
            out.push_str(&line[..lead]);
            out.push_str(&fill(line, lead, lead));
        }
    }
    out
}

/// A table's options as help lines, `-h, --help` last. The help goes beside the names, or under
/// them when the names take more than 40 columns; either way wrapped to [`HELP_WIDTH`].
fn options_help<T>(opts: &[Opt<T>]) -> String {
    let mut rows: Vec<(String, &str)> = opts
        .iter()
        .map(|o| match o.short() {
            Some(_) => (o.names.to_string(), o.help),
            None => (format!("    {}", o.names), o.help),
        })
        .collect();
    rows.push(("-h, --help".to_string(), "Print help"));
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (names, help) in rows {
        if width > 40 {
            out.push_str(&format!("  {names}\n          {}\n", fill(help, 10, 10)));
        } else {
            let help = fill(help, width + 4, width + 4);
            out.push_str(&format!("  {names:width$}  {help}\n"));
        }
    }
    out
}

/// A mode's help page: what it does, its usage line, options, and the text after them.
fn page<T>(about: &str, prog: &str, spec: &Spec<T>, after: &str) -> String {
    format!(
        "{about}\n\nUsage: {prog} {}\n\nOptions:\n{}\n{}\n",
        spec.usage,
        options_help(spec.opts),
        fill_lines(after)
    )
}

/// `steward --help`: the overview, run mode's options and single-command mode's.
fn overview() -> String {
    format!(
        "{OVERVIEW}\nOptions (run mode; supervisord's):\n{}\n\n{}",
        options_help(RUN_OPTS),
        single_page()
    )
}

/// `steward help run`, `supervisord --help`.
fn run_page(prog: &str) -> String {
    page(
        "Run the programs of a supervisord.conf (or steward.toml), in the foreground.",
        prog,
        &RUN,
        "Without -c: <exe>/../etc/, <exe>/../, ./, ./etc/, /etc/, /etc/supervisor/, steward.toml \
         before supervisord.conf in each; when none is there, a ./Procfile runs as `steward -f \
         Procfile` would (steward help procfile).\n\nExample: steward -c /etc/supervisord.conf",
    )
}

/// `steward help procfile`, `steward -f Procfile --help`.
fn procfile_page() -> String {
    format!(
        "Procfile mode: steward -f Procfile [OPTIONS]\nRuns the programs of a Procfile as foreman \
         and honcho do.\n\nOptions:\n{}\n\n{}\n",
        options_help(PROCFILE_OPTS),
        fill_lines(PROCFILE_AFTER_HELP)
    )
}

/// The single-command flags, also at the end of `steward --help`.
fn single_page() -> String {
    format!(
        "Single-command mode: steward [OPTIONS] [--] CMD [ARGS...]\n{}\n{}",
        fill(
            "Runs CMD as the only child (as tini or dumb-init would; steward answers to those names \
             too): forwards every signal, reaps orphans, exits with CMD's status or 128+N.",
            0,
            0
        ),
        options_help(SINGLE_OPTS)
    )
}

/// `steward help COMMAND` from supervisorctl's help for COMMAND (tab-separated usage and text): every
/// usage line as a `steward ctl` command line, the texts in one column beside them.
fn ctl_topic_page(command: &str, help: &str) -> String {
    let rows: Vec<(String, &str)> = help
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (usage, text) = line.split_once('\t').unwrap_or((line, ""));
            let usage = usage.trim_end();
            let usage = if usage.split(' ').next() == Some(command) {
                format!("steward ctl {usage}")
            } else {
                usage.to_string()
            };
            (usage, text.trim_start_matches('\t').trim())
        })
        .collect();
    let width = rows
        .iter()
        .filter(|(u, t)| !t.is_empty() && !u.is_empty())
        .map(|(u, _)| u.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (usage, text) in rows {
        let line = if text.is_empty() {
            usage
        } else {
            format!("{usage:width$}  {}", fill(text, width + 2, width + 2))
        };
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
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
fn help(topic: Option<std::borrow::Cow<'_, str>>) -> Result<Mode, Error> {
    let Some(topic) = topic else {
        return Ok(Mode::Help(overview()));
    };
    let text = match TOPICS.iter().find(|(t, _)| *t == topic).map(|(_, t)| *t) {
        Some("run") => run_page("steward"),
        Some("single") => format!(
            "{}\nExample: steward -g -r TERM:QUIT -- nginx -g 'daemon off;'\n",
            single_page()
        ),
        Some("procfile") => procfile_page(),
        Some("check") => (CHECK.help)("steward check"),
        Some("ctl") => (CTL.help)("steward ctl"),
        _ => match crate::ctl::help_text(&topic) {
            Some(t) => ctl_topic_page(&topic, t),
            None => {
                let hint = closest(&topic, TOPICS.iter().map(|(t, _)| *t))
                    .map(|m| format!("; did you mean `{m}`?"))
                    .unwrap_or_default();
                return Err(Error {
                    kind: Kind::Unknown,
                    at: 1,
                    text: format!(
                        "error: no help topic `{topic}`{hint}\n\nTopics: run, procfile, single, check, ctl, or a ctl command (status, start, tail, ...).\n"
                    ),
                });
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
    if let Some(m) = closest(word, ["check", "ctl", "help"]) {
        return Some(m.to_string());
    }
    CTL_COMMANDS.contains(&word).then(|| format!("ctl {word}"))
}

/// The candidate within a small edit distance of `word` (one edit, two for words of five letters or
/// more), ignoring case.
fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w = word.to_lowercase();
    let limit = if w.chars().count() >= 5 { 2 } else { 1 };
    crate::suggest::nearest(&w, candidates, limit)
}

/// For `steward -c sleep 9` (dumb-init's `-c` habit) read as the supervisor's `-c FILE` and failed:
/// when the first `-c`'s value is no file but a program on PATH, and words follow it, the
/// single-child command line that was probably meant.
pub fn single_child_hint(args: &[OsString]) -> Option<String> {
    if invoked_as(Path::new(args.first()?)) != "steward" {
        return None;
    }
    let rest = &args[1..];
    let at = rest
        .iter()
        .position(|a| a == "-c" || a == "--configuration")?;
    let words = rest.get(at + 1..).filter(|w| w.len() >= 2)?;
    let program = words[0].to_str()?;
    if program.contains('/') || Path::new(program).exists() || !on_path(program) {
        return None;
    }
    let quoted: Vec<String> = words
        .iter()
        .map(|w| shell_word(&w.to_string_lossy()))
        .collect();
    Some(format!(
        "did you mean single-child mode? use `steward --single-child -- {}`",
        quoted.join(" ")
    ))
}

/// `w` as a shell would need it typed.
fn shell_word(w: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c);
    if !w.is_empty() && w.chars().all(plain) {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
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
#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn p(v: &[&str]) -> Mode {
        parse(os(v)).unwrap()
    }

    /// The error text for a command line that must fail.
    fn fails(v: &[&str]) -> String {
        match parse(os(v)) {
            Ok(m) => panic!("{v:?} gave {m:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn run(v: &[&str]) -> RunArgs {
        match p(v) {
            Mode::Run(a) => a,
            m => panic!("{v:?} gave {m:?}"),
        }
    }

    fn single(v: &[&str]) -> SingleArgs {
        match p(v) {
            Mode::Single(a) => a,
            m => panic!("{v:?} gave {m:?}"),
        }
    }

    #[test]
    fn modes() {
        assert_eq!(
            run(&["steward", "-c", "x.conf"]).configuration,
            Some("x.conf".into())
        );
        assert!(run(&["/usr/bin/supervisord", "-n", "-c", "x"]).nodaemon);
        assert_eq!(
            single(&["steward", "--", "sh", "-c", "exit 3"]).command,
            ["sh", "-c", "exit 3"]
        );
        assert_eq!(single(&["steward", "sleep", "1"]).command, ["sleep", "1"]);
        assert!(matches!(p(&["steward", "check", "--json"]), Mode::Check(a) if a.json));
        assert!(matches!(p(&["steward", "check", "--strict"]), Mode::Check(a) if a.strict));
        assert!(
            matches!(p(&["steward", "ctl", "-s", "unix:///x", "status", "-x"]), Mode::Ctl(a) if a.command == ["status", "-x"])
        );
        assert!(
            matches!(p(&["supervisorctl", "tail", "-f", "web"]), Mode::Ctl(a) if a.command == ["tail", "-f", "web"])
        );
        assert!(fails(&["steward", "--bogus"]).contains("unexpected argument '--bogus'"));
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
            assert_eq!(closest(typo, subs), meant, "{typo}");
        }
    }

    #[test]
    fn every_way_to_give_a_value() {
        for v in [
            &["steward", "-c", "x.conf"][..],
            &["steward", "-cx.conf"],
            &["steward", "-c=x.conf"],
            &["steward", "--configuration", "x.conf"],
            &["steward", "--configuration=x.conf"],
            &["steward", "-nscx.conf"],
            &["steward", "-ns", "-c", "x.conf"],
        ] {
            assert_eq!(run(v).configuration, Some("x.conf".into()), "{v:?}");
        }
        let a = run(&["steward", "-nsk", "-c", "-", "--minprocs=9", "--timestamps"]);
        assert!(a.nodaemon && a.silent && a.nocleanup && a.timestamps);
        assert_eq!(
            (a.configuration, a.minprocs),
            (Some("-".into()), Some("9".into()))
        );
        // A value may contain `=` and start with a digit after a dash; the last of two wins.
        let a = run(&[
            "steward",
            "--identifier=a=b",
            "-c",
            "a",
            "-c",
            "b",
            "-u",
            "-1",
        ]);
        assert_eq!(a.identifier.as_deref(), Some("a=b"));
        assert_eq!(a.configuration, Some("b".into()));
        assert_eq!(a.user.as_deref(), Some("-1"));
    }

    #[test]
    fn errors_name_the_option_and_suggest_one() {
        for (args, want) in [
            (
                &["steward", "-c"][..],
                "a value is required for '--configuration <CONFIGURATION>'",
            ),
            (
                &["steward", "-c", "-n"],
                "a value is required for '--configuration <CONFIGURATION>'",
            ),
            (
                &["steward", "--user"],
                "a value is required for '--user <USER>'",
            ),
            (
                &["steward", "--nodaemon=yes"],
                "unexpected value 'yes' for '--nodaemon': it takes none",
            ),
            (
                &["steward", "-e", "256", "--", "x"],
                "invalid value '256' for '--remap-exit <CODE>': 256 is not in 0..=255",
            ),
            (
                &["steward", "-e", "-1", "--", "x"],
                "invalid value '-1' for '--remap-exit <CODE>': -1 is not in 0..=255",
            ),
            (
                &["steward", "-e", "x", "--", "x"],
                "invalid value 'x' for '--remap-exit <CODE>': expected a whole number",
            ),
            (
                &["steward", "-r", "TERM", "--", "x"],
                "invalid value 'TERM' for '--rewrite <FROM:TO>'",
            ),
            (
                &["steward", "-p", "NOPE", "--", "x"],
                "invalid value 'NOPE' for '--pdeathsig <SIG>'",
            ),
            (
                &["steward", "-f", "P", "-p", "65536"],
                "invalid value '65536' for '--port <PORT>': 65536 is not in 0..=65535",
            ),
            (
                &["steward", "-f", "P", "-t", "soon"],
                "invalid value 'soon' for '--timeout <TIMEOUT>'",
            ),
            (
                &["steward", "--setsid", "-c", "--", "x"],
                "the argument '--setsid' cannot be used with '--single-child'",
            ),
            (
                &["steward", "check", "-f", "P", "-c", "x"],
                "the argument '--configuration' cannot be used with '--procfile'",
            ),
            (
                &["steward", "--confguration", "x"][..],
                "unexpected argument '--confguration' found; did you mean '--configuration'?",
            ),
            (
                &["steward", "--grup", "--", "x"],
                "unexpected argument '--grup' found; did you mean '--group'?",
            ),
            (
                &["steward", "-f", "P", "--keep-runing"],
                "did you mean '--keep-running'?",
            ),
            (
                &["steward", "-f", "P", "--concurency=web=2"],
                "did you mean '--concurrency'?",
            ),
            (&["steward", "check", "--jsn"], "did you mean '--json'?"),
            (
                &["steward", "ctl", "--srverurl", "x"],
                "did you mean '--serverurl'?",
            ),
            (&["steward", "-x"], "unexpected argument '-x' found\n"),
            (&["steward", "-nx"], "unexpected argument '-x' found\n"),
            (
                &["steward", "--zzzzzz"],
                "unexpected argument '--zzzzzz' found\n",
            ),
            (
                &["steward", "check", "extra"],
                "unexpected argument 'extra' found\n",
            ),
            // What run mode does not take, single-command mode may: the error is the reading that
            // went further.
            (
                &["steward", "-g", "--bogus"],
                "unexpected argument '--bogus' found",
            ),
            (
                &["steward", "-w", "-v"],
                "no command to run: CMD is required",
            ),
            (&["steward", "--"], "no command to run: CMD is required"),
        ] {
            let e = fails(args);
            assert!(
                e.starts_with("error: ") && e.contains(want),
                "{args:?}: {e}"
            );
            assert!(e.contains("\n\nUsage: steward"), "{args:?}: {e}");
            assert!(e.ends_with("--help'.\n"), "{args:?}: {e}");
        }
        assert!(fails(&["steward", "check", "--strict", "x"])
            .contains("Usage: steward check [OPTIONS]"));
        assert!(
            fails(&["supervisorctl", "-s"]).contains("Usage: supervisorctl [OPTIONS] [COMMAND]...")
        );
    }

    #[test]
    fn help_for_each_mode() {
        let help = |v: &[&str]| match p(v) {
            Mode::Help(h) => h,
            m => panic!("{v:?} gave {m:?}"),
        };
        for v in [
            &["steward", "-h"][..],
            &["steward", "--help"],
            &["steward", "-?"],
            &["steward", "-n", "-h"],
            &["steward", "help"],
        ] {
            let h = help(v);
            assert!(
                h.starts_with("steward: a supervisord-compatible") && h.contains("--remap-exit"),
                "{v:?}"
            );
        }
        assert!(help(&["supervisord", "-?"]).contains("Usage: supervisord [OPTIONS]"));
        assert!(help(&["steward", "-f", "P", "--help"]).starts_with("Procfile mode:"));
        assert!(help(&["steward", "-g", "-h"]).starts_with("Single-command mode:"));
        assert!(help(&["steward", "check", "-h"]).contains("Usage: steward check [OPTIONS]"));
        assert!(
            help(&["steward", "ctl", "-?"]).contains("Usage: steward ctl [OPTIONS] [COMMAND]...")
        );
        assert!(help(&["supervisorctl", "--help"]).contains("Usage: supervisorctl [OPTIONS]"));
        // After the command, -h is the command's.
        assert!(
            matches!(p(&["steward", "ctl", "tail", "-h"]), Mode::Ctl(a) if a.command[1] == "-h")
        );
        assert!(matches!(
            p(&["steward", "--", "ls", "--help"]),
            Mode::Single(_)
        ));
    }

    #[test]
    fn fill_wraps_at_the_width_and_keeps_every_word() {
        let words: Vec<String> = (0..80).map(|i| format!("w{i}")).collect();
        let text = words.join(" ");
        let out = fill(&text, 30, 8);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 3, "{out}");
        assert!(lines[0].len() + 30 <= HELP_WIDTH, "{out}");
        for l in &lines[1..] {
            assert!(l.len() <= HELP_WIDTH && l.starts_with("        w"), "{l:?}");
            // Each line is as full as the next word allows.
        }
        assert_eq!(out.split_whitespace().collect::<Vec<_>>(), words);
        let long = "x".repeat(150);
        assert_eq!(
            fill(&format!("a {long} b"), 0, 2),
            format!("a\n  {long}\n  b")
        );
        assert_eq!(fill_lines("  short\n"), "  short\n");
    }

    #[test]
    fn help_lists_every_option_aligned() {
        fn check<T>(opts: &[Opt<T>]) {
            let text = options_help(opts);
            // Each option's names then its help: beside them in one column for all, or under them.
            let widest = opts
                .iter()
                .map(|o| o.names.len() + if o.short().is_some() { 0 } else { 4 })
                .max()
                .unwrap_or(0);
            let indent = if widest > 40 { 10 } else { 0 };
            let mut column = None;
            let rows = opts.iter().map(|o| (o.names, o.help, o.short().is_none()));
            for (names, help, long_only) in rows.chain([("-h, --help", "Print help", false)]) {
                let at = text
                    .find(&format!("{names}  "))
                    .or_else(|| text.find(&format!("{names}\n")));
                let at = at.unwrap_or_else(|| panic!("{names} not in\n{text}"));
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                assert_eq!(at - line_start, if long_only { 6 } else { 2 }, "{names}");
                // The first words (a long help is wrapped).
                let head = help.split(' ').take(3).collect::<Vec<_>>().join(" ");
                let help_at = text[at..].find(&head).unwrap_or_else(|| panic!("{help}")) + at;
                let help_line = text[..help_at].rfind('\n').map_or(0, |i| i + 1);
                if indent == 0 {
                    assert_eq!(help_line, line_start, "{names}");
                    assert_eq!(
                        *column.get_or_insert(help_at - line_start),
                        help_at - line_start,
                        "{names}"
                    );
                } else {
                    assert_eq!(help_at - help_line, indent, "{names}");
                }
            }
        }
        check(RUN_OPTS);
        check(PROCFILE_OPTS);
        check(SINGLE_OPTS);
        check(CHECK_OPTS);
        check(CTL_OPTS);
        // Run mode's names are wide: help goes under them.
        assert!(options_help(RUN_OPTS)
            .contains("  -c, --configuration <CONFIGURATION>\n          Configuration file"));
        assert!(options_help(SINGLE_OPTS).contains("  -g, --group              Send signals"));
    }

    /// The tables themselves: a value name exactly for options that take one, no name twice in a
    /// mode, and aliases and conflicts that name real options.
    #[test]
    fn tables_are_consistent() {
        fn check<T>(spec: &Spec<T>) {
            let mut seen = Vec::new();
            for o in spec.opts {
                assert_eq!(
                    o.names.contains('<'),
                    matches!(o.set, Value(_)),
                    "{}",
                    o.names
                );
                assert!(
                    o.long().len() > 1 && o.name().starts_with("--"),
                    "{}",
                    o.names
                );
                if let Some(c) = o.short() {
                    assert!(c.is_ascii_alphanumeric() && c != b'h', "{}", o.names);
                    assert!(
                        o.names.starts_with(&format!("-{}, --", char::from(c))),
                        "{}",
                        o.names
                    );
                    seen.push(format!("-{}", char::from(c)));
                }
                seen.push(o.long().to_string());
            }
            seen.extend(spec.aliases.iter().map(|(a, _)| a.to_string()));
            let n = seen.len();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), n, "a name twice: {seen:?}");
            for name in spec
                .aliases
                .iter()
                .map(|(_, l)| l)
                .chain(spec.conflicts.iter().flat_map(|(a, b)| [a, b]))
            {
                assert!(spec.opts.iter().any(|o| o.long() == *name), "{name}");
            }
        }
        check(&RUN);
        check(&PROCFILE);
        check(&SINGLE);
        check(&CHECK);
        check(&CTL);
    }

    #[test]
    fn single_command_flags() {
        let a = single(&[
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
            "--verbose",
            "--",
            "sh",
            "-c",
            "x",
        ]);
        let o = a.options();
        assert!(o.group && !o.setsid && o.term_group_at_exit && o.restore_signals);
        assert_eq!(o.rewrite.get(&15), Some(&3));
        assert_eq!(o.rewrite.get(&1), Some(&0));
        assert_eq!(o.remap_exit, [143]);
        assert_eq!(o.pdeathsig, Some(9));
        assert_eq!(o.verbosity, 4);
        assert_eq!(a.command, ["sh", "-c", "x"]);
        // Attached values, and everything after `--` or the first word is the command's.
        let a = single(&[
            "steward",
            "-e3",
            "--remap-exit=4",
            "-rTERM:QUIT",
            "--",
            "-x",
            "--",
            "y",
        ]);
        assert_eq!(
            (a.remap_exit, a.rewrite, a.command),
            (vec![3, 4], vec![(15, 3)], os(&["-x", "--", "y"]))
        );
        let a = single(&["steward", "-gw", "sleep", "-g", "--", "9"]);
        assert!(a.group && a.warn_reap && !a.subreaper);
        assert_eq!(a.command, ["sleep", "-g", "--", "9"]);
        assert!(single(&["steward", "--setsid", "--", "x"]).options().setsid);
        // Without `--`, options that are not the supervisor's still start a command.
        assert!(single(&["steward", "-g", "sleep", "9"]).group);
        assert!(run(&["steward", "-v"]).version);
        assert!(run(&["steward", "-s", "-c", "x.conf"]).silent);
        for bad in [
            &["steward", "-e", "256", "--", "x"][..],
            &["steward", "-r", "TERM", "--", "x"],
            &["steward", "-r", "KILL:TERM", "x"],
            &["steward", "--setsid", "-c", "--", "x"],
            &["steward", "-g", "-c", "--", "x"],
            &["steward", "--"],
            &["steward", "-x", "--", "x"],
        ] {
            assert!(parse(os(bad)).is_err(), "{bad:?}");
        }
        assert!(matches!(
            p(&["/sbin/tini", "-g", "x"]),
            Mode::SingleAlias(single::Personality::Tini, _)
        ));
        assert!(matches!(
            p(&["dumb-init", "x"]),
            Mode::SingleAlias(single::Personality::DumbInit, _)
        ));
    }

    #[test]
    fn procfile_flags() {
        let procfile = |v: &[&str]| match p(v) {
            Mode::Procfile(a) => a,
            m => panic!("{v:?} gave {m:?}"),
        };
        let a = procfile(&[
            "steward", "-f", "Procfile", "-m", "web=2", "-p", "9000", "-e", "a.env",
        ]);
        assert_eq!(
            (a.formation.as_deref(), a.port, a.env.as_deref()),
            (Some("web=2"), Some(9000), Some("a.env"))
        );
        assert!(!a.keep_running && a.timeout == crate::config::procfile::DEFAULT_TIMEOUT);
        let a = procfile(&[
            "steward",
            "--procfile=P",
            "--keep-running",
            "-d",
            "app",
            "-t0",
            "--loglevel",
            "debug",
            "-s",
        ]);
        assert!(a.keep_running && a.silent && a.timeout == 0);
        assert_eq!(
            (a.root, a.loglevel.as_deref()),
            (Some(PathBuf::from("app")), Some("debug"))
        );
        // foreman's and honcho's spellings.
        let a = procfile(&["steward", "-fP", "--app-root=x", "--concurrency", "all=1"]);
        assert_eq!(
            (a.root, a.formation.as_deref()),
            (Some(PathBuf::from("x")), Some("all=1"))
        );
        // -f names a Procfile run: its flags, not supervisord's (-m is not umask there).
        assert!(fails(&["steward", "-f", "P", "-u", "x"]).contains("unexpected argument '-u'"));
        assert_eq!(
            run(&["steward", "-c", "x.conf", "-m", "022"])
                .umask
                .as_deref(),
            Some("022")
        );
    }

    #[test]
    fn ctl_flags() {
        let Mode::Ctl(a) = p(&[
            "steward",
            "ctl",
            "-cx",
            "--serverurl=unix:///s",
            "-u",
            "u",
            "-pp",
            "-i",
            "-r",
            "h",
            "tail",
            "-f",
            "web",
        ]) else {
            panic!()
        };
        assert_eq!(
            (a.configuration, a.serverurl.as_deref()),
            (Some(PathBuf::from("x")), Some("unix:///s"))
        );
        assert_eq!(
            (a.username.as_deref(), a.password.as_deref()),
            (Some("u"), Some("p"))
        );
        assert!(a.interactive && a.history_file == Some(PathBuf::from("h")));
        assert_eq!(a.command, ["tail", "-f", "web"]);
        assert!(matches!(p(&["steward", "ctl"]), Mode::Ctl(a) if a.command.is_empty()));
        assert!(matches!(p(&["steward", "ctl", "--", "-x"]), Mode::Ctl(a) if a.command == ["-x"]));
    }

    #[test]
    fn bytes_that_are_not_utf8() {
        use std::os::unix::ffi::OsStringExt;
        let bad = || OsString::from_vec(vec![b'a', 0xff]);
        let with = |words: &[&str], extra: OsString| {
            let mut v = os(words);
            v.push(extra);
            parse(v)
        };
        // Paths and a command's words pass through as they are.
        let Ok(Mode::Run(a)) = with(&["steward", "-c"], bad()) else {
            panic!()
        };
        assert_eq!(a.configuration, Some(PathBuf::from(bad())));
        let Ok(Mode::Single(a)) = with(&["steward", "--", "printf"], bad()) else {
            panic!()
        };
        assert_eq!(a.command[1], bad());
        // Text values, option names and ctl's command say so.
        let e = with(&["steward", "-u"], bad()).unwrap_err().to_string();
        assert!(
            e.contains("invalid value 'a\u{fffd}' for '--user <USER>': not valid UTF-8"),
            "{e}"
        );
        let e = with(&["steward", "ctl", "status"], bad())
            .unwrap_err()
            .to_string();
        assert!(e.contains("the command is not valid UTF-8"), "{e}");
        for word in [
            b"--\xff".to_vec(),
            b"-\xff".to_vec(),
            b"-n\xff".to_vec(),
            b"--conf\xff=x".to_vec(),
        ] {
            let e = with(&["steward"], OsString::from_vec(word.clone()))
                .unwrap_err()
                .to_string();
            assert!(e.contains("unexpected argument '-"), "{word:?}: {e}");
        }
    }

    #[test]
    fn numbers() {
        let n = |s: &str, max| number(OsStr::new(s), max);
        assert_eq!(n("0", 255), Ok(0));
        assert_eq!(n("255", 255), Ok(255));
        assert_eq!(n("256", 255), Err("256 is not in 0..=255".into()));
        assert_eq!(
            n("99999999999999999999999", 255),
            Err("99999999999999999999999 is not in 0..=255".into())
        );
        for bad in ["", "-", "+", "1x", " 1", "0x10"] {
            assert_eq!(
                n(bad, 255),
                Err("expected a whole number".into()),
                "{bad:?}"
            );
        }
    }

    use proptest::prelude::*;

    proptest! {
        /// Any words at all, in any mode: a mode, help or an error, never a panic.
        #[test]
        fn never_panics(words in proptest::collection::vec(
            prop_oneof![
                proptest::sample::select(vec![
                    "-", "--", "-c", "-cx", "-c=", "--configuration", "--configuration=", "-?",
                    "-h",
                    "-e", "-1", "x", "-nsk", "-r", "TERM:QUIT", "--setsid", "-g", "help", "check",
                    "ctl", "-f", "P", "--procfile=", "=", "--=", "-=", "--help=x", "-vvv", "-p",
                ]).prop_map(OsString::from),
                proptest::collection::vec(any::<u8>(), 0..6)
                    .prop_map(std::os::unix::ffi::OsStringExt::from_vec),
            ],
            0..6,
        ), argv0 in proptest::sample::select(vec!["steward", "supervisord", "supervisorctl"])) {
            let mut v = vec![OsString::from(argv0)];
            v.extend(words);
            if let Err(e) = parse(v) {
                prop_assert!(e.to_string().starts_with("error: "));
            }
        }
    }
}
