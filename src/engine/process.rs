//! One process's lifecycle as a pure state machine: `(state, event, now) -> effects`.
//!
//! Nothing here does I/O or reads a clock. The supervisor feeds events (a start or stop request, the
//! result of a spawn, an exit status, a deadline reached) with the current monotonic time, then carries
//! out the returned effects. The transitions follow supervisord 4.3.0 (shared reference, 2.2–2.3) with the
//! documented differences: reaping is prompt, so the 1 s tick races don't exist; a process that ran a
//! while is restarted at once, but never sooner than 1 s after its previous start.

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

/// What the supervisor must do after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Fork/exec the process now, then report `spawned` or `spawn_failed`.
    Spawn,
    /// Send `signal` to `pid`, or to its process group when `group`; report `signal_failed` on an error
    /// other than ESRCH.
    Kill {
        pid: i32,
        signal: i32,
        group: bool,
    },
    Log(Level, String),
}

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

/// The dynamic state of one process.
#[derive(Debug, Clone)]
pub struct Process {
    pub name: String,
    pub state: ProcessState,
    /// 0 when there is no child.
    pub pid: i32,
    pub laststart: Option<Instant>,
    /// Consecutive failed starts (supervisord's `backoff`).
    pub backoff: u32,
    pub deadline: Option<(Instant, Timer)>,
    pub spawnerr: Option<String>,
    /// Last exit code; -1 for a death by signal; 0 when unknown.
    pub exitstatus: i32,
    /// True while a stop is in progress (supervisord's `killing`).
    pub killing: bool,
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
    pub fn new(name: &str) -> Process {
        Process {
            name: name.to_string(),
            state: ProcessState::Stopped,
            pid: 0,
            laststart: None,
            backoff: 0,
            deadline: None,
            spawnerr: None,
            exitstatus: 0,
            killing: false,
        }
    }

    /// A start request (`startProcess`, autostart).
    pub fn start(&mut self, now: Instant, out: &mut Vec<Effect>) -> Result<(), Refused> {
        match self.state {
            ProcessState::Stopped | ProcessState::Exited | ProcessState::Fatal => {
                self.begin_spawn(now, out);
                Ok(())
            }
            ProcessState::Starting | ProcessState::Running | ProcessState::Backoff => {
                Err(Refused::AlreadyStarted)
            }
            ProcessState::Stopping => Err(Refused::NotRunning),
            ProcessState::Unknown => Err(Refused::Unknown),
        }
    }

    fn begin_spawn(&mut self, now: Instant, out: &mut Vec<Effect>) {
        self.state = ProcessState::Starting;
        self.laststart = Some(now);
        self.deadline = None;
        self.spawnerr = None;
        self.killing = false;
        out.push(Effect::Spawn);
    }

    /// The fork/exec succeeded.
    pub fn spawned(&mut self, pid: i32, spec: &ProcessSpec, now: Instant, out: &mut Vec<Effect>) {
        self.pid = pid;
        // startsecs count from the moment the program really runs.
        self.laststart = Some(now);
        out.push(Effect::Log(
            Level::Info,
            format!("spawned: '{}' with pid {pid}", self.name),
        ));
        if spec.startsecs == 0 {
            // supervisord promotes on its next tick; with startsecs=0 that is "immediately".
            self.become_running(spec, out);
        } else {
            self.deadline = Some((later(now, spec.startsecs), Timer::Startsecs));
        }
    }

    /// The command could not be started (not found, not executable, bad user or directory…).
    pub fn spawn_failed(
        &mut self,
        err: &str,
        spec: &ProcessSpec,
        now: Instant,
        out: &mut Vec<Effect>,
    ) {
        self.pid = 0;
        self.spawnerr = Some(err.to_string());
        out.push(Effect::Log(Level::Info, format!("spawnerr: {err}")));
        self.enter_backoff(spec, now, out);
    }

    fn become_running(&mut self, spec: &ProcessSpec, out: &mut Vec<Effect>) {
        self.state = ProcessState::Running;
        self.backoff = 0;
        self.deadline = None;
        out.push(Effect::Log(
            Level::Info,
            format!(
                "success: {} entered RUNNING state, process has stayed up for > than {} seconds (startsecs)",
                self.name, spec.startsecs
            ),
        ));
    }

