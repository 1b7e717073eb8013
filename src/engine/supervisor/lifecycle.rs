//! The container-lifecycle side of the supervisor, kept apart from its core: dependency waits
//! (`depends_on`), critical programs, readiness and liveness reports (`engine::checks`), the clean end
//! (`engine::cleanup`) and the detection of programs that daemonize themselves.
//!
//! The core calls in at a handful of points: after every fed event that changed a state
//! ([`Supervisor::lifecycle_changed`]), before an autostart ([`Supervisor::defer_start`]), around a
//! spawn, for each check report, for a start or stop request, and once all programs have stopped.

use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

use super::{Entry, Supervisor};
use crate::config::model::ProcessSpec;
use crate::engine::api::{EngineError, ProcessId, ProcessState, Reply, SupervisorState};
use crate::engine::checks::{Checks, Outcome, Report};
use crate::engine::deps::{self, Snapshot, Verdict};
use crate::engine::mainlog::emit;
use crate::engine::process::{Event, ExitStatus, Level, Transition, NOT_READY};

/// How a process's last start ended, for a critical program's exit status.
#[derive(Debug, Clone, Copy)]
enum Ended {
    Exit(ExitStatus),
    SpawnFailed,
}

/// Liveness of one child.
#[derive(Debug, Clone, Default)]
struct Health {
    pid: i32,
    failures: u32,
    last: String,
}

/// What the lifecycle side keeps beside the process table.
#[derive(Default)]
pub(super) struct Life {
    pub(super) checks: Checks,
    /// Processes whose start waits for their dependencies, with what they wait for.
    waiting: BTreeMap<ProcessId, String>,
    /// `start NAME` requests (wait=true) of waiting processes.
    parked: Vec<(ProcessId, Reply<()>)>,
    ended: HashMap<ProcessId, Ended>,
    health: HashMap<ProcessId, Health>,
    /// sd_notify `STATUS=` text, per process.
    status: HashMap<ProcessId, String>,
    /// The pipe inodes of each child's stdout and stderr, to find who still holds them.
    pipes: HashMap<ProcessId, Vec<u64>>,
    /// The daemon pid followed through each process's pidfile.
    followed: HashMap<ProcessId, i32>,
    /// Set when a critical program ended: steward's exit status.
    pub(super) exit_code: Option<i32>,
}

impl Life {
    /// After a reload: the table is new, so is everything keyed by its ids.
    pub(super) fn reset(&mut self) {
        self.checks.clear();
        self.waiting.clear();
        for (_, r) in self.parked.drain(..) {
            let _ = r.send(Err(EngineError::ShuttingDown));
        }
        self.ended.clear();
        self.health.clear();
        self.status.clear();
        self.pipes.clear();
        self.followed.clear();
    }

    /// The remark `status` shows for a process: what it waits for, or its sd_notify status text.
    /// Empty when there is none.
    pub(super) fn note(&self, id: ProcessId) -> String {
        let text = self.waiting.get(&id).or(self.status.get(&id));
        text.cloned().unwrap_or_default()
    }

    /// While the liveness check of the current child fails: how often, and why.
    pub(super) fn unhealthy(
        &self,
        id: ProcessId,
        pid: i32,
    ) -> Option<crate::engine::api::Unhealthy> {
        let h = self.health.get(&id)?;
        (h.pid == pid && pid > 0 && h.failures > 0).then(|| crate::engine::api::Unhealthy {
            failures: h.failures,
            last: h.last.clone(),
        })
    }
}

fn snapshots(sup: &Supervisor) -> Vec<Snapshot<'_>> {
    sup.table.iter().map(|(id, e)| snapshot(id, e)).collect()
}

fn snapshot(id: ProcessId, e: &Entry) -> Snapshot<'_> {
    let will_restart = e.proc.deadline().is_some()
        && matches!(e.proc.state(), ProcessState::Exited | ProcessState::Backoff);
    Snapshot {
        id,
        spec: &e.spec,
        state: e.proc.state(),
        exitstatus: e.proc.exitstatus(),
        will_restart,
    }
}

