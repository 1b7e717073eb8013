//! The engine's public face for the control server: requests, replies, faults and process snapshots.
//!
//! `control` (XML-RPC) holds a [`Handle`] and turns each RPC into one [`Request`]; the supervisor answers on
//! the request's oneshot. Nothing here touches process state directly.
//!
//! Logs are read through requests too ([`Handle::read_log`], [`Handle::tail_log`], …), not through a
//! shared `logs::Logs`: the supervisor owns the log streams (a reload replaces them all) and resolves
//! names exactly as for every other request, so an unknown name is `BAD_NAME` and a stream without a
//! log is `NO_FILE`, as in supervisord. The reads are bounded by their `length` and cheap.
//!
//! `/logtail/NAME[/stderr]` and `/mainlogtail` stream by polling [`Handle::tail_log`] /
//! [`Handle::tail_main_log`] with the offset each reply returns (supervisord's `tail -f` does the same on
//! the file); `overflow` means bytes were skipped.

use serde::Serialize;

use std::os::fd::OwnedFd;

use crate::config::model::{Config, GroupSpec};
pub use crate::logs::Stream;
use tokio::sync::{mpsc, oneshot};

/// supervisord's process states, with its numeric codes (reference 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ProcessState {
    Stopped,
    Starting,
    Running,
    Backoff,
    Stopping,
    Exited,
    Fatal,
    Unknown,
}

impl ProcessState {
    pub fn code(self) -> i32 {
        match self {
            ProcessState::Stopped => 0,
            ProcessState::Starting => 10,
            ProcessState::Running => 20,
            ProcessState::Backoff => 30,
            ProcessState::Stopping => 40,
            ProcessState::Exited => 100,
            ProcessState::Fatal => 200,
            ProcessState::Unknown => 1000,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ProcessState::Stopped => "STOPPED",
            ProcessState::Starting => "STARTING",
            ProcessState::Running => "RUNNING",
            ProcessState::Backoff => "BACKOFF",
            ProcessState::Stopping => "STOPPING",
            ProcessState::Exited => "EXITED",
            ProcessState::Fatal => "FATAL",
            ProcessState::Unknown => "UNKNOWN",
        }
    }

    /// The state a wire code names.
    pub fn from_code(code: i64) -> Option<ProcessState> {
        [
            ProcessState::Stopped,
            ProcessState::Starting,
            ProcessState::Running,
            ProcessState::Backoff,
            ProcessState::Stopping,
            ProcessState::Exited,
            ProcessState::Fatal,
            ProcessState::Unknown,
        ]
        .into_iter()
        .find(|s| i64::from(s.code()) == code)
    }

    /// supervisord's STOPPED_STATES.
    pub fn is_stopped(self) -> bool {
        matches!(
            self,
            ProcessState::Stopped
                | ProcessState::Exited
                | ProcessState::Fatal
                | ProcessState::Unknown
        )
    }

    /// supervisord's RUNNING_STATES.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            ProcessState::Running | ProcessState::Backoff | ProcessState::Starting
        )
    }

    /// supervisord's SIGNALLABLE_STATES.
    pub fn is_signallable(self) -> bool {
        matches!(
            self,
            ProcessState::Running | ProcessState::Starting | ProcessState::Stopping
        )
    }
}

/// supervisord's own state (`getState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SupervisorState {
    Fatal,
    Running,
    Restarting,
    Shutdown,
}

impl SupervisorState {
    pub fn code(self) -> i32 {
        match self {
            SupervisorState::Fatal => 2,
            SupervisorState::Running => 1,
            SupervisorState::Restarting => 0,
            SupervisorState::Shutdown => -1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SupervisorState::Fatal => "FATAL",
            SupervisorState::Running => "RUNNING",
            SupervisorState::Restarting => "RESTARTING",
            SupervisorState::Shutdown => "SHUTDOWN",
        }
    }
}

/// One process as `getProcessInfo` reports it (reference 3.5), member for member.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessInfo {
    pub name: String,
    pub group: String,
    /// Epoch seconds of the last spawn, 0 if never.
    pub start: i64,
    /// Epoch seconds of the last exit, 0 if never.
    pub stop: i64,
    pub now: i64,
    pub state: ProcessState,
    pub statename: &'static str,
    pub spawnerr: String,
    pub exitstatus: i32,
    pub stdout_logfile: String,
    pub stderr_logfile: String,
    /// 0 when not running.
    pub pid: i32,
    pub description: String,
}

