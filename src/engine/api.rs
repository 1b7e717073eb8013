//! THE interface to the engine: what anyone outside it (the control server, the web page, metrics,
//! tests) may ask, in the engine's own types.
//!
//! * [`Engine`] is the trait the control layer is written against; [`Handle`] implements it over the
//!   supervisor's request channel, and the test fake (`tests/common/fake.rs`) implements it in memory.
//! * Processes are named by [`ProcessId`], a stable handle that survives groups being added and
//!   removed; resolving supervisorctl's `group:name` namespecs into ids is the caller's business.
//! * Every refusal is one [`EngineError`]; supervisord's fault codes and strings exist only in
//!   `control::rpc`. Nothing here produces a wire string.
//! * [`Request`] is what travels on the channel; the supervisor matches it exhaustively, so a request
//!   it forgets to answer is a compile error.
//!
//! Logs are read through requests too ([`Handle::read_log`], [`Handle::tail_log`], …), not through a
//! shared `logs::Logs`: the supervisor owns the log streams (a reload replaces them all) and resolves
//! names exactly as for every other request, so an unknown name is `BAD_NAME` and a stream without a
//! log is `NO_FILE`, as in supervisord. The reads are bounded by their `length` and cheap.
//!
//! `/logtail/NAME[/stderr]` and `/mainlogtail` stream by reading [`Handle::tail_log`] /
//! [`Handle::tail_main_log`] with the offset each reply returns (supervisord's `tail -f` does the same on
//! the file); `overflow` means bytes were skipped. Between reads they wait on the log's change signal
//! ([`Handle::log_changes`], [`Handle::main_log_changes`]): a write wakes them at once, and an idle log
//! costs no wakeups.

use serde::Serialize;

use std::os::fd::OwnedFd;
use std::path::PathBuf;

use tokio::io::AsyncWriteExt as _;
use tokio::sync::{mpsc, oneshot, watch};

use crate::config::model::ProcessSpec;
use crate::engine::spawn::SpawnError;
pub use crate::logs::Changes;
pub use crate::logs::Stream;

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

    /// Every state, in code order.
    pub const ALL: [ProcessState; 8] = [
        ProcessState::Stopped,
        ProcessState::Starting,
        ProcessState::Running,
        ProcessState::Backoff,
        ProcessState::Stopping,
        ProcessState::Exited,
        ProcessState::Fatal,
        ProcessState::Unknown,
    ];

    /// The state a wire code names.
    pub fn from_code(code: i64) -> Option<ProcessState> {
        ProcessState::ALL
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

/// A process's identity for the life of the supervisor: never reused, unaffected by other groups
/// coming and going. A reload gives every row a new id, so ids from before it name nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ProcessId(pub u64);

/// A snapshot of one process: what `getProcessInfo` and `status` are built from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessInfo {
    pub id: ProcessId,
    pub name: String,
    pub group: String,
    pub state: ProcessState,
    /// Epoch seconds of the last spawn, 0 if never.
    pub start: i64,
    /// Epoch seconds of the last exit, 0 if never.
    pub stop: i64,
    /// Epoch seconds when the snapshot was taken.
    pub now: i64,
    /// Why the last start failed (`Exited too quickly (process log may have details)`, …); empty if
    /// it did not.
    pub spawnerr: String,
    /// Last exit code; -1 for a death by signal; 0 if unknown.
    pub exitstatus: i64,
    /// The stdout log file (AUTO resolved); `None` when the stream goes to no file (NONE, syslog,
    /// steward's own stdout/stderr).
    pub stdout_logfile: Option<PathBuf>,
    /// As `stdout_logfile`; also `None` when stderr is redirected to stdout.
    pub stderr_logfile: Option<PathBuf>,
    /// 0 when there is no child.
    pub pid: u32,
    /// steward's remark on the process, empty when there is none: what its start waits for
    /// (`waiting for db`, `db is FATAL`) or its sd_notify `STATUS=` text.
    pub note: String,
    /// The liveness check of its current child is failing (it counts as unhealthy for `ctl health`
    /// and `/healthz`).
    pub unhealthy: Option<Unhealthy>,
}