    fn enter_backoff(&mut self, spec: &ProcessSpec, now: Instant, out: &mut Vec<Effect>) {
        self.state = ProcessState::Backoff;
        self.backoff += 1;
        if self.backoff > spec.startretries {
            // supervisord decides this on the tick after entering BACKOFF; nothing can happen in between.
            self.give_up();
            out.push(Effect::Log(
                Level::Info,
                format!(
                    "gave up: {} entered FATAL state, too many start retries too quickly",
                    self.name
                ),
            ));
        } else {
            self.deadline = Some((later(now, u64::from(self.backoff)), Timer::Retry));
        }
    }

    /// BACKOFF -> FATAL without a message (retries exhausted, or BACKOFF at shutdown).
    pub fn give_up(&mut self) {
        self.state = ProcessState::Fatal;
        self.backoff = 0;
        self.deadline = None;
    }

    /// The child was reaped. `may_restart` is false while steward is shutting down or reloading.
    pub fn exited(
        &mut self,
        status: ExitStatus,
        spec: &ProcessSpec,
        now: Instant,
        may_restart: bool,
        out: &mut Vec<Effect>,
    ) {
        let es = status.code();
        let expected = spec.exitcodes.contains(&es) && matches!(status, ExitStatus::Code(_));
        let desc = status.describe();
        let too_quickly = self
            .laststart
            .is_some_and(|t| now.saturating_duration_since(t) < secs(spec.startsecs));
        self.pid = 0;
        match self.state {
            ProcessState::Stopping | ProcessState::Unknown if self.killing => {
                self.killing = false;
                self.deadline = None;
                self.exitstatus = es;
                self.state = ProcessState::Stopped;
                let level = if expected { Level::Info } else { Level::Warn };
                out.push(Effect::Log(
                    level,
                    format!("stopped: {} ({desc})", self.name),
                ));
            }
            ProcessState::Starting if too_quickly => {
                self.exitstatus = 0;
                self.spawnerr = Some("Exited too quickly (process log may have details)".into());
                out.push(Effect::Log(
                    Level::Info,
                    format!("exited: {} ({desc}; not expected)", self.name),
                ));
                self.enter_backoff(spec, now, out);
            }
            ProcessState::Starting
            | ProcessState::Running
            | ProcessState::Stopping
            | ProcessState::Unknown => {
                if self.state == ProcessState::Starting {
                    // It did stay up for startsecs; the deadline just hasn't been handled yet.
                    self.become_running(spec, out);
                }
                self.backoff = 0;
                self.killing = false;
                self.exitstatus = es;
                if expected {
                    out.push(Effect::Log(
                        Level::Info,
                        format!("exited: {} ({desc}; expected)", self.name),
                    ));
                } else {
                    self.spawnerr = Some(format!("Bad exit code {es}"));
                    out.push(Effect::Log(
                        Level::Warn,
                        format!("exited: {} ({desc}; not expected)", self.name),
                    ));
                }
                self.state = ProcessState::Exited;
                self.deadline = None;
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
            // No child exists in these states; a stray status changes nothing.
            ProcessState::Stopped
            | ProcessState::Backoff
            | ProcessState::Exited
            | ProcessState::Fatal => {}
        }
    }

    /// The pending deadline, if it is due at `now`, fires. `may_start` is false while shutting down.
    pub fn on_deadline(
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
            (Timer::Startsecs, ProcessState::Starting) => self.become_running(spec, out),
            (Timer::Retry, ProcessState::Backoff) | (Timer::Restart, ProcessState::Exited)
                if may_start =>
            {
                self.begin_spawn(now, out)
            }
            (Timer::Kill, ProcessState::Stopping) if self.pid > 0 => {
                out.push(Effect::Log(
                    Level::Warn,
                    format!("killing '{}' ({}) with SIGKILL", self.name, self.pid),
                ));
                // Sent once: a process that survives SIGKILL stays STOPPING, as in supervisord.
                out.push(Effect::Kill {
                    pid: self.pid,
                    signal: libc::SIGKILL,
                    group: spec.killasgroup,
                });
            }
            _ => {}
        }
    }

