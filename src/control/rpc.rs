//! supervisord 4.3.0's XML-RPC surface: the 41 methods of `system.listMethods`, their arguments,
//! return structs, fault codes and texts (reference 3.3–3.5), dispatched to an [`Engine`].
//!
//! Names are resolved here: a namespec becomes the [`ProcessId`] of a process in the engine's table
//! (or a group's ids), so the engine never parses names. [`EngineError`]s become supervisord's fault
//! codes and strings here and nowhere else; `subject` is always the name the client sent.

use std::path::PathBuf;

use crate::config::model::{LogTarget, ProcessSpec};
use crate::control::xmlrpc::{fault_struct, Fault, MethodCall, Value};
use crate::engine::api::{
    ConfigInfo, Engine, EngineError, ProcessInfo, ProcessState, Stream, SupervisorState, Unhealthy,
};
use crate::engine::spawn::SpawnError;

/// What `getVersion`/`getAPIVersion` report; supervisorctl refuses anything else.
pub const API_VERSION: &str = "3.0";
/// What `getSupervisorVersion` reports: the supervisord release whose protocol we speak.
pub const SUPERVISOR_VERSION: &str = "4.3.0";

/// Fault codes (reference 3.3).
pub mod faults {
    pub const UNKNOWN_METHOD: i32 = 1;
    pub const INCORRECT_PARAMETERS: i32 = 2;
    pub const BAD_ARGUMENTS: i32 = 3;
    pub const SIGNATURE_UNSUPPORTED: i32 = 4;
    pub const SHUTDOWN_STATE: i32 = 6;
    pub const BAD_NAME: i32 = 10;
    pub const BAD_SIGNAL: i32 = 11;
    pub const NO_FILE: i32 = 20;
    pub const NOT_EXECUTABLE: i32 = 21;
    pub const FAILED: i32 = 30;
    pub const ABNORMAL_TERMINATION: i32 = 40;
    pub const SPAWN_ERROR: i32 = 50;
    pub const ALREADY_STARTED: i32 = 60;
    pub const NOT_RUNNING: i32 = 70;
    pub const SUCCESS: i32 = 80;
    pub const ALREADY_ADDED: i32 = 90;
    pub const STILL_RUNNING: i32 = 91;
    pub const CANT_REREAD: i32 = 92;

    /// The symbolic name that starts every fault string.
    pub fn name(code: i32) -> &'static str {
        match code {
            UNKNOWN_METHOD => "UNKNOWN_METHOD",
            INCORRECT_PARAMETERS => "INCORRECT_PARAMETERS",
            BAD_ARGUMENTS => "BAD_ARGUMENTS",
            SIGNATURE_UNSUPPORTED => "SIGNATURE_UNSUPPORTED",
            SHUTDOWN_STATE => "SHUTDOWN_STATE",
            BAD_NAME => "BAD_NAME",
            BAD_SIGNAL => "BAD_SIGNAL",
            NO_FILE => "NO_FILE",
            NOT_EXECUTABLE => "NOT_EXECUTABLE",
            FAILED => "FAILED",
            ABNORMAL_TERMINATION => "ABNORMAL_TERMINATION",
            SPAWN_ERROR => "SPAWN_ERROR",
            ALREADY_STARTED => "ALREADY_STARTED",
            NOT_RUNNING => "NOT_RUNNING",
            SUCCESS => "SUCCESS",
            ALREADY_ADDED => "ALREADY_ADDED",
            STILL_RUNNING => "STILL_RUNNING",
            CANT_REREAD => "CANT_REREAD",
            _ => "UNKNOWN",
        }
    }
}

/// `NAME` or `NAME: detail`, as supervisord builds fault strings.
pub fn fault(code: i32, detail: Option<&str>) -> Fault {
    match detail {
        Some(d) => Fault::new(code, format!("{}: {}", faults::name(code), d)),
        None => Fault::new(code, faults::name(code)),
    }
}

fn incorrect() -> Fault {
    fault(faults::INCORRECT_PARAMETERS, None)
}

/// The fault for an engine's refusal of an action on `subject` (the name the client sent).
pub fn action_fault(e: &EngineError, subject: &str) -> Fault {
    use faults::*;
    match e {
        EngineError::BadName => fault(BAD_NAME, Some(subject)),
        EngineError::AlreadyStarted => fault(ALREADY_STARTED, Some(subject)),
        EngineError::NotRunning => fault(NOT_RUNNING, Some(subject)),
        EngineError::SpawnFailed => fault(SPAWN_ERROR, Some(subject)),
        EngineError::AbnormalTermination => fault(ABNORMAL_TERMINATION, Some(subject)),
        // The detail is the spawn error's own text (`can't find command '/x'`), as supervisord.
        EngineError::Command(e @ SpawnError::NoFile(_)) => fault(NO_FILE, Some(e.message())),
        EngineError::Command(e @ SpawnError::NotExecutable(_)) => {
            fault(NOT_EXECUTABLE, Some(e.message()))
        }
        EngineError::Command(e @ SpawnError::Other(_)) => fault(FAILED, Some(e.message())),
        EngineError::UnknownState => {
            fault(FAILED, Some(&format!("{subject} is in an unknown state")))
        }
        EngineError::NoFile(_) => fault(NO_FILE, Some(subject)),
        EngineError::BadSignal => fault(BAD_SIGNAL, Some(subject)),
        EngineError::BadArguments => fault(BAD_ARGUMENTS, None),
        EngineError::Failed(d) => fault(FAILED, Some(d)),
        EngineError::AlreadyAdded => fault(ALREADY_ADDED, Some(subject)),
        EngineError::StillRunning => fault(STILL_RUNNING, Some(subject)),
        EngineError::CantReread(m) => fault(CANT_REREAD, Some(m)),
        EngineError::ShuttingDown => fault(SHUTDOWN_STATE, None),
    }
}

