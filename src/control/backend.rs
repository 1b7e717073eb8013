//! What the control server needs from the supervisor, as one small trait.
//!
//! The engine owns all process state, logs included; the control side only asks. Everything
//! protocol-shaped (namespecs, fault texts, descriptions, struct layout, `group:*` fan-out,
//! multicall) lives in [`crate::control::rpc`], so an implementation answers plain questions with
//! typed values. Log offsets follow [`crate::logs::tail`], the one implementation of supervisord's
//! read/tail rules, which the logs owner applies to its files and in-memory tails alike. The futures need not be `Send`: the server runs its connections on a `LocalSet`
//! of the engine's `current_thread` runtime.

use std::path::PathBuf;

use crate::config::model::ProcessSpec;
pub use crate::logs::Stream;

/// supervisord's process states, the engine's own type (wire codes in reference 2.2).
pub use crate::engine::api::ProcessState;

/// The supervisor's own state (`getState`), the engine's own type.
pub use crate::engine::api::SupervisorState;

/// A snapshot of one process (what `getProcessInfo` is built from; `description` is derived).
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessInfo {
    pub name: String,
    pub group: String,
    pub state: ProcessState,
    /// Epoch seconds of the last spawn; 0 if never started.
    pub start: i64,
    /// Epoch seconds of the last exit; 0 if never stopped.
    pub stop: i64,
    /// Epoch seconds of the snapshot.
    pub now: i64,
    /// The last spawn error (`Exited too quickly (process log may have details)`, …); empty if none.
    pub spawnerr: String,
    /// Last exit code; -1 if killed by a signal; 0 if unknown.
    pub exitstatus: i64,
    /// Path of the stdout log file, `None` when there is none (NONE, syslog, console only).
    pub stdout_logfile: Option<PathBuf>,
    /// Path of the stderr log file, `None` when there is none or stderr is redirected.
    pub stderr_logfile: Option<PathBuf>,
    /// 0 when not running.
    pub pid: u32,
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

/// One process's configuration as `getAllConfigInfo` and `avail` show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigInfo {
    pub spec: ProcessSpec,
    pub group_priority: i64,
    /// Whether the group is active (added) in the running supervisor.
    pub inuse: bool,
}

/// The result of re-reading the configuration (`reloadConfig`): group names, each list sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigChanges {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// What `tail*Log` answers: `[bytes, offset, overflow]` (reference 3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTail {
    pub bytes: Vec<u8>,
    /// The stream's size now: where the next poll starts.
    pub offset: u64,
    /// More than `length` bytes arrived since the requested offset; the oldest were skipped.
    pub overflow: bool,
}

/// Why a log read failed; `rpc` turns each into supervisord's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogError {
    /// No such process.
    BadName,
    /// A file-backed log whose file does not exist (the path, shown as the detail), or no log at all
    /// (`None`: supervisord then leaves the detail out).
    NoFile(Option<String>),
    /// A negative offset with a length, or a negative length.
    BadArguments,
    /// The log could not be read.
    Failed,
    /// The supervisor is shutting down or reloading.
    ShuttingDown,
}

/// Why the supervisor refused or failed an action; `rpc` turns each into supervisord's fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionError {
    /// No such process or group.
    BadName,
    /// start: the process is STARTING, RUNNING or BACKOFF.
    AlreadyStarted,
    /// stop/signal/stdin: the process is not running.
    NotRunning,
    /// start: the spawn failed or the process exited before startsecs (spawnerr set).
    SpawnError,
    /// start with wait: left STARTING without reaching RUNNING and without a spawn error.
    AbnormalTermination,
    /// The command does not exist (detail: `can't find command '/x'`).
    NoFile(String),
    /// The command is not executable (detail: `command at '/x' is not executable`).
    NotExecutable(String),
    /// Anything else (detail shown after `FAILED: `).
    Failed(String),
    /// addProcessGroup of an active group.
    AlreadyAdded,
    /// removeProcessGroup of a group with processes not stopped.
    StillRunning,
    /// The supervisor is shutting down or reloading.
    ShuttingDown,
}

