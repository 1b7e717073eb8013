//! One process's lifecycle as a closed, pure state machine: [`Process::handle`]`(event, spec, now)`
//! returns effects, and is the only way its state, pid, counters and timer change (the fields are
//! private; the getters are read-only).
//!
//! Nothing here does I/O or reads a clock. The supervisor feeds [`Event`]s (a start or stop request, the
//! ordered stop of a shutdown or reload, the result of a spawn, an exit status, a deadline reached, a
//! failed kill) with the current monotonic time, then carries out the returned [`Effect`]s in order:
//! spawn, kill, log, and [`Effect::Transition`] for every state change, which it hands to the
//! subscribers of `engine::transitions` (the main log's supervisord phrases come from there). Lines
//! that are not state changes (`spawned: …`, `killing … with SIGKILL`) are [`Effect::Log`].
//!
//! The transitions follow supervisord 4.3.0 (shared reference, 2.2–2.3) with the documented
//! differences: reaping is prompt, so the 1 s tick races don't exist; a process that ran a while is
//! restarted at once, but never sooner than 1 s after its previous start; stopping a BACKOFF process
//! resets its retry count; the child of a failed kill, once reaped, is UNKNOWN -> STOPPED.
//!
//! Invariants (checked by a proptest below): a pid is set exactly in STARTING (once spawned), RUNNING,
//! STOPPING and UNKNOWN; at most one timer is armed and it belongs to the state (startsecs in STARTING,
//! retry in BACKOFF, autorestart in EXITED, SIGKILL in STOPPING), and the other way round, a state that
//! waits for time has its timer (unless SIGKILL was already sent, or a halt took the restart away); a
//! transition is never to the same state, and the transitions of one event chain from the old state to
//! the new one.

use std::time::{Duration, Instant};

use crate::config::model::{AutoRestart, ProcessSpec};
use crate::engine::api::ProcessState;
use crate::engine::signals::signame;

/// How a child ended, from `waitpid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Code(i32),
    Signal { signal: i32, core: bool },
}

impl ExitStatus {
    /// supervisord's `es`: the exit code, or -1 for a death by signal.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal { .. } => -1,
        }
    }

    /// `exit status 1` / `terminated by SIGTERM` / `terminated by SIGSEGV (core dumped)`.
    pub fn describe(self) -> String {
        match self {
            ExitStatus::Code(c) => format!("exit status {c}"),
            ExitStatus::Signal { signal, core } => {
                let core = if core { " (core dumped)" } else { "" };
                format!("terminated by {}{core}", signame(signal))
            }
        }
    }

    /// The status a shell reports: the code, or 128+signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Code(c) => c,
            ExitStatus::Signal { signal, .. } => 128 + signal,
        }
    }
}

/// Severity of a log line the machine asks for; mapped onto steward's main log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Crit,
    Error,
    Warn,
    Info,
    Debug,
}

/// Something that happened to one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `startProcess`, or autostart (at boot, after a reload, after `addProcessGroup`).
    Start,
    /// `stopProcess`.
    Stop,
    /// An ordered stop (shutdown or reload) began: no autorestart or retry happens any more.
    Halt,
    /// The ordered stop reached this process's group: RUNNING/STARTING stop, BACKOFF goes FATAL.
    OrderedStop,
    /// The fork/exec asked for by [`Effect::Spawn`] worked; the child's pid.
    Spawned(i32),
    /// The fork/exec asked for by [`Effect::Spawn`] failed (not found, bad user or directory…).
    SpawnFailed(String),
    /// The child was reaped.
    Exited(ExitStatus),
    /// Time passed: the armed timer fires if it is due at `now`, else nothing happens.
    Deadline,
    /// An [`Effect::Kill`] failed with something other than ESRCH.
    SignalFailed(String),
    /// The ready check of the current child passed: STARTING -> RUNNING.
    Ready,
    /// The liveness check of the current child failed `health_retries` times in a row: restart it.
    Unhealthy,
    /// The child put itself in the background and exited; from now on this pid (read from the
    /// program's `pidfile`) is the process. A stop in progress is sent to it again.
    Followed(i32),
    /// Stop now, without waiting (a second Ctrl-C): SIGKILL to the child's whole process group.
    Force,
}

/// What the supervisor must do after an event, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Fork/exec the process now, then report [`Event::Spawned`] or [`Event::SpawnFailed`].
    Spawn,
    /// Send `signal` to `pid`, or to its process group when `group`; report [`Event::SignalFailed`] on
    /// an error other than ESRCH.
    Kill { pid: i32, signal: i32, group: bool },
    /// A main-log line that is not a state change.
    Log(Level, String),
    /// The state changed; for the transition subscribers.
    Transition(Transition),
}

/// One state change, with what supervisord's `PROCESS_STATE_*` event payloads carry (reference 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: ProcessState,
    pub to: ProcessState,
    /// The child this change concerns: the live one, or the one whose exit caused it; 0 for none
    /// (STARTING before the spawn, BACKOFF after a spawn error, FATAL, STOPPED from BACKOFF).
    pub pid: i32,
    /// supervisord's `tries`: consecutive failed starts, counted after this change (the BACKOFF that
    /// records a failure includes it; RUNNING, EXITED and FATAL reset it to 0).
    pub tries: u32,
    pub cause: Cause,
    /// Set when the change was caused by the child ending: to EXITED, to STOPPED after a stop, or to
    /// BACKOFF for an exit before startsecs (which is never expected).
    pub exit: Option<Exit>,
    /// The process's spawn error after this change (supervisord's `spawnerr`); set in BACKOFF and FATAL
    /// after a failed start, and in EXITED after an unexpected exit code.
    pub spawnerr: Option<String>,
}

/// How the child ended, for a transition caused by its exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub status: ExitStatus,
    /// The exit code is in `exitcodes` (a death by signal never is; an exit before startsecs is not).
    pub expected: bool,
}

/// Why a transition happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// [`Event::Start`].
    Start,
    /// The autorestart of an EXITED process.
    Autorestart,
    /// The retry of a BACKOFF process.
    Retry,
    /// The child stayed up for startsecs (at once when startsecs=0).
    Startsecs,
    /// The fork/exec failed; see `spawnerr`.
    SpawnFailed,
    /// The child ended; see `exit`.
    Exit,
    /// startretries exhausted.
    GaveUp,
    /// [`Event::Stop`].
    Stop,
    /// [`Event::OrderedStop`].
    Shutdown,
    /// [`Event::SignalFailed`].
    SignalFailed,
    /// [`Event::Ready`]: the ready check passed.
    Ready,
    /// [`Event::Unhealthy`]: the stop (and the start after it) of a restart for failed liveness checks.
    Unhealthy,
}

/// How `spawnerr` begins for a start that failed because the ready check did not pass in time.
pub const NOT_READY: &str = "not ready within";

/// What a pending deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// STARTING -> RUNNING once startsecs have passed.
    Startsecs,
    /// BACKOFF -> STARTING after the backoff delay.
    Retry,
    /// EXITED -> STARTING (autorestart), no sooner than 1 s after the previous start.
    Restart,
    /// STOPPING: stopwaitsecs passed, send SIGKILL.
    Kill,
    /// STARTING with a ready check: ready_timeout passed, kill the child (a failed start).
    Ready,
}

/// Why a start or stop request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// start of a STARTING/RUNNING/BACKOFF process.
    AlreadyStarted,
    /// stop of a process that is not running, start of a STOPPING one.
    NotRunning,
    /// start of a process in the UNKNOWN state.
    Unknown,
}

/// The least time between two automatic starts from EXITED (supervisord's effective rate: one tick).
pub const MIN_RESTART_INTERVAL: Duration = Duration::from_secs(1);

/// The dynamic state of one process. Changed only by [`Process::handle`].
#[derive(Debug, Clone)]
pub struct Process {
    state: ProcessState,
    /// 0 when there is no child.
    pid: i32,
    laststart: Option<Instant>,
    /// Consecutive failed starts (supervisord's `backoff`).
    backoff: u32,
    deadline: Option<(Instant, Timer)>,
    spawnerr: Option<String>,
    /// Last exit code; -1 for a death by signal; 0 when unknown.
    exitstatus: i32,
    /// True while a stop is in progress (supervisord's `killing`).
    killing: bool,
    /// The child was killed for not being ready in time; its exit is a failed start.
    not_ready: bool,
    /// The stop in progress is a restart (failed liveness checks): start again once stopped.
    restart: bool,
}

