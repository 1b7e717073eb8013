//! The one configuration model both front ends (INI and TOML) produce.
//!
//! Everything here is resolved: `%(name)s` expanded, numprocs unrolled into processes, defaults applied,
//! sizes in bytes, signals as numbers. The engine, the logs and the control server read only this.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

/// A fully loaded configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// The main file that was loaded (absolute).
    pub source: PathBuf,
    /// Every file read, main file first, then includes in the order they were read.
    pub files: Vec<PathBuf>,
    pub supervisord: SupervisordSpec,
    /// Process groups sorted by (priority, name): the start order.
    pub groups: Vec<GroupSpec>,
    pub unix_http_server: Option<UnixServerSpec>,
    pub inet_http_server: Option<InetServerSpec>,
    pub supervisorctl: Option<CtlSpec>,
    /// Non-fatal findings (unknown keys, unmatched include globs, unsupported features) with file:line.
    pub warnings: Vec<Diagnostic>,
}

impl Config {
    /// All processes of all groups, in start order.
    pub fn processes(&self) -> impl Iterator<Item = &ProcessSpec> {
        self.groups.iter().flat_map(|g| g.processes.iter())
    }

    pub fn group(&self, name: &str) -> Option<&GroupSpec> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// A config holding `processes`, one `[program:x]` group each, in (priority, name) order.
    pub fn of_processes(supervisord: SupervisordSpec, processes: Vec<ProcessSpec>) -> Config {
        let mut groups: Vec<GroupSpec> = processes
            .into_iter()
            .map(|p| GroupSpec {
                name: p.group.clone(),
                priority: p.priority,
                kind: GroupKind::Program,
                processes: vec![p],
            })
            .collect();
        groups.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        Config {
            source: PathBuf::new(),
            files: Vec::new(),
            supervisord,
            groups,
            unix_http_server: None,
            inet_http_server: None,
            supervisorctl: None,
            warnings: Vec::new(),
        }
    }
}

/// A warning or error located in a config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line number; 0 when the finding is about the file as a whole.
    pub line: usize,
    pub section: Option<String>,
    pub key: Option<String>,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        match (&self.section, &self.key) {
            (Some(s), Some(k)) => write!(f, ": [{s}] {k}: ")?,
            (Some(s), None) => write!(f, ": [{s}]: ")?,
            (None, Some(k)) => write!(f, ": {k}: ")?,
            (None, None) => write!(f, ": ")?,
        }
        write!(f, "{}", self.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum LogLevel {
    Critical,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
    Blather,
}

impl LogLevel {
    /// supervisord's four-letter tag in its main log.
    pub fn tag(self) -> &'static str {
        match self {
            LogLevel::Critical => "CRIT",
            LogLevel::Error => "ERRO",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBG",
            LogLevel::Trace => "TRAC",
            LogLevel::Blather => "BLAT",
        }
    }
}

/// `[supervisord]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupervisordSpec {
    /// `None` when `logfile` is NONE/OFF (steward extension: supervisord has no off switch).
    pub logfile: LogTarget,
    pub logfile_maxbytes: u64,
    pub logfile_backups: u32,
    pub loglevel: LogLevel,
    pub pidfile: Option<PathBuf>,
    pub umask: u32,
    pub nodaemon: bool,
    pub silent: bool,
    pub minfds: u64,
    pub minprocs: u64,
    pub nocleanup: bool,
    pub childlogdir: PathBuf,
    pub user: Option<String>,
    pub directory: Option<PathBuf>,
    pub strip_ansi: bool,
    pub environment: Vec<(String, String)>,
    pub identifier: String,
    /// steward extension `shutdown_grace`: seconds between SIGTERM and SIGKILL for the processes left
    /// behind once every program has stopped.
    pub shutdown_grace: u64,
    /// steward extension `console_timestamps` (or `--timestamps`): each console line of a program
    /// starts with the local time.
    pub console_timestamps: bool,
}

impl SupervisordSpec {
    /// `[supervisord]` with every key at supervisord's default; `cwd` is where the default log and
    /// pidfile go, `tmpdir` the default `childlogdir`.
    pub fn new(cwd: &std::path::Path, tmpdir: &std::path::Path) -> SupervisordSpec {
        SupervisordSpec {
            logfile: LogTarget::File(cwd.join("supervisord.log")),
            logfile_maxbytes: 50 * 1024 * 1024,
            logfile_backups: 10,
            loglevel: LogLevel::Info,
            pidfile: Some(cwd.join("supervisord.pid")),
            umask: 0o022,
            nodaemon: false,
            silent: false,
            minfds: 1024,
            minprocs: 200,
            nocleanup: false,
            childlogdir: tmpdir.to_path_buf(),
            user: None,
            directory: None,
            strip_ansi: false,
            environment: Vec::new(),
            identifier: "supervisor".into(),
            shutdown_grace: 5,
            console_timestamps: false,
        }
    }
}

