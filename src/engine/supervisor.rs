//! The single owner of the process table. One `current_thread` runtime; signals, control requests,
//! child exits and deadlines all arrive here, become `process::Event`s fed to one process's state
//! machine (`Supervisor::feed`, the only place a process's state changes), and this module carries out
//! the returned effects in order: spawn, kill, log lines, and state transitions, which go to the
//! registered `transitions` subscribers (the main log's phrases; `Supervisor::subscribe` adds more).
//!
//! Time is event-driven: the loop sleeps until the earliest deadline of any process (or forever when
//! there is none). A pid goes into the table in the same synchronous step as the spawn, so an exit can
//! never be reaped for a pid we don't know yet.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::model::{Config, LogTarget, ProcessSpec};
use crate::engine::api::{
    split_namespec, Fault, Handle, ProcessInfo, ProcessState, Reply, Request, Stream,
    SupervisorState, Tail,
};
use crate::engine::process::{Effect, Event, ExitStatus, Level, Process, Refused};
use crate::engine::reaper;
use crate::engine::signals::{signame, Action, Signals};
use crate::engine::spawn::{self, SpawnContext, SpawnError};
use crate::engine::transitions::{Subscriber, Subscribers};
use crate::logs::{self, Logs, MainLog, ReadError};

/// How often "waiting for … to die" is repeated during a shutdown (supervisord: 3 s).
const SHUTDOWN_REPORT_EVERY: Duration = Duration::from_secs(3);

/// How long a shutdown or reload waits, once every process has exited, for the output they left in
/// their pipes. Only a pipe some other process still holds open (a daemon the program left behind) takes
/// this long.
const PUMP_DRAIN: Duration = Duration::from_secs(3);

/// Re-reads the configuration for a reload (SIGHUP / `restart`). An error keeps the running config.
pub type Reloader = Box<dyn FnMut() -> Result<Config, String>>;

/// Called after a successful reload with the new config; returns the new main log (its `logfile` and
/// rotation may have changed).
pub type OnReload = Box<dyn FnMut(&Config) -> MainLog>;

mod groups;

/// A reply to send now, or `None` when the request was parked until its process settles.
type Answer = Option<(Reply<()>, Result<(), Fault>)>;

/// Write one line to steward's main log at `level`.
pub fn emit(level: Level, msg: &str) {
    match level {
        Level::Crit => tracing::error!(target: "crit", "{msg}"),
        Level::Error => tracing::error!("{msg}"),
        Level::Warn => tracing::warn!("{msg}"),
        Level::Info => tracing::info!("{msg}"),
        Level::Debug => tracing::debug!("{msg}"),
    }
}

fn epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// One row of the process table.
struct Entry {
    spec: ProcessSpec,
    proc: Process,
    start_epoch: i64,
    stop_epoch: i64,
    /// Our end of the child's stdin; dropped when the child is reaped.
    stdin: Option<OwnedFd>,
    start_waiters: Vec<Reply<()>>,
    stop_waiters: Vec<Reply<()>>,
}

/// An ordered stop in progress (shutdown or the first half of a reload).
struct Stopping {
    /// Group names still to stop, next one first: descending (priority, name).
    groups: Vec<String>,
    reload: bool,
    next_report: Instant,
}

/// What to do once the ordered stop is complete and the output is drained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    Exit,
    Reload,
}

/// The supervisor: process table, its request channel and the ordered-stop state.
pub struct Supervisor {
    config: Config,
    entries: Vec<Entry>,
    by_pid: HashMap<i32, usize>,
    ctx: SpawnContext,
    state: SupervisorState,
    stopping: Option<Stopping>,
    handle: Handle,
    rx: mpsc::UnboundedReceiver<Request>,
    reloader: Reloader,
    finish: Option<Finish>,
    on_reload: Option<OnReload>,
    /// The groups of the last `reloadConfig`; `None`: the config in force is the last one read.
    reread: Option<Vec<crate::config::model::GroupSpec>>,
    /// `state` as others may read it without a round trip (the control server's `getState`).
    state_tx: watch::Sender<SupervisorState>,
    /// Child log streams of the current config; replaced on reload.
    logs: Logs,
    main_log: MainLog,
    /// One task per child pipe, ending at EOF; awaited before exit and reload so no output is lost.
    pumps: Vec<JoinHandle<()>>,
    /// Told of every process state change, in order.
    subscribers: Subscribers,
}

/// `SUPERVISOR_SERVER_URL` for serverurl=AUTO: the unix socket, else the inet server.
pub fn server_url(config: &Config) -> Option<String> {
    if let Some(u) = &config.unix_http_server {
        return Some(format!("unix://{}", u.file.display()));
    }
    config.inet_http_server.as_ref().map(|i| {
        let host = if i.host.is_empty() || i.host == "*" {
            "localhost"
        } else {
            i.host.as_str()
        };
        format!("http://{host}:{}", i.port)
    })
}

fn build_entries(config: &Config) -> Vec<Entry> {
    let mut entries = vec![];
    for g in &config.groups {
        for spec in &g.processes {
            entries.push(Entry {
                spec: spec.clone(),
                proc: Process::new(),
                start_epoch: 0,
                stop_epoch: 0,
                stdin: None,
                start_waiters: vec![],
                stop_waiters: vec![],
            });
        }
    }
    entries
}