impl Default for Process {
    fn default() -> Process {
        Process::new()
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `now + n` seconds; absurd values (startsecs=10^19) saturate a century out instead of overflowing.
fn later(now: Instant, n: u64) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    now.checked_add(secs(n).min(CENTURY)).unwrap_or(now)
}

impl Process {
    /// A process that never ran: STOPPED.
    pub fn new() -> Process {
        Process {
            state: ProcessState::Stopped,
            pid: 0,
            laststart: None,
            backoff: 0,
            deadline: None,
            spawnerr: None,
            exitstatus: 0,
            killing: false,
            not_ready: false,
            restart: false,
        }
    }

    pub fn state(&self) -> ProcessState {
        self.state
    }

    /// The child's pid; 0 when there is none.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// When the last start began (the spawn, once it happened); `None` if it never started.
    pub fn laststart(&self) -> Option<Instant> {
        self.laststart
    }

    /// Consecutive failed starts.
    pub fn backoff(&self) -> u32 {
        self.backoff
    }

    /// The armed timer: when an [`Event::Deadline`] at or after this instant will do something.
    pub fn deadline(&self) -> Option<(Instant, Timer)> {
        self.deadline
    }

    pub fn spawnerr(&self) -> Option<&str> {
        self.spawnerr.as_deref()
    }

    /// Last exit code; -1 for a death by signal; 0 when unknown.
    pub fn exitstatus(&self) -> i32 {
        self.exitstatus
    }

    /// A stop is in progress (its child has been sent the stop signal and not yet reaped).
    pub fn killing(&self) -> bool {
        self.killing
    }

    /// Feed one event. `may_start` is false while steward is shutting down or reloading: then no
    /// autorestart or retry happens. Only [`Event::Start`] and [`Event::Stop`] can be refused; a
    /// refused stop still cancels a pending autorestart.
    pub fn handle(
        &mut self,
        event: Event,
        spec: &ProcessSpec,
        now: Instant,
        may_start: bool,
    ) -> Result<Vec<Effect>, Refused> {
        let mut out = vec![];
        match event {
            Event::Start => self.start(now, Cause::Start, &mut out)?,
            Event::Stop => {
                self.restart = false;
                self.stop(spec, now, Cause::Stop, &mut out)?
            }
            Event::Halt => {
                self.restart = false;
                if matches!(self.deadline, Some((_, Timer::Retry | Timer::Restart))) {
                    self.deadline = None;
                }
            }
            Event::OrderedStop => match self.state {
                ProcessState::Running | ProcessState::Starting => {
                    let _ = self.stop(spec, now, Cause::Shutdown, &mut out);
                }
                ProcessState::Backoff => self.give_up(Cause::Shutdown, &mut out),
                _ => {}
            },
            Event::Spawned(pid) => self.spawned(pid, spec, now, &mut out),
            Event::SpawnFailed(err) => self.spawn_failed(err, spec, now, &mut out),
            Event::Exited(status) => self.exited(status, spec, now, may_start, &mut out),
            Event::Deadline => self.on_deadline(spec, now, may_start, &mut out),
            Event::SignalFailed(err) => self.signal_failed(&err, spec, &mut out),
            Event::Ready => {
                if self.state == ProcessState::Starting && self.pid > 0 && !self.not_ready {
                    self.backoff = 0;
                    self.deadline = None;
                    self.enter(ProcessState::Running, Cause::Ready, None, &mut out);
                }
            }
            Event::Followed(pid) => {
                let alive = matches!(
                    self.state,
                    ProcessState::Starting
                        | ProcessState::Running
                        | ProcessState::Stopping
                        | ProcessState::Unknown
                );
                if alive && self.pid > 0 && pid > 0 && pid != self.pid {
                    out.push(Effect::Log(
                        Level::Info,
                        format!(
                            "following '{}': its daemon is pid {pid} (from its pidfile)",
                            spec.name
                        ),
                    ));
                    self.pid = pid;
                    match self.state {
                        ProcessState::Stopping => {
                            out.push(Effect::Kill {
                                pid,
                                signal: spec.stopsignal,
                                group: spec.stopasgroup,
                            });
                            // The SIGKILL of this stop went to the old pid: the daemon gets its
                            // own stopwaitsecs before one.
                            if self.deadline.is_none() {
                                self.deadline = Some((later(now, spec.stopwaitsecs), Timer::Kill));
                            }
                        }
                        // Its time to be ready ran out before the daemon was known: it is ended
                        // as the child would have been.
                        ProcessState::Starting if self.not_ready => out.push(Effect::Kill {
                            pid,
                            signal: libc::SIGKILL,
                            group: spec.killasgroup,
                        }),
                        _ => {}
                    }
                }
            }
            Event::Force => self.force(spec, &mut out),
            Event::Unhealthy => {
                if self.state == ProcessState::Running && self.pid > 0 {
                    self.restart = may_start;
                    let _ = self.stop(spec, now, Cause::Unhealthy, &mut out);
                }
            }
        }
        Ok(out)
    }

    /// Enter `to`, reporting the change (none when already there) with the fields as they are now.
    fn enter(&mut self, to: ProcessState, cause: Cause, exit: Option<Exit>, out: &mut Vec<Effect>) {
        if self.state == to {
            return;
        }
        out.push(Effect::Transition(Transition {
            from: self.state,
            to,
            pid: self.pid,
            tries: self.backoff,
            cause,
            exit,
            spawnerr: self.spawnerr.clone(),
        }));
        self.state = to;
    }

    fn start(&mut self, now: Instant, cause: Cause, out: &mut Vec<Effect>) -> Result<(), Refused> {
        match self.state {
            ProcessState::Stopped | ProcessState::Exited | ProcessState::Fatal => {
                self.begin_spawn(now, cause, out);
                Ok(())
            }
            ProcessState::Starting | ProcessState::Running | ProcessState::Backoff => {
                Err(Refused::AlreadyStarted)
            }
            ProcessState::Stopping => Err(Refused::NotRunning),
            ProcessState::Unknown => Err(Refused::Unknown),
        }
    }

    fn begin_spawn(&mut self, now: Instant, cause: Cause, out: &mut Vec<Effect>) {
        self.laststart = Some(now);
        self.deadline = None;
        self.spawnerr = None;
        self.killing = false;
        self.not_ready = false;
        self.restart = false;
        self.enter(ProcessState::Starting, cause, None, out);
        out.push(Effect::Spawn);
    }

    /// Only the answer to our own [`Effect::Spawn`] counts: STARTING with no child yet.
    fn awaiting_spawn(&self) -> bool {
        self.state == ProcessState::Starting && self.pid == 0
    }

    fn spawned(&mut self, pid: i32, spec: &ProcessSpec, now: Instant, out: &mut Vec<Effect>) {
        if !self.awaiting_spawn() || pid <= 0 {
            return;
        }
        self.pid = pid;
        // startsecs count from the moment the program really runs.
        self.laststart = Some(now);
        out.push(Effect::Log(
            Level::Info,
            format!("spawned: '{}' with pid {pid}", spec.name),
        ));
        if spec.lifecycle.ready_check.is_some() {
            // With a ready check, startsecs do not apply: RUNNING comes with Event::Ready.
            self.deadline = Some((later(now, spec.lifecycle.ready_timeout), Timer::Ready));
        } else if spec.startsecs == 0 {
            // supervisord promotes on its next tick; with startsecs=0 that is "immediately".
            self.become_running(out);
        } else {
            self.deadline = Some((later(now, spec.startsecs), Timer::Startsecs));
        }
    }

    fn spawn_failed(
        &mut self,
        err: String,
        spec: &ProcessSpec,
        now: Instant,
        out: &mut Vec<Effect>,
    ) {
        if !self.awaiting_spawn() {
            return;
        }
        self.spawnerr = Some(err);
        self.enter_backoff(spec, now, Cause::SpawnFailed, None, out);
    }

    fn become_running(&mut self, out: &mut Vec<Effect>) {
        self.backoff = 0;
        self.deadline = None;
        self.enter(ProcessState::Running, Cause::Startsecs, None, out);
    }

