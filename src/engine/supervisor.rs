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
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::clock::epoch;
use crate::config::model::{Config, GroupSpec, LogTarget, ProcessSpec};
use crate::engine::api::{
    EngineError, Handle, Metrics, ProcessCounters, ProcessId, ProcessInfo, ProcessState, Reply,
    Request, Status, Stream, SupervisorState, Tail,
};
use crate::engine::mainlog::emit;
use crate::engine::metrics::Counters;
use crate::engine::process::{Effect, Event, ExitStatus, Level, Process, Refused};
use crate::engine::reaper;
use crate::engine::signals::{signame, Action, Signals};
use crate::engine::spawn::{self, SpawnContext, SpawnError};
use crate::engine::transitions::{Subscriber, Subscribers};
use crate::engine::{events, fcgi};
use crate::logs::tap::Tapped;
use crate::logs::{self, Logs, MainLog, ReadError};

/// Threads that fork a batch of processes (boot, reload, a group added) side by side.
const SPAWN_THREADS: usize = 8;

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
mod lifecycle;
mod table;

use table::{Row, Table};

/// A reply to send now, or `None` when the request was parked until its process settles.
type Answer = Option<(Reply<()>, Result<(), EngineError>)>;

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

impl Row for Entry {
    fn spec(&self) -> &ProcessSpec {
        &self.spec
    }
}

/// An ordered stop in progress (shutdown or the first half of a reload).
struct Stopping {
    /// Groups still to stop, next first: descending (dependency level, priority, name). The leading
    /// groups that share a level and a priority are stopped together.
    groups: Vec<(usize, i64, String)>,
    reload: bool,
    next_report: Instant,
    /// Begun by SIGINT (Ctrl-C): the first report also says that a second one forces.
    hint: bool,
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
    table: Table<Entry>,
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
    /// The config a reload read before it began stopping (it was valid).
    next_config: Option<Config>,
    /// What others may read without a round trip (the control server's `getState`).
    status: watch::Sender<Status>,
    /// Child log streams of the current config; replaced on reload.
    logs: Logs,
    main_log: MainLog,
    /// One task per child pipe, ending at EOF; awaited before exit and reload so no output is lost.
    pumps: Vec<JoinHandle<()>>,
    /// Told of every process state change, in order.
    subscribers: Subscribers,
    /// Filled by a subscriber, read by `/metrics`.
    counters: Counters,
    reloads: u64,
    started: i64,
    /// Event listeners: pools, buffers, the protocol (see `engine::events`).
    events: events::Bus,
    /// What the pumps tap for the event system; its sender makes the next bus on a reload.
    tapped: mpsc::UnboundedReceiver<Tapped>,
    /// The fcgi-program groups' sockets (`engine::fcgi`).
    fcgi: fcgi::Sockets,
    /// Dependencies, checks, critical programs (`supervisor/lifecycle.rs`).
    life: lifecycle::Life,
    /// While `autostart` runs: the processes whose spawn it asked for, forked together after.
    batch: Option<Vec<ProcessId>>,
    /// A second SIGINT came during the shutdown: everything was sent SIGKILL, nothing waits any more.
    forced: bool,
}

/// The next SIGINT; other signals that arrive meanwhile are dropped (steward is on its way out).
async fn second_interrupt(signals: &mut Signals) {
    while signals.next().await != Action::Shutdown(libc::SIGINT) {}
}

/// A fork to make: [`Supervisor::spawn_job`].
type SpawnJob = (ProcessSpec, Result<Option<OwnedFd>, SpawnError>);

/// Fork and exec one job (on any thread).
fn run_job(job: &SpawnJob, ctx: &spawn::SpawnContext) -> Result<spawn::Spawned, SpawnError> {
    match &job.1 {
        Ok(fd0) => spawn::spawn_process_fd0(&job.0, ctx, fd0.as_ref()),
        Err(e) => Err(e.clone()),
    }
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

/// Fresh rows for every process of `groups`, in start order.
fn build_entries<'a>(groups: impl IntoIterator<Item = &'a GroupSpec>) -> Vec<Entry> {
    groups
        .into_iter()
        .flat_map(|g| &g.processes)
        .map(|spec| Entry {
            spec: spec.clone(),
            proc: Process::new(),
            start_epoch: 0,
            stop_epoch: 0,
            stdin: None,
            start_waiters: vec![],
            stop_waiters: vec![],
        })
        .collect()
}

fn table_of(config: &Config) -> Table<Entry> {
    let mut table = Table::new();
    table.extend(build_entries(&config.groups));
    table
}

impl Supervisor {
    /// A supervisor for `config`, logging to `main_log` (see `mainlog::install`). Sets up the child log
    /// streams (AUTO names, cleanup of old AUTO files), so it runs after privileges are dropped.
    pub fn new(config: Config, reloader: Reloader, main_log: MainLog) -> Supervisor {
        let (handle, rx, status) = Handle::channel(Status {
            state: SupervisorState::Running,
            identification: config.supervisord.identifier.clone(),
        });
        let ctx =
            SpawnContext::from_process(config.supervisord.environment.clone(), server_url(&config));
        let counters = Counters::default();
        let (tap_tx, tapped) = mpsc::unbounded_channel();
        let events = events::Bus::new(&config.supervisord.identifier, tap_tx);
        let mut subscribers = Subscribers::standard();
        subscribers.add(counters.clone());
        subscribers.add(events.subscriber());
        Supervisor {
            logs: Logs::new(&config),
            main_log,
            pumps: vec![],
            table: table_of(&config),
            config,
            ctx,
            state: SupervisorState::Running,
            stopping: None,
            handle,
            rx,
            reloader,
            finish: None,
            on_reload: None,
            reread: None,
            next_config: None,
            status,
            subscribers,
            counters,
            reloads: 0,
            started: epoch(),
            events,
            tapped,
            fcgi: fcgi::Sockets::default(),
            life: lifecycle::Life::default(),
            forced: false,
            batch: None,
        }
    }