/// A liveness check failing in a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unhealthy {
    /// Consecutive failures (at least 1).
    pub failures: u32,
    /// Why the last one failed (`HTTP status 500`, …).
    pub last: String,
}

impl ProcessInfo {
    /// `group:name`, or `name` when both are equal (supervisorctl's display form).
    pub fn namespec(&self) -> String {
        if self.group == self.name {
            self.name.clone()
        } else {
            format!("{}:{}", self.group, self.name)
        }
    }
}

/// One configured process as `getAllConfigInfo` and `avail` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigInfo {
    pub spec: ProcessSpec,
    pub group_priority: i64,
    /// Whether its group is active (added) in the running supervisor.
    pub inuse: bool,
}

/// Why the engine refused or failed a request. The caller knows which name it asked about, so the
/// variants carry only what it cannot know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// Shutting down or reloading: nothing may start or change.
    ShuttingDown,
    /// No such process (an id from before a reload or a removed group) or group.
    BadName,
    /// A log read with an offset/length that makes no sense.
    BadArguments,
    /// A signal number outside 1..=64.
    BadSignal,
    /// No file to read, clear or write: the log file (its path, when there is one) or the stdin
    /// pipe (`None`).
    NoFile(Option<PathBuf>),
    /// start: the command cannot be run (not found, not executable); nothing was spawned.
    Command(SpawnError),
    /// start: the process is in the UNKNOWN state.
    UnknownState,
    /// start: the spawn failed or the process exited before startsecs (its spawnerr says why).
    SpawnFailed,
    /// start with wait: left STARTING without reaching RUNNING and without a spawn error.
    AbnormalTermination,
    /// start of a STARTING/RUNNING/BACKOFF process.
    AlreadyStarted,
    /// stop/signal/stdin of a process that is not running.
    NotRunning,
    /// addProcessGroup of an active group.
    AlreadyAdded,
    /// removeProcessGroup of a group with processes not stopped.
    StillRunning,
    /// reloadConfig: the configuration does not load (the loader's message).
    CantReread(String),
    /// An operating-system error (its text).
    Failed(String),
}

/// What `reloadConfig` found, as group names (each list sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupChanges {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// What `/metrics` reports beyond the snapshots (rendered in `control::metrics`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metrics {
    /// Every process, in start order, with its counters.
    pub processes: Vec<(ProcessInfo, ProcessCounters)>,
    /// Reloads (SIGHUP, `restart`) that brought a new configuration into force.
    pub reloads: u64,
    /// Epoch seconds when steward started.
    pub started: i64,
}

/// One process's counters: from its transitions, and from its output streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessCounters {
    pub counts: crate::engine::metrics::Counts,
    pub stdout: crate::logs::StreamCounters,
    pub stderr: crate::logs::StreamCounters,
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

/// What the engine asks of its callers, and what the control layer is written against.
///
/// Every method may be called concurrently with the others (several clients); `start`/`stop` with
/// `wait` may take as long as startsecs/stopwaitsecs. The futures need not be `Send`: the control
/// server runs on the engine's `current_thread` runtime.
#[allow(async_fn_in_trait)] // single-threaded by design: callers never need Send futures
pub trait Engine {
    /// `identifier` from `[supervisord]` of the configuration in force.
    fn identification(&self) -> String;

    fn state(&self) -> SupervisorState;

    /// Every process of every active group, in start order (group priority, then process priority).
    async fn processes(&self) -> Vec<ProcessInfo>;

    /// Start one process. The command is checked first (`Command`, nothing spawned); refuses
    /// `AlreadyStarted` for STARTING/RUNNING/BACKOFF and `UnknownState`. Without `wait`, answers once
    /// spawned (`SpawnFailed` if the spawn itself failed); with `wait`, when it reaches RUNNING, or
    /// `SpawnFailed`/`AbnormalTermination` when it does not.
    async fn start(&self, id: ProcessId, wait: bool) -> Result<(), EngineError>;

    /// Stop one process (`NotRunning` unless STARTING/RUNNING/BACKOFF). With `wait`, answers once it is
    /// in a stopped state (after stopwaitsecs and SIGKILL if needed).
    async fn stop(&self, id: ProcessId, wait: bool) -> Result<(), EngineError>;

