//! `steward ctl` / `supervisorctl`: commands and their output, in supervisorctl's format and exit codes
//! (reference 3.6), over the XML-RPC client. Works against steward and a real supervisord alike.

mod line;
mod shell;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use crate::cli::CtlArgs;
use crate::control::client::{CallError, Client, ServerUrl};
use crate::control::rpc::{self, faults, split_namespec, HealthInput};
use crate::control::xmlrpc::{Fault, Value};
use crate::engine::api::ProcessState;

/// LSB init exit statuses supervisorctl uses.
mod exit {
    pub const GENERIC: i32 = 1;
    pub const INVALID_ARGS: i32 = 2;
    pub const UNIMPLEMENTED_FEATURE: i32 = 3;
    pub const INSUFFICIENT_PRIVILEGES: i32 = 4;
    pub const NOT_INSTALLED: i32 = 5;
    pub const NOT_RUNNING: i32 = 7;
    /// `status`: some listed process is not running.
    pub const STATUS_NOT_RUNNING: i32 = 3;
    /// `status`: unknown name or server unreachable.
    pub const STATUS_UNKNOWN: i32 = 4;
}

/// Resolved client options: command line over `[supervisorctl]` over defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtlOptions {
    pub serverurl: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub prompt: String,
    /// The interactive shell's history (`history_file` of `[supervisorctl]`, or `-r`).
    pub history_file: Option<PathBuf>,
    /// When neither a flag nor a config said where the server is and no running steward was found:
    /// where we looked, said when the default URL does not answer either.
    pub guessed: Option<String>,
}

/// The files supervisorctl looks for when `-c` is not given (reference 1.1).
fn search_paths(argv0: &Path) -> Vec<PathBuf> {
    use crate::config::beside_exe;
    vec![
        beside_exe(argv0, "../etc/supervisord.conf"),
        beside_exe(argv0, "../supervisord.conf"),
        PathBuf::from("supervisord.conf"),
        PathBuf::from("etc/supervisord.conf"),
        PathBuf::from("/etc/supervisord.conf"),
        PathBuf::from("/etc/supervisor/supervisord.conf"),
    ]
}

/// The `[supervisorctl]` keys of an INI file, read with the configparser-compatible reader the
/// supervisor uses (so `[DEFAULT]`, continuations and comments behave the same). `Ok(None)` when
/// the section is absent, which supervisorctl treats as an error of its own.
fn read_ctl_section(path: &Path, text: &str) -> Result<Option<Vec<(String, String)>>, String> {
    use crate::config::ini;
    let parsed = ini::parse(text).map_err(|errors| {
        let first = errors.first();
        format!(
            "could not parse {}: line {}: {}",
            path.display(),
            first.map(|e| e.line).unwrap_or(0),
            first.map(|e| e.message.as_str()).unwrap_or("")
        )
    })?;
    let Some(section) = parsed.section("supervisorctl") else {
        return Ok(None);
    };
    let here = here(path);
    let mut entries: Vec<(String, String)> = Vec::new();
    // configparser's lookup: the section's own keys, then [DEFAULT]'s.
    for e in section.entries.iter().chain(&parsed.defaults) {
        if entries.iter().any(|(k, _)| *k == e.key) {
            continue;
        }
        entries.push((e.key.clone(), expand(&e.key, &e.value, &here)?));
    }
    Ok(Some(entries))
}

/// supervisorctl's `here`: the config file's directory, made absolute but not resolved.
fn here(path: &Path) -> PathBuf {
    std::path::absolute(path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The `[supervisorctl]` table of a TOML config (same keys, native strings).
fn read_ctl_table(path: &Path, text: &str) -> Result<Option<Vec<(String, String)>>, String> {
    let doc: toml::Table = text
        .parse()
        .map_err(|e| format!("could not parse {}: {e}", path.display()))?;
    let here = here(path);
    let Some(table) = doc.get("supervisorctl").and_then(|t| t.as_table()) else {
        return Ok(None);
    };
    let mut entries = Vec::new();
    for (k, v) in table {
        if let Some(v) = v.as_str() {
            let key = k.to_ascii_lowercase();
            let value = expand(&key, v, &here)?;
            entries.push((key, value));
        }
    }
    Ok(Some(entries))
}

/// supervisorctl's expansion of its keys: `%(ENV_X)s` everywhere, `%(here)s` also in `serverurl`
/// and `history_file`, with the supervisor's own `%`-formatting rules.
fn expand(key: &str, value: &str, here: &Path) -> Result<String, String> {
    use crate::config::expand::{expand, Var, Vars};
    let mut vars: Vars = std::env::vars_os()
        .filter_map(|(k, v)| Some((format!("ENV_{}", k.to_str()?), Var::Str(v.to_str()?.into()))))
        .collect();
    let mut available: &[&str] = &[];
    if key == "serverurl" || key == "history_file" {
        vars.insert("here".into(), Var::Str(here.to_string_lossy().into_owned()));
        available = &["here"];
    }
    // The supervisor's loader words it the same way.
    expand(value, &vars)
        .map_err(|e| format!("supervisorctl.{key}: {}", e.explain(value, available)))
}

/// The unix socket of a steward (or supervisord) running in our PID namespace, found through `proc`:
/// the lowest pid whose name is `steward` or `supervisord` and which holds a listening unix socket
/// bound to a path. Nothing is written at start for this, so it finds a steward whatever its config
/// and however it was started (also a real supervisord), and never a stale file of one that died.
pub fn running_socket(proc: &Path) -> Option<PathBuf> {
    let me = std::process::id();
    let mut pids: Vec<u32> = std::fs::read_dir(proc)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&p| p != me)
        .collect();
    pids.sort_unstable();
    pids.into_iter().find_map(|pid| {
        let dir = proc.join(pid.to_string());
        let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
        if !matches!(comm.trim_end(), "steward" | "supervisord") {
            return None;
        }
        let listening = listening_unix(&std::fs::read_to_string(dir.join("net/unix")).ok()?);
        let mut fds: Vec<(u32, u64)> = std::fs::read_dir(dir.join("fd"))
            .ok()?
            .filter_map(|e| {
                let e = e.ok()?;
                let fd = e.file_name().to_str()?.parse().ok()?;
                let target = std::fs::read_link(e.path()).ok()?;
                let inode = target
                    .to_str()?
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .parse()
                    .ok()?;
                Some((fd, inode))
            })
            .collect();
        fds.sort_unstable();
        fds.into_iter().find_map(|(_, inode)| {
            let bound = &listening.iter().find(|(i, _)| *i == inode)?.1;
            // steward and supervisord both bind to `FILE.PID` and rename it to FILE, and the table
            // keeps the name bound.
            let renamed = bound
                .to_str()
                .and_then(|b| b.rsplit_once('.'))
                .filter(|(_, suffix)| {
                    !suffix.is_empty() && suffix.bytes().all(|c| c.is_ascii_digit())
                })
                .map(|(file, _)| PathBuf::from(file));
            // As that process sees it; through its root when we live in another mount namespace
            // (a container seen from the host).
            [Some(bound.clone()), renamed]
                .into_iter()
                .flatten()
                .flat_map(|p| {
                    let inside = dir.join("root").join(p.strip_prefix("/").unwrap_or(&p));
                    [p, inside]
                })
                .find(|p| is_socket(p))
        })
    })
}

/// The control socket of a Procfile run in the current directory or the nearest one above it that
/// has one (see [`crate::config::procfile::socket_path`]).
fn procfile_socket() -> Option<PathBuf> {
    let cwd = std::fs::canonicalize(std::env::current_dir().ok()?).ok()?;
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|r| !r.is_empty())
        .map(PathBuf::from);
    // Both places: the run may have been started from a shell with another XDG_RUNTIME_DIR.
    cwd.ancestors()
        .flat_map(|d| {
            [runtime.as_deref(), None].map(|r| crate::config::procfile::socket_path(d, r))
        })
        .find(|p| is_socket(p))
}