    /// Tell `s` of every process state change from now on, after the standard subscribers.
    pub fn subscribe(&mut self, s: impl Subscriber + 'static) {
        self.subscribers.add(s);
    }

    /// The engine's interface; clone freely.
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
        self.events.start(&self.config.groups);
        self.autostart(self.table.ids(), Instant::now());
        loop {
            let now = Instant::now();
            self.fire_due(now);
            self.advance_stop(now);
            self.settle_waiters();
            self.publish();
            self.events.fire_ticks();
            self.dispatch_events();
            if let Some(finish) = self.finish.take() {
                if finish == Finish::Exit && crate::engine::cleanup::adopts_orphans() {
                    let grace = match self.forced {
                        true => Duration::ZERO,
                        false => Duration::from_secs(self.config.supervisord.shutdown_grace),
                    };
                    // A Ctrl-C now cuts the grace short, as during the ordered stop.
                    tokio::select! {
                        () = crate::engine::cleanup::clean_end(grace) => {}
                        () = second_interrupt(&mut signals) => {
                            emit(Level::Warn, "received SIGINT again: killing what is left with SIGKILL");
                            crate::engine::cleanup::clean_end(Duration::ZERO).await;
                        }
                    }
                }
                self.drain_pumps().await;
                match finish {
                    Finish::Exit => {
                        self.logs.flush(PUMP_DRAIN);
                        return self.life.exit_code.unwrap_or(0);
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
                Some(t) = self.tapped.recv() => self.on_tapped(t),
                report = self.life.checks.next() => self.on_check(report),
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

    /// Tell the world the state and identification, if they changed.
    fn publish(&self) {
        self.status.send_if_modified(|s| {
            let identification = &self.config.supervisord.identifier;
            let changed = s.state != self.state || &s.identification != identification;
            if changed {
                s.state = self.state;
                s.identification.clone_from(identification);
            }
            changed
        });
    }

    /// Start the autostart processes among `ids` that were never started, forked as one batch.
    fn autostart(&mut self, ids: Vec<ProcessId>, now: Instant) {
        self.batch = Some(Vec::new());
        for id in ids {
            let e = &self.table[id];
            if e.spec.autostart && e.proc.laststart().is_none() {
                if self.defer_start(id) {
                    continue;
                }
                let _ = self.feed(id, Event::Start, now);
            }
        }
        let batch = self.batch.take().unwrap_or_default();
        self.spawn_batch(batch);
    }

    fn may_start(&self) -> bool {
        self.state == SupervisorState::Running
    }

    fn fire_due(&mut self, now: Instant) {
        for id in self.table.ids() {
            if matches!(self.table[id].proc.deadline(), Some((at, _)) if at <= now) {
                let _ = self.feed(id, Event::Deadline, now);
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let procs = self
            .table
            .iter()
            .filter_map(|(_, e)| e.proc.deadline().map(|(at, _)| at));
        let report = self.stopping.as_ref().map(|s| s.next_report);
        procs.chain(report).chain(self.events.next_tick()).min()
    }

    /// Feed `event` to process `id`'s state machine and carry out what it decides. The only way the
    /// supervisor changes a process's state.
    fn feed(&mut self, id: ProcessId, event: Event, now: Instant) -> Result<(), Refused> {
        let may = self.may_start();
        let e = &mut self.table[id];
        let effects = e.proc.handle(event, &e.spec, now, may)?;
        let changes: Vec<_> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Transition(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        self.apply(id, effects, now);
        if !changes.is_empty() && self.table.contains(id) {
            self.lifecycle_changed(id, &changes, now);
        }
        Ok(())
    }

    /// Carry out what the state machine decided for process `id`, in order.
    fn apply(&mut self, id: ProcessId, effects: Vec<Effect>, now: Instant) {
        for effect in effects {
            match effect {
                Effect::Log(level, msg) => emit(level, &msg),
                Effect::Transition(t) => self.subscribers.notify(&self.table[id].spec, &t, now),
                Effect::Spawn => match &mut self.batch {
                    Some(batch) => batch.push(id),
                    // A fresh clock: earlier spawns in this same step may have taken a while.
                    None => self.spawn(id, Instant::now()),
                },
                Effect::Kill { pid, signal, group } => {
                    let target = if group { -pid } else { pid };
                    // SAFETY: kill(2) with integer arguments; the pid is our live (or unreaped) child.
                    let mut rc = unsafe { libc::kill(target, signal) };
                    if rc != 0 && group && nix::errno::Errno::last() == nix::errno::Errno::ESRCH {
                        // No such group: the process is not a group leader (a daemon followed
                        // through its pidfile, a child that moved to another group). Signal it alone.
                        // SAFETY: as above.
                        rc = unsafe { libc::kill(pid, signal) };
                    }
                    if rc == 0
                        && !matches!(
                            signal,
                            libc::SIGKILL
                                | libc::SIGSTOP
                                | libc::SIGTSTP
                                | libc::SIGTTIN
                                | libc::SIGTTOU
                        )
                    {
                        // A stopped program keeps the stop signal pending and could only be
                        // SIGKILLed: continue it so it can stop the way it chose.
                        // SAFETY: as above.
                        unsafe { libc::kill(target, libc::SIGCONT) };
                    }
                    if rc != 0 {
                        let err = std::io::Error::last_os_error();
                        if err.raw_os_error() != Some(libc::ESRCH) {
                            let _ = self.feed(id, Event::SignalFailed(err.to_string()), now);
                        }
                    }
                }
            }
        }
    }

    fn spawn(&mut self, id: ProcessId, now: Instant) {
        let job = self.spawn_job(id);
        let result = run_job(&job, &self.ctx);
        self.after_spawn(id, result, now);
    }

    /// What the fork of process `id` needs: its spec with the environment steward adds, and its fd 0
    /// (an fcgi-program's socket, duplicated so that the fork may run on another thread). Marks the
    /// start time.
    fn spawn_job(&mut self, id: ProcessId) -> SpawnJob {
        self.table[id].start_epoch = epoch();
        let spec = self
            .spawn_spec(id)
            .unwrap_or_else(|| self.table[id].spec.clone());
        let fd0 = match self.fcgi.for_group(self.config.group(&spec.group)) {
            Ok(fd) => fd
                .map(OwnedFd::try_clone)
                .transpose()
                .map_err(|e| SpawnError::Other(format!("couldn't dup socket: {e}"))),
            Err(e) => Err(SpawnError::Other(e)),
        };
        (spec, fd0)
    }

    /// Fork the processes of `ids` from a few threads at once. `Command::spawn` returns only once its
    /// child has exec'd, so one after the other every spawn is a sleep and a wake-up (on a busy
    /// machine, behind every other runnable task); side by side the waits overlap. Nothing is reaped
    /// meanwhile (the loop is not running), and every pid is in the table before it runs again.
    fn spawn_batch(&mut self, ids: Vec<ProcessId>) {
        if ids.len() < 2 {
            for id in ids {
                let now = Instant::now();
                self.spawn(id, now);
                self.tell_lifecycle(id, now);
            }
            return;
        }
        let jobs: Vec<SpawnJob> = ids.iter().map(|&id| self.spawn_job(id)).collect();
        let ctx = &self.ctx;
        let run = |chunk: &[SpawnJob]| chunk.iter().map(|j| run_job(j, ctx)).collect::<Vec<_>>();
        let per = jobs.len().div_ceil(SPAWN_THREADS);
        let results: Vec<_> = std::thread::scope(|scope| {
            let running: Vec<_> = jobs
                .chunks(per)
                .map(|chunk| {
                    let thread =
                        std::thread::Builder::new().spawn_scoped(scope, move || run(chunk));
                    (chunk, thread)
                })
                .collect();
            running
                .into_iter()
                .flat_map(|(chunk, thread)| match thread {
                    Ok(t) => t.join().unwrap_or_else(|_| {
                        let lost = || Err(SpawnError::Other("the spawning thread failed".into()));
                        chunk.iter().map(|_| lost()).collect()
                    }),
                    // No thread to be had (a low RLIMIT_NPROC): this chunk one by one, here.
                    Err(_) => run(chunk),
                })
                .collect()
        });
        for (id, result) in ids.into_iter().zip(results) {
            let now = Instant::now();
            self.after_spawn(id, result, now);
            self.tell_lifecycle(id, now);
        }
    }

    /// Spawned(pid) changes no state, so feeding it tells the lifecycle side (ready and sd_notify
    /// checks) nothing about the child; a spawn made inside feed(Start) is followed by that call, a
    /// batched one by this.
    fn tell_lifecycle(&mut self, id: ProcessId, now: Instant) {
        if self.table.contains(id) {
            self.lifecycle_changed(id, &[], now);
        }
    }

    /// Carry on from a fork/exec of process `id`: its pid into the table, its pipes to pumps, and the
    /// outcome fed to its state machine.
    fn after_spawn(
        &mut self,
        id: ProcessId,
        result: Result<spawn::Spawned, SpawnError>,
        now: Instant,
    ) {
        if let Ok(child) = &result {
            // Into the table before anything else can run: the reaper must know this pid.
            self.table.set_pid(child.pid, id);
            self.spawned_pipes(id, &[Some(&child.stdout), child.stderr.as_ref()]);
        }
        let e = &mut self.table[id];
        let report = match result {
            Ok(child) => {
                e.stdin = child.stdin;
                self.events
                    .spawned(id, &e.spec, child.pid, e.stdin.as_ref());
                self.pumps.retain(|p| !p.is_finished());
                let pipes = [
                    (Stream::Stdout, Some(child.stdout)),
                    (Stream::Stderr, child.stderr),
                ];
                for (stream, fd) in pipes {
                    let Some(fd) = fd else { continue };
                    let tap = self.events.tap(id, &e.spec, child.pid, stream);
                    match self.logs.pump_tapped(&e.spec, stream, fd, tap) {
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
        let _ = self.feed(id, report, now);
    }

    fn on_signal(&mut self, action: Action) {
        let now = Instant::now();
        match action {
            Action::Reap => self.reap(now),
            Action::Shutdown(sig) => {
                if self.state == SupervisorState::Shutdown {
                    if sig == libc::SIGINT && !self.forced {
                        self.force_stop(now);
                    } else {
                        emit(
                            Level::Debug,
                            &format!("received {} during shutdown, ignored", signame(sig)),
                        );
                    }
                } else {
                    emit(
                        Level::Warn,
                        &format!("received {} indicating exit request", signame(sig)),
                    );
                    self.begin_stop(false, now);
                    if let Some(s) = &mut self.stopping {
                        s.hint |= sig == libc::SIGINT;
                    }
                }
            }
            Action::Reload => {
                if self.state == SupervisorState::Running {
                    emit(Level::Warn, "received SIGHUP indicating restart request");
                    let _ = self.reload(now);
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
        let Some(id) = self.table.take_pid(pid) else {
            if self.life.checks.reaped(pid, status) {
                return;
            }
            emit(
                Level::Info,
                &format!("reaped unknown pid {pid} ({})", status.describe()),
            );
            return;
        };
        if self.hold_exit(id, pid, status) {
            return;
        }
        self.child_ended(id, status, now);
    }

    fn child_ended(&mut self, id: ProcessId, status: ExitStatus, now: Instant) {
        let e = &mut self.table[id];
        e.stop_epoch = epoch();
        e.stdin = None;
        // What its pumps already read comes first, as in supervisord, whose loop handles the
        // readable pipes before reaping: its log and communication events precede its exit's state
        // events. (A listener's unread answer is waited for by `events.exited` itself.)
        while let Ok(t) = self.tapped.try_recv() {
            self.on_tapped(t);
        }
        let _ = self.feed(id, Event::Exited(status), now);
        self.events.exited(id);
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
        self.events
            .supervisor_state("SUPERVISOR_STATE_CHANGE_STOPPING");
        // Pending autorestarts and retries won't happen any more.
        self.stop_waiting();
        for id in self.table.ids() {
            let _ = self.feed(id, Event::Halt, now);
        }
        // Dependants before what they depend on (deepest first), then as supervisord.
        let levels = self.levels();
        let mut groups: Vec<(usize, i64, String)> = self
            .config
            .groups
            .iter()
            .map(|g| {
                let level = self
                    .table
                    .group(&g.name)
                    .iter()
                    .filter_map(|id| levels.get(id).copied())
                    .max();
                (level.unwrap_or(0), g.priority, g.name.clone())
            })
            .collect();
        groups.sort();
        groups.reverse();
        self.stopping = Some(Stopping {
            groups,
            reload,
            next_report: now,
            hint: false,
        });
    }

    /// A SIGINT during a shutdown (Ctrl-C twice): SIGKILL to every program's process group at once,
    /// and to whatever else is below steward when it adopts orphans. Nothing is waited for any more:
    /// the ordered stop ends as soon as the children are reaped.
    fn force_stop(&mut self, now: Instant) {
        self.forced = true;
        emit(
            Level::Warn,
            "received SIGINT again: killing every program's process group with SIGKILL",
        );
        for id in self.table.ids() {
            let _ = self.feed(id, Event::Force, now);
        }
        if crate::engine::cleanup::adopts_orphans() {
            crate::engine::cleanup::kill_all_now();
        }
    }

    /// Stop the current groups: those of the highest (level, priority) left, all at once, as nothing
    /// orders them against each other (supervisord would take them one by one in name order, each
    /// waiting for the one before it). Move on when they have nothing left running; finish when all
    /// are done.
    fn advance_stop(&mut self, now: Instant) {
        let Some(stopping) = &self.stopping else {
            return;
        };
        let mut groups = stopping.groups.clone();
        let levels = self.levels();
        while let Some((level, priority, _)) = groups.first().cloned() {
            let batch = groups
                .iter()
                .take_while(|(l, p, _)| (*l, *p) == (level, priority))
                .count();
            // One pass over the table for the whole batch: a shutdown of hundreds of groups is not
            // quadratic.
            let mut by_group: HashMap<&str, Vec<ProcessId>> = groups[..batch]
                .iter()
                .map(|(_, _, g)| (g.as_str(), Vec::new()))
                .collect();
            for (id, e) in self.table.iter() {
                if let Some(v) = by_group.get_mut(e.spec.group.as_str()) {
                    v.push(id);
                }
            }
            let mut running = false;
            for (_, _, group) in &groups[..batch] {
                let mut members = by_group.remove(group.as_str()).unwrap_or_default();
                // Stopped in reverse start order, dependants first.
                members.reverse();
                members.sort_by_key(|id| std::cmp::Reverse(levels.get(id).copied().unwrap_or(0)));
                for &id in &members {
                    let _ = self.feed(id, Event::OrderedStop, now);
                }
                running |= members
                    .iter()
                    .any(|&id| !self.table[id].proc.state().is_stopped());
            }
            if running {
                break;
            }
            groups.drain(..batch);
        }
        let unstopped: Vec<&str> = self
            .table
            .iter()
            .filter(|(_, e)| !e.proc.state().is_stopped())
            .map(|(_, e)| e.spec.name.as_str())
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
                if std::mem::take(&mut stopping.hint) {
                    emit(
                        Level::Warn,
                        &format!(
                            "stopping: waiting for {} to stop; press Ctrl-C again (a second SIGINT) to kill them at once",
                            unstopped.join(", ")
                        ),
                    );
                }
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

    /// A reload reads the config before anything is stopped: an invalid one is logged and refused,
    /// and everything keeps running.
    fn reload(&mut self, now: Instant) -> Result<(), EngineError> {
        match (self.reloader)() {
            Ok(config) => {
                self.next_config = Some(config);
                self.begin_stop(true, now);
                Ok(())
            }
            Err(msg) => {
                emit(
                    Level::Error,
                    &format!("could not reload the configuration, nothing was stopped: {msg}"),
                );
                Err(EngineError::CantReread(msg))
            }
        }
    }

    fn finish_reload(&mut self, now: Instant) {
        let loaded = match self.next_config.take() {
            Some(c) => Ok(c),
            None => (self.reloader)(),
        };
        match loaded {
            Ok(config) => {
                if let Some(f) = &mut self.on_reload {
                    self.main_log = f(&config);
                }
                self.ctx = SpawnContext::from_process(
                    config.supervisord.environment.clone(),
                    server_url(&config),
                );
                self.config = config;
                self.reloads += 1;
            }
            Err(msg) => emit(
                Level::Error,
                &format!("could not reload the configuration, keeping the old one: {msg}"),
            ),
        }
        // Like a fresh start (supervisord runs its whole setup again): old AUTO logs go, new ones are named.
        self.logs = Logs::new(&self.config);
        self.life.reset();
        self.table.reset_rows(build_entries(&self.config.groups));
        self.reread = None;
        self.state = SupervisorState::Running;
        self.events.reset(&self.config.supervisord.identifier);
        self.fcgi.clear();
        self.events.start(&self.config.groups);
        self.autostart(self.table.ids(), now);
    }

    /// Answer start/stop waiters whose process has reached a verdict.
    fn settle_waiters(&mut self) {
        for e in self.table.iter_mut() {
            let state = e.proc.state();
            if !e.start_waiters.is_empty() && state != ProcessState::Starting {
                let verdict = if state == ProcessState::Running {
                    Ok(())
                } else if e.proc.spawnerr().is_some() {
                    // As supervisord: the reason is in the process info, not in the answer.
                    Err(EngineError::SpawnFailed)
                } else {
                    Err(EngineError::AbnormalTermination)
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

    /// `id` if it names a process of the table (ids of removed groups, or from before a reload,
    /// name nothing).
    fn row(&self, id: ProcessId) -> Result<ProcessId, EngineError> {
        if self.table.contains(id) {
            Ok(id)
        } else {
            Err(EngineError::BadName)
        }
    }

    fn on_request(&mut self, req: Request) {
        let now = Instant::now();
        if req.needs_running() && self.state != SupervisorState::Running {
            refuse(req, EngineError::ShuttingDown);
            return;
        }
        match req {
            Request::Processes { reply } => {
                let _ = reply.send(self.processes());
            }
            Request::Start { id, wait, reply } => {
                if let Some((reply, answer)) = self.start_request(id, wait, reply, now) {
                    let _ = reply.send(answer);
                }
            }
            Request::Stop { id, wait, reply } => {
                if let Some((reply, answer)) = self.stop_request(id, wait, reply, now) {
                    let _ = reply.send(answer);
                }
            }
            Request::Signal { id, signal, reply } => {
                let _ = reply.send(self.signal_request(id, signal));
            }
            Request::Shutdown => {
                emit(Level::Warn, "received shutdown request");
                self.begin_stop(false, now);
            }
            Request::Reload { reply } => {
                emit(Level::Warn, "received restart request");
                let _ = reply.send(self.reload(now));
            }
            Request::ReadLog {
                id,
                stream,
                offset,
                length,
                reply,
            } => {
                let _ = reply.send(self.read_log(id, stream, offset, length));
            }
            Request::TailLog {
                id,
                stream,
                offset,
                length,
                reply,
            } => {
                let _ = reply.send(self.row(id).map(|id| {
                    let (bytes, offset, overflow) =
                        self.logs
                            .tail(&self.table[id].spec.namespec(), stream, offset, length);
                    Tail {
                        bytes,
                        offset,
                        overflow,
                    }
                }));
            }
            Request::ClearLogs { id, reply } => {
                let _ = reply.send(self.row(id).map(|id| {
                    self.logs.clear(&self.table[id].spec.namespec());
                }));
            }
            Request::ReadMainLog {
                offset,
                length,
                reply,
            } => {
                let path = self.main_log.path();
                let read = self.main_log.read(offset, length);
                let _ = reply.send(read.map_err(|e| read_error(e, path)));
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
                    None => Err(EngineError::NoFile(None)),
                };
                let _ = reply.send(tail);
            }
            Request::LogChanges { log, reply } => {
                let changes = match log {
                    Some((id, stream)) => self
                        .row(id)
                        .ok()
                        .and_then(|id| self.logs.changes(&self.table[id].spec.namespec(), stream)),
                    None => self.main_log.changes(),
                };
                let _ = reply.send(changes);
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
                    p => Err(EngineError::NoFile(p)),
                };
                let _ = reply.send(answer);
            }
            Request::Reread { reply } => {
                let _ = reply.send(self.reread());
            }
            Request::ConfigInfo { reply } => {
                let _ = reply.send(self.config_info());
            }
            Request::Metrics { reply } => {
                let _ = reply.send(self.metrics());
            }
            Request::AddGroup { name, reply } => {
                let _ = reply.send(self.add_group(&name, now));
            }
            Request::RemoveGroup { name, reply } => {
                let _ = reply.send(self.remove_group(&name));
            }
            Request::Stdin { id, reply } => {
                let _ = reply.send(self.stdin_of(id));
            }
            Request::RemoteComm { kind, data } => self.events.remote(&kind, &data),
        }
    }

    /// Event-system hooks (`engine::events`): what a pump tapped.
    fn on_tapped(&mut self, t: Tapped) {
        let spec = self.table.get(ProcessId(t.key)).map(|e| &e.spec);
        self.events.tapped(t, spec);
    }

    /// Send buffered events to the listeners that are READY and RUNNING.
    fn dispatch_events(&mut self) {
        let table = &self.table;
        self.events.dispatch(|id| {
            table
                .get(id)
                .is_some_and(|e| e.proc.state() == ProcessState::Running)
        });
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
        id: ProcessId,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Vec<u8>, EngineError> {
        let namespec = self.table[self.row(id)?].spec.namespec();
        self.logs
            .read(&namespec, stream, offset, length)
            .map_err(|e| read_error(e, self.logs.logfile(&namespec, stream)))
    }

    fn start_request(
        &mut self,
        id: ProcessId,
        wait: bool,
        reply: Reply<()>,
        now: Instant,
    ) -> Answer {
        if let Err(e) = self.row(id) {
            return Some((reply, Err(e)));
        }
        // Like startProcess: a missing or unusable command is refused and leaves the state alone.
        if let Err(e @ (SpawnError::NoFile(_) | SpawnError::NotExecutable(_))) =
            self.ctx.command(&self.table[id].spec)
        {
            return Some((reply, Err(EngineError::Command(e))));
        }
        let reply = match self.start_with_deps(id, wait, reply, now) {
            Ok(answer) => return answer,
            Err(reply) => reply,
        };
        match self.feed(id, Event::Start, now) {
            Ok(()) => {}
            Err(Refused::AlreadyStarted) => return Some((reply, Err(EngineError::AlreadyStarted))),
            Err(Refused::NotRunning) | Err(Refused::Unknown) => {
                return Some((reply, Err(EngineError::UnknownState)))
            }
        }
        let e = &mut self.table[id];
        if matches!(e.proc.state(), ProcessState::Backoff | ProcessState::Fatal) {
            return Some((reply, Err(EngineError::SpawnFailed)));
        }
        if wait && e.proc.state() == ProcessState::Starting {
            e.start_waiters.push(reply);
            return None;
        }
        Some((reply, Ok(())))
    }

    fn stop_request(
        &mut self,
        id: ProcessId,
        wait: bool,
        reply: Reply<()>,
        now: Instant,
    ) -> Answer {
        if let Err(e) = self.row(id) {
            return Some((reply, Err(e)));
        }
        let was_waiting = self.before_stop(id);
        if let Err(_refused) = self.feed(id, Event::Stop, now) {
            if was_waiting {
                return Some((reply, Ok(())));
            }
            return Some((reply, Err(EngineError::NotRunning)));
        }
        let e = &mut self.table[id];
        if wait && !e.proc.state().is_stopped() {
            e.stop_waiters.push(reply);
            return None;
        }
        Some((reply, Ok(())))
    }

    fn signal_request(&mut self, id: ProcessId, signal: i32) -> Result<(), EngineError> {
        let e = &self.table[self.row(id)?];
        if !(1..=64).contains(&signal) {
            return Err(EngineError::BadSignal);
        }
        if !e.proc.state().is_signallable() || e.proc.pid() <= 0 {
            return Err(EngineError::NotRunning);
        }
        // SAFETY: kill(2) with integer arguments on our own child.
        if unsafe { libc::kill(e.proc.pid(), signal) } != 0 {
            return Err(EngineError::Failed(
                std::io::Error::last_os_error().to_string(),
            ));
        }
        Ok(())
    }

    fn metrics(&self) -> Metrics {
        let now = epoch();
        let processes = self
            .table
            .iter()
            .map(|(id, e)| {
                let namespec = e.spec.namespec();
                let stream = |s| self.logs.counters(&namespec, s).unwrap_or_default();
                let counters = ProcessCounters {
                    counts: self.counters.of(&namespec),
                    stdout: stream(Stream::Stdout),
                    stderr: stream(Stream::Stderr),
                };
                (self.info_of(id, e, now), counters)
            })
            .collect();
        Metrics {
            processes,
            reloads: self.reloads,
            started: self.started,
        }
    }

    fn processes(&self) -> Vec<ProcessInfo> {
        let now = epoch();
        self.table
            .iter()
            .map(|(id, e)| self.info_of(id, e, now))
            .collect()
    }

    fn info_of(&self, id: ProcessId, e: &Entry, now: i64) -> ProcessInfo {
        let namespec = e.spec.namespec();
        let file = |t: &LogTarget, stream: Stream| match t {
            LogTarget::Auto => self.logs.logfile(&namespec, stream),
            // Devices are not files to read back.
            LogTarget::File(p) if p.starts_with("/dev/") => None,
            LogTarget::File(p) => Some(p.clone()),
            LogTarget::None | LogTarget::Stdout | LogTarget::Stderr | LogTarget::Syslog => None,
        };
        let stdout_logfile = file(&e.spec.stdout.target, Stream::Stdout);
        let stderr_logfile = if e.spec.redirect_stderr {
            None
        } else {
            file(&e.spec.stderr.target, Stream::Stderr)
        };
        ProcessInfo {
            id,
            name: e.spec.name.clone(),
            group: e.spec.group.clone(),
            start: e.start_epoch,
            stop: e.stop_epoch,
            now,
            state: e.proc.state(),
            spawnerr: e.proc.spawnerr().unwrap_or_default().to_string(),
            exitstatus: e.proc.exitstatus().into(),
            stdout_logfile,
            stderr_logfile,
            pid: u32::try_from(e.proc.pid()).unwrap_or(0),
            note: self.life.note(id),
            unhealthy: self.life.unhealthy(id, e.proc.pid()),
        }
    }
}

/// Answer a refused request with `error` (and drop the requests that take no answer).
fn refuse(req: Request, error: EngineError) {
    let e = error;
    match req {
        Request::Start { reply, .. }
        | Request::Stop { reply, .. }
        | Request::Signal { reply, .. }
        | Request::AddGroup { reply, .. }
        | Request::RemoveGroup { reply, .. }
        | Request::ClearLogs { reply, .. }
        | Request::ClearMainLog { reply } => {
            let _ = reply.send(Err(e));
        }
        Request::Stdin { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Request::ReadLog { reply, .. } | Request::ReadMainLog { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Request::TailLog { reply, .. } | Request::TailMainLog { reply, .. } => {
            let _ = reply.send(Err(e));
        }
        Request::Reread { reply } => {
            let _ = reply.send(Err(e));
        }
        Request::Reload { reply } => {
            let _ = reply.send(Err(e));
        }
        // Nothing to refuse: a second shutdown changes nothing, and reads always have an answer.
        Request::Shutdown
        | Request::Processes { .. }
        | Request::RemoteComm { .. }
        | Request::ConfigInfo { .. }
        | Request::Metrics { .. }
        | Request::LogChanges { .. } => {}
    }
}

/// A log read's failure: `NoFile` names the file when there is one.
fn read_error(e: ReadError, path: Option<PathBuf>) -> EngineError {
    match e {
        ReadError::NoFile => EngineError::NoFile(path),
        ReadError::BadArguments => EngineError::BadArguments,
        ReadError::Failed => EngineError::Failed(
            path.as_deref()
                .map(Path::display)
                .map(|p| p.to_string())
                .unwrap_or_default(),
        ),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::model::*;
    use crate::engine::api::Engine;
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
                // The body may have shut down already; a second request changes nothing.
                h.shutdown();
            };
            let (code, ()) =
                tokio::time::timeout(Duration::from_secs(20), async { tokio::join!(run, drive) })
                    .await
                    .expect("supervisor test timed out");
            code
        })
    }

    async fn info(h: &Handle, name: &str) -> ProcessInfo {
        h.processes()
            .await
            .into_iter()
            .find(|p| p.group == name && p.name == name)
            .expect("a process of that name")
    }

    async fn id(h: &Handle, name: &str) -> ProcessId {
        info(h, name).await.id
    }

    /// Poll (with a deadline) until `check` holds.
    async fn until<F: FnMut() -> Fut, Fut: std::future::Future<Output = bool>>(
        what: &str,
        mut check: F,
    ) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !check().await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn wait_state(h: &Handle, name: &str, state: ProcessState) -> ProcessInfo {
        until(&format!("{name} to be {state:?}"), || async {
            info(h, name).await.state == state
        })
        .await;
        info(h, name).await
    }

    fn quick(name: &str, argv: &[&str]) -> ProcessSpec {
        let mut s = spec(name, argv);
        s.autostart = false;
        s.startsecs = 0;
        s.stopwaitsecs = 2;
        s
    }

    /// A program that ignores SIGTERM, and the file it creates once it does.
    fn stubborn(name: &str, dir: &Path) -> (ProcessSpec, PathBuf) {
        let ready = dir.join(format!("{name}.ready"));
        let script = format!(
            "trap '' TERM; touch {}; while :; do sleep 1; done",
            ready.display()
        );
        let mut s = quick(name, &["sh", "-c", &script]);
        s.autostart = true;
        s.stopwaitsecs = 1;
        s.killasgroup = true;
        (s, ready)
    }

    #[test]
    fn start_stop_signal_info() {
        let mut sleeper = quick("sleeper", &["sleep", "1000"]);
        sleeper.autorestart = AutoRestart::Never;
        let code = with_supervisor(vec![sleeper], |h| async move {
            let i = info(&h, "sleeper").await;
            assert_eq!((i.state, i.start, i.pid), (ProcessState::Stopped, 0, 0));
            let sleeper = i.id;
            assert_eq!(
                h.signal(sleeper, libc::SIGUSR1).await,
                Err(EngineError::NotRunning)
            );
            h.start(sleeper, true).await.unwrap();
            let i = info(&h, "sleeper").await;
            assert_eq!(i.state, ProcessState::Running);
            assert!(i.pid > 0 && i.start > 0 && i.now >= i.start);
            assert_eq!(
                h.start(sleeper, true).await,
                Err(EngineError::AlreadyStarted)
            );
            h.stop(sleeper, true).await.unwrap();
            let i = info(&h, "sleeper").await;
            assert_eq!(
                (i.state, i.pid, i.exitstatus),
                (ProcessState::Stopped, 0, -1)
            );
            assert!(i.stop > 0 && i.start > 0);
            assert_eq!(h.stop(sleeper, true).await, Err(EngineError::NotRunning));
            // A signal goes to the process; USR1 kills sleep, which is not expected, no autorestart.
            h.start(sleeper, false).await.unwrap();
            h.signal(sleeper, libc::SIGUSR1).await.unwrap();
            let i = wait_state(&h, "sleeper", ProcessState::Exited).await;
            assert_eq!(i.exitstatus, -1);
            assert_eq!(h.signal(sleeper, 999).await, Err(EngineError::BadSignal));
            // An id that names nothing.
            let stale = ProcessId(sleeper.0 + 1000);
            assert_eq!(h.start(stale, false).await, Err(EngineError::BadName));
            assert_eq!(h.clear_logs(stale).await, Err(EngineError::BadName));
            assert_eq!(h.state(), SupervisorState::Running);
            assert_eq!(h.identification(), "supervisor");
            let c = h.config_info().await;
            assert_eq!((c[0].spec.name.as_str(), c[0].inuse), ("sleeper", true));
        });
        assert_eq!(code, 0);
    }

    /// A reload replaces every row; an id from before it then names nothing, never a process of
    /// the new table.
    #[test]
    fn ids_from_before_a_reload_name_nothing() {
        let sleeper = quick("sleeper", &["sleep", "1000"]);
        let again = config(vec![sleeper.clone()]);
        with_supervisor_set_up(
            vec![sleeper],
            move |sup| sup.reloader = Box::new(move || Ok(again.clone())),
            |h| async move {
                let old = id(&h, "sleeper").await;
                h.restart().await.unwrap();
                until("the reload", || async { h.metrics().await.reloads == 1 }).await;
                let new = id(&h, "sleeper").await;
                assert!(new > old, "{old:?} then {new:?}");
                assert_eq!(h.start(old, false).await, Err(EngineError::BadName));
                assert_eq!(
                    info(&h, "sleeper").await.state,
                    ProcessState::Stopped,
                    "the old id started the new process"
                );
            },
        );
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
                h.start(id(&h, "flaky").await, true).await,
                Err(EngineError::SpawnFailed)
            );
            let i = info(&h, "flaky").await;
            assert_eq!(i.state, ProcessState::Fatal);
            assert_eq!(
                i.spawnerr,
                "Exited too quickly (process log may have details)"
            );
            assert_eq!(
                h.start(id(&h, "missing").await, true).await,
                Err(EngineError::Command(SpawnError::NoFile(
                    "can't find command '/nonexistent/thing'".into()
                )))
            );
            assert_eq!(info(&h, "missing").await.state, ProcessState::Stopped);
            assert_eq!(
                h.start(id(&h, "baddir").await, true).await,
                Err(EngineError::SpawnFailed)
            );
            let i = info(&h, "baddir").await;
            assert_eq!(i.state, ProcessState::Fatal);
            assert_eq!(i.spawnerr, "couldn't chdir to /nonexistent-dir: ENOENT");
        });
    }

    #[test]
    fn shutdown_stops_in_reverse_priority_and_kills_stubborn() {
        let dir = tempfile::tempdir().unwrap();
        let mut a = quick("a", &["sleep", "1000"]);
        a.autostart = true;
        a.priority = 1;
        let (mut b, ready) = stubborn("b", dir.path());
        b.priority = 2;
        let started = Instant::now();
        let code = with_supervisor(vec![a, b], |h| async move {
            wait_state(&h, "a", ProcessState::Running).await;
            until("b to ignore TERM", || async { ready.exists() }).await;
        });
        assert_eq!(code, 0);
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn shutdown_stops_groups_of_one_priority_together() {
        let dir = tempfile::tempdir().unwrap();
        let (a, ready_a) = stubborn("a", dir.path());
        let (b, ready_b) = stubborn("b", dir.path());
        let (mut c, ready_c) = stubborn("c", dir.path());
        c.priority = 1;
        with_supervisor(vec![a, b, c], |h| async move {
            until("all to ignore TERM", || async {
                ready_a.exists() && ready_b.exists() && ready_c.exists()
            })
            .await;
            h.shutdown();
            // One at a time, b would only get its signal once a is killed after stopwaitsecs.
            until("a and b to be stopping at once", || async {
                info(&h, "a").await.state == ProcessState::Stopping
                    && info(&h, "b").await.state == ProcessState::Stopping
            })
            .await;
            // A lower priority still waits for them.
            assert_eq!(info(&h, "c").await.state, ProcessState::Running);
        });
    }

    #[test]
    fn requests_during_shutdown_fault() {
        let dir = tempfile::tempdir().unwrap();
        let (a, ready) = stubborn("a", dir.path());
        with_supervisor(vec![a], |h| async move {
            until("a to ignore TERM", || async { ready.exists() }).await;
            let a = id(&h, "a").await;
            h.shutdown();
            // Queued after the shutdown, so refused; reads are still answered.
            assert_eq!(h.start(a, false).await, Err(EngineError::ShuttingDown));
            assert_eq!(h.add_group("a").await, Err(EngineError::ShuttingDown));
            assert_eq!(h.state(), SupervisorState::Shutdown);
            assert_eq!(info(&h, "a").await.state, ProcessState::Stopping);
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
            let talk = id(&h, "talk").await;
            h.start(talk, false).await.unwrap();
            until("stdout in the file", || async {
                h.tail_log(talk, Stream::Stdout, 0, 100)
                    .await
                    .unwrap()
                    .offset
                    == 6
            })
            .await;
            let tail = h.tail_log(talk, Stream::Stdout, 0, 100).await.unwrap();
            assert_eq!(
                (tail.bytes.as_slice(), tail.overflow),
                (&b"hello\n"[..], false)
            );
            assert_eq!(
                h.read_log(talk, Stream::Stdout, 1, 3).await.unwrap(),
                b"ell"
            );
            assert_eq!(
                h.read_log(talk, Stream::Stdout, -1, 5).await,
                Err(EngineError::BadArguments)
            );
            // stderr=NONE has no file but an in-memory tail.
            until("stderr in memory", || async {
                h.tail_log(talk, Stream::Stderr, 0, 100)
                    .await
                    .unwrap()
                    .offset
                    == 5
            })
            .await;
            let err = h.tail_log(talk, Stream::Stderr, 0, 100).await.unwrap();
            assert_eq!(err.bytes, b"oops\n");
            assert_eq!(
                h.read_log(ProcessId(talk.0 + 1), Stream::Stdout, 0, 0)
                    .await,
                Err(EngineError::BadName)
            );
            h.clear_logs(talk).await.unwrap();
            assert_eq!(h.read_log(talk, Stream::Stdout, 0, 0).await.unwrap(), b"");
            // The test config's main log goes nowhere.
            assert_eq!(h.read_main_log(0, 0).await, Err(EngineError::NoFile(None)));
            assert_eq!(h.clear_main_log().await, Err(EngineError::NoFile(None)));
            assert_eq!(info(&h, "talk").await.stdout_logfile, Some(file.clone()));
            assert_eq!(info(&h, "talk").await.stderr_logfile, None);
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
                let sleeper = wait_state(&h, "sleeper", ProcessState::Running).await.pid as i32;
                h.start(id(&h, "once").await, false).await.unwrap();
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
}