/// supervisord's fault codes (reference 3.3) for the requests the engine answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Fault {
    ShutdownState,
    /// A log read with an offset/length that makes no sense.
    BadArguments,
    BadName(String),
    BadSignal(String),
    NoFile(String),
    NotExecutable(String),
    Failed(String),
    AbnormalTermination(String),
    SpawnError(String),
    AlreadyStarted(String),
    NotRunning(String),
    /// `addProcessGroup` of a group that is already active.
    AlreadyAdded(String),
    /// `removeProcessGroup` of a group with processes not in a stopped state.
    StillRunning(String),
}

impl Fault {
    pub fn code(&self) -> i32 {
        match self {
            Fault::BadArguments => 3,
            Fault::ShutdownState => 6,
            Fault::BadName(_) => 10,
            Fault::BadSignal(_) => 11,
            Fault::NoFile(_) => 20,
            Fault::NotExecutable(_) => 21,
            Fault::Failed(_) => 30,
            Fault::AbnormalTermination(_) => 40,
            Fault::SpawnError(_) => 50,
            Fault::AlreadyStarted(_) => 60,
            Fault::NotRunning(_) => 70,
            Fault::AlreadyAdded(_) => 90,
            Fault::StillRunning(_) => 91,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Fault::BadArguments => "BAD_ARGUMENTS",
            Fault::ShutdownState => "SHUTDOWN_STATE",
            Fault::BadName(_) => "BAD_NAME",
            Fault::BadSignal(_) => "BAD_SIGNAL",
            Fault::NoFile(_) => "NO_FILE",
            Fault::NotExecutable(_) => "NOT_EXECUTABLE",
            Fault::Failed(_) => "FAILED",
            Fault::AbnormalTermination(_) => "ABNORMAL_TERMINATION",
            Fault::SpawnError(_) => "SPAWN_ERROR",
            Fault::AlreadyStarted(_) => "ALREADY_STARTED",
            Fault::NotRunning(_) => "NOT_RUNNING",
            Fault::AlreadyAdded(_) => "ALREADY_ADDED",
            Fault::StillRunning(_) => "STILL_RUNNING",
        }
    }

    /// `faultString` as supervisord builds it: `NAME` or `NAME: detail`.
    pub fn fault_string(&self) -> String {
        match self {
            Fault::ShutdownState | Fault::BadArguments => self.name().to_string(),
            Fault::BadName(d)
            | Fault::BadSignal(d)
            | Fault::NoFile(d)
            | Fault::NotExecutable(d)
            | Fault::Failed(d)
            | Fault::AbnormalTermination(d)
            | Fault::SpawnError(d)
            | Fault::AlreadyStarted(d)
            | Fault::NotRunning(d)
            | Fault::AlreadyAdded(d)
            | Fault::StillRunning(d) => format!("{}: {}", self.name(), d),
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.fault_string())
    }
}

pub type Reply<T> = oneshot::Sender<Result<T, Fault>>;