    /// A failed start: BACKOFF with a retry timer, or FATAL when the retries are used up. Called with
    /// the ended child's pid still set (the BACKOFF transition names it); there is no child after.
    fn enter_backoff(
        &mut self,
        spec: &ProcessSpec,
        now: Instant,
        cause: Cause,
        exit: Option<Exit>,
        out: &mut Vec<Effect>,
    ) {
        self.backoff += 1;
        self.enter(ProcessState::Backoff, cause, exit, out);
        self.pid = 0;
        if self.backoff > spec.startretries {
            // supervisord decides this on the tick after entering BACKOFF; nothing can happen in between.
            self.give_up(Cause::GaveUp, out);
        } else {
            self.deadline = Some((later(now, u64::from(self.backoff)), Timer::Retry));
        }
    }

    /// BACKOFF -> FATAL (retries exhausted, or BACKOFF at shutdown).
    fn give_up(&mut self, cause: Cause, out: &mut Vec<Effect>) {
        self.backoff = 0;
        self.deadline = None;
        self.enter(ProcessState::Fatal, cause, None, out);
    }

    /// The child was reaped. `may_restart` is false while steward is shutting down or reloading.
    fn exited(
        &mut self,
        status: ExitStatus,
        spec: &ProcessSpec,
        now: Instant,
        may_restart: bool,
        out: &mut Vec<Effect>,
    ) {
        let es = status.code();
        let expected = spec.exitcodes.contains(&es) && matches!(status, ExitStatus::Code(_));
        let exit = |expected| Some(Exit { status, expected });
        let too_quickly = self
            .laststart
            .is_some_and(|t| now.saturating_duration_since(t) < secs(spec.startsecs));
        match self.state {
            // No child exists in these states (or not yet): a stray status changes nothing.
            ProcessState::Stopped
            | ProcessState::Backoff
            | ProcessState::Exited
            | ProcessState::Fatal => {}
            _ if self.pid == 0 => {}
            ProcessState::Stopping | ProcessState::Unknown if self.killing => {
                self.killing = false;
                self.deadline = None;
                self.exitstatus = es;
                self.enter(ProcessState::Stopped, Cause::Exit, exit(expected), out);
                self.pid = 0;
                if std::mem::take(&mut self.restart) && may_restart {
                    self.begin_spawn(now, Cause::Unhealthy, out);
                }
            }
            // With a ready check, any end before it passed is a failed start.
            ProcessState::Starting if spec.lifecycle.ready_check.is_some() => {
                self.exitstatus = es;
                self.spawnerr = Some(if self.not_ready {
                    format!(
                        "{NOT_READY} {} seconds (ready_timeout)",
                        spec.lifecycle.ready_timeout
                    )
                } else {
                    "Exited before it was ready (process log may have details)".into()
                });
                self.not_ready = false;
                self.deadline = None;
                self.enter_backoff(spec, now, Cause::Exit, exit(false), out);
            }
            ProcessState::Starting if too_quickly => {
                self.exitstatus = 0;
                self.spawnerr = Some("Exited too quickly (process log may have details)".into());
                self.deadline = None;
                self.enter_backoff(spec, now, Cause::Exit, exit(false), out);
            }
            ProcessState::Starting
            | ProcessState::Running
            | ProcessState::Stopping
            | ProcessState::Unknown => {
                if self.state == ProcessState::Starting {
                    // It did stay up for startsecs; the deadline just hasn't been handled yet.
                    self.become_running(out);
                }
                self.backoff = 0;
                self.killing = false;
                self.exitstatus = es;
                if !expected {
                    self.spawnerr = Some(format!("Bad exit code {es}"));
                }
                self.deadline = None;
                self.enter(ProcessState::Exited, Cause::Exit, exit(expected), out);
                self.pid = 0;
                let restart = match spec.autorestart {
                    AutoRestart::Always => true,
                    AutoRestart::Unexpected => !expected,
                    AutoRestart::Never => false,
                };
                if may_restart && restart {
                    // At once after a long run; a crash loop is held to one start per second.
                    let earliest = self.laststart.map_or(now, |t| t + MIN_RESTART_INTERVAL);
                    self.deadline = Some((earliest.max(now), Timer::Restart));
                }
            }
        }
    }

    /// The pending deadline, if it is due at `now`, fires. `may_start` is false while shutting down.
    fn on_deadline(
        &mut self,
        spec: &ProcessSpec,
        now: Instant,
        may_start: bool,
        out: &mut Vec<Effect>,
    ) {
        let Some((at, timer)) = self.deadline else {
            return;
        };
        if now < at {
            return;
        }
        self.deadline = None;
        match (timer, self.state) {
            (Timer::Startsecs, ProcessState::Starting) => self.become_running(out),
            (Timer::Ready, ProcessState::Starting) if self.pid > 0 => {
                let check = spec.lifecycle.ready_check.as_ref();
                out.push(Effect::Log(
                    Level::Warn,
                    format!(
                        "'{}' was not ready within {} seconds ({}); killing it with SIGKILL",
                        spec.name,
                        spec.lifecycle.ready_timeout,
                        check.map(ToString::to_string).unwrap_or_default()
                    ),
                ));
                self.not_ready = true;
                out.push(Effect::Kill {
                    pid: self.pid,
                    signal: libc::SIGKILL,
                    group: spec.killasgroup,
                });
            }
            (Timer::Retry, ProcessState::Backoff) if may_start => {
                self.begin_spawn(now, Cause::Retry, out)
            }
            (Timer::Restart, ProcessState::Exited) if may_start => {
                self.begin_spawn(now, Cause::Autorestart, out)
            }
            (Timer::Kill, ProcessState::Stopping) if self.pid > 0 => {
                // Sent once: a process that survives SIGKILL stays STOPPING, as in supervisord.
                self.sigkill(spec, spec.killasgroup, out);
            }
            _ => {}
        }
    }

    /// A stop request (`stopProcess`), or the ordered stop reaching a RUNNING/STARTING process.
    fn stop(
        &mut self,
        spec: &ProcessSpec,
        now: Instant,
        cause: Cause,
        out: &mut Vec<Effect>,
    ) -> Result<(), Refused> {
        match self.state {
            ProcessState::Running | ProcessState::Starting if self.pid > 0 => {
                let as_group = if spec.stopasgroup {
                    "process group "
                } else {
                    ""
                };
                out.push(Effect::Log(
                    Level::Debug,
                    format!(
                        "killing {} (pid {}) {as_group}with signal {}",
                        spec.name,
                        self.pid,
                        signame(spec.stopsignal)
                    ),
                ));
                self.killing = true;
                self.deadline = Some((later(now, spec.stopwaitsecs), Timer::Kill));
                self.enter(ProcessState::Stopping, cause, None, out);
                out.push(Effect::Kill {
                    pid: self.pid,
                    signal: spec.stopsignal,
                    group: spec.stopasgroup,
                });
                Ok(())
            }
            ProcessState::Backoff => {
                // Deliberate difference: supervisord keeps the backoff count across a stop.
                self.backoff = 0;
                self.deadline = None;
                self.enter(ProcessState::Stopped, cause, None, out);
                Ok(())
            }
            ProcessState::Exited => {
                // A pending autorestart would undo the user's intent.
                self.deadline = None;
                Err(Refused::NotRunning)
            }
            _ => Err(Refused::NotRunning),
        }
    }

    /// [`Event::Force`]: a live child is stopping from now on and gets SIGKILL, to its process group
    /// whatever `killasgroup` says (whoever presses Ctrl-C twice wants all of it gone). The armed
    /// SIGKILL timer has nothing left to do.
    fn force(&mut self, spec: &ProcessSpec, out: &mut Vec<Effect>) {
        if self.pid == 0 {
            return;
        }
        match self.state {
            ProcessState::Starting | ProcessState::Running => {
                self.killing = true;
                self.restart = false;
                self.enter(ProcessState::Stopping, Cause::Shutdown, None, out);
            }
            ProcessState::Stopping | ProcessState::Unknown => {}
            _ => return,
        }
        self.deadline = None;
        self.sigkill(spec, true, out);
    }