    /// Send `signal` to one process (`NotRunning` unless RUNNING/STARTING/STOPPING).
    async fn signal(&self, id: ProcessId, signal: i32) -> Result<(), EngineError>;

    /// Write `data` to the process's stdin (`NotRunning`; `NoFile(None)` when its stdin is closed).
    async fn send_stdin(&self, id: ProcessId, data: &[u8]) -> Result<(), EngineError>;

    /// `readProcess*Log` with supervisord's offset rules ([`crate::logs::tail::read_range`]): a
    /// stream with a log file reads the file, one without reads its in-memory tail.
    async fn read_log(
        &self,
        id: ProcessId,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Vec<u8>, EngineError>;

    /// `tailProcess*Log` ([`crate::logs::tail::tail_range`]); a missing file is `("", 0, false)`.
    async fn tail_log(
        &self,
        id: ProcessId,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Tail, EngineError>;

    /// Empty a process's stdout and stderr logs (first files and in-memory tails) through their
    /// writers, so size accounting and rotation stay right.
    async fn clear_logs(&self, id: ProcessId) -> Result<(), EngineError>;

    /// `readLog`: the main log; `NoFile` when it is not a file or the file does not exist.
    async fn read_main_log(&self, offset: i64, length: i64) -> Result<Vec<u8>, EngineError>;

    /// `/mainlogtail` polling; `NoFile(None)` when the main log is not a file.
    async fn tail_main_log(&self, offset: i64, length: i64) -> Result<Tail, EngineError>;

    /// `clearLog`: `NoFile` when the main log is not a file or the file does not exist.
    async fn clear_main_log(&self) -> Result<(), EngineError>;

    /// A signal that the process's `stream` log (what [`Engine::read_log`] reads) changed, so a
    /// follower waits for output instead of polling; `None` for an unknown process or once the
    /// supervisor is gone. It fires too when the process is removed, and `changed()` fails once the
    /// log's writer is gone (reload): either way the next read says the log is gone.
    async fn log_changes(&self, id: ProcessId, stream: Stream) -> Option<Changes>;

    /// The same for the main log; `None` when it is not a file.
    async fn main_log_changes(&self) -> Option<Changes>;

    /// Re-read the configuration and compare it with the active groups; nothing is applied.
    async fn reread(&self) -> Result<GroupChanges, EngineError>;

    /// Activate a group of the last read configuration (autostart applies).
    async fn add_group(&self, group: &str) -> Result<(), EngineError>;

    /// Drop a group whose processes are all stopped.
    async fn remove_group(&self, group: &str) -> Result<(), EngineError>;

    /// Every configured process of the last read configuration, active or not, in start order.
    async fn config_info(&self) -> Vec<ConfigInfo>;

    /// Begin an orderly shutdown; returns at once, ordered before any later request.
    fn shutdown(&self);

    /// Begin a reload (stop everything, re-read, start again in the same pid). The config is read
    /// first: if it does not load, nothing is stopped and the error (`CantReread`) comes back.
    async fn restart(&self) -> Result<(), EngineError>;

    /// `sendRemoteCommEvent`: for event listeners.
    async fn remote_comm_event(&self, kind: &str, data: &str);

    /// Counters for `/metrics`, gathered as things happen; cheap until asked.
    async fn metrics(&self) -> Metrics;
}

pub type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

/// A message to the supervisor: one per [`Engine`] method that needs the process table.
#[derive(Debug)]
pub enum Request {
    Start {
        id: ProcessId,
        wait: bool,
        reply: Reply<()>,
    },
    Stop {
        id: ProcessId,
        wait: bool,
        reply: Reply<()>,
    },
    /// Send `signal` to the process (not its group).
    Signal {
        id: ProcessId,
        signal: i32,
        reply: Reply<()>,
    },
    /// Every process, in start order.
    Processes {
        reply: oneshot::Sender<Vec<ProcessInfo>>,
    },
    /// Replies at once, then stops everything in order and exits.
    Shutdown,
    /// `restart`: re-reads the config, and answers once it was read (an invalid one is refused and
    /// changes nothing); then stops everything and starts again with it.
    Reload {
        reply: Reply<()>,
    },
    /// Re-read the file (same loader and command-line overrides) and compare its groups with the
    /// active ones. Nothing is applied; the result becomes what `AddGroup` and `ConfigInfo` see.
    Reread {
        reply: Reply<GroupChanges>,
    },
    AddGroup {
        name: String,
        reply: Reply<()>,
    },
    RemoveGroup {
        name: String,
        reply: Reply<()>,
    },
    ConfigInfo {
        reply: oneshot::Sender<Vec<ConfigInfo>>,
    },
    Metrics {
        reply: oneshot::Sender<Metrics>,
    },
    /// A duplicate of the write end of the process's stdin pipe, so the caller can write without
    /// ever blocking the supervisor on a child that does not read.
    Stdin {
        id: ProcessId,
        reply: Reply<OwnedFd>,
    },
    ReadLog {
        id: ProcessId,
        stream: Stream,
        offset: i64,
        length: i64,
        reply: Reply<Vec<u8>>,
    },
    TailLog {
        id: ProcessId,
        stream: Stream,
        offset: i64,
        length: i64,
        reply: Reply<Tail>,
    },
    ClearLogs {
        id: ProcessId,
        reply: Reply<()>,
    },
    ReadMainLog {
        offset: i64,
        length: i64,
        reply: Reply<Vec<u8>>,
    },
    TailMainLog {
        offset: i64,
        length: i64,
        reply: Reply<Tail>,
    },
    ClearMainLog {
        reply: Reply<()>,
    },
    /// A change signal of a process's stream log, or (`None`) of the main log.
    LogChanges {
        log: Option<(ProcessId, Stream)>,
        reply: oneshot::Sender<Option<Changes>>,
    },
    /// `sendRemoteCommEvent`: a `REMOTE_COMMUNICATION` event for the listeners.
    RemoteComm {
        kind: String,
        data: String,
    },
}

impl Request {
    /// Whether the request changes what runs, and so is refused (`ShuttingDown`) once a shutdown or
    /// reload has begun. Reads are answered until the end.
    pub fn needs_running(&self) -> bool {
        match self {
            Request::Start { .. }
            | Request::Stop { .. }
            | Request::Signal { .. }
            | Request::Shutdown
            | Request::Reload { .. }
            | Request::AddGroup { .. }
            | Request::RemoveGroup { .. }
            | Request::RemoteComm { .. }
            | Request::Stdin { .. } => true,
            Request::Processes { .. }
            | Request::Reread { .. }
            | Request::ConfigInfo { .. }
            | Request::Metrics { .. }
            | Request::ReadLog { .. }
            | Request::TailLog { .. }
            | Request::ClearLogs { .. }
            | Request::ReadMainLog { .. }
            | Request::TailMainLog { .. }
            | Request::ClearMainLog { .. }
            | Request::LogChanges { .. } => false,
        }
    }
}

/// What a caller can read without a round trip to the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub state: SupervisorState,
    /// `[supervisord] identifier` of the configuration in force.
    pub identification: String,
}

/// The supervisor's [`Engine`]: a cloneable sender of [`Request`]s and a view of its [`Status`].
#[derive(Debug, Clone)]
pub struct Handle {
    tx: mpsc::UnboundedSender<Request>,
    status: watch::Receiver<Status>,
}

impl Handle {
    /// A handle, the receiving end the supervisor drains, and the sender of the status it publishes.
    pub fn channel(
        status: Status,
    ) -> (
        Handle,
        mpsc::UnboundedReceiver<Request>,
        watch::Sender<Status>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (status_tx, status) = watch::channel(status);
        (Handle { tx, status }, rx, status_tx)
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .map_err(|_| EngineError::ShuttingDown)?;
        rx.await.unwrap_or(Err(EngineError::ShuttingDown))
    }