fn is_socket(p: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(p).is_ok_and(|m| m.file_type().is_socket())
}

/// Inode and path of each listening unix socket bound to a path in a `/proc/net/unix` table
/// (`Num RefCount Protocol Flags Type St Inode Path`; flag 0x10000 is `__SO_ACCEPTCON`).
fn listening_unix(table: &str) -> Vec<(u64, PathBuf)> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let flags = u64::from_str_radix(f.get(3)?, 16).ok()?;
            let path = f.get(7..)?.join(" ");
            (flags & 0x10000 != 0 && path.starts_with('/'))
                .then(|| Some((f.get(6)?.parse().ok()?, PathBuf::from(path))))?
        })
        .collect()
}

/// supervisorctl's `normalize_path` for `history_file`: `~` is the home directory, and a relative
/// path is taken from the current directory.
fn user_path(v: &str) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let p = match (v.strip_prefix('~'), home) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            home.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(v),
    };
    std::path::absolute(&p).unwrap_or(p)
}

/// Work out the options; `Err` is the text after `Error: ` (exit 2).
pub fn resolve_options(args: &CtlArgs, argv0: &Path) -> Result<CtlOptions, String> {
    // A Procfile run of this directory (or one above it) is what a developer there means, before a
    // supervisord.conf installed system-wide.
    let procfile_socket = match (&args.configuration, &args.serverurl) {
        (None, None) => procfile_socket(),
        _ => None,
    };
    let file = match &args.configuration {
        Some(f) => {
            if !f.exists() {
                return Err(format!("could not find config file {}", f.display()));
            }
            Some(f.clone())
        }
        None if procfile_socket.is_some() => None,
        None => search_paths(argv0).into_iter().find(|p| p.is_file()),
    };
    let mut o = CtlOptions {
        serverurl: "http://localhost:9001".into(),
        username: None,
        password: None,
        prompt: "supervisor".into(),
        history_file: None,
        guessed: None,
    };
    if let Some(sock) = procfile_socket {
        o.serverurl = format!("unix://{}", sock.display());
    } else if file.is_none() && args.serverurl.is_none() {
        match running_socket(Path::new("/proc")) {
            Some(sock) => o.serverurl = format!("unix://{}", sock.display()),
            None => {
                let mut text = String::from("no config file found; looked for:\n");
                for p in search_paths(argv0) {
                    text.push_str(&format!("  {}\n", p.display()));
                }
                text.push_str(&format!(
                    "and no steward or supervisord with a unix socket runs in this PID namespace, \
                     so {} was tried; use -c FILE or -s URL",
                    o.serverurl
                ));
                o.guessed = Some(text);
            }
        }
    }
    if let Some(f) = file {
        let text = std::fs::read_to_string(&f)
            .map_err(|e| format!("could not read config file {}: {e}", f.display()))?;
        let section = if f.extension().is_some_and(|e| e == "toml") {
            read_ctl_table(&f, &text)?
        } else {
            read_ctl_section(&f, &text)?
        }
        .ok_or_else(|| ".ini file does not include supervisorctl section".to_string())?;
        for (k, v) in section {
            match k.as_str() {
                "serverurl" => o.serverurl = v,
                "username" => o.username = Some(v),
                "password" => o.password = Some(v),
                "prompt" => o.prompt = v,
                "history_file" if !v.is_empty() => o.history_file = Some(user_path(&v)),
                _ => {}
            }
        }
    }
    if let Some(s) = &args.serverurl {
        o.serverurl = s.clone();
    }
    if let Some(u) = &args.username {
        o.username = Some(u.clone());
    }
    if let Some(p) = &args.password {
        o.password = Some(p.clone());
    }
    if let Some(h) = &args.history_file {
        o.history_file = Some(h.clone());
    }
    if let Some(path) = o.serverurl.strip_prefix("unix://") {
        // supervisord accepts unix://relative too; normalise to an absolute path like it does.
        if !path.starts_with('/') {
            let abs = std::env::current_dir().unwrap_or_default().join(path);
            o.serverurl = format!("unix://{}", abs.display());
        }
    }
    ServerUrl::parse(&o.serverurl)?;
    Ok(o)
}

pub fn main(args: &CtlArgs) -> i32 {
    let argv0 = std::env::args().next().unwrap_or_else(|| "steward".into());
    let shown = if crate::cli::invoked_as(Path::new(&argv0)) == "supervisorctl" {
        argv0.clone()
    } else {
        format!("{argv0} ctl")
    };
    let opts = match resolve_options(args, Path::new(&argv0)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("Error: {msg}");
            eprintln!("For help, use {shown} -h");
            return 2;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: {e}");
            return 1;
        }
    };
    // As supervisorctl: a command on the line runs once and sets the exit status (even with -i,
    // which then only makes shutdown/reload ask first); no command means the shell.
    let mut ctl = Ctl::new(opts, args.interactive || args.command.is_empty());
    if !args.command.is_empty() {
        rt.block_on(ctl.onecmd(&args.command.join(" ")));
        let _ = std::io::stdout().flush();
        return ctl.exitstatus;
    }
    rt.block_on(ctl.onecmd("status"));
    shell::run(&rt, &mut ctl);
    0
}

/// Wire fault, connection problem or the like that the command did not handle itself:
/// supervisorctl prints it as an `error:` line and exits 1.
type CmdResult = Result<(), CallError>;

/// One of start/stop/signal/clear, as [`Ctl::batch`] runs it.
struct Batch<'a> {
    /// The word after a name on success: `web: started`.
    verb: &'a str,
    all: &'a str,
    /// The `group:*` method, if the command has one.
    group: Option<&'a str>,
    one: &'a str,
    /// Arguments after the name (the signal).
    extra: Vec<Value>,
    format: fn(&Value, &str) -> Result<String, CallError>,
    /// A fault that still leaves the exit status at success (e.g. start of a started process).
    ok_fault: Option<i32>,
    unknown_group_exit: i32,
}

fn unknown_code(code: i32, name: &str) -> Result<String, CallError> {
    Err(CallError::Decode(format!(
        "Unknown result code {code} for {name}"
    )))
}

fn start_result(v: &Value, verb: &str) -> Result<String, CallError> {
    let name = namespec(&s(v, "group"), &s(v, "name"));
    let t = |why: &str| Ok(format!("{name}: ERROR ({why})"));
    match i(v, "status") as i32 {
        faults::BAD_NAME => t("no such process"),
        faults::NO_FILE => t("no such file"),
        faults::NOT_EXECUTABLE => t("file is not executable"),
        faults::ALREADY_STARTED => t("already started"),
        faults::SPAWN_ERROR => t("spawn error"),
        faults::ABNORMAL_TERMINATION => t("abnormal termination"),
        faults::SUCCESS => Ok(format!("{name}: {verb}")),
        code => unknown_code(code, &name),
    }
}

fn signal_result(v: &Value, verb: &str) -> Result<String, CallError> {
    let name = namespec(&s(v, "group"), &s(v, "name"));
    let t = |why: &str| Ok(format!("{name}: ERROR ({why})"));
    match i(v, "status") as i32 {
        faults::BAD_NAME => t("no such process"),
        faults::BAD_SIGNAL => t("bad signal name"),
        faults::NOT_RUNNING => t("not running"),
        faults::SUCCESS => Ok(format!("{name}: {verb}")),
        faults::FAILED => Ok(s(v, "description")),
        code => unknown_code(code, &name),
    }
}