/// Where a log stream goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LogTarget {
    /// Discarded.
    None,
    /// A file in `childlogdir` with supervisord's AUTO naming, chosen when the group is added.
    Auto,
    /// steward's own inherited stdout (`/dev/stdout`, `/proc/self/fd/1`, `/dev/fd/1`): never reopened or rotated.
    Stdout,
    /// steward's own inherited stderr (`/dev/stderr`, `/proc/self/fd/2`, `/dev/fd/2`).
    Stderr,
    /// `syslog` (deprecated supervisord alias).
    Syslog,
    /// A regular file path (absolute, `~` expanded).
    File(PathBuf),
}

/// One output stream (stdout or stderr) of a process.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogSpec {
    pub target: LogTarget,
    /// Extra destinations beyond `target` (steward extension `stdout_logfile_also=` etc.).
    pub also: Vec<LogTarget>,
    pub maxbytes: u64,
    pub backups: u32,
    pub capture_maxbytes: u64,
    pub events_enabled: bool,
    pub syslog: bool,
}

impl LogSpec {
    /// One stream with supervisord's defaults for everything but the target: 50MB, 10 backups.
    pub fn new(target: LogTarget) -> LogSpec {
        LogSpec {
            target,
            also: Vec::new(),
            maxbytes: 50 * 1024 * 1024,
            backups: 10,
            capture_maxbytes: 0,
            events_enabled: false,
            syslog: false,
        }
    }
}

/// `autorestart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AutoRestart {
    Never,
    Unexpected,
    Always,
}

/// Console line prefix for output written to steward's stdout/stderr (steward extension).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ConsolePrefix {
    /// No prefix: bytes pass through exactly as supervisord would write them.
    Off,
    /// A format with `%(program_name)s`, `%(process_name)s`, `%(group_name)s`, `%(process_num)d`
    /// already expanded, e.g. `"web | "`.
    Text(String),
}

/// `[program:x]`, `[eventlistener:x]` or `[fcgi-program:x]`: the kind of section a group came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum GroupKind {
    Program,
    EventListener(ListenerSpec),
    FcgiProgram(FcgiSpec),
    /// A `[group:x]` section gathering several programs.
    Group {
        programs: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenerSpec {
    pub events: Vec<String>,
    pub buffer_size: u32,
    pub result_handler: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FcgiSpec {
    pub socket: String,
    pub socket_backlog: Option<u32>,
    pub socket_owner: Option<String>,
    pub socket_mode: u32,
}

/// A process group: what `addProcessGroup`/`removeProcessGroup`/`group:*` act on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSpec {
    pub name: String,
    pub priority: i64,
    pub kind: GroupKind,
    /// Sorted by (priority, name).
    pub processes: Vec<ProcessSpec>,
}

/// A resolved `user=`: looked up in our own /etc/passwd and /etc/group reader at load time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSpec {
    /// As written in the config (name or number).
    pub name: String,
    /// `None` when the user was not found at load time: spawning then fails with a spawn error.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// Supplementary groups: the primary gid first, then every group listing the user.
    pub groups: Vec<u32>,
    /// The passwd line's name, home directory and shell (`None` when not found, or a field is empty):
    /// the program's `USER`/`LOGNAME`, `HOME` and `SHELL` unless `environment=` sets them.
    pub login: Option<String>,
    pub home: Option<String>,
    pub shell: Option<String>,
}

/// One process, after numprocs has been unrolled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessSpec {
    /// Process name (`process_name` expanded).
    pub name: String,
    /// Group name (`[group:x]` name, or the program name).
    pub group: String,
    /// The section name after the colon (`[program:NAME]`).
    pub program: String,
    /// `command` as written after expansion (for getAllConfigInfo and display).
    pub command_line: String,
    /// `command` split with POSIX shell-like rules (no expansion of `$VAR`).
    pub argv: Vec<String>,
    /// Why `command` could not be split (e.g. `No closing quotation`); `argv` is then empty and spawning
    /// fails with `can't parse command '…': <reason>`, as supervisord does at spawn time.
    pub argv_error: Option<String>,
    pub process_num: i64,
    pub numprocs: i64,
    pub priority: i64,
    pub autostart: bool,
    pub startsecs: u64,
    pub startretries: u32,
    pub autorestart: AutoRestart,
    pub exitcodes: Vec<i32>,
    pub stopsignal: i32,
    pub stopwaitsecs: u64,
    pub stopasgroup: bool,
    pub killasgroup: bool,
    pub user: Option<UserSpec>,
    pub redirect_stderr: bool,
    pub stdout: LogSpec,
    pub stderr: LogSpec,
    /// `environment=` pairs in the order written (applied on top of the inherited environment).
    pub environment: Vec<(String, String)>,
    pub directory: Option<PathBuf>,
    pub umask: Option<u32>,
    /// `serverurl`: `None` means AUTO.
    pub serverurl: Option<String>,
    /// Prefix for lines written to the console (steward extension `console_prefix=`).
    pub console_prefix: ConsolePrefix,
    /// steward's container-lifecycle keys (critical, depends_on, checks, pidfile).
    pub lifecycle: Lifecycle,
    /// Where the section was defined, for messages.
    pub file: PathBuf,
    pub line: usize,
}