impl Supervisor {
    /// Process `id` went through `changes` (in order): follow up on what the lifecycle keys ask.
    pub(super) fn lifecycle_changed(
        &mut self,
        id: ProcessId,
        changes: &[Transition],
        now: Instant,
    ) {
        for t in changes {
            if let Some(exit) = t.exit {
                self.life.ended.insert(id, Ended::Exit(exit.status));
            } else if t.cause == crate::engine::process::Cause::SpawnFailed {
                self.life.ended.insert(id, Ended::SpawnFailed);
            }
            if t.exit.is_some()
                && matches!(t.to, ProcessState::Exited | ProcessState::Backoff)
                && t.from != ProcessState::Stopping
            {
                self.detect_daemon(id, t.pid);
            }
        }
        let e = &self.table[id];
        let (state, pid) = (e.proc.state(), e.proc.pid());
        if self.life.health.get(&id).is_some_and(|h| h.pid != pid) {
            self.life.health.remove(&id);
        }
        if pid == 0 {
            self.life.status.remove(&id);
        }
        self.life
            .checks
            .sync(id, &self.table[id].spec, state, pid, &self.logs);
        self.critical_check(id, now);
        self.release_waiting(now);
    }

    /// A critical program that ended for good (FATAL, or EXITED without a restart coming) ends steward.
    fn critical_check(&mut self, id: ProcessId, now: Instant) {
        let e = &self.table[id];
        if !e.spec.lifecycle.critical || self.state != SupervisorState::Running {
            return;
        }
        let state = e.proc.state();
        let for_good = state == ProcessState::Fatal
            || (state == ProcessState::Exited && e.proc.deadline().is_none());
        if !for_good {
            return;
        }
        let never_ready = e
            .proc
            .spawnerr()
            .filter(|m| state == ProcessState::Fatal && m.starts_with(NOT_READY));
        let (code, why) = match (self.life.ended.get(&id), never_ready) {
            // Killed by steward for it: 124 (timeout(1)'s "it timed out") rather than a 137 that
            // would look like the program's own death.
            (Some(Ended::Exit(_)), Some(m)) => (124, format!("it was never ready: {m}")),
            (Some(Ended::SpawnFailed) | None, _) => (127, "it could not be spawned".to_string()),
            (Some(Ended::Exit(s)), None) => {
                // A FATAL program that kept exiting 0 too quickly still failed.
                let code = match (state, s.shell_code()) {
                    (ProcessState::Fatal, 0) => 1,
                    (_, c) => c,
                };
                (code, s.describe())
            }
        };
        emit(
            Level::Crit,
            &format!(
                "critical program {} entered {} ({why}): stopping everything, steward will exit {code}",
                e.spec.name,
                state.name()
            ),
        );
        self.life.exit_code = Some(code);
        self.begin_stop(false, now);
    }

    /// Autostart of `id`: true when it must wait for its dependencies (it is then recorded as waiting).
    pub(super) fn defer_start(&mut self, id: ProcessId) -> bool {
        if self.table[id].spec.lifecycle.depends_on.is_empty() {
            return false;
        }
        let all = snapshots(self);
        match deps::verdict(&self.table[id].spec.lifecycle.depends_on, &all) {
            Verdict::Go => false,
            Verdict::Wait(why) | Verdict::Blocked(why) => {
                emit(
                    Level::Info,
                    &format!("{} not started yet: {why}", self.table[id].spec.name),
                );
                self.life.waiting.insert(id, why);
                true
            }
        }
    }