    /// `killing 'x' (pid) with SIGKILL`, and the kill.
    fn sigkill(&self, spec: &ProcessSpec, group: bool, out: &mut Vec<Effect>) {
        out.push(Effect::Log(
            Level::Warn,
            format!("killing '{}' ({}) with SIGKILL", spec.name, self.pid),
        ));
        out.push(Effect::Kill {
            pid: self.pid,
            signal: libc::SIGKILL,
            group,
        });
    }

    /// `kill()` of our child failed with something other than ESRCH.
    fn signal_failed(&mut self, err: &str, spec: &ProcessSpec, out: &mut Vec<Effect>) {
        out.push(Effect::Log(
            Level::Crit,
            format!("unknown problem killing {} ({}):{err}", spec.name, self.pid),
        ));
        if self.pid == 0 {
            // No child: nothing was signalled, so there is no state to lose track of.
            return;
        }
        self.deadline = None;
        // Every kill we send ends the child (a stop, or a start that was not ready in time): once
        // reaped, the process is STOPPED.
        self.killing = true;
        self.not_ready = false;
        self.enter(ProcessState::Unknown, Cause::SignalFailed, None, out);
    }
}
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::model::*;
    use crate::engine::transitions::phrase;

    /// A process spec with supervisord's defaults, output discarded, no console prefix.
    pub(crate) fn spec(name: &str, argv: &[&str]) -> ProcessSpec {
        ProcessSpec {
            stdout: LogSpec::new(LogTarget::None),
            stderr: LogSpec::new(LogTarget::None),
            console_prefix: ConsolePrefix::Off,
            ..ProcessSpec::new(name, argv)
        }
    }

    /// The main-log lines of `out`, as the supervisor writes them (transitions through the main-log
    /// subscriber's phrases).
    fn lines(s: &ProcessSpec, out: &[Effect]) -> Vec<(Level, String)> {
        out.iter()
            .filter_map(|e| match e {
                Effect::Log(level, m) => Some((*level, m.clone())),
                Effect::Transition(t) => phrase(s, t),
                _ => None,
            })
            .collect()
    }

    fn logs(s: &ProcessSpec, out: &[Effect]) -> Vec<String> {
        lines(s, out).into_iter().map(|(_, m)| m).collect()
    }