/// `(name, signature)` in `system.listMethods` order; the signature is `[return, params…]`.
pub const METHODS: &[(&str, &[&str])] = &[
    ("supervisor.addProcessGroup", &["boolean", "string"]),
    ("supervisor.clearAllProcessLogs", &["array"]),
    ("supervisor.clearLog", &["boolean"]),
    ("supervisor.clearProcessLog", &["boolean", "string"]),
    ("supervisor.clearProcessLogs", &["boolean", "string"]),
    ("supervisor.getAPIVersion", &["string"]),
    ("supervisor.getAllConfigInfo", &["array"]),
    ("supervisor.getAllProcessInfo", &["array"]),
    ("supervisor.getIdentification", &["string"]),
    ("supervisor.getPID", &["int"]),
    ("supervisor.getProcessInfo", &["struct", "string"]),
    ("supervisor.getState", &["struct"]),
    ("supervisor.getSupervisorVersion", &["string"]),
    ("supervisor.getVersion", &["string"]),
    ("supervisor.readLog", &["string", "int", "int"]),
    ("supervisor.readMainLog", &["string", "int", "int"]),
    (
        "supervisor.readProcessLog",
        &["string", "string", "int", "int"],
    ),
    (
        "supervisor.readProcessStderrLog",
        &["string", "string", "int", "int"],
    ),
    (
        "supervisor.readProcessStdoutLog",
        &["string", "string", "int", "int"],
    ),
    ("supervisor.reloadConfig", &["array"]),
    ("supervisor.removeProcessGroup", &["boolean", "string"]),
    ("supervisor.restart", &["boolean"]),
    (
        "supervisor.sendProcessStdin",
        &["boolean", "string", "string"],
    ),
    (
        "supervisor.sendRemoteCommEvent",
        &["boolean", "string", "string"],
    ),
    ("supervisor.shutdown", &["boolean"]),
    ("supervisor.signalAllProcesses", &["array", "string"]),
    ("supervisor.signalProcess", &["boolean", "string", "string"]),
    (
        "supervisor.signalProcessGroup",
        &["array", "string", "string"],
    ),
    ("supervisor.startAllProcesses", &["array", "boolean"]),
    ("supervisor.startProcess", &["boolean", "string", "boolean"]),
    (
        "supervisor.startProcessGroup",
        &["array", "string", "boolean"],
    ),
    ("supervisor.stopAllProcesses", &["array", "boolean"]),
    ("supervisor.stopProcess", &["boolean", "string", "boolean"]),
    (
        "supervisor.stopProcessGroup",
        &["array", "string", "boolean"],
    ),
    (
        "supervisor.tailProcessLog",
        &["array", "string", "int", "int"],
    ),
    (
        "supervisor.tailProcessStderrLog",
        &["array", "string", "int", "int"],
    ),
    (
        "supervisor.tailProcessStdoutLog",
        &["array", "string", "int", "int"],
    ),
    ("system.listMethods", &["array"]),
    ("system.methodHelp", &["string", "string"]),
    ("system.methodSignature", &["array", "string"]),
    ("system.multicall", &["array", "array"]),
];

/// One-line descriptions for `system.methodHelp` (our own words).
fn method_help(name: &str) -> Option<&'static str> {
    Some(match name {
        "supervisor.addProcessGroup" => {
            "Activate a process group from the last read configuration."
        }
        "supervisor.clearAllProcessLogs" => "Empty the logs of every process.",
        "supervisor.clearLog" => "Empty the main log file.",
        "supervisor.clearProcessLog" | "supervisor.clearProcessLogs" => {
            "Empty a process's stdout and stderr logs."
        }
        "supervisor.getAPIVersion" | "supervisor.getVersion" => "Return the XML-RPC API version.",
        "supervisor.getAllConfigInfo" => "Return the configuration of every process.",
        "supervisor.getAllProcessInfo" => "Return the state of every process.",
        "supervisor.getIdentification" => "Return the configured identifier.",
        "supervisor.getPID" => "Return the supervisor's process id.",
        "supervisor.getProcessInfo" => "Return the state of one process.",
        "supervisor.getState" => "Return the supervisor's state code and name.",
        "supervisor.getSupervisorVersion" => "Return the supervisord version implemented.",
        "supervisor.readLog" | "supervisor.readMainLog" => "Read bytes from the main log.",
        "supervisor.readProcessLog" | "supervisor.readProcessStdoutLog" => {
            "Read bytes from a process's stdout log."
        }
        "supervisor.readProcessStderrLog" => "Read bytes from a process's stderr log.",
        "supervisor.reloadConfig" => {
            "Re-read the configuration; report added, changed and removed groups."
        }
        "supervisor.removeProcessGroup" => "Remove a stopped process group.",
        "supervisor.restart" => "Restart the supervisor (stop all, reload, start).",
        "supervisor.sendProcessStdin" => "Write characters to a process's stdin.",
        "supervisor.sendRemoteCommEvent" => "Emit a remote communication event.",
        "supervisor.shutdown" => "Shut the supervisor down.",
        "supervisor.signalAllProcesses" => "Signal every running process.",
        "supervisor.signalProcess" => "Signal one process (or group:*).",
        "supervisor.signalProcessGroup" => "Signal every process of a group.",
        "supervisor.startAllProcesses" => "Start every process that is not running.",
        "supervisor.startProcess" => "Start one process (or group:*).",
        "supervisor.startProcessGroup" => "Start every process of a group.",
        "supervisor.stopAllProcesses" => "Stop every running process.",
        "supervisor.stopProcess" => "Stop one process (or group:*).",
        "supervisor.stopProcessGroup" => "Stop every process of a group.",
        "supervisor.tailProcessLog" | "supervisor.tailProcessStdoutLog" => {
            "Tail a process's stdout log: [bytes, offset, overflow]."
        }
        "supervisor.tailProcessStderrLog" => {
            "Tail a process's stderr log: [bytes, offset, overflow]."
        }
        "system.listMethods" => "Return the names of every method.",
        "system.methodHelp" => "Return the help text of a method.",
        "system.methodSignature" => {
            "Return a method's signature: [return type, parameter types...]."
        }
        "system.multicall" => {
            "Run several calls in one request; each result is a value or a fault struct."
        }
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Arguments

fn arity(params: &[Value], min: usize, max: usize) -> Result<(), Fault> {
    if params.len() < min || params.len() > max {
        Err(incorrect())
    } else {
        Ok(())
    }
}

fn str_arg(v: &Value) -> Result<&str, Fault> {
    v.as_str().ok_or_else(incorrect)
}

/// Python's `int(x)` on what XML-RPC can carry: ints, booleans, numeric strings.
fn int_arg(v: &Value) -> Result<i64, Fault> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(i64::from(*b)),
        Value::String(s) => s.trim().parse().map_err(|_| incorrect()),
        Value::Double(d) if d.is_finite() => Ok(d.trunc() as i64),
        _ => Err(incorrect()),
    }
}