    /// A stop request (`stopProcess`, shutdown, reload).
    pub fn stop(
        &mut self,
        spec: &ProcessSpec,
        now: Instant,
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
                        self.name,
                        self.pid,
                        signame(spec.stopsignal)
                    ),
                ));
                self.state = ProcessState::Stopping;
                self.killing = true;
                self.deadline = Some((later(now, spec.stopwaitsecs), Timer::Kill));
                out.push(Effect::Kill {
                    pid: self.pid,
                    signal: spec.stopsignal,
                    group: spec.stopasgroup,
                });
                Ok(())
            }
            ProcessState::Backoff => {
                // Deliberate difference: supervisord keeps the backoff count across a stop.
                self.state = ProcessState::Stopped;
                self.backoff = 0;
                self.deadline = None;
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

    /// `kill()` failed with something other than ESRCH.
    pub fn signal_failed(&mut self, err: &str, out: &mut Vec<Effect>) {
        out.push(Effect::Log(
            Level::Crit,
            format!("unknown problem killing {} ({}):{err}", self.name, self.pid),
        ));
        self.state = ProcessState::Unknown;
        self.deadline = None;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::model::*;

    /// A process spec with supervisord's defaults, output discarded, no console prefix.
    pub(crate) fn spec(name: &str, argv: &[&str]) -> ProcessSpec {
        ProcessSpec {
            stdout: LogSpec::new(LogTarget::None),
            stderr: LogSpec::new(LogTarget::None),
            console_prefix: ConsolePrefix::Off,
            ..ProcessSpec::new(name, argv)
        }
    }

    fn logs(out: &[Effect]) -> Vec<String> {
        out.iter()
            .filter_map(|e| match e {
                Effect::Log(_, m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Start and spawn with `pid`; returns the effects of the spawn report.
    fn launch(p: &mut Process, s: &ProcessSpec, now: Instant, pid: i32) -> Vec<Effect> {
        let mut out = vec![];
        p.start(now, &mut out).unwrap();
        assert_eq!(out, vec![Effect::Spawn]);
        assert_eq!(p.state, ProcessState::Starting);
        out.clear();
        p.spawned(pid, s, now, &mut out);
        out
    }

    #[test]
    fn starting_to_running_after_startsecs() {
        let s = spec("web", &["x"]);
        let mut p = Process::new("web");
        let t0 = Instant::now();
        let out = launch(&mut p, &s, t0, 12);
        assert_eq!(logs(&out), ["spawned: 'web' with pid 12"]);
        assert_eq!(p.deadline, Some((t0 + secs(1), Timer::Startsecs)));
        let mut out = vec![];
        p.on_deadline(&s, t0 + ms(999), true, &mut out);
        assert_eq!(p.state, ProcessState::Starting);
        p.on_deadline(&s, t0 + secs(1), true, &mut out);
        assert_eq!(p.state, ProcessState::Running);
        assert_eq!(
            logs(&out),
            ["success: web entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)"]
        );
        assert_eq!(p.deadline, None);
    }

    #[test]
    fn startsecs_zero_is_running_at_once() {
        let mut s = spec("job", &["x"]);
        s.startsecs = 0;
        let mut p = Process::new("job");
        let out = launch(&mut p, &s, Instant::now(), 5);
        assert_eq!(p.state, ProcessState::Running);
        assert_eq!(logs(&out).len(), 2);
        assert_eq!(p.deadline, None);
    }

    #[test]
    fn exit_during_startsecs_is_backoff_even_with_code_0() {
        let s = spec("web", &["x"]);
        let mut p = Process::new("web");
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 7);
        let mut out = vec![];
        p.exited(ExitStatus::Code(0), &s, t0 + ms(10), true, &mut out);
        assert_eq!(p.state, ProcessState::Backoff);
        assert_eq!(logs(&out), ["exited: web (exit status 0; not expected)"]);
        assert_eq!(
            p.spawnerr.as_deref(),
            Some("Exited too quickly (process log may have details)")
        );
        assert_eq!(p.exitstatus, 0);
        assert_eq!(p.pid, 0);
        assert_eq!(p.deadline, Some((t0 + ms(10) + secs(1), Timer::Retry)));
    }

    /// startretries=3: attempts at about 0, 1, 3, 6 s, then FATAL (reference 2.3, backoff rule).
    #[test]
    fn backoff_series_then_fatal() {
        let s = spec("web", &["x"]);
        let mut p = Process::new("web");
        let t0 = Instant::now();
        let mut now = t0;
        let mut attempts = vec![];
        let mut out = vec![];
        p.start(now, &mut out).unwrap();
        for pid in 1.. {
            assert_eq!(out.last(), Some(&Effect::Spawn));
            attempts.push(now - t0);
            out.clear();
            p.spawned(pid, &s, now, &mut out);
            out.clear();
            p.exited(ExitStatus::Code(1), &s, now, true, &mut out);
            if p.state == ProcessState::Fatal {
                assert_eq!(
                    logs(&out).last().unwrap(),
                    "gave up: web entered FATAL state, too many start retries too quickly"
                );
                break;
            }
            assert_eq!(p.state, ProcessState::Backoff);
            let (at, t) = p.deadline.unwrap();
            assert_eq!(t, Timer::Retry);
            // Not a moment early.
            out.clear();
            p.on_deadline(&s, at - ms(1), true, &mut out);
            assert!(out.is_empty());
            now = at;
            p.on_deadline(&s, now, true, &mut out);
        }
        assert_eq!(attempts, [secs(0), secs(1), secs(3), secs(6)]);
        assert_eq!(p.backoff, 0);
        assert_eq!(p.deadline, None);
    }

    #[test]
    fn startretries_zero_means_one_attempt() {
        let mut s = spec("web", &["x"]);
        s.startretries = 0;
        let mut p = Process::new("web");
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 1);
        let mut out = vec![];
        p.exited(ExitStatus::Code(1), &s, t0, true, &mut out);
        assert_eq!(p.state, ProcessState::Fatal);
    }

    #[test]
    fn spawn_error_goes_backoff_then_fatal() {
        let mut s = spec("web", &["x"]);
        s.startretries = 1;
        let mut p = Process::new("web");
        let t0 = Instant::now();
        let mut out = vec![];
        p.start(t0, &mut out).unwrap();
        out.clear();
        p.spawn_failed("can't find command 'x'", &s, t0, &mut out);
        assert_eq!(p.state, ProcessState::Backoff);
        assert_eq!(logs(&out), ["spawnerr: can't find command 'x'"]);
        out.clear();
        p.on_deadline(&s, t0 + secs(1), true, &mut out);
        assert_eq!(out, [Effect::Spawn]);
        out.clear();
        p.spawn_failed("can't find command 'x'", &s, t0 + secs(1), &mut out);
        assert_eq!(p.state, ProcessState::Fatal);
        assert_eq!(p.spawnerr.as_deref(), Some("can't find command 'x'"));
    }

    fn run_then_exit(s: &ProcessSpec, status: ExitStatus, ran: Duration) -> (Process, Vec<Effect>) {
        let mut p = Process::new(&s.name);
        let t0 = Instant::now();
        launch(&mut p, s, t0, 3);
        let mut out = vec![];
        p.on_deadline(s, t0 + secs(s.startsecs), true, &mut out);
        assert_eq!(p.state, ProcessState::Running);
        out.clear();
        p.exited(status, s, t0 + ran, true, &mut out);
        (p, out)
    }

    #[test]
    fn autorestart_unexpected_with_exitcodes() {
        let mut s = spec("w", &["x"]);
        s.exitcodes = vec![0, 2];
        let (p, out) = run_then_exit(&s, ExitStatus::Code(2), secs(5));
        assert_eq!(p.state, ProcessState::Exited);
        assert_eq!(logs(&out), ["exited: w (exit status 2; expected)"]);
        assert_eq!(p.deadline, None);
        assert_eq!(p.exitstatus, 2);

        let (p, out) = run_then_exit(&s, ExitStatus::Code(1), secs(5));
        assert_eq!(logs(&out), ["exited: w (exit status 1; not expected)"]);
        assert_eq!(out[0], Effect::Log(Level::Warn, logs(&out)[0].clone()));
        assert_eq!(p.spawnerr.as_deref(), Some("Bad exit code 1"));
        // Ran long enough: restart at once.
        assert!(matches!(p.deadline, Some((_, Timer::Restart))));

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
            logs(&out),
            ["exited: w (terminated by SIGKILL; not expected)"]
        );
        assert_eq!(p.exitstatus, -1);
        assert!(p.deadline.is_some());
    }

    #[test]
    fn autorestart_true_and_false() {
        let mut s = spec("w", &["x"]);
        s.autorestart = AutoRestart::Always;
        let (p, _) = run_then_exit(&s, ExitStatus::Code(0), secs(5));
        assert_eq!(p.state, ProcessState::Exited);
        assert!(matches!(p.deadline, Some((_, Timer::Restart))));
        s.autorestart = AutoRestart::Never;
        let (p, _) = run_then_exit(&s, ExitStatus::Code(1), secs(5));
        assert_eq!(p.state, ProcessState::Exited);
        assert_eq!(p.deadline, None);
    }

    #[test]
    fn restart_after_long_run_is_immediate_and_resets_backoff() {
        let mut s = spec("w", &["x"]);
        s.autorestart = AutoRestart::Always;
        let mut p = Process::new("w");
        let t0 = Instant::now();
        p.backoff = 2;
        launch(&mut p, &s, t0, 3);
        let mut out = vec![];
        let t_exit = t0 + secs(30);
        p.exited(ExitStatus::Code(0), &s, t_exit, true, &mut out);
        assert_eq!(p.backoff, 0);
        assert_eq!(p.deadline, Some((t_exit, Timer::Restart)));
        out.clear();
        p.on_deadline(&s, t_exit, true, &mut out);
        assert_eq!(out, [Effect::Spawn]);
        assert_eq!(p.state, ProcessState::Starting);
    }

    #[test]
    fn crash_loop_with_startsecs_zero_is_held_to_one_start_per_second() {
        let mut s = spec("w", &["x"]);
        s.startsecs = 0;
        s.autorestart = AutoRestart::Always;
        let mut p = Process::new("w");
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 3);
        let mut out = vec![];
        p.exited(ExitStatus::Code(1), &s, t0 + ms(5), true, &mut out);
        assert_eq!(p.state, ProcessState::Exited);
        assert_eq!(p.deadline, Some((t0 + secs(1), Timer::Restart)));
        out.clear();
        p.on_deadline(&s, t0 + ms(500), true, &mut out);
        assert!(out.is_empty());
        p.on_deadline(&s, t0 + secs(1), true, &mut out);
        assert_eq!(out, [Effect::Spawn]);
    }

    #[test]
    fn no_restart_or_retry_while_shutting_down() {
        let mut s = spec("w", &["x"]);
        s.autorestart = AutoRestart::Always;
        let mut p = Process::new("w");
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 3);
        let mut out = vec![];
        p.exited(ExitStatus::Code(0), &s, t0 + secs(5), false, &mut out);
        assert_eq!(p.deadline, None);
        // A retry deadline that comes due during shutdown does nothing.
        let mut p = Process::new("w");
        launch(&mut p, &s, t0, 3);
        p.exited(ExitStatus::Code(0), &s, t0, true, &mut out);
        assert_eq!(p.state, ProcessState::Backoff);
        out.clear();
        p.on_deadline(&s, t0 + secs(9), false, &mut out);
        assert!(out.is_empty());
        assert_eq!(p.state, ProcessState::Backoff);
    }

    #[test]
    fn stop_sends_stopsignal_then_sigkill() {
        let mut s = spec("w", &["x"]);
        s.stopsignal = libc::SIGINT;
        s.stopwaitsecs = 3;
        s.killasgroup = true;
        let mut p = Process::new("w");
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 42);
        let mut out = vec![];
        p.stop(&s, t0 + secs(2), &mut out).unwrap();
        assert_eq!(p.state, ProcessState::Stopping);
        assert_eq!(
            out.last(),
            Some(&Effect::Kill {
                pid: 42,
                signal: libc::SIGINT,
                group: false
            })
        );
        assert_eq!(p.deadline, Some((t0 + secs(5), Timer::Kill)));
        out.clear();
        p.on_deadline(&s, t0 + secs(5), true, &mut out);
        assert_eq!(logs(&out), ["killing 'w' (42) with SIGKILL"]);
        assert_eq!(
            out.last(),
            Some(&Effect::Kill {
                pid: 42,
                signal: libc::SIGKILL,
                group: true
            })
        );
        assert_eq!(p.state, ProcessState::Stopping);
        out.clear();
        p.exited(
            ExitStatus::Signal {
                signal: libc::SIGKILL,
                core: false,
            },
            &s,
            t0 + secs(6),
            true,
            &mut out,
        );
        assert_eq!(p.state, ProcessState::Stopped);
        assert_eq!(
            out,
            [Effect::Log(
                Level::Warn,
                "stopped: w (terminated by SIGKILL)".into()
            )]
        );
        assert_eq!(p.deadline, None);
    }

    #[test]
    fn stopped_with_expected_code_is_info_and_no_restart() {
        let mut s = spec("w", &["x"]);
        s.autorestart = AutoRestart::Always;
        s.stopasgroup = true;
        let mut p = Process::new("w");
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 9);
        let mut out = vec![];
        p.stop(&s, t0, &mut out).unwrap();
        assert!(out.contains(&Effect::Kill {
            pid: 9,
            signal: libc::SIGTERM,
            group: true
        }));
        out.clear();
        p.exited(ExitStatus::Code(0), &s, t0, true, &mut out);
        assert_eq!(
            out,
            [Effect::Log(
                Level::Info,
                "stopped: w (exit status 0)".into()
            )]
        );
        assert_eq!(p.state, ProcessState::Stopped);
        assert_eq!(p.deadline, None);
    }

    #[test]
    fn stop_refusals_and_backoff_stop() {
        let s = spec("w", &["x"]);
        let t0 = Instant::now();
        let mut out = vec![];
        let mut p = Process::new("w");
        assert_eq!(p.stop(&s, t0, &mut out), Err(Refused::NotRunning));
        launch(&mut p, &s, t0, 1);
        p.exited(ExitStatus::Code(1), &s, t0, true, &mut out);
        assert_eq!(p.state, ProcessState::Backoff);
        out.clear();
        assert_eq!(p.stop(&s, t0, &mut out), Ok(()));
        assert!(out.is_empty(), "no signal for BACKOFF");
        assert_eq!(p.state, ProcessState::Stopped);
        assert_eq!(p.deadline, None);
        assert_eq!(p.backoff, 0);
        // A pending autorestart is cancelled by a stop request.
        let mut s2 = spec("w", &["x"]);
        s2.autorestart = AutoRestart::Always;
        let (mut p, _) = run_then_exit(&s2, ExitStatus::Code(0), ms(1500));
        assert!(p.deadline.is_some());
        assert_eq!(p.stop(&s2, t0, &mut out), Err(Refused::NotRunning));
        assert_eq!(p.deadline, None);
    }

    #[test]
    fn start_refusals() {
        let s = spec("w", &["x"]);
        let t0 = Instant::now();
        let mut out = vec![];
        let mut p = Process::new("w");
        launch(&mut p, &s, t0, 1);
        assert_eq!(p.start(t0, &mut out), Err(Refused::AlreadyStarted));
        p.exited(ExitStatus::Code(1), &s, t0, true, &mut out);
        assert_eq!(p.start(t0, &mut out), Err(Refused::AlreadyStarted));
        // FATAL and EXITED can be started again.
        p.give_up();
        out.clear();
        assert_eq!(p.start(t0, &mut out), Ok(()));
        assert_eq!(out, [Effect::Spawn]);
        p.spawned(2, &s, t0, &mut out);
        p.stop(&s, t0, &mut out).unwrap();
        assert_eq!(p.start(t0, &mut out), Err(Refused::NotRunning));
    }

    #[test]
    fn exit_in_starting_after_startsecs_counts_as_running() {
        let s = spec("w", &["x"]);
        let mut p = Process::new("w");
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 1);
        let mut out = vec![];
        p.exited(ExitStatus::Code(0), &s, t0 + secs(1), true, &mut out);
        assert_eq!(p.state, ProcessState::Exited);
        assert_eq!(
            logs(&out),
            [
                "success: w entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)",
                "exited: w (exit status 0; expected)"
            ]
        );
    }

    #[test]
    fn signal_failure_is_unknown() {
        let s = spec("w", &["x"]);
        let mut p = Process::new("w");
        launch(&mut p, &s, Instant::now(), 1);
        let mut out = vec![];
        p.signal_failed("EPERM", &mut out);
        assert_eq!(p.state, ProcessState::Unknown);
        assert!(matches!(out[0], Effect::Log(Level::Crit, _)));
    }

    #[test]
    fn huge_timeouts_do_not_overflow() {
        let mut s = spec("w", &["x"]);
        s.startsecs = u64::MAX;
        s.stopwaitsecs = u64::MAX;
        let mut p = Process::new("w");
        let t0 = Instant::now();
        launch(&mut p, &s, t0, 1);
        assert!(p.deadline.unwrap().0 > t0);
        let mut out = vec![];
        p.stop(&s, t0, &mut out).unwrap();
        assert!(p.deadline.unwrap().0 > t0);
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
}