    /// The effects the supervisor acts on (spawn, kill), without logs and transitions.
    fn actions(out: &[Effect]) -> Vec<Effect> {
        out.iter()
            .filter(|e| matches!(e, Effect::Spawn | Effect::Kill { .. }))
            .cloned()
            .collect()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Feed an event that must not be refused, outside a shutdown.
    fn feed(p: &mut Process, s: &ProcessSpec, ev: Event, now: Instant) -> Vec<Effect> {
        p.handle(ev.clone(), s, now, true)
            .unwrap_or_else(|r| panic!("{ev:?} refused: {r:?}"))
    }

    /// Start and spawn with `pid`; returns the effects of the spawn report.
    fn launch(p: &mut Process, s: &ProcessSpec, now: Instant, pid: i32) -> Vec<Effect> {
        let out = feed(p, s, Event::Start, now);
        assert_eq!(actions(&out), vec![Effect::Spawn]);
        assert_eq!(p.state(), ProcessState::Starting);
        feed(p, s, Event::Spawned(pid), now)
    }

    fn exit_code(c: i32) -> Event {
        Event::Exited(ExitStatus::Code(c))
    }

    #[test]
    fn starting_to_running_after_startsecs() {
        let s = spec("web", &["x"]);
        let mut p = Process::new();
        let t0 = Instant::now();
        let out = launch(&mut p, &s, t0, 12);
        assert_eq!(logs(&s, &out), ["spawned: 'web' with pid 12"]);
        assert_eq!(p.deadline(), Some((t0 + secs(1), Timer::Startsecs)));
        let out = feed(&mut p, &s, Event::Deadline, t0 + ms(999));
        assert!(out.is_empty());
        assert_eq!(p.state(), ProcessState::Starting);
        let out = feed(&mut p, &s, Event::Deadline, t0 + secs(1));
        assert_eq!(p.state(), ProcessState::Running);
        assert_eq!(
            logs(&s, &out),
            ["success: web entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)"]
        );
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn startsecs_zero_is_running_at_once() {
        let mut s = spec("job", &["x"]);
        s.startsecs = 0;
        let mut p = Process::new();
        let out = launch(&mut p, &s, Instant::now(), 5);
        assert_eq!(p.state(), ProcessState::Running);
        assert_eq!(logs(&s, &out).len(), 2);
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn exit_during_startsecs_is_backoff_even_with_code_0() {
        let s = spec("web", &["x"]);
        let mut p = Process::new();
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 7);
        let out = feed(&mut p, &s, exit_code(0), t0 + ms(10));
        assert_eq!(p.state(), ProcessState::Backoff);
        assert_eq!(
            lines(&s, &out),
            [(
                Level::Warn,
                "exited: web (exit status 0; not expected)".into()
            )]
        );
        assert_eq!(
            p.spawnerr(),
            Some("Exited too quickly (process log may have details)")
        );
        assert_eq!(p.exitstatus(), 0);
        assert_eq!(p.pid(), 0);
        assert_eq!(p.deadline(), Some((t0 + ms(10) + secs(1), Timer::Retry)));
    }

    /// startretries=3: attempts at about 0, 1, 3, 6 s, then FATAL (reference 2.3, backoff rule).
    #[test]
    fn backoff_series_then_fatal() {
        let s = spec("web", &["x"]);
        let mut p = Process::new();
        let t0 = Instant::now();
        let mut now = t0;
        let mut attempts = vec![];
        let mut out = feed(&mut p, &s, Event::Start, now);
        for pid in 1.. {
            assert_eq!(actions(&out), [Effect::Spawn]);
            attempts.push(now - t0);
            feed(&mut p, &s, Event::Spawned(pid), now);
            let exited = feed(&mut p, &s, exit_code(1), now);
            if p.state() == ProcessState::Fatal {
                assert_eq!(
                    logs(&s, &exited).last().unwrap(),
                    "gave up: web entered FATAL state, too many start retries too quickly"
                );
                break;
            }
            assert_eq!(p.state(), ProcessState::Backoff);
            let (at, t) = p.deadline().unwrap();
            assert_eq!(t, Timer::Retry);
            // Not a moment early.
            assert!(feed(&mut p, &s, Event::Deadline, at - ms(1)).is_empty());
            now = at;
            out = feed(&mut p, &s, Event::Deadline, now);
        }
        assert_eq!(attempts, [secs(0), secs(1), secs(3), secs(6)]);
        assert_eq!(p.backoff(), 0);
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn startretries_zero_means_one_attempt() {
        let mut s = spec("web", &["x"]);
        s.startretries = 0;
        let mut p = Process::new();
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 1);
        feed(&mut p, &s, exit_code(1), t0);
        assert_eq!(p.state(), ProcessState::Fatal);
    }

    #[test]
    fn spawn_error_goes_backoff_then_fatal() {
        let mut s = spec("web", &["x"]);
        s.startretries = 1;
        let mut p = Process::new();
        let t0 = Instant::now();
        feed(&mut p, &s, Event::Start, t0);
        let err = || Event::SpawnFailed("can't find command 'x'".into());
        let out = feed(&mut p, &s, err(), t0);
        assert_eq!(p.state(), ProcessState::Backoff);
        assert_eq!(logs(&s, &out), ["spawnerr: can't find command 'x'"]);
        let out = feed(&mut p, &s, Event::Deadline, t0 + secs(1));
        assert_eq!(actions(&out), [Effect::Spawn]);
        feed(&mut p, &s, err(), t0 + secs(1));
        assert_eq!(p.state(), ProcessState::Fatal);
        assert_eq!(p.spawnerr(), Some("can't find command 'x'"));
    }

    fn run_then_exit(s: &ProcessSpec, status: ExitStatus, ran: Duration) -> (Process, Vec<Effect>) {
        let mut p = Process::new();
        let t0 = Instant::now();
        launch(&mut p, s, t0, 3);
        feed(&mut p, s, Event::Deadline, t0 + secs(s.startsecs));
        assert_eq!(p.state(), ProcessState::Running);
        let out = feed(&mut p, s, Event::Exited(status), t0 + ran);
        (p, out)
    }

    #[test]
    fn autorestart_unexpected_with_exitcodes() {
        let mut s = spec("w", &["x"]);
        s.exitcodes = vec![0, 2];
        let (p, out) = run_then_exit(&s, ExitStatus::Code(2), secs(5));
        assert_eq!(p.state(), ProcessState::Exited);
        assert_eq!(logs(&s, &out), ["exited: w (exit status 2; expected)"]);
        assert_eq!(p.deadline(), None);
        assert_eq!(p.exitstatus(), 2);

        let (p, out) = run_then_exit(&s, ExitStatus::Code(1), secs(5));
        assert_eq!(
            lines(&s, &out),
            [(
                Level::Warn,
                "exited: w (exit status 1; not expected)".into()
            )]
        );
        assert_eq!(p.spawnerr(), Some("Bad exit code 1"));
        // Ran long enough: restart at once.
        assert!(matches!(p.deadline(), Some((_, Timer::Restart))));

        // Death by signal is never expected.
        let (p, out) = run_then_exit(
            &s,
            ExitStatus::Signal {
                signal: libc::SIGKILL,
                core: false,
            },
            secs(5),
        );
        assert_eq!(
            logs(&s, &out),
            ["exited: w (terminated by SIGKILL; not expected)"]
        );
        assert_eq!(p.exitstatus(), -1);
        assert!(p.deadline().is_some());
    }

    #[test]
    fn autorestart_true_and_false() {
        let mut s = spec("w", &["x"]);
        s.autorestart = AutoRestart::Always;
        let (p, _) = run_then_exit(&s, ExitStatus::Code(0), secs(5));
        assert_eq!(p.state(), ProcessState::Exited);
        assert!(matches!(p.deadline(), Some((_, Timer::Restart))));
        s.autorestart = AutoRestart::Never;
        let (p, _) = run_then_exit(&s, ExitStatus::Code(1), secs(5));
        assert_eq!(p.state(), ProcessState::Exited);
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn restart_after_long_run_is_immediate_and_resets_backoff() {
        let mut s = spec("w", &["x"]);
        s.autorestart = AutoRestart::Always;
        let mut p = Process::new();
        let t0 = Instant::now();
        // Two failed starts, then one that lasts.
        feed(&mut p, &s, Event::Start, t0);
        for (pid, at) in [(1, t0), (2, t0 + secs(1))] {
            feed(&mut p, &s, Event::Spawned(pid), at);
            feed(&mut p, &s, exit_code(1), at);
            let retry = p.deadline().unwrap().0;
            feed(&mut p, &s, Event::Deadline, retry);
        }
        assert_eq!((p.state(), p.backoff()), (ProcessState::Starting, 2));
        feed(&mut p, &s, Event::Spawned(3), t0 + secs(3));
        let t_exit = t0 + secs(30);
        feed(&mut p, &s, exit_code(0), t_exit);
        assert_eq!(p.backoff(), 0);
        assert_eq!(p.deadline(), Some((t_exit, Timer::Restart)));
        let out = feed(&mut p, &s, Event::Deadline, t_exit);
        assert_eq!(actions(&out), [Effect::Spawn]);
        assert_eq!(p.state(), ProcessState::Starting);
    }

    #[test]
    fn crash_loop_with_startsecs_zero_is_held_to_one_start_per_second() {
        let mut s = spec("w", &["x"]);
        s.startsecs = 0;
        s.autorestart = AutoRestart::Always;
        let mut p = Process::new();
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 3);
        feed(&mut p, &s, exit_code(1), t0 + ms(5));
        assert_eq!(p.state(), ProcessState::Exited);
        assert_eq!(p.deadline(), Some((t0 + secs(1), Timer::Restart)));
        assert!(feed(&mut p, &s, Event::Deadline, t0 + ms(500)).is_empty());
        let out = feed(&mut p, &s, Event::Deadline, t0 + secs(1));
        assert_eq!(actions(&out), [Effect::Spawn]);
    }

    #[test]
    fn no_restart_or_retry_while_shutting_down() {
        let mut s = spec("w", &["x"]);
        s.autorestart = AutoRestart::Always;
        let mut p = Process::new();
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 3);
        p.handle(exit_code(0), &s, t0 + secs(5), false).unwrap();
        assert_eq!(p.deadline(), None);
        // A retry deadline that comes due during shutdown does nothing.
        let mut p = Process::new();
        launch(&mut p, &s, t0, 3);
        feed(&mut p, &s, exit_code(0), t0);
        assert_eq!(p.state(), ProcessState::Backoff);
        let out = p.handle(Event::Deadline, &s, t0 + secs(9), false).unwrap();
        assert!(out.is_empty());
        assert_eq!(p.state(), ProcessState::Backoff);
    }

    /// The ordered stop of a shutdown: pending timers go at once, each group's turn stops it.
    #[test]
    fn halt_and_ordered_stop() {
        let mut s = spec("w", &["x"]);
        s.autorestart = AutoRestart::Always;
        let t0 = Instant::now();
        // EXITED with an autorestart pending: cancelled, stays EXITED.
        let (mut p, _) = run_then_exit(&s, ExitStatus::Code(0), secs(5));
        assert!(p.deadline().is_some());
        assert!(p.handle(Event::Halt, &s, t0, false).unwrap().is_empty());
        assert_eq!((p.state(), p.deadline()), (ProcessState::Exited, None));
        assert!(p
            .handle(Event::OrderedStop, &s, t0, false)
            .unwrap()
            .is_empty());
        // BACKOFF: the retry is cancelled; its turn makes it FATAL without a log line.
        let mut p = Process::new();
        launch(&mut p, &s, t0, 3);
        feed(&mut p, &s, exit_code(0), t0);
        p.handle(Event::Halt, &s, t0, false).unwrap();
        assert_eq!((p.state(), p.deadline()), (ProcessState::Backoff, None));
        let out = p.handle(Event::OrderedStop, &s, t0, false).unwrap();
        assert_eq!(p.state(), ProcessState::Fatal);
        assert!(logs(&s, &out).is_empty());
        assert!(matches!(
            &out[..],
            [Effect::Transition(Transition {
                from: ProcessState::Backoff,
                to: ProcessState::Fatal,
                cause: Cause::Shutdown,
                ..
            })]
        ));
        // RUNNING: a Halt leaves it alone; its turn stops it like a stop request.
        let (mut p, _) = run_then_exit(&s, ExitStatus::Code(0), secs(5));
        let restart = p.deadline().unwrap().0;
        feed(&mut p, &s, Event::Deadline, restart);
        feed(&mut p, &s, Event::Spawned(8), t0 + secs(6));
        feed(&mut p, &s, Event::Deadline, t0 + secs(7));
        assert!(p.handle(Event::Halt, &s, t0, false).unwrap().is_empty());
        assert_eq!(p.state(), ProcessState::Running);
        let out = p.handle(Event::OrderedStop, &s, t0, false).unwrap();
        assert_eq!(p.state(), ProcessState::Stopping);
        assert_eq!(
            actions(&out),
            [Effect::Kill {
                pid: 8,
                signal: libc::SIGTERM,
                group: false
            }]
        );
    }

    #[test]
    fn stop_sends_stopsignal_then_sigkill() {
        let mut s = spec("w", &["x"]);
        s.stopsignal = libc::SIGINT;
        s.stopwaitsecs = 3;
        s.killasgroup = true;
        let mut p = Process::new();
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 42);
        let out = feed(&mut p, &s, Event::Stop, t0 + secs(2));
        assert_eq!(p.state(), ProcessState::Stopping);
        assert_eq!(
            out.last(),
            Some(&Effect::Kill {
                pid: 42,
                signal: libc::SIGINT,
                group: false
            })
        );
        assert_eq!(p.deadline(), Some((t0 + secs(5), Timer::Kill)));
        let out = feed(&mut p, &s, Event::Deadline, t0 + secs(5));
        assert_eq!(logs(&s, &out), ["killing 'w' (42) with SIGKILL"]);
        assert_eq!(
            out.last(),
            Some(&Effect::Kill {
                pid: 42,
                signal: libc::SIGKILL,
                group: true
            })
        );
        assert_eq!(p.state(), ProcessState::Stopping);
        let out = feed(
            &mut p,
            &s,
            Event::Exited(ExitStatus::Signal {
                signal: libc::SIGKILL,
                core: false,
            }),
            t0 + secs(6),
        );
        assert_eq!(p.state(), ProcessState::Stopped);
        assert_eq!(
            lines(&s, &out),
            [(Level::Warn, "stopped: w (terminated by SIGKILL)".into())]
        );
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn force_kills_the_process_group_at_once_in_any_live_state() {
        let mut s = spec("w", &["x"]);
        s.stopwaitsecs = 60;
        s.killasgroup = false;
        let sigkill_group = |pid| Effect::Kill {
            pid,
            signal: libc::SIGKILL,
            group: true,
        };
        // Already stopping (the first Ctrl-C): the SIGKILL timer is dropped, the kill goes now.
        let mut p = Process::new();
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 42);
        feed(&mut p, &s, Event::Stop, t0);
        let out = feed(&mut p, &s, Event::Force, t0 + secs(1));
        assert_eq!(logs(&s, &out), ["killing 'w' (42) with SIGKILL"]);
        assert_eq!(actions(&out), [sigkill_group(42)]);
        assert_eq!((p.state(), p.deadline()), (ProcessState::Stopping, None));
        // Still running (a later group of the ordered stop): stopping from now on.
        let mut p = Process::new();
        launch(&mut p, &s, t0, 43);
        let out = feed(&mut p, &s, Event::Force, t0);
        assert_eq!(actions(&out), [sigkill_group(43)]);
        assert_eq!(p.state(), ProcessState::Stopping);
        let sigkilled = ExitStatus::Signal {
            signal: libc::SIGKILL,
            core: false,
        };
        feed(&mut p, &s, Event::Exited(sigkilled), t0 + secs(1));
        assert_eq!(p.state(), ProcessState::Stopped);
        // No child: nothing to do.
        assert!(feed(&mut p, &s, Event::Force, t0).is_empty());
    }