    /// For the requests that cannot fail; `None` once the supervisor is gone.
    async fn get<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Request) -> Option<T> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).ok()?;
        rx.await.ok()
    }

    /// The status as it changes (the supervisor's state, the identifier after a reload).
    pub fn status(&self) -> watch::Receiver<Status> {
        self.status.clone()
    }
}

impl Engine for Handle {
    fn identification(&self) -> String {
        self.status.borrow().identification.clone()
    }

    fn state(&self) -> SupervisorState {
        self.status.borrow().state
    }

    async fn processes(&self) -> Vec<ProcessInfo> {
        self.get(|reply| Request::Processes { reply })
            .await
            .unwrap_or_default()
    }

    async fn start(&self, id: ProcessId, wait: bool) -> Result<(), EngineError> {
        self.ask(|reply| Request::Start { id, wait, reply }).await
    }

    async fn stop(&self, id: ProcessId, wait: bool) -> Result<(), EngineError> {
        self.ask(|reply| Request::Stop { id, wait, reply }).await
    }

    async fn signal(&self, id: ProcessId, signal: i32) -> Result<(), EngineError> {
        self.ask(|reply| Request::Signal { id, signal, reply })
            .await
    }

    async fn send_stdin(&self, id: ProcessId, data: &[u8]) -> Result<(), EngineError> {
        let fd = self.ask(|reply| Request::Stdin { id, reply }).await?;
        // Written here rather than by the supervisor: a child that does not read stalls only this
        // request (until its client goes away), never the supervisor.
        let mut pipe = tokio::net::unix::pipe::Sender::from_owned_fd(fd)
            .map_err(|e| EngineError::Failed(e.to_string()))?;
        match pipe.write_all(data).await {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => Err(EngineError::NoFile(None)),
            Err(e) => Err(EngineError::Failed(e.to_string())),
        }
    }