/// A message to the supervisor. `name` is a supervisorctl namespec: `group:process`, or `name` for a
/// process whose group has its own name.
#[derive(Debug)]
pub enum Request {
    /// `startProcess`: with `wait`, reply once the process is RUNNING (or failed to get there).
    Start {
        name: String,
        wait: bool,
        reply: Reply<()>,
    },
    /// `stopProcess`: with `wait`, reply once the process is in a stopped state.
    Stop {
        name: String,
        wait: bool,
        reply: Reply<()>,
    },
    /// `signalProcess`: send `signal` to the process (not its group).
    Signal {
        name: String,
        signal: i32,
        reply: Reply<()>,
    },
    /// `getProcessInfo` (`Some(name)`) / `getAllProcessInfo` (`None`), in start order.
    Info {
        name: Option<String>,
        reply: Reply<Vec<ProcessInfo>>,
    },
    /// `getState`.
    State {
        reply: oneshot::Sender<SupervisorState>,
    },
    /// The configuration in force (it changes on reload): for `getAllConfigInfo`, `reloadConfig`
    /// comparisons, the identification and the log paths.
    Config { reply: oneshot::Sender<Box<Config>> },
    /// `shutdown`: replies at once, then stops everything in order and exits 0.
    Shutdown { reply: Reply<()> },
    /// `restart`: replies at once, then stops everything, re-reads the config and starts again.
    Reload { reply: Reply<()> },
    /// `reopen` (SIGUSR2 equivalent).
    ReopenLogs { reply: Reply<()> },
    /// `reloadConfig`: re-read the file (same loader and command-line overrides) and compare its
    /// groups with the active ones. Nothing is applied; the result becomes what `AddGroup` and
    /// `GroupConfigs` see. `Err` is the loader's message (CANT_REREAD).
    Reread {
        reply: oneshot::Sender<Result<GroupChanges, String>>,
    },
    /// `addProcessGroup`: activate a group of the last read configuration; autostart applies.
    AddGroup { name: String, reply: Reply<()> },
    /// `removeProcessGroup`: drop an active group whose processes are all stopped.
    RemoveGroup { name: String, reply: Reply<()> },
    /// `getAllConfigInfo`: the last read configuration's groups and which of them are active.
    GroupConfigs {
        reply: oneshot::Sender<GroupConfigs>,
    },
    /// `sendProcessStdin`: a duplicate of the write end of the process's stdin pipe, so the caller
    /// can write without ever blocking the supervisor on a child that does not read.
    Stdin { name: String, reply: Reply<OwnedFd> },
    /// `readProcessStdoutLog` / `readProcessStderrLog`.
    ReadLog {
        name: String,
        stream: Stream,
        offset: i64,
        length: i64,
        reply: Reply<Vec<u8>>,
    },
    /// `tailProcessStdoutLog` / `tailProcessStderrLog`, and `/logtail` polling.
    TailLog {
        name: String,
        stream: Stream,
        offset: i64,
        length: i64,
        reply: Reply<Tail>,
    },
    /// `clearProcessLogs` (`Some(name)`) / `clearAllProcessLogs` (`None`): replies with the
    /// `(group, name)` of every process cleared, in start order.
    ClearLogs {
        name: Option<String>,
        reply: Reply<Vec<(String, String)>>,
    },
    /// `readLog`: steward's own log.
    ReadMainLog {
        offset: i64,
        length: i64,
        reply: Reply<Vec<u8>>,
    },
    /// `/mainlogtail` polling.
    TailMainLog {
        offset: i64,
        length: i64,
        reply: Reply<Tail>,
    },
    /// `clearLog`.
    ClearMainLog { reply: Reply<()> },
}

/// What `reloadConfig` found, as group names (each list sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupChanges {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// The last read configuration's groups (start order) and the names of the active ones.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupConfigs {
    pub groups: Vec<GroupSpec>,
    pub active: Vec<String>,
}

/// What a tail read returns (`tailProcessStdoutLog`'s `[bytes, offset, overflow]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tail {
    pub bytes: Vec<u8>,
    /// Where the next poll starts: the stream's size now.
    pub offset: u64,
    /// More than `length` bytes arrived since the requested offset; the oldest were skipped.
    pub overflow: bool,
}

/// A cloneable sender of [`Request`]s with one async method per request.
#[derive(Debug, Clone)]
pub struct Handle {
    pub(crate) tx: mpsc::UnboundedSender<Request>,
}