    /// Start the waiting processes whose dependencies are now there; update what the others wait for.
    fn release_waiting(&mut self, now: Instant) {
        if self.life.waiting.is_empty() || self.state != SupervisorState::Running {
            return;
        }
        // A removed group's processes wait for nothing any more.
        let table = &self.table;
        self.life.waiting.retain(|id, _| table.contains(*id));
        let all = snapshots(self);
        let mut go = vec![];
        let mut notes = vec![];
        let mut blocked = vec![];
        for &id in self.life.waiting.keys() {
            match deps::verdict(&self.table[id].spec.lifecycle.depends_on, &all) {
                Verdict::Go => go.push(id),
                Verdict::Wait(w) => notes.push((id, w)),
                Verdict::Blocked(w) => {
                    blocked.push(id);
                    notes.push((id, w));
                }
            }
        }
        drop(all);
        // A `start` waiting for a dependency that will not come gets its answer now.
        let (refused, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.life.parked)
            .into_iter()
            .partition(|(p, _)| blocked.contains(p));
        self.life.parked = rest;
        for (_, r) in refused {
            let _ = r.send(Err(EngineError::SpawnFailed));
        }
        for (id, w) in notes {
            if self.life.waiting.get(&id) != Some(&w) {
                emit(
                    Level::Info,
                    &format!("{} not started: {w}", self.table[id].spec.name),
                );
                self.life.waiting.insert(id, w);
            }
        }
        // Start order among those released together: the table's.
        let order = self.table.ids();
        go.sort_by_key(|id| order.iter().position(|o| o == id));
        for id in go {
            if self.life.waiting.remove(&id).is_none() {
                continue;
            }
            emit(
                Level::Info,
                &format!(
                    "{}: its dependencies are there, starting it",
                    self.table[id].spec.name
                ),
            );
            let started = self.feed(id, Event::Start, now).is_ok();
            let parked: Vec<Reply<()>> = {
                let (mine, rest) = std::mem::take(&mut self.life.parked)
                    .into_iter()
                    .partition(|(p, _)| *p == id);
                self.life.parked = rest;
                mine.into_iter().map(|(_, r)| r).collect()
            };
            let e = &mut self.table[id];
            for r in parked {
                if started && e.proc.state() == ProcessState::Starting {
                    e.start_waiters.push(r);
                } else if e.proc.state() == ProcessState::Running {
                    let _ = r.send(Ok(()));
                } else {
                    let _ = r.send(Err(EngineError::SpawnFailed));
                }
            }
        }
    }

    /// `start NAME` for a process with dependencies that are not there: start them first and make it
    /// wait. `None` when it may start at once; else the answer (or `None` inside, parked).
    pub(super) fn start_with_deps(
        &mut self,
        id: ProcessId,
        wait: bool,
        reply: Reply<()>,
        now: Instant,
    ) -> Result<super::Answer, Reply<()>> {
        let spec = &self.table[id].spec;
        if spec.lifecycle.depends_on.is_empty() {
            return Err(reply);
        }
        let all = snapshots(self);
        if deps::verdict(&spec.lifecycle.depends_on, &all) == Verdict::Go {
            return Err(reply);
        }
        if !self.table[id].proc.state().is_stopped() {
            return Ok(Some((reply, Err(EngineError::AlreadyStarted))));
        }
        let needed: Vec<ProcessId> = deps::to_start(spec, &all).iter().map(|s| s.id).collect();
        drop(all);
        for dep in needed {
            let name = self.table[dep].spec.name.clone();
            emit(
                Level::Info,
                &format!("starting {name}, which {} needs", self.table[id].spec.name),
            );
            if !self.defer_start(dep) {
                let _ = self.feed(dep, Event::Start, now);
            }
        }
        let all = snapshots(self);
        let verdict = deps::verdict(&self.table[id].spec.lifecycle.depends_on, &all);
        drop(all);
        if verdict == Verdict::Go {
            return Err(reply);
        }
        let (why, blocked) = match verdict {
            Verdict::Wait(w) => (w, false),
            Verdict::Blocked(w) => (w, true),
            Verdict::Go => (String::new(), false),
        };
        self.life.waiting.insert(id, why);
        if blocked {
            return Ok(Some((reply, Err(EngineError::SpawnFailed))));
        }
        if wait {
            self.life.parked.push((id, reply));
            Ok(None)
        } else {
            Ok(Some((reply, Ok(()))))
        }
    }