    async fn read_log(
        &self,
        id: ProcessId,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Vec<u8>, EngineError> {
        self.ask(|reply| Request::ReadLog {
            id,
            stream,
            offset,
            length,
            reply,
        })
        .await
    }

    async fn tail_log(
        &self,
        id: ProcessId,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Tail, EngineError> {
        self.ask(|reply| Request::TailLog {
            id,
            stream,
            offset,
            length,
            reply,
        })
        .await
    }

    async fn clear_logs(&self, id: ProcessId) -> Result<(), EngineError> {
        self.ask(|reply| Request::ClearLogs { id, reply }).await
    }

    async fn read_main_log(&self, offset: i64, length: i64) -> Result<Vec<u8>, EngineError> {
        self.ask(|reply| Request::ReadMainLog {
            offset,
            length,
            reply,
        })
        .await
    }

    async fn tail_main_log(&self, offset: i64, length: i64) -> Result<Tail, EngineError> {
        self.ask(|reply| Request::TailMainLog {
            offset,
            length,
            reply,
        })
        .await
    }

    async fn clear_main_log(&self) -> Result<(), EngineError> {
        self.ask(|reply| Request::ClearMainLog { reply }).await
    }

    async fn log_changes(&self, id: ProcessId, stream: Stream) -> Option<Changes> {
        let log = Some((id, stream));
        self.get(|reply| Request::LogChanges { log, reply })
            .await
            .flatten()
    }

    async fn main_log_changes(&self) -> Option<Changes> {
        self.get(|reply| Request::LogChanges { log: None, reply })
            .await
            .flatten()
    }

    async fn reread(&self) -> Result<GroupChanges, EngineError> {
        self.ask(|reply| Request::Reread { reply }).await
    }

    async fn add_group(&self, group: &str) -> Result<(), EngineError> {
        let name = group.to_string();
        self.ask(|reply| Request::AddGroup { name, reply }).await
    }

    async fn remove_group(&self, group: &str) -> Result<(), EngineError> {
        let name = group.to_string();
        self.ask(|reply| Request::RemoveGroup { name, reply }).await
    }

    async fn config_info(&self) -> Vec<ConfigInfo> {
        self.get(|reply| Request::ConfigInfo { reply })
            .await
            .unwrap_or_default()
    }

    // Queued synchronously, so it is ordered before any later request of any client. Refused
    // silently when a shutdown is already under way: nothing changes for the caller.
    fn shutdown(&self) {
        let _ = self.tx.send(Request::Shutdown);
    }

    async fn restart(&self) -> Result<(), EngineError> {
        self.ask(|reply| Request::Reload { reply }).await
    }

    async fn remote_comm_event(&self, kind: &str, data: &str) {
        let _ = self.tx.send(Request::RemoteComm {
            kind: kind.to_string(),
            data: data.to_string(),
        });
    }

    async fn metrics(&self) -> Metrics {
        self.get(|reply| Request::Metrics { reply })
            .await
            .unwrap_or_default()
    }
}