    #[test]
    fn stopped_with_expected_code_is_info_and_no_restart() {
        let mut s = spec("w", &["x"]);
        s.autorestart = AutoRestart::Always;
        s.stopasgroup = true;
        let mut p = Process::new();
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 9);
        let out = feed(&mut p, &s, Event::Stop, t0);
        assert!(out.contains(&Effect::Kill {
            pid: 9,
            signal: libc::SIGTERM,
            group: true
        }));
        let out = feed(&mut p, &s, exit_code(0), t0);
        assert_eq!(
            lines(&s, &out),
            [(Level::Info, "stopped: w (exit status 0)".into())]
        );
        assert_eq!(p.state(), ProcessState::Stopped);
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn stop_refusals_and_backoff_stop() {
        let s = spec("w", &["x"]);
        let t0 = Instant::now();
        let mut p = Process::new();
        assert_eq!(
            p.handle(Event::Stop, &s, t0, true),
            Err(Refused::NotRunning)
        );
        launch(&mut p, &s, t0, 1);
        feed(&mut p, &s, exit_code(1), t0);
        assert_eq!(p.state(), ProcessState::Backoff);
        let out = feed(&mut p, &s, Event::Stop, t0);
        assert!(actions(&out).is_empty(), "no signal for BACKOFF");
        assert!(logs(&s, &out).is_empty());
        assert_eq!(p.state(), ProcessState::Stopped);
        assert_eq!(p.deadline(), None);
        assert_eq!(p.backoff(), 0);
        // A pending autorestart is cancelled by a stop request.
        let mut s2 = spec("w", &["x"]);
        s2.autorestart = AutoRestart::Always;
        let (mut p, _) = run_then_exit(&s2, ExitStatus::Code(0), ms(1500));
        assert!(p.deadline().is_some());
        assert_eq!(
            p.handle(Event::Stop, &s2, t0, true),
            Err(Refused::NotRunning)
        );
        assert_eq!(p.deadline(), None);
    }

    #[test]
    fn start_refusals() {
        let s = spec("w", &["x"]);
        let t0 = Instant::now();
        let mut p = Process::new();
        launch(&mut p, &s, t0, 1);
        assert_eq!(
            p.handle(Event::Start, &s, t0, true),
            Err(Refused::AlreadyStarted)
        );
        feed(&mut p, &s, exit_code(1), t0);
        assert_eq!(
            p.handle(Event::Start, &s, t0, true),
            Err(Refused::AlreadyStarted)
        );
        // FATAL and EXITED can be started again.
        p.handle(Event::OrderedStop, &s, t0, false).unwrap();
        assert_eq!(p.state(), ProcessState::Fatal);
        let out = feed(&mut p, &s, Event::Start, t0);
        assert_eq!(actions(&out), [Effect::Spawn]);
        feed(&mut p, &s, Event::Spawned(2), t0);
        feed(&mut p, &s, Event::Stop, t0);
        assert_eq!(
            p.handle(Event::Start, &s, t0, true),
            Err(Refused::NotRunning)
        );
    }