    /// `stop NAME`: a waiting process stops waiting; stopping what a running process depends on is
    /// allowed (as supervisord) and said.
    pub(super) fn before_stop(&mut self, id: ProcessId) -> bool {
        let was_waiting = self.life.waiting.remove(&id).is_some();
        let (mine, rest) = std::mem::take(&mut self.life.parked)
            .into_iter()
            .partition(|(p, _)| *p == id);
        self.life.parked = rest;
        for (_, r) in mine {
            let _ = r.send(Err(EngineError::AbnormalTermination));
        }
        let all = snapshots(self);
        let me = &self.table[id].spec;
        let users: Vec<&str> = all
            .iter()
            .filter(|s| {
                !s.state.is_stopped()
                    && s.spec
                        .lifecycle
                        .depends_on
                        .iter()
                        .any(|d| deps::resolve(&d.name, &all).iter().any(|t| t.id == id))
            })
            .map(|s| s.spec.name.as_str())
            .collect();
        if !users.is_empty() {
            emit(
                Level::Warn,
                &format!(
                    "stopping {} while {} (which depend{} on it) {} running",
                    me.name,
                    users.join(", "),
                    if users.len() == 1 { "s" } else { "" },
                    if users.len() == 1 { "is" } else { "are" }
                ),
            );
        }
        was_waiting
    }

    /// An ordered stop began: nothing waits to start any more.
    pub(super) fn stop_waiting(&mut self) {
        self.life.waiting.clear();
        for (_, r) in self.life.parked.drain(..) {
            let _ = r.send(Err(EngineError::ShuttingDown));
        }
    }

    /// Dependency depth of every process (0: depends on nothing); the ordered stop goes deepest first.
    pub(super) fn levels(&self) -> HashMap<ProcessId, usize> {
        let any = self
            .table
            .iter()
            .any(|(_, e)| !e.spec.lifecycle.depends_on.is_empty());
        if !any {
            // Without dependencies every depth is 0: no graph walk on each turn of a shutdown.
            return self.table.ids().into_iter().map(|id| (id, 0)).collect();
        }
        deps::levels(&snapshots(self))
    }

    /// Child `pid` of process `id` was reaped. A program with a pidfile whose own process exits while it
    /// is up has put itself in the background: wait for its pidfile instead of taking the exit.
    /// True when the exit is held back.
    pub(super) fn hold_exit(&mut self, id: ProcessId, pid: i32, status: ExitStatus) -> bool {
        let e = &self.table[id];
        let Some(path) = e.spec.lifecycle.pidfile.clone() else {
            return false;
        };
        // The daemon itself ending is an exit like any other.
        if self.life.followed.remove(&id) == Some(pid) {
            return false;
        }
        let up = matches!(
            e.proc.state(),
            ProcessState::Starting | ProcessState::Running
        );
        let clean = matches!(status, ExitStatus::Code(c) if e.spec.exitcodes.contains(&c));
        if !up || !clean || !crate::engine::cleanup::adopts_orphans() {
            return false;
        }
        self.life.checks.follow(id, pid, path, status);
        true
    }