impl Supervisor {
    /// A supervisor for `config`, logging to `main_log` (see `mainlog::install`). Sets up the child log
    /// streams (AUTO names, cleanup of old AUTO files), so it runs after privileges are dropped.
    pub fn new(config: Config, reloader: Reloader, main_log: MainLog) -> Supervisor {
        let (handle, rx) = Handle::channel();
        let ctx =
            SpawnContext::from_process(config.supervisord.environment.clone(), server_url(&config));
        Supervisor {
            logs: Logs::new(&config),
            main_log,
            pumps: vec![],
            entries: build_entries(&config),
            config,
            by_pid: HashMap::new(),
            ctx,
            state: SupervisorState::Running,
            stopping: None,
            handle,
            rx,
            reloader,
            finish: None,
            on_reload: None,
            reread: None,
            state_tx: watch::channel(SupervisorState::Running).0,
            subscribers: Subscribers::standard(),
        }
    }

    /// Tell `s` of every process state change from now on, after the standard subscribers.
    pub fn subscribe(&mut self, s: impl Subscriber + 'static) {
        self.subscribers.add(s);
    }

    /// The supervisor's state, updated as it changes (signals included, not only requests).
    pub fn state_watch(&self) -> watch::Receiver<SupervisorState> {
        self.state_tx.subscribe()
    }