fn clear_result(v: &Value, verb: &str) -> Result<String, CallError> {
    let name = namespec(&s(v, "group"), &s(v, "name"));
    match i(v, "status") as i32 {
        faults::BAD_NAME => Ok(format!("{name}: ERROR (no such process)")),
        faults::FAILED => Ok(format!("{name}: ERROR (failed)")),
        faults::SUCCESS => Ok(format!("{name}: {verb}")),
        code => unknown_code(code, &name),
    }
}

/// One supervisorctl session.
pub struct Ctl {
    pub opts: CtlOptions,
    pub exitstatus: i32,
    interactive: bool,
    client: Option<Client>,
}

fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(line.as_bytes());
    let _ = o.write_all(b"\n");
}

const HELP: &[(&str, &str)] = &[
    ("tail", "tail [-f] <name> [stdout|stderr] (default stdout)\nEx:\ntail -f <name>\t\tContinuous tail of named process stdout\n\t\t\tCtrl-C to exit.\ntail -100 <name>\tlast 100 *bytes* of process stdout\ntail <name> stderr\tlast 1600 *bytes* of process stderr"),
    ("maintail", "maintail -f \tContinuous tail of supervisor main log file (Ctrl-C to exit)\nmaintail -100\tlast 100 *bytes* of supervisord main log file\nmaintail\tlast 1600 *bytes* of supervisor main log file\n"),
    ("status", "status <name>\t\tGet status for a single process\nstatus <gname>:*\tGet status for all processes in a group\nstatus <name> <name>\tGet status for multiple named processes\nstatus\t\t\tGet all process status info"),
    ("pid", "pid\t\t\tGet the PID of supervisord.\npid <name>\t\tGet the PID of a single child process by name.\npid all\t\t\tGet the PID of every child process, one per line."),
    ("start", "start <name>\t\tStart a process\nstart <gname>:*\t\tStart all processes in a group\nstart <name> <name>\tStart multiple processes or groups\nstart all\t\tStart all processes"),
    ("stop", "stop <name>\t\tStop a process\nstop <gname>:*\t\tStop all processes in a group\nstop <name> <name>\tStop multiple processes or groups\nstop all\t\tStop all processes"),
    ("signal", "signal <signal name> <name>\t\tSignal a process\nsignal <signal name> <gname>:*\t\tSignal all processes in a group\nsignal <signal name> <name> <name>\tSignal multiple processes or groups\nsignal <signal name> all\t\tSignal all processes"),
    ("restart", "restart <name>\t\tRestart a process\nrestart <gname>:*\tRestart all processes in a group\nrestart <name> <name>\tRestart multiple processes or groups\nrestart all\t\tRestart all processes\nNote: restart does not reread config files. For that, see reread and update."),
    ("shutdown", "shutdown \tShut the remote supervisord down."),
    ("reload", "reload \t\tRestart the remote supervisord."),
    ("avail", "avail\t\t\tDisplay all configured processes"),
    ("reread", "reread \t\t\tReload the daemon's configuration files without add/remove"),
    ("add", "add <name> [...]\tActivates any updates in config for process/group"),
    ("remove", "remove <name> [...]\tRemoves process/group from active config"),
    ("update", "update\t\t\tReload config and add/remove as necessary, and will restart affected programs\nupdate all\t\tReload config and add/remove as necessary, and will restart affected programs\nupdate <gname> [...]\tUpdate specific groups"),
    ("clear", "clear <name>\t\tClear a process' log files.\nclear <name> <name>\tClear multiple process' log files\nclear all\t\tClear all process' log files"),
    ("version", "version\t\t\tShow the version of the remote supervisord process"),
    ("fg", "fg <process>\tConnect to a process in foreground mode\n\t\tCtrl-C to exit"),
    ("health", "health\t\t\tExit 0 when every autostart process is RUNNING or exited as expected (steward)"),
    ("quit", "quit\tExit the supervisor shell."),
    ("exit", "exit\tExit the supervisor shell."),
];

fn help(topic: &str) {
    if let Some(t) = help_text(topic) {
        out(t);
    }
}

/// supervisorctl's help for one command.
pub fn help_text(topic: &str) -> Option<&'static str> {
    HELP.iter().find(|(n, _)| *n == topic).map(|(_, t)| *t)
}

fn namespec(group: &str, name: &str) -> String {
    if group == name {
        name.to_string()
    } else {
        format!("{group}:{name}")
    }
}