    #[test]
    fn exit_in_starting_after_startsecs_counts_as_running() {
        let s = spec("w", &["x"]);
        let mut p = Process::new();
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 1);
        let out = feed(&mut p, &s, exit_code(0), t0 + secs(1));
        assert_eq!(p.state(), ProcessState::Exited);
        assert_eq!(
            logs(&s, &out),
            [
                "success: w entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)",
                "exited: w (exit status 0; expected)"
            ]
        );
        // Both changes are reported, chained, naming the child that ran.
        let changes: Vec<_> = out
            .iter()
            .filter_map(|e| match e {
                Effect::Transition(t) => Some((t.from, t.to, t.pid, t.exit)),
                _ => None,
            })
            .collect();
        let exit = Exit {
            status: ExitStatus::Code(0),
            expected: true,
        };
        assert_eq!(
            changes,
            [
                (ProcessState::Starting, ProcessState::Running, 1, None),
                (ProcessState::Running, ProcessState::Exited, 1, Some(exit)),
            ]
        );
    }

    #[test]
    fn signal_failure_is_unknown_until_reaped() {
        let s = spec("w", &["x"]);
        let mut p = Process::new();
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 1);
        feed(&mut p, &s, Event::Stop, t0);
        let out = feed(&mut p, &s, Event::SignalFailed("EPERM".into()), t0);
        assert_eq!(p.state(), ProcessState::Unknown);
        assert_eq!(
            lines(&s, &out),
            [(Level::Crit, "unknown problem killing w (1):EPERM".into())]
        );
        assert_eq!(p.deadline(), None);
        let out = feed(&mut p, &s, exit_code(0), t0);
        assert_eq!(p.state(), ProcessState::Stopped);
        assert_eq!(logs(&s, &out), ["stopped: w (exit status 0)"]);
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let mut s = spec("w", &["x"]);
        s.startsecs = u64::MAX;
        s.stopwaitsecs = u64::MAX;
        let mut p = Process::new();
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 1);
        assert!(p.deadline().unwrap().0 > t0);
        feed(&mut p, &s, Event::Stop, t0);
        assert!(p.deadline().unwrap().0 > t0);
    }

    fn ready_spec() -> ProcessSpec {
        let mut s = spec("app", &["x"]);
        s.lifecycle.ready_check = Some(Check::Tcp {
            host: "127.0.0.1".into(),
            port: 1,
        });
        s.lifecycle.ready_timeout = 5;
        s.startretries = 1;
        s
    }

    #[test]
    fn ready_check_makes_running_and_startsecs_do_not() {
        let s = ready_spec();
        let mut p = Process::new();
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 4);
        assert_eq!(p.deadline(), Some((t0 + secs(5), Timer::Ready)));
        // startsecs (1) pass: still STARTING.
        assert!(feed(&mut p, &s, Event::Deadline, t0 + secs(1)).is_empty());
        assert_eq!(p.state(), ProcessState::Starting);
        let out = feed(&mut p, &s, Event::Ready, t0 + secs(2));
        assert_eq!(p.state(), ProcessState::Running);
        assert_eq!(
            logs(&s, &out),
            ["success: app entered RUNNING state, its ready check passed"]
        );
        assert_eq!(p.deadline(), None);
        // A late second report changes nothing.
        assert!(feed(&mut p, &s, Event::Ready, t0 + secs(3)).is_empty());
    }

    #[test]
    fn not_ready_in_time_is_a_failed_start() {
        let s = ready_spec();
        let mut p = Process::new();
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 4);
        let out = feed(&mut p, &s, Event::Deadline, t0 + secs(5));
        assert_eq!(
            actions(&out),
            [Effect::Kill {
                pid: 4,
                signal: libc::SIGKILL,
                group: false
            }]
        );
        // A ready report after the verdict does not count.
        assert!(feed(&mut p, &s, Event::Ready, t0 + secs(5)).is_empty());
        let kill = ExitStatus::Signal {
            signal: libc::SIGKILL,
            core: false,
        };
        feed(&mut p, &s, Event::Exited(kill), t0 + secs(5));
        assert_eq!(p.state(), ProcessState::Backoff);
        assert_eq!(
            p.spawnerr(),
            Some("not ready within 5 seconds (ready_timeout)")
        );
        // The retry, then an exit before ready: FATAL (startretries=1).
        let out = feed(&mut p, &s, Event::Deadline, t0 + secs(6));
        assert_eq!(actions(&out), [Effect::Spawn]);
        feed(&mut p, &s, Event::Spawned(5), t0 + secs(6));
        feed(&mut p, &s, exit_code(0), t0 + secs(30));
        assert_eq!(p.state(), ProcessState::Fatal);
    }

    #[test]
    fn unhealthy_restarts_through_stopping() {
        let s = spec("app", &["x"]);
        let mut p = Process::new();
        let t0 = Instant::now();
        let (mut p2, _) = run_then_exit_never(&s, t0);
        std::mem::swap(&mut p, &mut p2);
        let out = feed(&mut p, &s, Event::Unhealthy, t0 + secs(9));
        assert_eq!(p.state(), ProcessState::Stopping);
        assert_eq!(
            actions(&out),
            [Effect::Kill {
                pid: 3,
                signal: 15,
                group: false
            }]
        );
        let term = ExitStatus::Signal {
            signal: 15,
            core: false,
        };
        let out = feed(&mut p, &s, Event::Exited(term), t0 + secs(10));
        assert_eq!(actions(&out), [Effect::Spawn]);
        assert_eq!(p.state(), ProcessState::Starting);
        // Not while shutting down.
        let mut p = run_then_exit_never(&s, t0).0;
        p.handle(Event::Unhealthy, &s, t0 + secs(9), false).unwrap();
        let out = p
            .handle(Event::Exited(term), &s, t0 + secs(10), false)
            .unwrap();
        assert!(actions(&out).is_empty());
        assert_eq!(p.state(), ProcessState::Stopped);
    }

    /// A RUNNING process with pid 3 started at `t0`.
    fn run_then_exit_never(s: &ProcessSpec, t0: Instant) -> (Process, ()) {
        let mut p = Process::new();
        launch(&mut p, s, t0, 3);
        feed(&mut p, s, Event::Deadline, t0 + secs(s.startsecs));
        assert_eq!(p.state(), ProcessState::Running);
        (p, ())
    }

    #[test]
    fn describe_statuses() {
        assert_eq!(ExitStatus::Code(3).describe(), "exit status 3");
        assert_eq!(
            ExitStatus::Signal {
                signal: libc::SIGSEGV,
                core: true
            }
            .describe(),
            "terminated by SIGSEGV (core dumped)"
        );
        assert_eq!(
            ExitStatus::Signal {
                signal: 15,
                core: false
            }
            .shell_code(),
            143
        );
    }

    /// Random lives of one process against a model of the world (its child), checking the machine's
    /// invariants after every event.
    mod walk {
        use super::*;
        use proptest::prelude::*;
        use ProcessState::*;

        /// supervisord's transition table (reference 2.3), plus steward's one addition: the child of a
        /// failed kill is still reaped, UNKNOWN -> STOPPED.
        const ALLOWED: &[(ProcessState, ProcessState)] = &[
            (Stopped, Starting),
            (Exited, Starting),
            (Fatal, Starting),
            (Backoff, Starting),
            (Starting, Running),
            (Starting, Backoff),
            (Running, Exited),
            (Backoff, Fatal),
            (Backoff, Stopped),
            (Running, Stopping),
            (Starting, Stopping),
            (Stopping, Stopped),
            (Running, Unknown),
            (Starting, Unknown),
            (Stopping, Unknown),
            (Unknown, Stopped),
        ];

        #[derive(Debug, Clone)]
        enum Step {
            Start,
            Stop,
            Halt,
            OrderedStop,
            /// Time passes by this many ms, then the loop feeds a deadline event.
            Tick(u64),
            /// The child is reaped (a stray status when there is none).
            Exit(ExitStatus),
            /// The ready check passed / the liveness check gave up (whatever the state).
            Ready,
            Unhealthy,
            /// The child daemonized: its daemon (a new pid) is followed.
            Follow,
            /// A second Ctrl-C.
            Force,
            /// Reports no spawn asked for.
            StraySpawned,
            StraySpawnFailed,
        }

        /// One step, how the world answers the spawns and kills it causes, and whether steward is
        /// still running (`may_start`).
        type Move = (Step, bool, bool, bool);

        fn status() -> impl Strategy<Value = ExitStatus> {
            prop_oneof![
                (0..4i32).prop_map(ExitStatus::Code),
                prop_oneof![Just(libc::SIGKILL), Just(libc::SIGTERM)].prop_map(|signal| {
                    ExitStatus::Signal {
                        signal,
                        core: false,
                    }
                }),
            ]
        }

        fn step() -> impl Strategy<Value = Step> {
            prop_oneof![
                3 => Just(Step::Start),
                2 => Just(Step::Stop),
                1 => Just(Step::Halt),
                1 => Just(Step::OrderedStop),
                5 => prop_oneof![
                    Just(0u64), Just(1), Just(500), Just(999), Just(1000), Just(1001), Just(2500),
                    Just(6000), 0..12_000u64
                ]
                .prop_map(Step::Tick),
                4 => status().prop_map(Step::Exit),
                1 => Just(Step::StraySpawned),
                1 => Just(Step::StraySpawnFailed),
                2 => Just(Step::Ready),
                1 => Just(Step::Unhealthy),
                1 => Just(Step::Follow),
                1 => Just(Step::Force),
            ]
        }

        fn moves() -> impl Strategy<Value = Vec<Move>> {
            let one = (
                step(),
                prop::bool::weighted(0.8),
                prop::bool::weighted(0.9),
                prop::bool::weighted(0.9),
            );
            prop::collection::vec(one, 1..60)
        }

        fn specs() -> impl Strategy<Value = ProcessSpec> {
            let auto = prop_oneof![
                Just(AutoRestart::Always),
                Just(AutoRestart::Unexpected),
                Just(AutoRestart::Never)
            ];
            let codes = prop_oneof![Just(vec![0]), Just(vec![0, 2]), Just(vec![1])];
            let startsecs = prop_oneof![Just(0u64), Just(1), Just(5)];
            let stopwait = prop_oneof![Just(0u64), Just(1), Just(10)];
            let ready = prop_oneof![Just(None), Just(Some(3u64)), Just(Some(0))];
            (
                (startsecs, 0..4u32, auto, codes, stopwait, any::<bool>()),
                ready,
            )
                .prop_map(
                    |(
                        (startsecs, startretries, autorestart, exitcodes, stopwaitsecs, group),
                        ready,
                    )| {
                        let mut s = spec("p", &["x"]);
                        s.startsecs = startsecs;
                        s.startretries = startretries;
                        s.autorestart = autorestart;
                        s.exitcodes = exitcodes;
                        s.stopwaitsecs = stopwaitsecs;
                        s.killasgroup = group;
                        if let Some(timeout) = ready {
                            s.lifecycle.ready_check = Some(Check::Notify);
                            s.lifecycle.ready_timeout = timeout;
                        }
                        s
                    },
                )
        }

        /// Feed one event and check that its transitions chain from the old state to the new one,
        /// are allowed, and carry what a listener needs.
        fn checked(
            p: &mut Process,
            s: &ProcessSpec,
            ev: Event,
            now: Instant,
            may: bool,
        ) -> Result<Vec<Effect>, TestCaseError> {
            let before = p.state();
            let before_deadline = p.deadline();
            let out = match p.handle(ev.clone(), s, now, may) {
                Ok(out) => out,
                Err(_) => {
                    prop_assert!(matches!(ev, Event::Start | Event::Stop));
                    prop_assert_eq!(p.state(), before);
                    return Ok(vec![]);
                }
            };
            let chain: Vec<&Transition> = out
                .iter()
                .filter_map(|e| match e {
                    Effect::Transition(t) => Some(t),
                    _ => None,
                })
                .collect();
            let mut at = before;
            for t in &chain {
                prop_assert_eq!(t.from, at, "chain broken by {:?}", t);
                prop_assert!(t.from != t.to, "a transition to the same state: {:?}", t);
                prop_assert!(
                    ALLOWED.contains(&(t.from, t.to)),
                    "not in the table: {:?} on {:?}",
                    t,
                    ev
                );
                if t.to == Running && s.lifecycle.ready_check.is_some() {
                    // With a ready check, only the check makes a process RUNNING.
                    prop_assert_eq!(t.cause, Cause::Ready, "{:?}", t);
                }
                match t.to {
                    Starting => prop_assert_eq!(t.pid, 0),
                    Running | Stopping | Unknown => prop_assert!(t.pid > 0),
                    Exited => prop_assert!(t.pid > 0 && t.exit.is_some()),
                    Stopped => prop_assert_eq!(t.exit.is_some(), t.from != Backoff),
                    Backoff => prop_assert!(t.tries >= 1 && t.spawnerr.is_some()),
                    Fatal => prop_assert_eq!(t.tries, 0),
                }
                at = t.to;
            }
            prop_assert_eq!(at, p.state(), "the chain does not end in the new state");
            if let Event::Deadline = ev {
                if !matches!(before_deadline, Some((due, _)) if now >= due) {
                    prop_assert!(out.is_empty(), "a deadline that was not due did something");
                    prop_assert_eq!(p.deadline(), before_deadline);
                }
            }
            Ok(out)
        }

        /// What the world knows of the process, beyond what [`Process`] shows.
        #[derive(Default)]
        struct World {
            /// The live child, as the kernel would have it.
            child: Option<i32>,
            next_pid: i32,
            /// SIGKILL went to the current child (in this stop, once STOPPING): the timers meant to
            /// end it have nothing left to do.
            sigkilled: bool,
            /// Since the last state change, something took away the right to start by itself (a
            /// halt, a stop, an event fed with `may_start` false): no retry or autorestart is owed.
            held: bool,
            /// The last exit to EXITED was expected.
            expected: bool,
        }

        /// The world's side: carry out spawns and kills as the supervisor would, feeding back what
        /// happened, depth first in effect order.
        fn run(
            p: &mut Process,
            s: &ProcessSpec,
            ev: Event,
            now: Instant,
            mv: &Move,
            w: &mut World,
        ) -> Result<(), TestCaseError> {
            let (_, spawn_ok, kill_ok, may) = *mv;
            for effect in checked(p, s, ev, now, may)? {
                match effect {
                    Effect::Spawn => {
                        prop_assert_eq!(w.child, None, "a spawn while a child lives");
                        w.sigkilled = false;
                        let report = if spawn_ok {
                            w.next_pid += 1;
                            w.child = Some(w.next_pid);
                            Event::Spawned(w.next_pid)
                        } else {
                            Event::SpawnFailed("can't find command 'x'".into())
                        };
                        run(p, s, report, now, mv, w)?;
                    }
                    Effect::Kill { pid, signal, .. } => {
                        prop_assert_eq!(Some(pid), w.child, "a kill of no child of ours");
                        w.sigkilled |= signal == libc::SIGKILL;
                        if !kill_ok {
                            let report = Event::SignalFailed("EPERM".into());
                            run(p, s, report, now, mv, w)?;
                        }
                    }
                    Effect::Transition(t) => {
                        w.held = false;
                        if t.to == Stopping {
                            w.sigkilled = false;
                        }
                        if t.to == Exited {
                            w.expected = t.exit.is_some_and(|e| e.expected);
                        }
                    }
                    Effect::Log(..) => {}
                }
            }
            Ok(())
        }

        fn invariants(p: &Process, s: &ProcessSpec, w: &World) -> Result<(), TestCaseError> {
            let state = p.state();
            prop_assert_eq!(p.pid(), w.child.unwrap_or(0), "the pid is not our child's");
            let has_child = matches!(state, Starting | Running | Stopping | Unknown);
            prop_assert_eq!(p.pid() != 0, has_child, "pid {} in {:?}", p.pid(), state);
            let timer = p.deadline().map(|(_, timer)| timer);
            if let Some(timer) = timer {
                let owner = match timer {
                    Timer::Startsecs => Starting,
                    Timer::Retry => Backoff,
                    Timer::Restart => Exited,
                    Timer::Kill => Stopping,
                    Timer::Ready => Starting,
                };
                prop_assert_eq!(owner, state, "{:?} armed in {:?}", timer, state);
            }
            // The other way round: a state that waits for time has its timer.
            let owed = match state {
                Stopping if !w.sigkilled => Some(Timer::Kill),
                Starting if s.lifecycle.ready_check.is_some() => {
                    (!w.sigkilled).then_some(Timer::Ready)
                }
                Starting if s.startsecs > 0 => Some(Timer::Startsecs),
                Backoff if !w.held => Some(Timer::Retry),
                Exited if !w.held => match s.autorestart {
                    AutoRestart::Always => Some(Timer::Restart),
                    AutoRestart::Unexpected if !w.expected => Some(Timer::Restart),
                    _ => None,
                },
                _ => None,
            };
            if let Some(owed) = owed {
                prop_assert_eq!(timer, Some(owed), "{:?} without its timer", state);
            }
            prop_assert_eq!(p.killing(), matches!(state, Stopping | Unknown));
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

            #[test]
            fn random_lives_keep_the_invariants(s in specs(), moves in moves()) {
                let mut p = Process::new();
                let mut now = Instant::now();
                let mut w = World { next_pid: 100, ..World::default() };
                for mv in &moves {
                    let ev = match &mv.0 {
                        Step::Start => Event::Start,
                        Step::Stop => Event::Stop,
                        Step::Halt => Event::Halt,
                        Step::OrderedStop => Event::OrderedStop,
                        Step::Ready => Event::Ready,
                        Step::Unhealthy => Event::Unhealthy,
                        Step::Force => Event::Force,
                        Step::Follow => {
                            if w.child.is_none() {
                                let before = (p.state(), p.pid(), p.deadline());
                                let out = checked(&mut p, &s, Event::Followed(7), now, mv.3)?;
                                prop_assert!(out.is_empty(), "a stray follow did {:?}", out);
                                prop_assert_eq!(before, (p.state(), p.pid(), p.deadline()));
                                continue;
                            }
                            w.next_pid += 1;
                            w.child = Some(w.next_pid);
                            // A new process: no SIGKILL has reached it yet.
                            w.sigkilled = false;
                            Event::Followed(w.next_pid)
                        }
                        Step::Tick(ms) => {
                            now += Duration::from_millis(*ms);
                            Event::Deadline
                        }
                        Step::Exit(status) => {
                            if w.child.take().is_none() {
                                let before = (p.state(), p.deadline());
                                let out = checked(&mut p, &s, Event::Exited(*status), now, mv.3)?;
                                prop_assert!(out.is_empty(), "a stray exit did {:?}", out);
                                prop_assert_eq!(before, (p.state(), p.deadline()));
                                continue;
                            }
                            Event::Exited(*status)
                        }
                        stray @ (Step::StraySpawned | Step::StraySpawnFailed) => {
                            let ev = if matches!(stray, Step::StraySpawned) {
                                Event::Spawned(7)
                            } else {
                                Event::SpawnFailed("?".into())
                            };
                            let before = (p.state(), p.pid(), p.deadline());
                            let out = checked(&mut p, &s, ev, now, mv.3)?;
                            prop_assert!(out.is_empty(), "a stray spawn report did {:?}", out);
                            prop_assert_eq!(before, (p.state(), p.pid(), p.deadline()));
                            continue;
                        }
                    };
                    let holds = matches!(ev, Event::Halt | Event::Stop) || !mv.3;
                    run(&mut p, &s, ev, now, mv, &mut w)?;
                    w.held |= holds;
                    invariants(&p, &s, &w)?;
                }
            }
        }
    }
}