impl Handle {
    /// A handle and the receiving end the supervisor drains.
    pub fn channel() -> (Handle, mpsc::UnboundedReceiver<Request>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Handle { tx }, rx)
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, Fault> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .map_err(|_| Fault::ShutdownState)?;
        rx.await.unwrap_or(Err(Fault::ShutdownState))
    }

    pub async fn start(&self, name: &str, wait: bool) -> Result<(), Fault> {
        let name = name.to_string();
        self.ask(|reply| Request::Start { name, wait, reply }).await
    }

    pub async fn stop(&self, name: &str, wait: bool) -> Result<(), Fault> {
        let name = name.to_string();
        self.ask(|reply| Request::Stop { name, wait, reply }).await
    }

    pub async fn signal(&self, name: &str, signal: i32) -> Result<(), Fault> {
        let name = name.to_string();
        self.ask(|reply| Request::Signal {
            name,
            signal,
            reply,
        })
        .await
    }

    pub async fn info(&self, name: Option<&str>) -> Result<Vec<ProcessInfo>, Fault> {
        let name = name.map(str::to_string);
        self.ask(|reply| Request::Info { name, reply }).await
    }

    pub async fn state(&self) -> SupervisorState {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Request::State { reply }).is_err() {
            return SupervisorState::Shutdown;
        }
        rx.await.unwrap_or(SupervisorState::Shutdown)
    }

    /// The configuration in force; `None` once the supervisor is gone.
    pub async fn config(&self) -> Option<Config> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::Config { reply }).ok()?;
        rx.await.ok().map(|c| *c)
    }

    pub async fn shutdown(&self) -> Result<(), Fault> {
        self.ask(|reply| Request::Shutdown { reply }).await
    }

    pub async fn reload(&self) -> Result<(), Fault> {
        self.ask(|reply| Request::Reload { reply }).await
    }

    pub async fn reopen_logs(&self) -> Result<(), Fault> {
        self.ask(|reply| Request::ReopenLogs { reply }).await
    }

    pub async fn reread(&self) -> Result<GroupChanges, String> {
        let (reply, rx) = oneshot::channel();
        let gone = || "the supervisor is shutting down".to_string();
        self.tx
            .send(Request::Reread { reply })
            .map_err(|_| gone())?;
        rx.await.unwrap_or_else(|_| Err(gone()))
    }

    pub async fn add_group(&self, name: &str) -> Result<(), Fault> {
        let name = name.to_string();
        self.ask(|reply| Request::AddGroup { name, reply }).await
    }

    pub async fn remove_group(&self, name: &str) -> Result<(), Fault> {
        let name = name.to_string();
        self.ask(|reply| Request::RemoveGroup { name, reply }).await
    }

    /// `None` once the supervisor is gone.
    pub async fn group_configs(&self) -> Option<GroupConfigs> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::GroupConfigs { reply }).ok()?;
        rx.await.ok()
    }

    pub async fn stdin(&self, name: &str) -> Result<OwnedFd, Fault> {
        let name = name.to_string();
        self.ask(|reply| Request::Stdin { name, reply }).await
    }

    pub async fn read_log(
        &self,
        name: &str,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Vec<u8>, Fault> {
        let name = name.to_string();
        self.ask(|reply| Request::ReadLog {
            name,
            stream,
            offset,
            length,
            reply,
        })
        .await
    }

    pub async fn tail_log(
        &self,
        name: &str,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Tail, Fault> {
        let name = name.to_string();
        self.ask(|reply| Request::TailLog {
            name,
            stream,
            offset,
            length,
            reply,
        })
        .await
    }

    /// `None`: every process. Returns the `(group, name)` of each process cleared.
    pub async fn clear_logs(&self, name: Option<&str>) -> Result<Vec<(String, String)>, Fault> {
        let name = name.map(str::to_string);
        self.ask(|reply| Request::ClearLogs { name, reply }).await
    }

    pub async fn read_main_log(&self, offset: i64, length: i64) -> Result<Vec<u8>, Fault> {
        self.ask(|reply| Request::ReadMainLog {
            offset,
            length,
            reply,
        })
        .await
    }

    pub async fn tail_main_log(&self, offset: i64, length: i64) -> Result<Tail, Fault> {
        self.ask(|reply| Request::TailMainLog {
            offset,
            length,
            reply,
        })
        .await
    }

    pub async fn clear_main_log(&self) -> Result<(), Fault> {
        self.ask(|reply| Request::ClearMainLog { reply }).await
    }
}

/// supervisorctl's `group:name` split: `web` is `web:web`, `web:*` is the whole group (`None`).
pub fn split_namespec(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once(':') {
        Some((g, "*")) | Some((g, "")) => (g, None),
        Some((g, p)) => (g, Some(p)),
        None => (spec, Some(spec)),
    }
}