    /// A sender for control requests; clone freely.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    pub fn set_on_reload(&mut self, f: OnReload) {
        self.on_reload = Some(f);
    }

    /// Run until a requested shutdown completes and the children's output is written; returns steward's
    /// exit status (0).
    pub async fn run(mut self) -> i32 {
        let mut signals = match Signals::install() {
            Ok(s) => s,
            Err(e) => {
                emit(Level::Crit, &format!("cannot install signal handlers: {e}"));
                return 2;
            }
        };
        self.autostart(Instant::now());
        loop {
            let now = Instant::now();
            self.fire_due(now);
            self.advance_stop(now);
            self.settle_waiters();
            self.state_tx.send_replace(self.state);
            if let Some(finish) = self.finish.take() {
                self.drain_pumps().await;
                match finish {
                    Finish::Exit => {
                        self.logs.flush(PUMP_DRAIN);
                        return 0;
                    }
                    Finish::Reload => {
                        self.finish_reload(Instant::now());
                        continue;
                    }
                }
            }
            let next = self.next_deadline();
            tokio::select! {
                biased;
                action = signals.next() => self.on_signal(action),
                Some(req) = self.rx.recv() => self.on_request(req),
                _ = sleep_until(next), if next.is_some() => {}
            }
        }
    }

    /// Wait until every pump has written its child's last output (EOF), within [`PUMP_DRAIN`].
    async fn drain_pumps(&mut self) {
        let deadline = tokio::time::Instant::now() + PUMP_DRAIN;
        let mut open = 0;
        for pump in self.pumps.drain(..) {
            if tokio::time::timeout_at(deadline, pump).await.is_err() {
                open += 1;
            }
        }
        if open > 0 {
            emit(
                Level::Warn,
                &format!(
                    "{open} output pipe(s) still open after their process exited (held by a process it left behind?); not waiting for them"
                ),
            );
        }
    }

    fn autostart(&mut self, now: Instant) {
        for i in 0..self.entries.len() {
            let e = &self.entries[i];
            if e.spec.autostart && e.proc.laststart().is_none() {
                let _ = self.feed(i, Event::Start, now);
            }
        }
    }

    fn may_start(&self) -> bool {
        self.state == SupervisorState::Running
    }

    fn fire_due(&mut self, now: Instant) {
        for i in 0..self.entries.len() {
            if matches!(self.entries[i].proc.deadline(), Some((at, _)) if at <= now) {
                let _ = self.feed(i, Event::Deadline, now);
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let procs = self
            .entries
            .iter()
            .filter_map(|e| e.proc.deadline().map(|(at, _)| at));
        let report = self.stopping.as_ref().map(|s| s.next_report);
        procs.chain(report).min()
    }

    /// Feed `event` to entry `i`'s state machine and carry out what it decides. The only way the
    /// supervisor changes a process's state.
    fn feed(&mut self, i: usize, event: Event, now: Instant) -> Result<(), Refused> {
        let may = self.may_start();
        let e = &mut self.entries[i];
        let effects = e.proc.handle(event, &e.spec, now, may)?;
        self.apply(i, effects, now);
        Ok(())
    }

    /// Carry out what the state machine decided for entry `i`, in order.
    fn apply(&mut self, i: usize, effects: Vec<Effect>, now: Instant) {
        for effect in effects {
            match effect {
                Effect::Log(level, msg) => emit(level, &msg),
                Effect::Transition(t) => self.subscribers.notify(&self.entries[i].spec, &t, now),
                // A fresh clock: earlier spawns in this same step may have taken a while.
                Effect::Spawn => self.spawn(i, Instant::now()),
                Effect::Kill { pid, signal, group } => {
                    let target = if group { -pid } else { pid };
                    // SAFETY: kill(2) with integer arguments; the pid is our live (or unreaped) child.
                    let rc = unsafe { libc::kill(target, signal) };
                    if rc != 0 {
                        let err = std::io::Error::last_os_error();
                        if err.raw_os_error() != Some(libc::ESRCH) {
                            let _ = self.feed(i, Event::SignalFailed(err.to_string()), now);
                        }
                    }
                }
            }
        }
    }

    fn spawn(&mut self, i: usize, now: Instant) {
        self.entries[i].start_epoch = epoch();
        let result = spawn::spawn_process(&self.entries[i].spec, &self.ctx);
        let e = &mut self.entries[i];
        let report = match result {
            Ok(child) => {
                // Into the table before anything else can run: the reaper must know this pid.
                self.by_pid.insert(child.pid, i);
                e.stdin = child.stdin;
                self.pumps.retain(|p| !p.is_finished());
                let pipes = [
                    (Stream::Stdout, Some(child.stdout)),
                    (Stream::Stderr, child.stderr),
                ];
                for (stream, fd) in pipes {
                    let Some(fd) = fd else { continue };
                    match self.logs.pump(&e.spec, stream, fd) {
                        Ok(pump) => self.pumps.push(pump),
                        // The read end is closed: the child gets EPIPE instead of blocking forever.
                        Err(err) => emit(
                            Level::Warn,
                            &format!("cannot read {stream} of {}: {err}", e.spec.name),
                        ),
                    }
                }
                Event::Spawned(child.pid)
            }
            Err(err) => Event::SpawnFailed(err.message().to_string()),
        };
        let _ = self.feed(i, report, now);
    }

    fn on_signal(&mut self, action: Action) {
        let now = Instant::now();
        match action {
            Action::Reap => self.reap(now),
            Action::Shutdown(sig) => {
                if self.state == SupervisorState::Shutdown {
                    emit(
                        Level::Debug,
                        &format!("received {} during shutdown, ignored", signame(sig)),
                    );
                } else {
                    emit(
                        Level::Warn,
                        &format!("received {} indicating exit request", signame(sig)),
                    );
                    self.begin_stop(false, now);
                }
            }
            Action::Reload => {
                if self.state == SupervisorState::Running {
                    emit(Level::Warn, "received SIGHUP indicating restart request");
                    self.begin_stop(true, now);
                }
            }
            Action::ReopenLogs => {
                // Reopen first, so this line already lands in the new file.
                self.reopen_logs();
                emit(
                    Level::Info,
                    "received SIGUSR2 indicating log reopen request",
                );
            }
        }
    }

    fn reap(&mut self, now: Instant) {
        let mut statuses = vec![];
        reaper::reap_all(|pid, status| statuses.push((pid, status)));
        for (pid, status) in statuses {
            self.exited(pid, status, now);
        }
    }

    fn exited(&mut self, pid: i32, status: ExitStatus, now: Instant) {
        let Some(i) = self.by_pid.remove(&pid) else {
            emit(
                Level::Info,
                &format!("reaped unknown pid {pid} ({})", status.describe()),
            );
            return;
        };
        let e = &mut self.entries[i];
        e.stop_epoch = epoch();
        e.stdin = None;
        let _ = self.feed(i, Event::Exited(status), now);
    }

    /// Start the ordered stop of everything: for a shutdown, or for a reload.
    fn begin_stop(&mut self, reload: bool, now: Instant) {
        self.state = if reload {
            SupervisorState::Restarting
        } else {
            SupervisorState::Shutdown
        };
        if let Some(s) = &mut self.stopping {
            // A TERM during a reload turns it into a shutdown; nothing else changes.
            s.reload &= reload;
            return;
        }
        // Pending autorestarts and retries won't happen any more.
        for i in 0..self.entries.len() {
            let _ = self.feed(i, Event::Halt, now);
        }
        let mut groups: Vec<(i64, String)> = self
            .config
            .groups
            .iter()
            .map(|g| (g.priority, g.name.clone()))
            .collect();
        groups.sort();
        groups.reverse();
        self.stopping = Some(Stopping {
            groups: groups.into_iter().map(|(_, n)| n).collect(),
            reload,
            next_report: now,
        });
    }

    /// Stop the current group; move on when it has nothing left running; finish when all are done.
    fn advance_stop(&mut self, now: Instant) {
        let Some(stopping) = &self.stopping else {
            return;
        };
        let mut groups = stopping.groups.clone();
        while let Some(group) = groups.first().cloned() {
            let mut members: Vec<usize> = (0..self.entries.len())
                .filter(|&i| self.entries[i].spec.group == group)
                .collect();
            members.sort_by(|&a, &b| {
                let (a, b) = (&self.entries[a].spec, &self.entries[b].spec);
                (b.priority, &b.name).cmp(&(a.priority, &a.name))
            });
            for &i in &members {
                let _ = self.feed(i, Event::OrderedStop, now);
            }
            if members
                .iter()
                .any(|&i| !self.entries[i].proc.state().is_stopped())
            {
                break;
            }
            groups.remove(0);
        }
        let unstopped: Vec<&str> = self
            .entries
            .iter()
            .filter(|e| !e.proc.state().is_stopped())
            .map(|e| e.spec.name.as_str())
            .collect();
        let Some(stopping) = &mut self.stopping else {
            return;
        };
        stopping.groups = groups;
        if !unstopped.is_empty() {
            if now >= stopping.next_report {
                emit(
                    Level::Info,
                    &format!("waiting for {} to die", unstopped.join(", ")),
                );
                stopping.next_report = now + SHUTDOWN_REPORT_EVERY;
            }
            return;
        }
        self.finish = Some(if stopping.reload {
            Finish::Reload
        } else {
            Finish::Exit
        });
        self.stopping = None;
    }

    fn finish_reload(&mut self, now: Instant) {
        match (self.reloader)() {
            Ok(config) => {
                if let Some(f) = &mut self.on_reload {
                    self.main_log = f(&config);
                }
                self.ctx = SpawnContext::from_process(
                    config.supervisord.environment.clone(),
                    server_url(&config),
                );
                self.config = config;
            }
            Err(msg) => emit(
                Level::Error,
                &format!("could not reload the configuration, keeping the old one: {msg}"),
            ),
        }
        // Like a fresh start (supervisord runs its whole setup again): old AUTO logs go, new ones are named.
        self.logs = Logs::new(&self.config);
        self.entries = build_entries(&self.config);
        self.reread = None;
        self.by_pid.clear();
        self.state = SupervisorState::Running;
        self.autostart(now);
    }

    /// Answer start/stop waiters whose process has reached a verdict.
    fn settle_waiters(&mut self) {
        for e in &mut self.entries {
            let state = e.proc.state();
            if !e.start_waiters.is_empty() && state != ProcessState::Starting {
                let verdict = if state == ProcessState::Running {
                    Ok(())
                } else if e.proc.spawnerr().is_some() {
                    // As supervisord: the detail is the name; the reason is in the process info.
                    Err(Fault::SpawnError(e.spec.namespec()))
                } else {
                    Err(Fault::AbnormalTermination(e.spec.namespec()))
                };
                for w in e.start_waiters.drain(..) {
                    let _ = w.send(verdict.clone());
                }
            }
            if !e.stop_waiters.is_empty() && state.is_stopped() {
                for w in e.stop_waiters.drain(..) {
                    let _ = w.send(Ok(()));
                }
            }
        }
    }

    fn find(&self, namespec: &str) -> Result<usize, Fault> {
        let (group, name) = split_namespec(namespec);
        let bad = || Fault::BadName(namespec.to_string());
        let name = name.ok_or_else(bad)?;
        self.entries
            .iter()
            .position(|e| e.spec.group == group && e.spec.name == name)
            .ok_or_else(bad)
    }

    fn on_request(&mut self, req: Request) {
        let now = Instant::now();
        let refuse_when_stopping = self.state != SupervisorState::Running;
        match req {
            Request::State { reply } => {
                let _ = reply.send(self.state);
            }
            Request::Config { reply } => {
                let _ = reply.send(Box::new(self.config.clone()));
            }
            Request::Info { name, reply } => {
                let _ = reply.send(self.info(name.as_deref()));
            }
            Request::Start { reply, .. }
            | Request::Stop { reply, .. }
            | Request::Signal { reply, .. }
            | Request::Shutdown { reply }
            | Request::Reload { reply }
                if refuse_when_stopping =>
            {
                let _ = reply.send(Err(Fault::ShutdownState));
            }
            Request::Start { name, wait, reply } => {
                if let Some(reply) = self.start_request(&name, wait, reply, now) {
                    let _ = reply.0.send(reply.1);
                }
            }
            Request::Stop { name, wait, reply } => {
                if let Some(reply) = self.stop_request(&name, wait, reply, now) {
                    let _ = reply.0.send(reply.1);
                }
            }
            Request::Signal {
                name,
                signal,
                reply,
            } => {
                let _ = reply.send(self.signal_request(&name, signal));
            }
            Request::Shutdown { reply } => {
                let _ = reply.send(Ok(()));
                emit(Level::Warn, "received shutdown request");
                self.begin_stop(false, now);
            }
            Request::Reload { reply } => {
                let _ = reply.send(Ok(()));
                emit(Level::Warn, "received restart request");
                self.begin_stop(true, now);
            }
            Request::ReopenLogs { reply } => {
                self.reopen_logs();
                let _ = reply.send(Ok(()));
            }
            Request::ReadLog {
                name,
                stream,
                offset,
                length,
                reply,
            } => {
                let _ = reply.send(self.read_log(&name, stream, offset, length));
            }
            Request::TailLog {
                name,
                stream,
                offset,
                length,
                reply,
            } => {
                let _ = reply.send(self.find(&name).map(|i| {
                    let (bytes, offset, overflow) =
                        self.logs
                            .tail(&self.entries[i].spec.namespec(), stream, offset, length);
                    Tail {
                        bytes,
                        offset,
                        overflow,
                    }
                }));
            }
            Request::ClearLogs { name, reply } => {
                let _ = reply.send(self.clear_logs(name.as_deref()));
            }
            Request::ReadMainLog {
                offset,
                length,
                reply,
            } => {
                let path = self.main_log.path();
                let read = self.main_log.read(offset, length);
                let _ = reply.send(read.map_err(|e| read_fault(e, path.as_deref())));
            }
            Request::TailMainLog {
                offset,
                length,
                reply,
            } => {
                let tail = match self.main_log.path() {
                    Some(p) => {
                        let (bytes, offset, overflow) = logs::tail::tail_file(&p, offset, length);
                        Ok(Tail {
                            bytes,
                            offset,
                            overflow,
                        })
                    }
                    None => Err(Fault::NoFile("None".into())),
                };
                let _ = reply.send(tail);
            }
            Request::ClearMainLog { reply } => {
                // supervisord's clearLog: NO_FILE unless there is a file to clear.
                let answer = match self.main_log.path() {
                    Some(p) if p.exists() => {
                        if let Some(r) = self.main_log.clear() {
                            logs::log_report(&r);
                        }
                        Ok(())
                    }
                    p => Err(Fault::NoFile(
                        p.map_or_else(|| "None".to_string(), |p| p.display().to_string()),
                    )),
                };
                let _ = reply.send(answer);
            }
            other => self.on_group_request(other, now),
        }
    }

    /// SIGUSR2 / `reopen`: after an external logrotate moved the files away.
    fn reopen_logs(&self) {
        self.logs.reopen();
        if let Some(r) = self.main_log.reopen() {
            logs::log_report(&r);
        }
    }

    fn read_log(
        &self,
        name: &str,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Vec<u8>, Fault> {
        let namespec = self.entries[self.find(name)?].spec.namespec();
        self.logs
            .read(&namespec, stream, offset, length)
            .map_err(|e| read_fault(e, self.logs.logfile(&namespec, stream).as_deref()))
    }

    fn clear_logs(&self, name: Option<&str>) -> Result<Vec<(String, String)>, Fault> {
        let which = match name {
            Some(n) => vec![self.find(n)?],
            None => (0..self.entries.len()).collect(),
        };
        Ok(which
            .into_iter()
            .map(|i| {
                let spec = &self.entries[i].spec;
                self.logs.clear(&spec.namespec());
                (spec.group.clone(), spec.name.clone())
            })
            .collect())
    }

    fn start_request(&mut self, name: &str, wait: bool, reply: Reply<()>, now: Instant) -> Answer {
        let i = match self.find(name) {
            Ok(i) => i,
            Err(f) => return Some((reply, Err(f))),
        };
        // Like startProcess: a missing or unusable command is a fault and leaves the state alone.
        let spec = &self.entries[i].spec;
        if let Some(program) = spec.argv.first() {
            let path = spec
                .environment
                .iter()
                .rev()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| std::ffi::OsString::from(v))
                .or_else(|| std::env::var_os("PATH"));
            match spawn::resolve_command(program, path.as_deref()) {
                Err(SpawnError::NoFile(m)) => return Some((reply, Err(Fault::NoFile(m)))),
                Err(SpawnError::NotExecutable(m)) => {
                    return Some((reply, Err(Fault::NotExecutable(m))))
                }
                _ => {}
            }
        }
        match self.feed(i, Event::Start, now) {
            Ok(()) => {}
            Err(Refused::AlreadyStarted) => {
                return Some((reply, Err(Fault::AlreadyStarted(name.to_string()))))
            }
            Err(Refused::NotRunning) | Err(Refused::Unknown) => {
                return Some((
                    reply,
                    Err(Fault::Failed(format!("{name} is in an unknown state"))),
                ))
            }
        }
        let e = &mut self.entries[i];
        if e.proc.state() == ProcessState::Backoff || e.proc.state() == ProcessState::Fatal {
            return Some((reply, Err(Fault::SpawnError(name.to_string()))));
        }
        if wait && e.proc.state() == ProcessState::Starting {
            e.start_waiters.push(reply);
            return None;
        }
        Some((reply, Ok(())))
    }

    fn stop_request(&mut self, name: &str, wait: bool, reply: Reply<()>, now: Instant) -> Answer {
        let i = match self.find(name) {
            Ok(i) => i,
            Err(f) => return Some((reply, Err(f))),
        };
        if let Err(_refused) = self.feed(i, Event::Stop, now) {
            return Some((reply, Err(Fault::NotRunning(name.to_string()))));
        }
        let e = &mut self.entries[i];
        if wait && !e.proc.state().is_stopped() {
            e.stop_waiters.push(reply);
            return None;
        }
        Some((reply, Ok(())))
    }

    fn signal_request(&mut self, name: &str, signal: i32) -> Result<(), Fault> {
        let i = self.find(name)?;
        if !(1..=64).contains(&signal) {
            return Err(Fault::BadSignal(signal.to_string()));
        }
        let e = &self.entries[i];
        if !e.proc.state().is_signallable() || e.proc.pid() <= 0 {
            return Err(Fault::NotRunning(name.to_string()));
        }
        // SAFETY: kill(2) with integer arguments on our own child.
        if unsafe { libc::kill(e.proc.pid(), signal) } != 0 {
            return Err(Fault::Failed(std::io::Error::last_os_error().to_string()));
        }
        Ok(())
    }

    fn info(&self, name: Option<&str>) -> Result<Vec<ProcessInfo>, Fault> {
        let now = epoch();
        match name {
            Some(n) => Ok(vec![self.info_of(self.find(n)?, now)]),
            None => Ok((0..self.entries.len())
                .map(|i| self.info_of(i, now))
                .collect()),
        }
    }

    fn info_of(&self, i: usize, now: i64) -> ProcessInfo {
        let e = &self.entries[i];
        let namespec = e.spec.namespec();
        let target_name = |t: &LogTarget, stream: Stream| match t {
            LogTarget::None => String::new(),
            LogTarget::Auto => self
                .logs
                .logfile(&namespec, stream)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            LogTarget::Stdout => "/dev/stdout".into(),
            LogTarget::Stderr => "/dev/stderr".into(),
            LogTarget::Syslog => "syslog".into(),
            LogTarget::File(p) => p.display().to_string(),
        };
        let stdout_logfile = target_name(&e.spec.stdout.target, Stream::Stdout);
        let stderr_logfile = if e.spec.redirect_stderr {
            String::new()
        } else {
            target_name(&e.spec.stderr.target, Stream::Stderr)
        };
        let state = e.proc.state();
        ProcessInfo {
            name: e.spec.name.clone(),
            group: e.spec.group.clone(),
            start: e.start_epoch,
            stop: e.stop_epoch,
            now,
            state,
            statename: state.name(),
            spawnerr: e.proc.spawnerr().unwrap_or_default().to_string(),
            exitstatus: e.proc.exitstatus(),
            stdout_logfile,
            stderr_logfile,
            pid: e.proc.pid(),
            description: description(e, now),
        }
    }
}

/// supervisord's faults for a log read: `NO_FILE` names the file (`None` when there is none).
fn read_fault(e: ReadError, path: Option<&std::path::Path>) -> Fault {
    let shown = || path.map_or_else(|| "None".to_string(), |p| p.display().to_string());
    match e {
        ReadError::NoFile => Fault::NoFile(shown()),
        ReadError::BadArguments => Fault::BadArguments,
        ReadError::Failed => Fault::Failed(shown()),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// supervisord's `description` (reference 3.5).
fn description(e: &Entry, now: i64) -> String {
    match e.proc.state() {
        ProcessState::Running => format!(
            "pid {}, uptime {}",
            e.proc.pid(),
            uptime((now - e.start_epoch).max(0))
        ),
        ProcessState::Stopped | ProcessState::Exited => {
            if e.stop_epoch == 0 {
                "Not started".into()
            } else {
                short_local_time(e.stop_epoch)
            }
        }
        ProcessState::Fatal | ProcessState::Backoff => match e.proc.spawnerr() {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => format!("unknown error (try \"tail {}\")", e.spec.name),
        },
        ProcessState::Starting | ProcessState::Stopping | ProcessState::Unknown => String::new(),
    }
}

/// Python's `str(timedelta(seconds=n))`: `0:00:05`, `1 day, 2:03:04`, `3 days, 0:00:00`.
fn uptime(secs: i64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let hms = format!("{}:{:02}:{:02}", rest / 3600, rest % 3600 / 60, rest % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        d => format!("{d} days, {hms}"),
    }
}

/// `%b %d %I:%M %p` in local time, e.g. `Nov 22 04:47 PM`.
fn short_local_time(t: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = t as libc::time_t;
    // SAFETY: localtime_r fills a zeroed struct we own from a time_t we own.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        tm
    };
    let hour12 = match tm.tm_hour % 12 {
        0 => 12,
        h => h,
    };
    let ampm = if tm.tm_hour < 12 { "AM" } else { "PM" };
    format!(
        "{} {:02} {:02}:{:02} {ampm}",
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_mday,
        hour12,
        tm.tm_min
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::model::*;
    use crate::engine::process::tests::spec;
    use std::sync::Mutex;

    /// These tests fork real children and reap with waitpid(-1): one at a time.
    pub(crate) static SERIAL: Mutex<()> = Mutex::new(());

    /// A config with supervisord's defaults around `specs`, one group per process.
    pub(crate) fn config(specs: Vec<ProcessSpec>) -> Config {
        let quiet = SupervisordSpec {
            logfile: LogTarget::None,
            pidfile: None,
            nodaemon: true,
            silent: true,
            nocleanup: true,
            ..SupervisordSpec::new(std::path::Path::new("/"), std::path::Path::new("/tmp"))
        };
        Config::of_processes(quiet, specs)
    }

    /// Run a supervisor over `specs` next to `body`, then shut it down; returns steward's exit code.
    fn with_supervisor<F, Fut>(specs: Vec<ProcessSpec>, body: F) -> i32
    where
        F: FnOnce(Handle) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        with_supervisor_set_up(specs, |_| {}, body)
    }

    /// [`with_supervisor`], with `setup` called on the supervisor before it runs.
    fn with_supervisor_set_up<F, Fut>(
        specs: Vec<ProcessSpec>,
        setup: impl FnOnce(&mut Supervisor),
        body: F,
    ) -> i32
    where
        F: FnOnce(Handle) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let cfg = config(specs);
        let (main_log, _) = MainLog::new(&cfg.supervisord);
        let mut sup = Supervisor::new(cfg, Box::new(|| Err("no reload in tests".into())), main_log);
        setup(&mut sup);
        let h = sup.handle();
        rt.block_on(async move {
            let run = sup.run();
            let drive = async {
                body(h.clone()).await;
                // The body may have shut down already.
                let _ = h.shutdown().await;
            };
            let (code, ()) =
                tokio::time::timeout(Duration::from_secs(20), async { tokio::join!(run, drive) })
                    .await
                    .expect("supervisor test timed out");
            code
        })
    }

    async fn info(h: &Handle, name: &str) -> ProcessInfo {
        h.info(Some(name)).await.unwrap().remove(0)
    }

    async fn wait_state(h: &Handle, name: &str, state: ProcessState) -> ProcessInfo {
        for _ in 0..500 {
            let i = info(h, name).await;
            if i.state == state {
                return i;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{name} never reached {state:?}: {:?}", info(h, name).await);
    }

    fn quick(name: &str, argv: &[&str]) -> ProcessSpec {
        let mut s = spec(name, argv);
        s.autostart = false;
        s.startsecs = 0;
        s.stopwaitsecs = 2;
        s
    }

    #[test]
    fn start_stop_signal_info() {
        let mut sleeper = quick("sleeper", &["sleep", "1000"]);
        sleeper.autorestart = AutoRestart::Never;
        let code = with_supervisor(vec![sleeper], |h| async move {
            let i = info(&h, "sleeper").await;
            assert_eq!(
                (i.state, i.description.as_str()),
                (ProcessState::Stopped, "Not started")
            );
            assert_eq!(
                h.signal("sleeper", libc::SIGUSR1).await,
                Err(Fault::NotRunning("sleeper".into()))
            );
            h.start("sleeper", true).await.unwrap();
            let i = info(&h, "sleeper").await;
            assert_eq!(i.state, ProcessState::Running);
            assert!(i.pid > 0);
            assert_eq!(i.description, format!("pid {}, uptime 0:00:00", i.pid));
            assert_eq!(i.statename, "RUNNING");
            assert!(matches!(
                h.start("sleeper", true).await,
                Err(Fault::AlreadyStarted(_))
            ));
            h.stop("sleeper", true).await.unwrap();
            let i = info(&h, "sleeper").await;
            assert_eq!(
                (i.state, i.pid, i.exitstatus),
                (ProcessState::Stopped, 0, -1)
            );
            assert!(i.stop > 0 && i.start > 0);
            assert!(matches!(
                h.stop("sleeper", true).await,
                Err(Fault::NotRunning(_))
            ));
            // A signal goes to the process; USR1 kills sleep, which is not expected, no autorestart.
            h.start("sleeper", false).await.unwrap();
            h.signal("sleeper", libc::SIGUSR1).await.unwrap();
            let i = wait_state(&h, "sleeper", ProcessState::Exited).await;
            assert_eq!(i.exitstatus, -1);
            assert_eq!(
                h.signal("sleeper", 999).await,
                Err(Fault::BadSignal("999".into()))
            );
            assert!(matches!(
                h.info(Some("nosuch")).await,
                Err(Fault::BadName(_))
            ));
            assert!(matches!(
                h.start("sleeper:nosuch", false).await,
                Err(Fault::BadName(_))
            ));
            assert_eq!(h.state().await, SupervisorState::Running);
            let c = h.config().await.unwrap();
            assert_eq!(c.groups[0].processes[0].name, "sleeper");
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn start_faults() {
        let mut flaky = quick("flaky", &["sh", "-c", "exit 1"]);
        flaky.startsecs = 1;
        flaky.startretries = 0;
        let missing = quick("missing", &["/nonexistent/thing"]);
        let mut baddir = quick("baddir", &["sleep", "100"]);
        baddir.directory = Some("/nonexistent-dir".into());
        baddir.startretries = 0;
        with_supervisor(vec![flaky, missing, baddir], |h| async move {
            assert_eq!(
                h.start("flaky", true).await,
                Err(Fault::SpawnError("flaky".into()))
            );
            let i = info(&h, "flaky").await;
            assert_eq!(i.state, ProcessState::Fatal);
            assert_eq!(
                i.spawnerr,
                "Exited too quickly (process log may have details)"
            );
            assert_eq!(
                h.start("missing", true).await,
                Err(Fault::NoFile(
                    "can't find command '/nonexistent/thing'".into()
                ))
            );
            assert_eq!(info(&h, "missing").await.state, ProcessState::Stopped);
            assert_eq!(
                h.start("baddir", true).await,
                Err(Fault::SpawnError("baddir".into()))
            );
            let i = info(&h, "baddir").await;
            assert_eq!(i.state, ProcessState::Fatal);
            assert_eq!(i.description, "couldn't chdir to /nonexistent-dir: ENOENT");
        });
    }

    #[test]
    fn shutdown_stops_in_reverse_priority_and_kills_stubborn() {
        let mut a = quick("a", &["sleep", "1000"]);
        a.autostart = true;
        a.priority = 1;
        let mut b = quick(
            "b",
            &["sh", "-c", "trap '' TERM; while :; do sleep 1; done"],
        );
        b.autostart = true;
        b.priority = 2;
        b.stopwaitsecs = 1;
        b.killasgroup = true;
        let started = Instant::now();
        let code = with_supervisor(vec![a, b], |h| async move {
            wait_state(&h, "a", ProcessState::Running).await;
            wait_state(&h, "b", ProcessState::Running).await;
            // Let sh install its trap before the shutdown.
            tokio::time::sleep(Duration::from_millis(200)).await;
        });
        assert_eq!(code, 0);
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn requests_during_shutdown_fault() {
        let mut a = quick(
            "a",
            &["sh", "-c", "trap '' TERM; while :; do sleep 1; done"],
        );
        a.autostart = true;
        a.stopwaitsecs = 1;
        a.killasgroup = true;
        with_supervisor(vec![a], |h| async move {
            wait_state(&h, "a", ProcessState::Running).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let h2 = h.clone();
            h2.shutdown().await.unwrap();
            assert_eq!(h2.state().await, SupervisorState::Shutdown);
            assert_eq!(h2.start("a", false).await, Err(Fault::ShutdownState));
            assert_eq!(info(&h2, "a").await.state, ProcessState::Stopping);
        });
    }

    #[test]
    fn logs_are_read_tailed_and_cleared_through_the_handle() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("talk.log");
        let mut talk = quick("talk", &["sh", "-c", "echo hello; echo oops >&2"]);
        talk.autorestart = AutoRestart::Never;
        talk.stdout.target = LogTarget::File(file.clone());
        with_supervisor(vec![talk], |h| async move {
            h.start("talk", false).await.unwrap();
            let tail = loop {
                let t = h.tail_log("talk", Stream::Stdout, 0, 100).await.unwrap();
                if t.offset == 6 {
                    break t;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            };
            assert_eq!(
                (tail.bytes.as_slice(), tail.overflow),
                (&b"hello\n"[..], false)
            );
            assert_eq!(
                h.read_log("talk", Stream::Stdout, 1, 3).await.unwrap(),
                b"ell"
            );
            assert_eq!(
                h.read_log("talk", Stream::Stdout, -1, 5).await,
                Err(Fault::BadArguments)
            );
            // stderr=NONE has no file but an in-memory tail.
            let err = loop {
                let t = h.tail_log("talk", Stream::Stderr, 0, 100).await.unwrap();
                if t.offset == 5 {
                    break t;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            };
            assert_eq!(err.bytes, b"oops\n");
            assert!(matches!(
                h.read_log("nosuch", Stream::Stdout, 0, 0).await,
                Err(Fault::BadName(_))
            ));
            assert_eq!(
                h.clear_logs(None).await.unwrap(),
                vec![("talk".to_string(), "talk".to_string())]
            );
            assert_eq!(h.read_log("talk", Stream::Stdout, 0, 0).await.unwrap(), b"");
            // The test config's main log goes nowhere.
            assert_eq!(
                h.read_main_log(0, 0).await,
                Err(Fault::NoFile("None".into()))
            );
            assert_eq!(h.clear_main_log().await, Err(Fault::NoFile("None".into())));
            assert_eq!(
                info(&h, "talk").await.stdout_logfile,
                file.display().to_string()
            );
        });
    }

    /// A subscriber hears every state change the supervisor applies, in order, with the pid and
    /// exit of the real child; the ordered stop of the shutdown included.
    #[test]
    fn subscribers_hear_the_transitions_of_real_children() {
        use crate::engine::process::Transition;
        use std::cell::RefCell;
        use std::rc::Rc;
        type Heard = (String, ProcessState, ProcessState, i32, Option<i32>);
        let heard: Rc<RefCell<Vec<Heard>>> = Rc::default();
        let mut sleeper = quick("sleeper", &["sleep", "1000"]);
        sleeper.autostart = true;
        let mut once = quick("once", &["sh", "-c", "exit 3"]);
        once.autorestart = AutoRestart::Never;
        let sleeper_pid = Rc::new(std::cell::Cell::new(0));
        let (h2, p2) = (heard.clone(), sleeper_pid.clone());
        with_supervisor_set_up(
            vec![sleeper, once],
            move |sup| {
                sup.subscribe(move |who: &ProcessSpec, t: &Transition, _: Instant| {
                    let code = t.exit.map(|e| e.status.code());
                    h2.borrow_mut()
                        .push((who.name.clone(), t.from, t.to, t.pid, code));
                })
            },
            |h| async move {
                let sleeper = wait_state(&h, "sleeper", ProcessState::Running).await.pid;
                h.start("once", false).await.unwrap();
                let once = wait_state(&h, "once", ProcessState::Exited).await;
                assert_eq!(once.exitstatus, 3);
                p2.set(sleeper);
            },
        );
        let sleeper = sleeper_pid.get();
        assert!(sleeper > 0);
        let heard = heard.borrow();
        let of =
            |name: &str| -> Vec<Heard> { heard.iter().filter(|h| h.0 == name).cloned().collect() };
        use ProcessState::*;
        let s = "sleeper".to_string();
        assert_eq!(
            of("sleeper"),
            [
                (s.clone(), Stopped, Starting, 0, None),
                (s.clone(), Starting, Running, sleeper, None),
                (s.clone(), Running, Stopping, sleeper, None),
                (s.clone(), Stopping, Stopped, sleeper, Some(-1)),
            ]
        );
        let once = of("once");
        let pid = once[1].3;
        assert!(pid > 0 && pid != sleeper);
        let o = "once".to_string();
        assert_eq!(
            once,
            [
                (o.clone(), Stopped, Starting, 0, None),
                (o.clone(), Starting, Running, pid, None),
                (o.clone(), Running, Exited, pid, Some(3)),
            ]
        );
    }

    #[test]
    fn description_formats() {
        assert_eq!(uptime(5), "0:00:05");
        assert_eq!(uptime(3600 * 25 + 61), "1 day, 1:01:01");
        assert_eq!(uptime(86_400 * 3), "3 days, 0:00:00");
        let t = short_local_time(0);
        assert!(t.ends_with("AM") || t.ends_with("PM"), "{t}");
    }
}