    /// A check task reported.
    pub(super) fn on_check(&mut self, r: Report) {
        let now = Instant::now();
        if !self.table.contains(r.id) || self.table[r.id].proc.pid() != r.pid {
            return;
        }
        let name = self.table[r.id].spec.name.clone();
        match r.outcome {
            Outcome::Ready => {
                if self.table[r.id].proc.state() == ProcessState::Starting {
                    let check = self.table[r.id]
                        .spec
                        .lifecycle
                        .ready_check
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    emit(
                        Level::Debug,
                        &format!("ready check of {name} passed ({check})"),
                    );
                    let _ = self.feed(r.id, Event::Ready, now);
                }
            }
            Outcome::Follow(daemon) => {
                self.table.set_pid(daemon, r.id);
                self.life.followed.insert(r.id, daemon);
                let _ = self.feed(r.id, Event::Followed(daemon), now);
            }
            Outcome::NoFollow(status) => {
                let path = self.table[r.id].spec.lifecycle.pidfile.clone();
                emit(
                    Level::Warn,
                    &format!(
                        "{name} exited and its pidfile {} names no live process",
                        path.map(|p| p.display().to_string()).unwrap_or_default()
                    ),
                );
                self.child_ended(r.id, status, now);
            }
            Outcome::Status(text) => {
                self.life.status.insert(r.id, text);
            }
            Outcome::Passed => {
                if let Some(h) = self.life.health.remove(&r.id) {
                    if h.failures > 0 {
                        emit(Level::Info, &format!("health check of {name} passes again"));
                    }
                }
            }
            Outcome::Failed(why) => {
                let retries = self.table[r.id].spec.lifecycle.health_retries;
                let h = self.life.health.entry(r.id).or_default();
                if h.pid != r.pid {
                    *h = Health {
                        pid: r.pid,
                        ..Health::default()
                    };
                }
                h.failures += 1;
                h.last.clone_from(&why);
                let failures = h.failures;
                emit(
                    Level::Warn,
                    &format!("health check of {name} failed ({failures} of {retries}): {why}"),
                );
                if failures >= retries {
                    emit(
                        Level::Warn,
                        &format!(
                            "{name} failed {failures} health checks in a row ({why}): restarting it"
                        ),
                    );
                    let _ = self.feed(r.id, Event::Unhealthy, now);
                }
            }
        }
    }

    /// Before a spawn of `id`: what its environment needs in addition (sd_notify's socket, the
    /// watchdog's interval).
    pub(super) fn spawn_spec(&mut self, id: ProcessId) -> Option<ProcessSpec> {
        let spec = &self.table[id].spec;
        let env = self.life.checks.prepare_spawn(id, spec);
        if env.is_empty() {
            return None;
        }
        let mut s = spec.clone();
        s.environment.extend(env);
        Some(s)
    }

    /// After a spawn: remember the child's pipes, to find who holds them once it exits.
    pub(super) fn spawned_pipes(&mut self, id: ProcessId, fds: &[Option<&OwnedFd>]) {
        let inodes = fds
            .iter()
            .flatten()
            .filter_map(|fd| crate::engine::cleanup::inode_of(fd.as_raw_fd()))
            .collect();
        self.life.pipes.insert(id, inodes);
    }

    /// A program exited on its own: if something it started still holds its output, it put itself
    /// in the background. Say so, with the pid and the fix.
    fn detect_daemon(&mut self, id: ProcessId, pid: i32) {
        let Some(inodes) = self.life.pipes.get(&id) else {
            return;
        };
        if self.table[id].spec.lifecycle.pidfile.is_some() {
            return;
        }
        let spec = &self.table[id].spec;
        let hint = crate::config::lifecycle::foreground_fix(&spec.argv)
            .unwrap_or("its no-daemon or foreground option");
        let (name, inodes) = (spec.name.clone(), inodes.clone());
        // Off the loop: reading every process's fds must not delay the pumps writing its last output.
        tokio::task::spawn_blocking(move || {
            let holders = crate::engine::cleanup::pipe_holders(&inodes);
            if let Some(&holder) = holders.first() {
                emit(
                    Level::Warn,
                    &format!(
                        "{name} (pid {pid}) exited but pid {holder} still holds its output: it runs in the \
                         background; start it in the foreground, e.g. {hint} (or set pidfile= to follow it)"
                    ),
                );
            }
        });
    }
}