/// Python truthiness of a `wait` argument.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Int(i) => *i != 0,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Double(d) => *d != 0.0,
        Value::DateTime(_) => true,
        Value::Base64(b) => !b.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Struct(m) => !m.is_empty(),
    }
}

fn wait_arg(params: &[Value], idx: usize) -> bool {
    params.get(idx).map(truthy).unwrap_or(true)
}

/// Python's str() of an argument, for fault details that echo it.
fn echo(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        other => format!("{other:?}"),
    }
}

/// supervisord's `signal_number`: a number (int or numeric string) in range, or a name with or
/// without `SIG`, any case.
pub fn signal_number(v: &Value) -> Option<i32> {
    let num = match v {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(i64::from(*b)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => return None,
    };
    if let Some(n) = num {
        return (0..=64)
            .contains(&n)
            .then_some(n as i32)
            .filter(|n| *n == 0 || *n <= 31 || *n >= 34);
    }
    // Names are looked up exactly as in the config (one table of Linux signal names).
    crate::config::values::parse_signal(v.as_str()?).ok()
}

// ---------------------------------------------------------------------------------------------
// Namespecs

/// What a name argument designates.
pub enum Target {
    Process(ProcessInfo),
    /// A whole group (`group:*` or `group:`), with its processes in start order.
    Group(String, Vec<ProcessInfo>),
}

/// supervisord's `split_namespec`: `proc` means group `proc`; an empty or `*` process means the group.
pub fn split_namespec(name: &str) -> (&str, Option<&str>) {
    match name.split_once(':') {
        Some((g, p)) if p.is_empty() || p == "*" => (g, None),
        Some((g, p)) => (g, Some(p)),
        None => (name, Some(name)),
    }
}

/// Resolve a name against the current process table (BAD_NAME with the name as sent).
pub fn resolve(procs: Vec<ProcessInfo>, name: &str) -> Result<Target, Fault> {
    let (group, process) = split_namespec(name);
    let members: Vec<ProcessInfo> = procs.into_iter().filter(|p| p.group == group).collect();
    if members.is_empty() {
        return Err(fault(faults::BAD_NAME, Some(name)));
    }
    match process {
        None => Ok(Target::Group(group.to_string(), members)),
        Some(p) => members
            .into_iter()
            .find(|m| m.name == p)
            .map(Target::Process)
            .ok_or_else(|| fault(faults::BAD_NAME, Some(name))),
    }
}

async fn one_process<B: Engine>(b: &B, name: &str) -> Result<ProcessInfo, Fault> {
    match resolve(b.processes().await, name)? {
        Target::Process(p) => Ok(p),
        Target::Group(..) => Err(fault(faults::BAD_NAME, Some(name))),
    }
}

// ---------------------------------------------------------------------------------------------
// Structs

fn capped(v: i64) -> Value {
    Value::Int(v.clamp(i32::MIN.into(), i32::MAX.into()))
}

/// Python's `str(timedelta)` for a whole number of seconds ≥ 0.
pub fn timedelta_text(secs: i64) -> String {
    let secs = secs.max(0);
    let days = secs / 86400;
    let rem = secs % 86400;
    let hms = format!("{}:{:02}:{:02}", rem / 3600, (rem % 3600) / 60, rem % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        d => format!("{d} days, {hms}"),
    }
}

/// `%b %d %I:%M %p` of an epoch time in the local time zone (as supervisord shows stop times).
pub fn local_stop_time(epoch: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let Some(tm) = crate::clock::local(epoch) else {
        return String::new();
    };
    let hour12 = match tm.tm_hour % 12 {
        0 => 12,
        h => h,
    };
    format!(
        "{} {:02} {:02}:{:02} {}",
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_mday,
        hour12,
        tm.tm_min,
        if tm.tm_hour < 12 { "AM" } else { "PM" }
    )
}

/// steward's remark on a process (what it waits for, sd_notify status, failing health); empty when
/// there is none.
fn remark(p: &ProcessInfo) -> String {
    let note = Some(p.note.clone()).filter(|n| !n.is_empty());
    let health = p.unhealthy.as_ref().map(unhealthy_text);
    note.into_iter()
        .chain(health)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `unhealthy (2 failed health checks: HTTP status 500)`: how `description`, `/healthz` and
/// `ctl health` show a failing liveness check.
pub fn unhealthy_text(u: &Unhealthy) -> String {
    let s = if u.failures == 1 { "" } else { "s" };
    format!(
        "unhealthy ({} failed health check{s}: {})",
        u.failures, u.last
    )
}

/// The `description` member (reference 3.5).
pub fn description(p: &ProcessInfo) -> String {
    let remark = remark(p);
    match p.state {
        // steward's remark after supervisord's text.
        ProcessState::Running if !remark.is_empty() => format!(
            "pid {}, uptime {}, {remark}",
            p.pid,
            timedelta_text(p.now - p.start),
        ),
        ProcessState::Running => {
            format!("pid {}, uptime {}", p.pid, timedelta_text(p.now - p.start))
        }
        ProcessState::Stopped | ProcessState::Exited | ProcessState::Starting
            if !remark.is_empty() =>
        {
            remark
        }
        ProcessState::Fatal | ProcessState::Backoff => {
            if p.spawnerr.is_empty() {
                format!("unknown error (try \"tail {}\")", p.name)
            } else {
                p.spawnerr.clone()
            }
        }
        ProcessState::Stopped | ProcessState::Exited => {
            if p.start != 0 {
                local_stop_time(p.stop)
            } else {
                "Not started".into()
            }
        }
        _ => String::new(),
    }
}

fn path_text(p: &Option<PathBuf>) -> String {
    p.as_ref()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The process info struct, members in supervisord's order.
pub fn process_struct(p: &ProcessInfo) -> Value {
    let stdout = path_text(&p.stdout_logfile);
    Value::structure([
        ("name", Value::str(&p.name)),
        ("group", Value::str(&p.group)),
        ("start", capped(p.start)),
        ("stop", capped(p.stop)),
        ("now", capped(p.now)),
        ("state", Value::Int(p.state.code().into())),
        ("statename", Value::str(p.state.name())),
        ("spawnerr", Value::str(&p.spawnerr)),
        ("exitstatus", capped(p.exitstatus)),
        ("logfile", Value::str(&stdout)),
        ("stdout_logfile", Value::str(&stdout)),
        ("stderr_logfile", Value::str(path_text(&p.stderr_logfile))),
        ("pid", Value::Int(p.pid.into())),
        ("description", Value::str(description(p))),
    ])
}

fn log_target_value(t: &LogTarget) -> Value {
    match t {
        LogTarget::None => Value::str("none"),
        LogTarget::Auto => Value::str("auto"),
        LogTarget::Stdout => Value::str("/dev/stdout"),
        LogTarget::Stderr => Value::str("/dev/stderr"),
        LogTarget::Syslog => Value::str("syslog"),
        LogTarget::File(p) => Value::str(p.to_string_lossy()),
    }
}

/// One `getAllConfigInfo` struct, keys in supervisord 4.3.0's order.
pub fn config_struct(c: &ConfigInfo) -> Value {
    let s: &ProcessSpec = &c.spec;
    let int = |v: u64| capped(i64::try_from(v).unwrap_or(i64::MAX));
    Value::structure([
        ("autostart", Value::Bool(s.autostart)),
        (
            "directory",
            s.directory
                .as_ref()
                .map(|d| Value::str(d.to_string_lossy()))
                .unwrap_or_else(|| Value::str("none")),
        ),
        (
            "uid",
            s.user
                .as_ref()
                .and_then(|u| u.uid)
                .map(|u| Value::Int(u.into()))
                .unwrap_or_else(|| Value::str("none")),
        ),
        ("command", Value::str(&s.command_line)),
        (
            "exitcodes",
            Value::Array(
                s.exitcodes
                    .iter()
                    .map(|c| Value::Int((*c).into()))
                    .collect(),
            ),
        ),
        ("group", Value::str(&s.group)),
        ("group_prio", capped(c.group_priority)),
        ("inuse", Value::Bool(c.inuse)),
        ("killasgroup", Value::Bool(s.killasgroup)),
        ("name", Value::str(&s.name)),
        ("process_prio", capped(s.priority)),
        ("redirect_stderr", Value::Bool(s.redirect_stderr)),
        ("startretries", Value::Int(s.startretries.into())),
        ("startsecs", int(s.startsecs)),
        ("stdout_capture_maxbytes", int(s.stdout.capture_maxbytes)),
        (
            "stdout_events_enabled",
            Value::Bool(s.stdout.events_enabled),
        ),
        ("stdout_logfile", log_target_value(&s.stdout.target)),
        (
            "stdout_logfile_backups",
            Value::Int(s.stdout.backups.into()),
        ),
        ("stdout_logfile_maxbytes", int(s.stdout.maxbytes)),
        ("stdout_syslog", Value::Bool(s.stdout.syslog)),
        ("stopsignal", Value::Int(s.stopsignal.into())),
        ("stopwaitsecs", int(s.stopwaitsecs)),
        ("stderr_capture_maxbytes", int(s.stderr.capture_maxbytes)),
        (
            "stderr_events_enabled",
            Value::Bool(s.stderr.events_enabled),
        ),
        ("stderr_logfile", log_target_value(&s.stderr.target)),
        (
            "stderr_logfile_backups",
            Value::Int(s.stderr.backups.into()),
        ),
        ("stderr_logfile_maxbytes", int(s.stderr.maxbytes)),
        ("stderr_syslog", Value::Bool(s.stderr.syslog)),
        (
            "serverurl",
            s.serverurl
                .as_ref()
                .map(Value::str)
                // supervisord reads AUTO (and no serverurl=) as None, shown as 'none'.
                .unwrap_or_else(|| Value::str("none")),
        ),
    ])
}

fn result_struct(p: &ProcessInfo, outcome: Result<(), Fault>) -> Value {
    let (status, desc) = match outcome {
        Ok(()) => (faults::SUCCESS, "OK".to_string()),
        Err(f) => (f.code, f.string),
    };
    Value::structure([
        ("name", Value::str(&p.name)),
        ("group", Value::str(&p.group)),
        ("status", Value::Int(status.into())),
        ("description", Value::str(desc)),
    ])
}

// ---------------------------------------------------------------------------------------------
// Logs (the offset rules live in `crate::logs::tail`; the engine applies them)

fn text(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// supervisord's log faults: `NO_FILE: <path>`, or bare `NO_FILE` when there is no log at all
/// (it passes `None` as the detail, which it then leaves out); `FAILED` without detail.
fn log_fault(e: EngineError, subject: &str) -> Fault {
    match e {
        EngineError::NoFile(path) => {
            let shown = path.map(|p| p.to_string_lossy().into_owned());
            fault(faults::NO_FILE, shown.as_deref())
        }
        EngineError::Failed(_) => fault(faults::FAILED, None),
        e => action_fault(&e, subject),
    }
}

// ---------------------------------------------------------------------------------------------
// Health

/// What health looks at for one process.
#[derive(Debug, Clone)]
pub struct HealthInput {
    pub namespec: String,
    pub state: ProcessState,
    pub exitstatus: i64,
    pub autostart: bool,
    pub exitcodes: Vec<i32>,
    /// Why its liveness check fails, if it does.
    pub unhealthy: Option<String>,
}

/// Every autostart process must be RUNNING or have EXITED with an expected code; returns one
/// line per process that is not (empty = healthy).
pub fn health_problems(inputs: &[HealthInput]) -> Vec<String> {
    inputs
        .iter()
        .filter(|h| h.autostart)
        .filter(|h| match h.state {
            ProcessState::Running => h.unhealthy.is_some(),
            ProcessState::Exited => !h.exitcodes.iter().any(|c| i64::from(*c) == h.exitstatus),
            _ => true,
        })
        .map(|h| {
            if let (ProcessState::Running, Some(why)) = (h.state, &h.unhealthy) {
                format!("{} RUNNING but {why}", h.namespec)
            } else if h.state == ProcessState::Exited {
                format!("{} EXITED (exit status {})", h.namespec, h.exitstatus)
            } else {
                format!("{} {}", h.namespec, h.state.name())
            }
        })
        .collect()
}

/// The [`unhealthy_text`] part of a process's description: what `ctl health`, a client with only
/// the XML-RPC answer, has to go on.
pub fn unhealthy_part(text: &str) -> String {
    text.find("unhealthy (")
        .map(|i| text[i..].to_string())
        .unwrap_or_else(|| "unhealthy".into())
}

/// Health of the engine's processes (for `GET /healthz`).
pub async fn health<B: Engine>(b: &B) -> Vec<String> {
    let configs = b.config_info().await;
    let inputs: Vec<HealthInput> = b
        .processes()
        .await
        .into_iter()
        .map(|p| {
            let spec = configs
                .iter()
                .find(|c| c.spec.group == p.group && c.spec.name == p.name);
            HealthInput {
                namespec: p.namespec(),
                state: p.state,
                exitstatus: p.exitstatus,
                autostart: spec.map(|c| c.spec.autostart).unwrap_or(true),
                exitcodes: spec.map(|c| c.spec.exitcodes.clone()).unwrap_or(vec![0]),
                unhealthy: p.unhealthy.as_ref().map(unhealthy_text),
            }
        })
        .collect();
    health_problems(&inputs)
}

// ---------------------------------------------------------------------------------------------
// Dispatch

/// Run one decoded call (including `system.multicall`).
pub async fn dispatch<B: Engine>(b: &B, call: &MethodCall) -> Result<Value, Fault> {
    if call.name == "system.multicall" {
        arity(&call.params, 1, 1)?;
        let calls = call.params[0].as_array().ok_or_else(incorrect)?;
        let mut results = Vec::with_capacity(calls.len());
        for c in calls {
            let r = match c {
                Value::Struct(_) => match c.get("methodName") {
                    None => Err(fault(faults::INCORRECT_PARAMETERS, Some("No methodName"))),
                    Some(Value::String(n)) if n == "system.multicall" => Err(fault(
                        faults::INCORRECT_PARAMETERS,
                        Some("Recursive system.multicall forbidden"),
                    )),
                    Some(Value::String(n)) => match c.get("params") {
                        None => call_method(b, n, &[]).await,
                        Some(Value::Array(p)) => call_method(b, n, p).await,
                        Some(_) => Err(incorrect()),
                    },
                    Some(_) => Err(fault(faults::UNKNOWN_METHOD, None)),
                },
                _ => Err(incorrect()),
            };
            results.push(match r {
                Ok(v) => v,
                Err(f) => fault_struct(&f),
            });
        }
        return Ok(Value::Array(results));
    }
    call_method(b, &call.name, &call.params).await
}

/// How often a group action looks again for results not ready at once (supervisord's deferred
/// results are polled at this rate).
const GROUP_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Run several process actions at once and list their results as supervisord does: every action is
/// begun in start order; the results ready at once come first, in start order; the others are
/// gathered every [`GROUP_POLL`], each round's again in start order. So two clients (or two runs) see
/// the same order even when processes finish in the same instant.
async fn fan_out<B, F>(b: &B, targets: Vec<ProcessInfo>, action: F) -> Value
where
    B: Engine,
    F: for<'a> Fn(
        &'a B,
        &'a ProcessInfo,
    )
        -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Fault>> + 'a>>,
{
    // Polled in place (not spawned) so the futures may borrow the engine.
    let mut pending: Vec<Option<_>> = targets.iter().map(|p| Some((p, action(b, p)))).collect();
    let mut out = Vec::new();
    loop {
        // One pass over what is left, in start order.
        std::future::poll_fn(|cx| {
            for slot in pending.iter_mut() {
                if let Some((p, f)) = slot {
                    if let std::task::Poll::Ready(r) = f.as_mut().poll(cx) {
                        out.push(result_struct(p, r));
                        *slot = None;
                    }
                }
            }
            std::task::Poll::Ready(())
        })
        .await;
        if pending.iter().all(Option::is_none) {
            return Value::Array(out);
        }
        tokio::time::sleep(GROUP_POLL).await;
    }
}

async fn start_one<B: Engine>(
    b: &B,
    p: &ProcessInfo,
    subject: &str,
    wait: bool,
) -> Result<(), Fault> {
    b.start(p.id, wait)
        .await
        .map_err(|e| action_fault(&e, subject))
}

async fn start_group<B: Engine>(b: &B, procs: Vec<ProcessInfo>, wait: bool) -> Value {
    let todo: Vec<ProcessInfo> = procs
        .into_iter()
        .filter(|p| !p.state.is_running())
        .collect();
    fan_out(b, todo, move |b, p| {
        Box::pin(async move { start_one(b, p, &p.namespec(), wait).await })
    })
    .await
}

async fn stop_group<B: Engine>(b: &B, procs: Vec<ProcessInfo>, wait: bool) -> Value {
    let todo: Vec<ProcessInfo> = procs.into_iter().filter(|p| p.state.is_running()).collect();
    fan_out(b, todo, move |b, p| {
        Box::pin(async move {
            b.stop(p.id, wait)
                .await
                .map_err(|e| action_fault(&e, &p.namespec()))
        })
    })
    .await
}

/// The signal is checked per process, as supervisord does: a bad name gives one BAD_SIGNAL
/// result per signallable process rather than a fault.
async fn signal_group<B: Engine>(b: &B, procs: Vec<ProcessInfo>, sig: &Value) -> Value {
    let todo: Vec<ProcessInfo> = procs
        .into_iter()
        .filter(|p| p.state.is_signallable())
        .collect();
    let sig = signal_number(sig).ok_or_else(|| bad_signal(sig));
    fan_out(b, todo, move |b, p| {
        let sig = sig.clone();
        Box::pin(async move {
            b.signal(p.id, sig?)
                .await
                .map_err(|e| action_fault(&e, &p.namespec()))
        })
    })
    .await
}

async fn group_of<B: Engine>(b: &B, group: &str) -> Result<Vec<ProcessInfo>, Fault> {
    let members: Vec<ProcessInfo> = b
        .processes()
        .await
        .into_iter()
        .filter(|p| p.group == group)
        .collect();
    if members.is_empty() {
        Err(fault(faults::BAD_NAME, Some(group)))
    } else {
        Ok(members)
    }
}

fn bad_signal(v: &Value) -> Fault {
    fault(faults::BAD_SIGNAL, Some(&echo(v)))
}

async fn read_process_log<B: Engine>(
    b: &B,
    params: &[Value],
    stream: Stream,
) -> Result<Value, Fault> {
    arity(params, 3, 3)?;
    let name = str_arg(&params[0])?;
    let (offset, length) = (int_arg(&params[1])?, int_arg(&params[2])?);
    let p = one_process(b, name).await?;
    b.read_log(p.id, stream, offset, length)
        .await
        .map(|d| Value::String(text(d)))
        .map_err(|e| log_fault(e, name))
}

async fn tail_process_log<B: Engine>(
    b: &B,
    params: &[Value],
    stream: Stream,
) -> Result<Value, Fault> {
    arity(params, 3, 3)?;
    let name = str_arg(&params[0])?;
    let (offset, length) = (int_arg(&params[1])?, int_arg(&params[2])?);
    let p = one_process(b, name).await?;
    let t = b
        .tail_log(p.id, stream, offset, length)
        .await
        .map_err(|e| log_fault(e, name))?;
    Ok(Value::Array(vec![
        Value::String(text(t.bytes)),
        capped(i64::try_from(t.offset).unwrap_or(i64::MAX)),
        Value::Bool(t.overflow),
    ]))
}

async fn call_method<B: Engine>(b: &B, name: &str, params: &[Value]) -> Result<Value, Fault> {
    let Some(method) = METHODS.iter().find(|(n, _)| *n == name).map(|(n, _)| *n) else {
        return Err(fault(faults::UNKNOWN_METHOD, None));
    };
    if method.starts_with("supervisor.")
        && method != "supervisor.sendRemoteCommEvent"
        && b.state() != SupervisorState::Running
    {
        return Err(fault(faults::SHUTDOWN_STATE, None));
    }
    let p = params;
    match method {
        "system.listMethods" => {
            arity(p, 0, 0)?;
            Ok(Value::Array(
                METHODS.iter().map(|(n, _)| Value::str(*n)).collect(),
            ))
        }
        "system.methodHelp" => {
            arity(p, 1, 1)?;
            let m = str_arg(&p[0])?;
            method_help(m)
                .map(Value::str)
                .ok_or_else(|| fault(faults::SIGNATURE_UNSUPPORTED, None))
        }
        "system.methodSignature" => {
            arity(p, 1, 1)?;
            let m = str_arg(&p[0])?;
            METHODS
                .iter()
                .find(|(n, _)| *n == m)
                .map(|(_, sig)| Value::Array(sig.iter().map(|t| Value::str(*t)).collect()))
                .ok_or_else(|| fault(faults::SIGNATURE_UNSUPPORTED, None))
        }
        "supervisor.getAPIVersion" | "supervisor.getVersion" => {
            arity(p, 0, 0)?;
            Ok(Value::str(API_VERSION))
        }
        "supervisor.getSupervisorVersion" => {
            arity(p, 0, 0)?;
            Ok(Value::str(SUPERVISOR_VERSION))
        }
        "supervisor.getIdentification" => {
            arity(p, 0, 0)?;
            Ok(Value::str(b.identification()))
        }
        "supervisor.getState" => {
            arity(p, 0, 0)?;
            let s = b.state();
            Ok(Value::structure([
                ("statecode", Value::Int(s.code().into())),
                ("statename", Value::str(s.name())),
            ]))
        }
        "supervisor.getPID" => {
            arity(p, 0, 0)?;
            Ok(Value::Int(std::process::id().into()))
        }
        "supervisor.readLog" | "supervisor.readMainLog" => {
            arity(p, 2, 2)?;
            let (offset, length) = (int_arg(&p[0])?, int_arg(&p[1])?);
            b.read_main_log(offset, length)
                .await
                .map(|d| Value::String(text(d)))
                .map_err(|e| log_fault(e, ""))
        }
        "supervisor.clearLog" => {
            arity(p, 0, 0)?;
            // supervisord answers a bare NO_FILE here, whatever the path.
            b.clear_main_log()
                .await
                .map(|()| Value::Bool(true))
                .map_err(|e| match e {
                    EngineError::NoFile(_) => fault(faults::NO_FILE, None),
                    EngineError::ShuttingDown => fault(faults::SHUTDOWN_STATE, None),
                    _ => fault(faults::FAILED, None),
                })
        }
        "supervisor.shutdown" => {
            arity(p, 0, 0)?;
            b.shutdown();
            Ok(Value::Bool(true))
        }
        "supervisor.restart" => {
            arity(p, 0, 0)?;
            b.restart().await.map_err(|e| action_fault(&e, ""))?;
            Ok(Value::Bool(true))
        }
        "supervisor.reloadConfig" => {
            arity(p, 0, 0)?;
            let c = b.reread().await.map_err(|e| action_fault(&e, ""))?;
            let names = |v: &[String]| Value::Array(v.iter().map(Value::str).collect());
            Ok(Value::Array(vec![Value::Array(vec![
                names(&c.added),
                names(&c.changed),
                names(&c.removed),
            ])]))
        }
        "supervisor.addProcessGroup" => {
            arity(p, 1, 1)?;
            let g = str_arg(&p[0])?;
            b.add_group(g)
                .await
                .map(|()| Value::Bool(true))
                .map_err(|e| action_fault(&e, g))
        }
        "supervisor.removeProcessGroup" => {
            arity(p, 1, 1)?;
            let g = str_arg(&p[0])?;
            b.remove_group(g)
                .await
                .map(|()| Value::Bool(true))
                .map_err(|e| action_fault(&e, g))
        }
        "supervisor.startProcess" => {
            arity(p, 1, 2)?;
            let name = str_arg(&p[0])?;
            let wait = wait_arg(p, 1);
            match resolve(b.processes().await, name)? {
                Target::Group(_, procs) => Ok(start_group(b, procs, wait).await),
                Target::Process(proc_) => start_one(b, &proc_, name, wait)
                    .await
                    .map(|()| Value::Bool(true)),
            }
        }
        "supervisor.startProcessGroup" => {
            arity(p, 1, 2)?;
            let procs = group_of(b, str_arg(&p[0])?).await?;
            Ok(start_group(b, procs, wait_arg(p, 1)).await)
        }
        "supervisor.startAllProcesses" => {
            arity(p, 0, 1)?;
            let procs = b.processes().await;
            Ok(start_group(b, procs, wait_arg(p, 0)).await)
        }
        "supervisor.stopProcess" => {
            arity(p, 1, 2)?;
            let name = str_arg(&p[0])?;
            let wait = wait_arg(p, 1);
            match resolve(b.processes().await, name)? {
                Target::Group(_, procs) => Ok(stop_group(b, procs, wait).await),
                Target::Process(pr) => {
                    if !pr.state.is_running() {
                        return Err(fault(faults::NOT_RUNNING, Some(name)));
                    }
                    b.stop(pr.id, wait)
                        .await
                        .map(|()| Value::Bool(true))
                        .map_err(|e| action_fault(&e, name))
                }
            }
        }
        "supervisor.stopProcessGroup" => {
            arity(p, 1, 2)?;
            let procs = group_of(b, str_arg(&p[0])?).await?;
            Ok(stop_group(b, procs, wait_arg(p, 1)).await)
        }
        "supervisor.stopAllProcesses" => {
            arity(p, 0, 1)?;
            let procs = b.processes().await;
            Ok(stop_group(b, procs, wait_arg(p, 0)).await)
        }
        "supervisor.signalProcess" => {
            arity(p, 2, 2)?;
            let name = str_arg(&p[0])?;
            match resolve(b.processes().await, name)? {
                Target::Group(_, procs) => Ok(signal_group(b, procs, &p[1]).await),
                Target::Process(pr) => {
                    let sig = signal_number(&p[1]).ok_or_else(|| bad_signal(&p[1]))?;
                    if !pr.state.is_signallable() {
                        return Err(fault(faults::NOT_RUNNING, Some(name)));
                    }
                    b.signal(pr.id, sig)
                        .await
                        .map(|()| Value::Bool(true))
                        .map_err(|e| action_fault(&e, name))
                }
            }
        }
        "supervisor.signalProcessGroup" => {
            arity(p, 2, 2)?;
            let procs = group_of(b, str_arg(&p[0])?).await?;
            Ok(signal_group(b, procs, &p[1]).await)
        }
        "supervisor.signalAllProcesses" => {
            arity(p, 1, 1)?;
            let procs = b.processes().await;
            Ok(signal_group(b, procs, &p[0]).await)
        }
        "supervisor.getProcessInfo" => {
            arity(p, 1, 1)?;
            let pr = one_process(b, str_arg(&p[0])?).await?;
            Ok(process_struct(&pr))
        }
        "supervisor.getAllProcessInfo" => {
            arity(p, 0, 0)?;
            let mut procs = b.processes().await;
            procs.sort_by(|a, b| (&a.group, &a.name).cmp(&(&b.group, &b.name)));
            Ok(Value::Array(procs.iter().map(process_struct).collect()))
        }
        "supervisor.getAllConfigInfo" => {
            arity(p, 0, 0)?;
            let mut cfg = b.config_info().await;
            cfg.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
            Ok(Value::Array(cfg.iter().map(config_struct).collect()))
        }
        "supervisor.readProcessStdoutLog" | "supervisor.readProcessLog" => {
            read_process_log(b, p, Stream::Stdout).await
        }
        "supervisor.readProcessStderrLog" => read_process_log(b, p, Stream::Stderr).await,
        "supervisor.tailProcessStdoutLog" | "supervisor.tailProcessLog" => {
            tail_process_log(b, p, Stream::Stdout).await
        }
        "supervisor.tailProcessStderrLog" => tail_process_log(b, p, Stream::Stderr).await,
        "supervisor.clearProcessLogs" | "supervisor.clearProcessLog" => {
            arity(p, 1, 1)?;
            let name = str_arg(&p[0])?;
            let pr = one_process(b, name).await?;
            b.clear_logs(pr.id)
                .await
                .map(|()| Value::Bool(true))
                .map_err(|_| fault(faults::FAILED, Some(name)))
        }
        "supervisor.clearAllProcessLogs" => {
            arity(p, 0, 0)?;
            let mut out = Vec::new();
            for pr in b.processes().await {
                let r = b
                    .clear_logs(pr.id)
                    .await
                    .map_err(|_| fault(faults::FAILED, Some(&pr.namespec())));
                out.push(result_struct(&pr, r));
            }
            Ok(Value::Array(out))
        }
        "supervisor.sendProcessStdin" => {
            arity(p, 2, 2)?;
            let name = str_arg(&p[0])?;
            let chars = match &p[1] {
                Value::String(s) => s.clone(),
                Value::Base64(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                other => return Err(fault(faults::INCORRECT_PARAMETERS, Some(&echo(other)))),
            };
            let pr = one_process(b, name).await?;
            if pr.pid == 0 {
                return Err(fault(faults::NOT_RUNNING, Some(name)));
            }
            b.send_stdin(pr.id, chars.as_bytes())
                .await
                .map(|()| Value::Bool(true))
                .map_err(|e| action_fault(&e, name))
        }
        "supervisor.sendRemoteCommEvent" => {
            arity(p, 2, 2)?;
            let (kind, data) = (str_arg(&p[0])?, str_arg(&p[1])?);
            b.remote_comm_event(kind, data).await;
            Ok(Value::Bool(true))
        }
        _ => Err(fault(faults::UNKNOWN_METHOD, None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(state: ProcessState) -> ProcessInfo {
        ProcessInfo {
            id: crate::engine::api::ProcessId(1),
            name: "web".into(),
            group: "web".into(),
            state,
            start: 1000,
            stop: 0,
            now: 1000 + 86400 + 3661,
            spawnerr: String::new(),
            exitstatus: 0,
            stdout_logfile: None,
            stderr_logfile: None,
            pid: 42,
            note: String::new(),
            unhealthy: None,
        }
    }

    #[test]
    fn namespecs() {
        assert_eq!(split_namespec("web"), ("web", Some("web")));
        assert_eq!(split_namespec("g:p"), ("g", Some("p")));
        assert_eq!(split_namespec("g:*"), ("g", None));
        assert_eq!(split_namespec("g:"), ("g", None));
        let procs = vec![
            ProcessInfo {
                group: "g".into(),
                name: "p".into(),
                ..info(ProcessState::Running)
            },
            info(ProcessState::Stopped),
        ];
        assert!(matches!(resolve(procs.clone(), "g:p"), Ok(Target::Process(p)) if p.name == "p"));
        assert!(
            matches!(resolve(procs.clone(), "g:*"), Ok(Target::Group(g, m)) if g == "g" && m.len() == 1)
        );
        assert!(matches!(
            resolve(procs.clone(), "web"),
            Ok(Target::Process(_))
        ));
        // A process is only reachable by its bare name when the group has the same name.
        let e = resolve(procs.clone(), "p").err().unwrap();
        assert_eq!((e.code, e.string.as_str()), (10, "BAD_NAME: p"));
        assert_eq!(resolve(procs, "g:q").err().unwrap().string, "BAD_NAME: g:q");
    }

    #[test]
    fn signals_like_supervisord() {
        assert_eq!(signal_number(&Value::str("HUP")), Some(1));
        assert_eq!(signal_number(&Value::str("sigterm")), Some(15));
        assert_eq!(signal_number(&Value::str(" usr1 ")), Some(10));
        assert_eq!(signal_number(&Value::str("9")), Some(9));
        assert_eq!(signal_number(&Value::Int(12)), Some(12));
        assert_eq!(signal_number(&Value::str("FOO")), None);
        assert_eq!(signal_number(&Value::Int(99)), None);
        assert_eq!(signal_number(&Value::Int(32)), None);
    }

    #[test]
    fn descriptions() {
        assert_eq!(timedelta_text(5), "0:00:05");
        assert_eq!(timedelta_text(86400 + 3661), "1 day, 1:01:01");
        assert_eq!(timedelta_text(2 * 86400), "2 days, 0:00:00");
        assert_eq!(timedelta_text(-3), "0:00:00");
        assert_eq!(
            description(&info(ProcessState::Running)),
            "pid 42, uptime 1 day, 1:01:01"
        );
        assert_eq!(
            description(&ProcessInfo {
                start: 0,
                ..info(ProcessState::Stopped)
            }),
            "Not started"
        );
        assert_eq!(
            description(&info(ProcessState::Fatal)),
            "unknown error (try \"tail web\")"
        );
        assert_eq!(description(&info(ProcessState::Starting)), "");
        let waiting = ProcessInfo {
            start: 0,
            note: "waiting for db".into(),
            ..info(ProcessState::Stopped)
        };
        assert_eq!(description(&waiting), "waiting for db");
        let status = ProcessInfo {
            note: "serving 3 clients".into(),
            ..info(ProcessState::Running)
        };
        assert_eq!(
            description(&status),
            "pid 42, uptime 1 day, 1:01:01, serving 3 clients"
        );
        let sick = |failures| Unhealthy {
            failures,
            last: "HTTP status 500".into(),
        };
        let failing = ProcessInfo {
            unhealthy: Some(sick(2)),
            ..status
        };
        assert_eq!(
            description(&failing),
            "pid 42, uptime 1 day, 1:01:01, serving 3 clients, unhealthy (2 failed health checks: HTTP status 500)"
        );
        let failing = ProcessInfo {
            unhealthy: Some(sick(1)),
            ..info(ProcessState::Running)
        };
        assert_eq!(
            description(&failing),
            "pid 42, uptime 1 day, 1:01:01, unhealthy (1 failed health check: HTTP status 500)"
        );
        let stopped = description(&ProcessInfo {
            stop: 1_795_367_029,
            ..info(ProcessState::Exited)
        });
        assert_eq!(stopped.len(), "Nov 22 04:47 PM".len(), "{stopped}");
        assert!(stopped.ends_with("AM") || stopped.ends_with("PM"));
    }

    #[test]
    fn fault_texts() {
        let missing = SpawnError::NoFile("can't find command '/x'".into());
        assert_eq!(
            action_fault(&EngineError::Command(missing), "p").string,
            "NO_FILE: can't find command '/x'"
        );
        assert_eq!(
            action_fault(&EngineError::ShuttingDown, "p").string,
            "SHUTDOWN_STATE"
        );
        assert_eq!(
            action_fault(&EngineError::UnknownState, "g:p").string,
            "FAILED: g:p is in an unknown state"
        );
        assert_eq!(action_fault(&EngineError::StillRunning, "g").code, 91);
        assert_eq!(log_fault(EngineError::NoFile(None), "p").string, "NO_FILE");
        assert_eq!(
            log_fault(EngineError::NoFile(Some("/l/p.log".into())), "p").string,
            "NO_FILE: /l/p.log"
        );
        assert_eq!(
            log_fault(EngineError::Failed("x".into()), "p").string,
            "FAILED"
        );
        assert_eq!(METHODS.len(), 41);
        assert!(METHODS.iter().all(|(n, _)| method_help(n).is_some()));
    }

    #[test]
    fn health_rules() {
        let h = |state, exitstatus, autostart| HealthInput {
            namespec: "p".into(),
            state,
            exitstatus,
            autostart,
            exitcodes: vec![0, 2],
            unhealthy: None,
        };
        assert!(health_problems(&[h(ProcessState::Running, 0, true)]).is_empty());
        let sick = HealthInput {
            unhealthy: Some(unhealthy_part(
                "pid 4, uptime 0:00:09, unhealthy (2 failed health checks: HTTP status 500)",
            )),
            ..h(ProcessState::Running, 0, true)
        };
        assert_eq!(
            health_problems(&[sick]),
            ["p RUNNING but unhealthy (2 failed health checks: HTTP status 500)"]
        );
        assert!(health_problems(&[h(ProcessState::Exited, 2, true)]).is_empty());
        assert!(health_problems(&[h(ProcessState::Stopped, 0, false)]).is_empty());
        assert_eq!(
            health_problems(&[h(ProcessState::Exited, 1, true)]),
            ["p EXITED (exit status 1)"]
        );
        assert_eq!(
            health_problems(&[h(ProcessState::Starting, 0, true)]),
            ["p STARTING"]
        );
        assert_eq!(
            health_problems(&[h(ProcessState::Fatal, 0, true)]),
            ["p FATAL"]
        );
    }
}