/// The supervisor as seen by the control server.
///
/// Process arguments are `(group, name)` pairs that came from [`Backend::processes`]; groups are
/// group names. Every method may be called concurrently with others (several clients), and
/// `start`/`stop` with `wait` may take as long as startsecs/stopwaitsecs.
#[allow(async_fn_in_trait)] // single-threaded by design: callers never need Send futures
pub trait Backend {
    /// `identifier` from `[supervisord]`.
    fn identification(&self) -> String;

    fn state(&self) -> SupervisorState;

    /// Every process of every active group, in start order (group priority, then process priority).
    async fn processes(&self) -> Vec<ProcessInfo>;

    /// Start one process. Check the command first (NoFile/NotExecutable without spawning); refuse
    /// AlreadyStarted for STARTING/RUNNING/BACKOFF and Failed for UNKNOWN. Without `wait`, answer
    /// once spawned (SpawnError if the spawn itself failed); with `wait`, answer when it reaches
    /// RUNNING, or SpawnError/AbnormalTermination when it gives up or leaves STARTING otherwise.
    async fn start(&self, group: &str, name: &str, wait: bool) -> Result<(), ActionError>;

    /// Stop one process (NotRunning unless STARTING/RUNNING/BACKOFF). With `wait`, answer once it is
    /// in a stopped state (after stopwaitsecs and SIGKILL if needed).
    async fn stop(&self, group: &str, name: &str, wait: bool) -> Result<(), ActionError>;

    /// Send `signal` to one process (NotRunning unless RUNNING/STARTING/STOPPING).
    async fn signal(&self, group: &str, name: &str, signal: i32) -> Result<(), ActionError>;

    /// Write `data` to the process's stdin (NotRunning; NoFile when its stdin is closed).
    async fn send_stdin(&self, group: &str, name: &str, data: &str) -> Result<(), ActionError>;

    /// `readProcess*Log`: bytes of one stream with supervisord's offset rules
    /// ([`crate::logs::tail::read_range`]). A stream with a log file reads the file (NoFile with its
    /// path when it does not exist); a stream without one (console only, NONE) reads its in-memory
    /// tail.
    async fn read_log(
        &self,
        group: &str,
        name: &str,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Vec<u8>, LogError>;

    /// `tailProcess*Log` ([`crate::logs::tail::tail_range`]); a missing file is `("", 0, false)`.
    async fn tail_log(
        &self,
        group: &str,
        name: &str,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<LogTail, LogError>;

    /// Empty a process's stdout and stderr logs (first files and in-memory tails) through whoever
    /// writes them, so their size accounting and rotation stay right.
    async fn clear_logs(&self, group: &str, name: &str) -> Result<(), ActionError>;

    /// `readLog`: the main log, NoFile when it is not a file or the file does not exist.
    async fn read_main_log(&self, offset: i64, length: i64) -> Result<Vec<u8>, LogError>;

    /// `/mainlogtail` polling; NoFile when the main log is not a file.
    async fn tail_main_log(&self, offset: i64, length: i64) -> Result<LogTail, LogError>;

    /// `clearLog`: NoFile when the main log is not a file or the file does not exist.
    async fn clear_main_log(&self) -> Result<(), ActionError>;

    /// Re-read the configuration and compare with the running groups; nothing is applied.
    /// `Err(message)` when the file does not load (CANT_REREAD).
    async fn reread(&self) -> Result<ConfigChanges, String>;

    /// Activate a group from the last re-read configuration (autostart applies).
    async fn add_group(&self, group: &str) -> Result<(), ActionError>;

    /// Drop a group whose processes are all stopped.
    async fn remove_group(&self, group: &str) -> Result<(), ActionError>;

    /// Every configured process (active or not, from the last read configuration).
    async fn config_info(&self) -> Vec<ConfigInfo>;

    /// Begin an orderly shutdown; returns at once (the reply is sent before the stop finishes).
    fn shutdown(&self);

    /// Begin a reload (stop everything, re-read, start again in the same pid); returns at once.
    fn restart(&self);

    /// Forward a `sendRemoteCommEvent` to event listeners (may be a no-op).
    async fn remote_comm_event(&self, kind: &str, data: &str);
}