fn s(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn i(v: &Value, k: &str) -> i64 {
    v.get(k).and_then(Value::as_int).unwrap_or(0)
}

fn results(v: &Value) -> &[Value] {
    v.as_array().unwrap_or(&[])
}

/// How Python names a socket error in supervisorctl's `error:` line.
fn io_error_text(e: &std::io::Error) -> String {
    let class = match e.raw_os_error() {
        Some(libc::ENOENT) => "FileNotFoundError",
        Some(libc::ECONNREFUSED) => "ConnectionRefusedError",
        Some(libc::ECONNRESET) => "ConnectionResetError",
        Some(libc::EACCES) | Some(libc::EPERM) => "PermissionError",
        _ => "OSError",
    };
    match e.raw_os_error() {
        Some(n) => {
            let msg = std::io::Error::from_raw_os_error(n).to_string();
            let msg = msg.split(" (os error").next().unwrap_or(&msg).to_string();
            format!("<class '{class}'>, [Errno {n}] {msg}")
        }
        None => format!("<class '{class}'>, {e}"),
    }
}

impl Ctl {
    pub fn new(opts: CtlOptions, interactive: bool) -> Ctl {
        let client = ServerUrl::parse(&opts.serverurl)
            .ok()
            .map(|u| Client::new(u, opts.username.clone(), opts.password.clone()));
        Ctl {
            opts,
            exitstatus: 0,
            interactive,
            client,
        }
    }

    async fn call(&self, method: &str, params: &[Value]) -> Result<Value, CallError> {
        match &self.client {
            Some(c) => c.call(method, params).await,
            None => Err(CallError::Decode(format!(
                "bad server url {}",
                self.opts.serverurl
            ))),
        }
    }

    /// Run one command line, as `Cmd.onecmd` does.
    pub async fn onecmd(&mut self, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let (cmd, arg) = match line.find(|c: char| !(c.is_alphanumeric() || c == '_')) {
            Some(0) => ("", line),
            Some(n) => (&line[..n], line[n..].trim()),
            None => (line, ""),
        };
        let r = match cmd {
            "status" => self.do_status(arg).await,
            "start" => self.do_start(arg).await,
            "stop" => self.do_stop(arg).await,
            "restart" => self.do_restart(arg).await,
            "signal" => self.do_signal(arg).await,
            "tail" => self.do_tail(arg).await,
            "maintail" => self.do_maintail(arg).await,
            "pid" => self.do_pid(arg).await,
            "reread" => self.do_reread(arg).await,
            "update" => self.do_update(arg).await,
            "add" => self.do_add(arg).await,
            "remove" => self.do_remove(arg).await,
            "avail" => self.do_avail(arg).await,
            "clear" => self.do_clear(arg).await,
            "shutdown" => self.do_shutdown(arg).await,
            "reload" => self.do_reload(arg).await,
            "version" => self.do_version(arg).await,
            "fg" => self.do_fg(arg).await,
            "open" => self.do_open(arg).await,
            "health" => self.do_health(arg).await,
            "help" => {
                if arg.is_empty() {
                    // supervisorctl's table byte for byte (scripts compare it), then steward's own
                    // commands in a table of their own, in the same shape.
                    out("\ndefault commands (type help <topic>):\n=====================================\nadd    exit      open  reload  restart   start   tail   \navail  fg        pid   remove  shutdown  status  update \nclear  maintail  quit  reread  signal    stop    version\n");
                    out("steward commands (type help <topic>):\n=====================================\nhealth\n");
                } else {
                    help(arg);
                }
                Ok(())
            }
            "quit" | "exit" | "EOF" => Ok(()),
            _ => {
                out(&format!("*** Unknown syntax: {line}"));
                self.exitstatus = exit::GENERIC;
                Ok(())
            }
        };
        if let Err(e) = r {
            self.report(e);
        }
    }

    /// An error the command did not handle: supervisorctl's catch-all (`error: <class>, <text>`).
    fn report(&mut self, e: CallError) {
        self.exitstatus = exit::GENERIC;
        match e {
            CallError::Http { status: 401, .. } => {
                out("Server requires authentication");
                out("error: <class 'xmlrpc.client.ProtocolError'>, <ProtocolError for 127.0.0.1/RPC2: 401 Unauthorized>");
            }
            CallError::Http { status, reason } => out(&format!(
                "error: <class 'xmlrpc.client.ProtocolError'>, <ProtocolError for 127.0.0.1/RPC2: {status} {reason}>"
            )),
            CallError::Fault(f) => out(&format!("error: <class 'xmlrpc.client.Fault'>, {f}")),
            CallError::Io(e) => {
                out(&format!("error: {}", io_error_text(&e)));
                self.say_where_we_looked();
            }
            CallError::Decode(m) => out(&format!("error: <class 'ValueError'>, {m}")),
        }
    }

    /// Why the URL that did not answer was tried, when it was only the default (once, on stderr).
    fn say_where_we_looked(&mut self) {
        if let Some(note) = self.opts.guessed.take() {
            eprintln!("Note: {note}");
        }
    }

    fn set_exit_from_fault(&mut self, code: i64, ignored: Option<i32>) {
        let code = code as i32;
        if Some(code) == ignored || code == faults::SUCCESS {
            return;
        }
        self.exitstatus = match code {
            faults::SPAWN_ERROR | faults::ABNORMAL_TERMINATION | faults::NOT_RUNNING => {
                exit::NOT_RUNNING
            }
            _ => exit::GENERIC,
        };
    }

    /// supervisorctl's `getVersion` probe before most commands; false when it already reported.
    async fn upcheck(&mut self) -> Result<bool, CallError> {
        match self.call("supervisor.getVersion", &[]).await {
            Ok(v) => {
                let api = v.as_str().unwrap_or_default().to_string();
                if api != rpc::API_VERSION {
                    out(&format!("Sorry, this version of supervisorctl expects to talk to a server with API version {}, but the remote version is {}.", rpc::API_VERSION, api));
                    self.exitstatus = exit::NOT_INSTALLED;
                    return Ok(false);
                }
                Ok(true)
            }
            Err(CallError::Fault(f)) if f.code == faults::UNKNOWN_METHOD => {
                out("Sorry, supervisord responded but did not recognize the supervisor namespace commands that supervisorctl uses to control it.  Please check that the [rpcinterface:supervisor] section is enabled in the configuration file (see sample.conf).");
                self.exitstatus = exit::UNIMPLEMENTED_FEATURE;
                Ok(false)
            }
            Err(CallError::Io(e)) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                out(&format!("{} refused connection", self.opts.serverurl));
                self.say_where_we_looked();
                self.exitstatus = exit::INSUFFICIENT_PRIVILEGES;
                Ok(false)
            }
            Err(CallError::Io(e)) if e.raw_os_error() == Some(libc::ENOENT) => {
                out(&format!("{} no such file", self.opts.serverurl));
                self.exitstatus = exit::NOT_RUNNING;
                Ok(false)
            }
            Err(e) => {
                self.exitstatus = exit::GENERIC;
                Err(e)
            }
        }
    }

    async fn do_status(&mut self, arg: &str) -> CmdResult {
        let mut words: Vec<&str> = arg.split_whitespace().collect();
        let json = words.contains(&"--json");
        words.retain(|w| *w != "--json");
        match self.upcheck().await {
            Ok(true) => {}
            Ok(false) => {
                self.exitstatus = exit::STATUS_UNKNOWN;
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        let all = self.call("supervisor.getAllProcessInfo", &[]).await?;
        let all = results(&all).to_vec();
        let mut matching: Vec<Value> = Vec::new();
        if words.is_empty() || words.contains(&"all") {
            matching = all;
        } else {
            for name in &words {
                let (group, process) = split_namespec(name);
                let hits: Vec<&Value> = all
                    .iter()
                    .filter(|info| {
                        s(info, "group") == group && process.map_or(true, |p| s(info, "name") == p)
                    })
                    .collect();
                if hits.is_empty() {
                    if process.is_none() {
                        out(&format!("{group}: ERROR (no such group)"));
                    } else {
                        out(&format!("{name}: ERROR (no such process)"));
                    }
                    self.exitstatus = exit::STATUS_UNKNOWN;
                }
                matching.extend(hits.into_iter().cloned());
            }
        }
        if json {
            let list: Vec<serde_json::Value> = matching
                .iter()
                .map(|v| {
                    serde_json::json!({
                        "name": s(v, "name"),
                        "group": s(v, "group"),
                        "namespec": namespec(&s(v, "group"), &s(v, "name")),
                        "state": i(v, "state"),
                        "statename": s(v, "statename"),
                        "description": s(v, "description"),
                        "pid": i(v, "pid"),
                        "start": i(v, "start"),
                        "stop": i(v, "stop"),
                        "now": i(v, "now"),
                        "exitstatus": i(v, "exitstatus"),
                        "spawnerr": s(v, "spawnerr"),
                        "stdout_logfile": s(v, "stdout_logfile"),
                        "stderr_logfile": s(v, "stderr_logfile"),
                    })
                })
                .collect();
            out(&serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".into()));
        } else {
            let specs: Vec<String> = matching
                .iter()
                .map(|v| namespec(&s(v, "group"), &s(v, "name")))
                .collect();
            let width = specs
                .iter()
                .map(|n| n.chars().count())
                .max()
                .unwrap_or(0)
                .max(30)
                + 3;
            for (v, n) in matching.iter().zip(&specs) {
                out(&format!(
                    "{n:<width$}{:<10}{}",
                    s(v, "statename"),
                    s(v, "description")
                ));
            }
        }
        for v in &matching {
            let st = ProcessState::from_code(i(v, "state"));
            if matches!(
                st,
                Some(
                    ProcessState::Stopped
                        | ProcessState::Exited
                        | ProcessState::Fatal
                        | ProcessState::Unknown
                )
            ) {
                self.exitstatus = exit::STATUS_NOT_RUNNING;
            }
        }
        Ok(())
    }

    async fn do_health(&mut self, _arg: &str) -> CmdResult {
        match self.upcheck().await {
            Ok(true) => {}
            Ok(false) => {
                self.exitstatus = exit::STATUS_UNKNOWN;
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        let procs = self.call("supervisor.getAllProcessInfo", &[]).await?;
        let configs = self.call("supervisor.getAllConfigInfo", &[]).await?;
        let inputs: Vec<HealthInput> = results(&procs)
            .iter()
            .map(|p| {
                let (g, n) = (s(p, "group"), s(p, "name"));
                let c = results(&configs)
                    .iter()
                    .find(|c| s(c, "group") == g && s(c, "name") == n);
                HealthInput {
                    namespec: namespec(&g, &n),
                    state: ProcessState::from_code(i(p, "state")).unwrap_or(ProcessState::Unknown),
                    exitstatus: i(p, "exitstatus"),
                    autostart: c
                        .and_then(|c| c.get("autostart"))
                        .and_then(Value::as_bool)
                        .unwrap_or(true),
                    exitcodes: c
                        .and_then(|c| c.get("exitcodes"))
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_int)
                                .map(|x| x as i32)
                                .collect()
                        })
                        .unwrap_or_else(|| vec![0]),
                    // steward says so in the description of a RUNNING process.
                    unhealthy: {
                        let d = s(p, "description");
                        d.contains("unhealthy (").then(|| rpc::unhealthy_part(&d))
                    },
                }
            })
            .collect();
        let problems = rpc::health_problems(&inputs);
        if problems.is_empty() {
            out("healthy");
        } else {
            for p in problems {
                out(&format!("unhealthy: {p}"));
            }
            self.exitstatus = exit::GENERIC;
        }
        Ok(())
    }

    /// A fault on a single-process call, shaped like a group result struct.
    fn fault_result(f: &Fault, group: &str, process: &str) -> Value {
        Value::structure([
            ("status", Value::Int(f.code.into())),
            ("name", Value::str(process)),
            ("group", Value::str(group)),
            ("description", Value::str(&f.string)),
        ])
    }

    async fn checked(&mut self) -> Result<bool, CallError> {
        self.upcheck().await
    }

    /// start/stop/signal/clear: each namespec goes to the process, `group:*` to the group, `all` to
    /// every process, and each result line is printed as supervisorctl does.
    async fn batch(&mut self, op: &Batch<'_>, names: &[&str]) -> CmdResult {
        let result_lines = |this: &mut Self, r: &Value| -> CmdResult {
            for v in results(r) {
                out(&(op.format)(v, op.verb)?);
                this.set_exit_from_fault(i(v, "status"), op.ok_fault);
            }
            Ok(())
        };
        if names.contains(&"all") {
            let r = self.call(op.all, &op.extra).await?;
            return result_lines(self, &r);
        }
        for name in names {
            let (group, process) = split_namespec(name);
            match (process, op.group) {
                (None, Some(method)) => {
                    let mut args = vec![Value::str(group)];
                    args.extend(op.extra.iter().cloned());
                    match self.call(method, &args).await {
                        Ok(r) => result_lines(self, &r)?,
                        Err(CallError::Fault(f)) if f.code == faults::BAD_NAME => {
                            out(&format!("{group}: ERROR (no such group)"));
                            self.exitstatus = op.unknown_group_exit;
                        }
                        Err(e) => return Err(e),
                    }
                }
                (process, _) => {
                    // Without a group form (clear), `g:` names the process "None", as supervisorctl.
                    let process = process.unwrap_or("None");
                    let mut args = vec![Value::str(*name)];
                    args.extend(op.extra.iter().cloned());
                    match self.call(op.one, &args).await {
                        Ok(_) => out(&format!("{}: {}", namespec(group, process), op.verb)),
                        Err(CallError::Fault(f)) => {
                            let v = Self::fault_result(&f, group, process);
                            out(&(op.format)(&v, op.verb)?);
                            self.set_exit_from_fault(f.code.into(), op.ok_fault);
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }

    /// The namespecs after a command, or the usage error supervisorctl gives without any.
    fn names_or_usage<'a>(
        &mut self,
        cmd: &str,
        arg: &'a str,
        exit_code: i32,
    ) -> Option<Vec<&'a str>> {
        let names: Vec<&str> = arg.split_whitespace().collect();
        if names.is_empty() {
            out(&format!("Error: {cmd} requires a process name"));
            self.exitstatus = exit_code;
            help(cmd);
            return None;
        }
        Some(names)
    }

    async fn do_start(&mut self, arg: &str) -> CmdResult {
        if !self.checked().await? {
            return Ok(());
        }
        let Some(names) = self.names_or_usage("start", arg, exit::INVALID_ARGS) else {
            return Ok(());
        };
        let op = Batch {
            verb: "started",
            all: "supervisor.startAllProcesses",
            group: Some("supervisor.startProcessGroup"),
            one: "supervisor.startProcess",
            extra: Vec::new(),
            format: start_result,
            ok_fault: Some(faults::ALREADY_STARTED),
            unknown_group_exit: exit::INVALID_ARGS,
        };
        self.batch(&op, &names).await
    }

    async fn do_stop(&mut self, arg: &str) -> CmdResult {
        if !self.checked().await? {
            return Ok(());
        }
        let Some(names) = self.names_or_usage("stop", arg, exit::GENERIC) else {
            return Ok(());
        };
        let op = Batch {
            verb: "stopped",
            all: "supervisor.stopAllProcesses",
            group: Some("supervisor.stopProcessGroup"),
            one: "supervisor.stopProcess",
            extra: Vec::new(),
            format: signal_result,
            ok_fault: Some(faults::NOT_RUNNING),
            unknown_group_exit: exit::GENERIC,
        };
        self.batch(&op, &names).await
    }

    async fn do_signal(&mut self, arg: &str) -> CmdResult {
        if !self.checked().await? {
            return Ok(());
        }
        let args: Vec<&str> = arg.split_whitespace().collect();
        if args.len() < 2 {
            out("Error: signal requires a signal name and a process name");
            help("signal");
            self.exitstatus = exit::GENERIC;
            return Ok(());
        }
        let op = Batch {
            verb: "signalled",
            all: "supervisor.signalAllProcesses",
            group: Some("supervisor.signalProcessGroup"),
            one: "supervisor.signalProcess",
            extra: vec![Value::str(args[0])],
            format: signal_result,
            ok_fault: None,
            unknown_group_exit: exit::GENERIC,
        };
        self.batch(&op, &args[1..]).await
    }

    async fn do_restart(&mut self, arg: &str) -> CmdResult {
        if !self.checked().await? {
            return Ok(());
        }
        if arg.split_whitespace().next().is_none() {
            out("Error: restart requires a process name");
            self.exitstatus = exit::GENERIC;
            help("restart");
            return Ok(());
        }
        self.do_stop(arg).await?;
        self.do_start(arg).await
    }

    async fn do_tail(&mut self, arg: &str) -> CmdResult {
        if !self.checked().await? {
            return Ok(());
        }
        let mut args: Vec<&str> = arg.split_whitespace().collect();
        if args.is_empty() {
            out("Error: too few arguments");
            self.exitstatus = exit::GENERIC;
            help("tail");
            return Ok(());
        }
        if args.len() > 3 {
            out("Error: too many arguments");
            self.exitstatus = exit::GENERIC;
            help("tail");
            return Ok(());
        }
        let modifier = if args[0].starts_with('-') {
            Some(args.remove(0))
        } else {
            None
        };
        let (name, channel) = if args.len() == 1 {
            (args[0].to_string(), "stdout".to_string())
        } else if !args.is_empty() {
            let ch = args[args.len() - 1].to_lowercase();
            if ch != "stderr" && ch != "stdout" {
                out(&format!("Error: bad channel '{ch}'"));
                self.exitstatus = exit::GENERIC;
                return Ok(());
            }
            (args[0].to_string(), ch)
        } else {
            out("Error: tail requires process name");
            self.exitstatus = exit::GENERIC;
            return Ok(());
        };
        let mut bytes: Option<i64> = Some(1600);
        if let Some(m) = modifier {
            let what = &m[1..];
            if what == "f" {
                bytes = None;
            } else {
                match what.parse::<i64>() {
                    Ok(n) => bytes = Some(n),
                    Err(_) => {
                        out(&format!("Error: bad argument {m}"));
                        self.exitstatus = exit::GENERIC;
                        return Ok(());
                    }
                }
            }
        }
        let Some(bytes) = bytes else {
            return self.tailf(&format!("/logtail/{name}/{channel}")).await;
        };
        let method = if channel == "stdout" {
            "supervisor.readProcessStdoutLog"
        } else {
            "supervisor.readProcessStderrLog"
        };
        let r = self
            .call(
                method,
                &[Value::str(&name), Value::Int(-bytes), Value::Int(0)],
            )
            .await;
        match r {
            Ok(v) => out(v.as_str().unwrap_or_default()),
            Err(CallError::Fault(f)) => {
                self.exitstatus = exit::GENERIC;
                let why = match f.code {
                    faults::NO_FILE => "no log file",
                    faults::FAILED => "unknown error reading log",
                    faults::BAD_NAME => "no such process name",
                    _ => return Err(CallError::Fault(f)),
                };
                out(&format!("{name}: ERROR ({why})"));
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    async fn tailf(&mut self, path: &str) -> CmdResult {
        out("==> Press Ctrl-C to exit <==");
        let Some(client) = self.client.clone() else {
            return Ok(());
        };
        let r = client
            .stream(path, |chunk| {
                let mut o = std::io::stdout().lock();
                let _ = o.write_all(chunk);
                let _ = o.flush();
            })
            .await;
        match r {
            Ok(()) => Ok(()),
            Err(CallError::Http { status: 401, .. }) => Err(CallError::Http {
                status: 401,
                reason: "Unauthorized".into(),
            }),
            Err(CallError::Http { status, .. }) => {
                // supervisorctl's stream client reports the failed URL on stderr and carries on
                // (exit 0).
                eprintln!(
                    "{}{path} Cannot read, status code {status}",
                    self.opts.serverurl
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn do_maintail(&mut self, arg: &str) -> CmdResult {
        if !self.checked().await? {
            return Ok(());
        }
        let args: Vec<&str> = arg.split_whitespace().collect();
        let bytes: i64 = match args.as_slice() {
            [] => 1600,
            [a] => {
                let Some(what) = a.strip_prefix('-') else {
                    out(&format!("Error: bad argument {a}"));
                    self.exitstatus = exit::GENERIC;
                    return Ok(());
                };
                if what == "f" {
                    return self.tailf("/mainlogtail").await;
                }
                match what.parse() {
                    Ok(n) => n,
                    Err(_) => {
                        out(&format!("Error: bad argument {a}"));
                        self.exitstatus = exit::GENERIC;
                        return Ok(());
                    }
                }
            }
            _ => {
                out("Error: too many arguments");
                self.exitstatus = exit::GENERIC;
                help("maintail");
                return Ok(());
            }
        };
        match self
            .call("supervisor.readLog", &[Value::Int(-bytes), Value::Int(0)])
            .await
        {
            Ok(v) => out(v.as_str().unwrap_or_default()),
            Err(CallError::Fault(f)) => {
                self.exitstatus = exit::GENERIC;
                let why = match f.code {
                    faults::NO_FILE => "no log file",
                    faults::FAILED => "unknown error reading log",
                    _ => return Err(CallError::Fault(f)),
                };
                out(&format!("supervisord: ERROR ({why})"));
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    async fn do_pid(&mut self, arg: &str) -> CmdResult {
        if !self.checked().await? {
            return Ok(());
        }
        let names: Vec<&str> = arg.split_whitespace().collect();
        if names.is_empty() {
            let pid = self.call("supervisor.getPID", &[]).await?;
            out(&pid.as_int().unwrap_or(0).to_string());
        } else if names.contains(&"all") {
            let all = self.call("supervisor.getAllProcessInfo", &[]).await?;
            for v in results(&all) {
                out(&i(v, "pid").to_string());
            }
        } else {
            for name in names {
                match self
                    .call("supervisor.getProcessInfo", &[Value::str(name)])
                    .await
                {
                    Ok(v) => {
                        let pid = i(&v, "pid");
                        out(&pid.to_string());
                        if pid == 0 {
                            self.exitstatus = exit::NOT_RUNNING;
                        }
                    }
                    Err(CallError::Fault(f)) => {
                        self.exitstatus = exit::GENERIC;
                        if f.code == faults::BAD_NAME {
                            out(&format!("No such process {name}"));
                        } else {
                            return Err(CallError::Fault(f));
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    fn format_changes(added: &[Value], changed: &[Value], removed: &[Value]) {
        let mut lines: Vec<(String, &str)> = Vec::new();
        for (list, what) in [
            (added, "available"),
            (changed, "changed"),
            (removed, "disappeared"),
        ] {
            for n in list.iter().filter_map(Value::as_str) {
                lines.retain(|(k, _)| k != n);
                lines.push((n.to_string(), what));
            }
        }
        if lines.is_empty() {
            out("No config updates to processes");
        } else {
            lines.sort();
            for (n, w) in lines {
                out(&format!("{n}: {w}"));
            }
        }
    }

    async fn do_reread(&mut self, arg: &str) -> CmdResult {
        if !arg.is_empty() {
            out("Error: reread accepts no arguments");
            self.exitstatus = exit::GENERIC;
            help("reread");
            return Ok(());
        }
        match self.call("supervisor.reloadConfig", &[]).await {
            Ok(v) => {
                let (a, c, r) = changes(&v);
                Self::format_changes(&a, &c, &r);
            }
            Err(CallError::Fault(f)) => {
                self.exitstatus = exit::GENERIC;
                match f.code {
                    faults::SHUTDOWN_STATE => out("ERROR: supervisor shutting down"),
                    faults::CANT_REREAD => out(&format!("ERROR: {}", f.string)),
                    _ => return Err(CallError::Fault(f)),
                }
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    async fn do_add(&mut self, arg: &str) -> CmdResult {
        for name in arg.split_whitespace() {
            match self
                .call("supervisor.addProcessGroup", &[Value::str(name)])
                .await
            {
                Ok(_) => out(&format!("{name}: added process group")),
                Err(CallError::Fault(f)) => match f.code {
                    faults::SHUTDOWN_STATE => {
                        out("ERROR: shutting down");
                        self.exitstatus = exit::GENERIC;
                    }
                    faults::ALREADY_ADDED => out("ERROR: process group already active"),
                    faults::BAD_NAME => {
                        out(&format!("ERROR: no such process/group: {name}"));
                        self.exitstatus = exit::GENERIC;
                    }
                    _ => {
                        self.exitstatus = exit::GENERIC;
                        return Err(CallError::Fault(f));
                    }
                },
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn do_remove(&mut self, arg: &str) -> CmdResult {
        for name in arg.split_whitespace() {
            match self
                .call("supervisor.removeProcessGroup", &[Value::str(name)])
                .await
            {
                Ok(_) => out(&format!("{name}: removed process group")),
                Err(CallError::Fault(f)) => {
                    self.exitstatus = exit::GENERIC;
                    match f.code {
                        faults::STILL_RUNNING => {
                            out(&format!("ERROR: process/group still running: {name}"))
                        }
                        faults::BAD_NAME => out(&format!("ERROR: no such process/group: {name}")),
                        _ => return Err(CallError::Fault(f)),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    async fn do_update(&mut self, arg: &str) -> CmdResult {
        let v = match self.call("supervisor.reloadConfig", &[]).await {
            Ok(v) => v,
            Err(CallError::Fault(f)) => {
                self.exitstatus = exit::GENERIC;
                if f.code == faults::SHUTDOWN_STATE {
                    out("ERROR: already shutting down");
                    return Ok(());
                }
                return Err(CallError::Fault(f));
            }
            Err(e) => return Err(e),
        };
        let (added, changed, removed) = changes(&v);
        let names = |l: &[Value]| -> Vec<String> {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        };
        let (added, changed, removed) = (names(&added), names(&changed), names(&removed));
        let mut valid: Vec<&str> = arg.split_whitespace().collect();
        valid.sort();
        valid.dedup();
        if valid.contains(&"all") {
            valid.clear();
        }
        if !valid.is_empty() {
            let all = self.call("supervisor.getAllProcessInfo", &[]).await?;
            let mut groups: Vec<String> = results(&all).iter().map(|v| s(v, "group")).collect();
            groups.extend(added.iter().cloned());
            for g in &valid {
                if !groups.iter().any(|x| x == g) {
                    out(&format!("ERROR: no such group: {g}"));
                    self.exitstatus = exit::GENERIC;
                }
            }
        }
        let wanted = |g: &str| valid.is_empty() || valid.contains(&g);
        for g in removed.iter().filter(|g| wanted(g)) {
            let r = self
                .call("supervisor.stopProcessGroup", &[Value::str(g)])
                .await?;
            out(&format!("{g}: stopped"));
            if results(&r)
                .iter()
                .any(|v| i(v, "status") == i64::from(faults::FAILED))
            {
                out(&format!("{g}: has problems; not removing"));
                self.exitstatus = exit::GENERIC;
                continue;
            }
            self.call("supervisor.removeProcessGroup", &[Value::str(g)])
                .await?;
            out(&format!("{g}: removed process group"));
        }
        for g in changed.iter().filter(|g| wanted(g)) {
            self.call("supervisor.stopProcessGroup", &[Value::str(g)])
                .await?;
            out(&format!("{g}: stopped"));
            self.call("supervisor.removeProcessGroup", &[Value::str(g)])
                .await?;
            self.call("supervisor.addProcessGroup", &[Value::str(g)])
                .await?;
            out(&format!("{g}: updated process group"));
        }
        for g in added.iter().filter(|g| wanted(g)) {
            self.call("supervisor.addProcessGroup", &[Value::str(g)])
                .await?;
            out(&format!("{g}: added process group"));
        }
        Ok(())
    }

    async fn do_avail(&mut self, arg: &str) -> CmdResult {
        if !arg.is_empty() {
            out("Error: avail accepts no arguments");
            self.exitstatus = exit::GENERIC;
            help("avail");
            return Ok(());
        }
        match self.call("supervisor.getAllConfigInfo", &[]).await {
            Ok(v) => {
                for c in results(&v) {
                    let inuse = if c.get("inuse").and_then(Value::as_bool) == Some(true) {
                        "in use"
                    } else {
                        "avail"
                    };
                    let auto = if c.get("autostart").and_then(Value::as_bool) == Some(true) {
                        "auto"
                    } else {
                        "manual"
                    };
                    let prio = format!("{}:{}", i(c, "group_prio"), i(c, "process_prio"));
                    out(&format!(
                        "{:<32} {:<9} {:<9} {}",
                        namespec(&s(c, "group"), &s(c, "name")),
                        inuse,
                        auto,
                        prio
                    ));
                }
            }
            Err(CallError::Fault(f)) => {
                self.exitstatus = exit::GENERIC;
                if f.code == faults::SHUTDOWN_STATE {
                    out("ERROR: supervisor shutting down");
                } else {
                    return Err(CallError::Fault(f));
                }
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    async fn do_clear(&mut self, arg: &str) -> CmdResult {
        if !self.checked().await? {
            return Ok(());
        }
        let Some(names) = self.names_or_usage("clear", arg, exit::GENERIC) else {
            return Ok(());
        };
        let op = Batch {
            verb: "cleared",
            all: "supervisor.clearAllProcessLogs",
            group: None,
            one: "supervisor.clearProcessLogs",
            extra: Vec::new(),
            format: clear_result,
            ok_fault: None,
            unknown_group_exit: exit::GENERIC,
        };
        self.batch(&op, &names).await
    }

    async fn do_shutdown(&mut self, arg: &str) -> CmdResult {
        if !arg.is_empty() {
            out("Error: shutdown accepts no arguments");
            self.exitstatus = exit::GENERIC;
            help("shutdown");
            return Ok(());
        }
        if self.interactive && !confirm("Really shut the remote supervisord process down y/N? ") {
            return Ok(());
        }
        match self.call("supervisor.shutdown", &[]).await {
            Ok(_) => out("Shut down"),
            Err(CallError::Fault(f)) if f.code == faults::SHUTDOWN_STATE => {
                out("ERROR: already shutting down")
            }
            Err(CallError::Io(e))
                if matches!(e.raw_os_error(), Some(libc::ECONNREFUSED | libc::ENOENT)) =>
            {
                self.exitstatus = exit::GENERIC;
                let what = if e.raw_os_error() == Some(libc::ENOENT) {
                    "no such file"
                } else {
                    "refused connection"
                };
                out(&format!(
                    "ERROR: {} {what} (already shut down?)",
                    self.opts.serverurl
                ));
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    async fn do_reload(&mut self, arg: &str) -> CmdResult {
        if !arg.is_empty() {
            out("Error: reload accepts no arguments");
            self.exitstatus = exit::GENERIC;
            help("reload");
            return Ok(());
        }
        if self.interactive && !confirm("Really restart the remote supervisord process y/N? ") {
            return Ok(());
        }
        match self.call("supervisor.restart", &[]).await {
            Ok(_) => out("Restarted supervisord"),
            Err(CallError::Fault(f)) => {
                self.exitstatus = exit::GENERIC;
                if f.code == faults::SHUTDOWN_STATE {
                    out("ERROR: already shutting down");
                } else {
                    return Err(CallError::Fault(f));
                }
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    async fn do_version(&mut self, arg: &str) -> CmdResult {
        if !arg.is_empty() {
            out("Error: version accepts no arguments");
            self.exitstatus = exit::GENERIC;
            help("version");
            return Ok(());
        }
        if !self.checked().await? {
            return Ok(());
        }
        let v = self.call("supervisor.getSupervisorVersion", &[]).await?;
        out(v.as_str().unwrap_or_default());
        Ok(())
    }

    async fn do_open(&mut self, arg: &str) -> CmdResult {
        let url = arg.trim();
        if !(url.starts_with("unix:") || url.starts_with("http:")) {
            out("ERROR: url must be http:// or unix://");
            self.exitstatus = exit::GENERIC;
            return Ok(());
        }
        self.opts.serverurl = url.to_string();
        self.client = ServerUrl::parse(url)
            .ok()
            .map(|u| Client::new(u, self.opts.username.clone(), self.opts.password.clone()));
        let old = self.exitstatus;
        let r = self.do_status("").await;
        self.exitstatus = old;
        r
    }

    /// `fg`: follow the process's output and forward stdin lines to it until EOF.
    async fn do_fg(&mut self, arg: &str) -> CmdResult {
        if !self.checked().await? {
            return Ok(());
        }
        let names: Vec<&str> = arg.split_whitespace().collect();
        if names.is_empty() {
            out("ERROR: no process name supplied");
            self.exitstatus = exit::GENERIC;
            help("fg");
            return Ok(());
        }
        if names.len() > 1 {
            out("ERROR: too many process names supplied");
            self.exitstatus = exit::GENERIC;
            return Ok(());
        }
        let name = names[0];
        let info = match self
            .call("supervisor.getProcessInfo", &[Value::str(name)])
            .await
        {
            Ok(v) => v,
            Err(CallError::Fault(f)) => {
                if f.code == faults::BAD_NAME {
                    out("ERROR: bad process name supplied");
                    self.exitstatus = exit::GENERIC;
                } else {
                    out(&format!("ERROR: {f}"));
                }
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        if i(&info, "state") != i64::from(ProcessState::Running.code()) {
            out("ERROR: process not running");
            self.exitstatus = exit::GENERIC;
            return Ok(());
        }
        out("==> Press Ctrl-C to exit <==");
        let Some(client) = self.client.clone() else {
            return Ok(());
        };
        let mut streams = Vec::new();
        for ch in ["stdout", "stderr"] {
            let c = client.clone();
            let path = format!("/logtail/{name}/{ch}");
            streams.push(tokio::spawn(async move {
                let _ = c
                    .stream(&path, |chunk| {
                        let mut o = std::io::stdout().lock();
                        let _ = o.write_all(chunk);
                        let _ = o.flush();
                    })
                    .await;
            }));
        }
        let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(16);
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            loop {
                let mut line = String::new();
                match stdin.lock().read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if tx.blocking_send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        let result = async {
            while let Some(line) = rx.recv().await {
                let line = if line.ends_with('\n') {
                    line
                } else {
                    format!("{line}\n")
                };
                match self
                    .call(
                        "supervisor.sendProcessStdin",
                        &[Value::str(name), Value::str(line)],
                    )
                    .await
                {
                    Ok(_) => {}
                    Err(CallError::Fault(f)) => {
                        if f.code == faults::NOT_RUNNING {
                            out("Process got killed");
                        } else {
                            out(&format!("ERROR: {f}"));
                        }
                        return Ok(());
                    }
                    Err(e) => return Err(e),
                }
                let info = self
                    .call("supervisor.getProcessInfo", &[Value::str(name)])
                    .await?;
                if i(&info, "state") != i64::from(ProcessState::Running.code()) {
                    out("Process got killed");
                    return Ok(());
                }
            }
            Ok(())
        }
        .await;
        out("Exiting foreground");
        for s in streams {
            s.abort();
        }
        result
    }
}

fn confirm(prompt: &str) -> bool {
    print!("{prompt}");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    line.trim().to_lowercase().starts_with('y')
}

/// `reloadConfig`'s `[[added, changed, removed]]`.
fn changes(v: &Value) -> (Vec<Value>, Vec<Value>, Vec<Value>) {
    let inner = v
        .as_array()
        .and_then(|a| a.first())
        .and_then(Value::as_array)
        .unwrap_or(&[]);
    let list = |n: usize| {
        inner
            .get(n)
            .and_then(Value::as_array)
            .map(<[Value]>::to_vec)
            .unwrap_or_default()
    };
    (list(0), list(1), list(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctl_section_rules() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.conf");
        let text = "[program:x]\nserverurl=nope\n[supervisorctl]\nserverurl = unix://%(here)s/sock ; comment\nusername=u#not-a-comment\nprompt=hey\n";
        std::fs::write(&f, text).unwrap();
        let sec = read_ctl_section(&f, text).unwrap().unwrap();
        let here = std::path::absolute(dir.path()).unwrap();
        assert_eq!(
            sec,
            vec![
                (
                    "serverurl".to_string(),
                    format!("unix://{}/sock", here.display())
                ),
                ("username".to_string(), "u#not-a-comment".to_string()),
                ("prompt".to_string(), "hey".to_string()),
            ]
        );
        assert!(read_ctl_section(&f, "[program:x]\ncommand=ls\n")
            .unwrap()
            .is_none());
        // configparser's [DEFAULT] fallback, continuation lines, %% and ENV_ expansion.
        std::env::set_var("STEWARD_CTL_TEST_USER", "envuser");
        let text = "[DEFAULT]\nprompt=from-default\n[supervisorctl]\nusername=%(ENV_STEWARD_CTL_TEST_USER)s\npassword=a%%b\n  more\n";
        let sec = read_ctl_section(&f, text).unwrap().unwrap();
        assert_eq!(
            sec,
            vec![
                ("username".to_string(), "envuser".to_string()),
                ("password".to_string(), "a%b\nmore".to_string()),
                ("prompt".to_string(), "from-default".to_string()),
            ]
        );
        // `here` only where supervisorctl offers it.
        let err = read_ctl_section(&f, "[supervisorctl]\nusername=%(here)s\n").unwrap_err();
        assert!(err.contains("cannot be expanded"), "{err}");
        assert!(read_ctl_section(&f, "[supervisorctl]\n= x\n").is_err());
        let t = dir.path().join("s.toml");
        let sec = read_ctl_table(&t, "[supervisorctl]\nserverurl = \"unix://%(here)s/s\"\n")
            .unwrap()
            .unwrap();
        assert_eq!(sec[0].0, "serverurl");
        assert!(read_ctl_table(&t, "[x]\ny = 1\n").unwrap().is_none());
    }

    #[test]
    fn listening_unix_sockets() {
        let table = "Num       RefCount Protocol Flags    Type St Inode Path\n\
            0000000000000000: 00000002 00000000 00010000 0001 01 833871 /tmp/a b/sock.1\n\
            0000000000000000: 00000003 00000000 00000000 0001 03 833872 /tmp/connected\n\
            0000000000000000: 00000002 00000000 00010000 0001 01  12345 @abstract\n\
            0000000000000000: 00000002 00000000 00010000 0001 01  12346\n";
        assert_eq!(
            listening_unix(table),
            vec![(833871, PathBuf::from("/tmp/a b/sock.1"))]
        );
    }

    #[test]
    fn options_precedence_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.conf");
        std::fs::write(
            &f,
            "[supervisorctl]\nserverurl=unix:///a\nusername=u\npassword=p\n",
        )
        .unwrap();
        let args = CtlArgs {
            configuration: Some(f.clone()),
            serverurl: Some("unix:///b".into()),
            ..Default::default()
        };
        let o = resolve_options(&args, Path::new("/nonexistent/bin/x")).unwrap();
        assert_eq!(o.serverurl, "unix:///b");
        assert_eq!(o.username.as_deref(), Some("u"));
        assert_eq!(o.history_file, None);
        assert_eq!(o.guessed, None);
        std::fs::write(
            &f,
            "[supervisorctl]\nserverurl=unix:///a\nhistory_file=%(here)s/hist\n",
        )
        .unwrap();
        let here = std::path::absolute(dir.path()).unwrap();
        let o = resolve_options(&args, Path::new("/x")).unwrap();
        assert_eq!(o.history_file, Some(here.join("hist")));
        let with_r = CtlArgs {
            history_file: Some("/elsewhere".into()),
            ..args.clone()
        };
        let o = resolve_options(&with_r, Path::new("/x")).unwrap();
        assert_eq!(o.history_file, Some(PathBuf::from("/elsewhere")));
        std::fs::write(&f, "[program:x]\ncommand=ls\n").unwrap();
        assert_eq!(
            resolve_options(&args, Path::new("/x")).unwrap_err(),
            ".ini file does not include supervisorctl section"
        );
        let missing = CtlArgs {
            configuration: Some(dir.path().join("nope")),
            ..Default::default()
        };
        assert!(resolve_options(&missing, Path::new("/x"))
            .unwrap_err()
            .starts_with("could not find config file"));
    }
}