/// steward extensions to `[program:x]` for container lifecycles; supervisord ignores these keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lifecycle {
    /// `critical`: when this program ends for good, steward stops everything and exits with its status.
    pub critical: bool,
    /// `depends_on`: what must be up (or have finished) before this program starts.
    pub depends_on: Vec<Dependency>,
    /// `ready_check`: STARTING -> RUNNING when it passes (instead of after startsecs).
    pub ready_check: Option<Check>,
    /// `ready_timeout` in seconds: not ready by then is a failed start.
    pub ready_timeout: u64,
    /// `health_check`: run every `health_interval` s while RUNNING; `health_retries` failures in a row
    /// restart the process. A run that takes longer than `health_timeout` s fails.
    pub health_check: Option<Check>,
    pub health_interval: u64,
    pub health_timeout: u64,
    pub health_retries: u32,
    /// `pidfile`: the program daemonizes; follow the pid written there.
    pub pidfile: Option<PathBuf>,
}

impl Default for Lifecycle {
    fn default() -> Lifecycle {
        Lifecycle {
            critical: false,
            depends_on: Vec::new(),
            ready_check: None,
            ready_timeout: 60,
            health_check: None,
            health_interval: 10,
            health_timeout: 5,
            health_retries: 3,
            pidfile: None,
        }
    }
}

/// One `depends_on` entry: a program or group name, and what it must have reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub name: String,
    pub condition: Condition,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Condition {
    /// RUNNING (which, with a ready check, means ready).
    Running,
    /// EXITED with an expected exit code.
    Exited,
}

/// A readiness or liveness check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Check {
    /// `tcp:HOST:PORT`: a connection is accepted.
    Tcp { host: String, port: u16 },
    /// `http://HOST:PORT/PATH`: a GET answers 2xx or 3xx.
    Http {
        host: String,
        port: u16,
        path: String,
    },
    /// `exec:COMMAND…`: the command exits 0.
    Exec(Vec<String>),
    /// `log:REGEX`: a line of the program's output matches (readiness only).
    Log(String),
    /// `notify`: the sd_notify protocol; the program sends `READY=1` (readiness only).
    Notify,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Check::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
            Check::Http { host, port, path } => write!(f, "http://{host}:{port}{path}"),
            Check::Exec(argv) => write!(f, "exec:{}", argv.join(" ")),
            Check::Log(re) => write!(f, "log:{re}"),
            Check::Notify => write!(f, "notify"),
        }
    }
}

impl ProcessSpec {
    /// What a `[program:NAME]` section with only `command=` gives: supervisord's default for every other
    /// key (the loader takes its defaults from here).
    pub fn new(name: &str, argv: &[&str]) -> ProcessSpec {
        let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        ProcessSpec {
            name: name.to_string(),
            group: name.to_string(),
            program: name.to_string(),
            command_line: argv.join(" "),
            argv,
            argv_error: None,
            process_num: 0,
            numprocs: 1,
            priority: 999,
            autostart: true,
            startsecs: 1,
            startretries: 3,
            autorestart: AutoRestart::Unexpected,
            exitcodes: vec![0],
            stopsignal: 15,
            stopwaitsecs: 10,
            stopasgroup: false,
            killasgroup: false,
            user: None,
            redirect_stderr: false,
            stdout: LogSpec::new(LogTarget::Auto),
            stderr: LogSpec::new(LogTarget::Auto),
            environment: Vec::new(),
            directory: None,
            umask: None,
            serverurl: None,
            console_prefix: ConsolePrefix::Text(format!("{name} | ")),
            lifecycle: Lifecycle::default(),
            file: PathBuf::new(),
            line: 0,
        }
    }

    /// `group:name`, or `name` when the group has the process's own name (supervisorctl's namespec).
    pub fn namespec(&self) -> String {
        if self.group == self.name {
            self.name.clone()
        } else {
            format!("{}:{}", self.group, self.name)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credentials {
    pub username: String,
    /// Plaintext, or `{SHA}` + lowercase hex SHA-1 (server side only).
    pub password: String,
}

/// `[unix_http_server]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnixServerSpec {
    pub file: PathBuf,
    pub chmod: u32,
    /// `user` or `user:group`, resolved to ids.
    pub chown: Option<(u32, Option<u32>)>,
    pub auth: Option<Credentials>,
}

/// `[inet_http_server]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InetServerSpec {
    /// Empty for all interfaces.
    pub host: String,
    pub port: u16,
    pub auth: Option<Credentials>,
}

/// `[supervisorctl]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CtlSpec {
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub prompt: String,
    pub history_file: Option<PathBuf>,
}

/// Raw key/value view kept for diagnostics and `reread` comparisons.
pub type RawSection = BTreeMap<String, String>;
