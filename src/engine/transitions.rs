//! Who hears about process state changes. The state machine reports every change as an
//! [`Effect::Transition`](crate::engine::process::Effect::Transition); the supervisor hands each one,
//! in order, to every registered [`Subscriber`].
//!
//! Adding a consumer (event listeners, metrics, dependency waits) is one type implementing
//! [`Subscriber`] (or a closure) and one registration line: in [`Subscribers::standard`] for one steward
//! always has, or `Supervisor::subscribe` for one the start-up wiring builds. The first subscriber is
//! [`MainLogPhrases`]: supervisord's main-log lines for state changes (`success: …`, `exited: …`,
//! `gave up: …`, `stopped: …`, `spawnerr: …`).

use std::time::Instant;

use crate::config::model::ProcessSpec;
use crate::engine::api::ProcessState;
use crate::engine::process::{Cause, Level, Transition};

/// A consumer of state changes. `who` is the process's configuration (group, name, startsecs…);
/// `now` is the monotonic time the change was applied.
pub trait Subscriber {
    fn transition(&mut self, who: &ProcessSpec, t: &Transition, now: Instant);
}

impl<F: FnMut(&ProcessSpec, &Transition, Instant)> Subscriber for F {
    fn transition(&mut self, who: &ProcessSpec, t: &Transition, now: Instant) {
        self(who, t, now)
    }
}

/// The registered subscribers, called in registration order.
#[derive(Default)]
pub struct Subscribers(Vec<Box<dyn Subscriber>>);

impl Subscribers {
    /// The subscribers every supervisor has.
    pub fn standard() -> Subscribers {
        let mut s = Subscribers::default();
        s.add(MainLogPhrases);
        s
    }

    pub fn add(&mut self, s: impl Subscriber + 'static) {
        self.0.push(Box::new(s));
    }

    pub fn notify(&mut self, who: &ProcessSpec, t: &Transition, now: Instant) {
        for s in &mut self.0 {
            s.transition(who, t, now);
        }
    }
}

/// Writes supervisord's main-log line for a state change, if it has one.
pub struct MainLogPhrases;

impl Subscriber for MainLogPhrases {
    fn transition(&mut self, who: &ProcessSpec, t: &Transition, _now: Instant) {
        if let Some((level, line)) = phrase(who, t) {
            crate::engine::mainlog::emit(level, &line);
        }
    }
}

/// supervisord's main-log line for a state change; `None` for the silent ones (STARTING, STOPPING,
/// UNKNOWN, STOPPED after a stop of BACKOFF, FATAL at shutdown).
pub fn phrase(who: &ProcessSpec, t: &Transition) -> Option<(Level, String)> {
    let name = &who.name;
    let exit = t.exit.map(|e| (e.status.describe(), e.expected));
    let by_expected = |expected| if expected { Level::Info } else { Level::Warn };
    match (t.to, t.cause, exit) {
        (ProcessState::Running, _, _) => Some((
            Level::Info,
            format!(
                "success: {name} entered RUNNING state, process has stayed up for > than {} seconds (startsecs)",
                who.startsecs
            ),
        )),
        (ProcessState::Backoff, Cause::SpawnFailed, _) => Some((
            Level::Info,
            format!("spawnerr: {}", t.spawnerr.as_deref().unwrap_or_default()),
        )),
        // An exit before startsecs: never expected, and a warning (as in supervisord).
        (ProcessState::Backoff, _, Some((desc, _))) => Some((
            Level::Warn,
            format!("exited: {name} ({desc}; not expected)"),
        )),
        (ProcessState::Exited, _, Some((desc, expected))) => {
            let verdict = if expected { "expected" } else { "not expected" };
            Some((
                by_expected(expected),
                format!("exited: {name} ({desc}; {verdict})"),
            ))
        }
        (ProcessState::Fatal, Cause::GaveUp, _) => Some((
            Level::Info,
            format!("gave up: {name} entered FATAL state, too many start retries too quickly"),
        )),
        (ProcessState::Stopped, _, Some((desc, expected))) => {
            Some((by_expected(expected), format!("stopped: {name} ({desc})")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::process::tests::spec;
    use crate::engine::process::{Effect, Event, ExitStatus, Process};
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    /// The main-log lines a run of events produces, as the supervisor writes them: `Log` effects as
    /// they are, transitions through [`phrase`], in effect order.
    fn main_log(p: &mut Process, s: &ProcessSpec, events: &[(u64, Event)]) -> Vec<(Level, String)> {
        let t0 = Instant::now();
        let mut lines = vec![];
        for (ms, ev) in events {
            let now = t0 + Duration::from_millis(*ms);
            let Ok(out) = p.handle(ev.clone(), s, now, true) else {
                continue;
            };
            for e in out {
                match e {
                    Effect::Log(level, line) => lines.push((level, line)),
                    Effect::Transition(t) => lines.extend(phrase(s, &t)),
                    Effect::Spawn | Effect::Kill { .. } => {}
                }
            }
        }
        lines
    }

    fn info(s: &str) -> (Level, String) {
        (Level::Info, s.to_string())
    }

    fn warn(s: &str) -> (Level, String) {
        (Level::Warn, s.to_string())
    }

    #[test]
    fn main_log_lines_of_a_scripted_life() {
        let mut s = spec("web", &["x"]);
        s.startretries = 1;
        s.stopwaitsecs = 2;
        let mut p = Process::new();
        let killed = ExitStatus::Signal {
            signal: libc::SIGKILL,
            core: false,
        };
        let lines = main_log(
            &mut p,
            &s,
            &[
                (0, Event::Start),
                (0, Event::SpawnFailed("can't find command 'x'".into())),
                (1000, Event::Deadline),
                (1000, Event::Spawned(12)),
                (2000, Event::Deadline),
                (5000, Event::Exited(ExitStatus::Code(0))),
                (5000, Event::Start),
                (5000, Event::Spawned(13)),
                (5100, Event::Exited(ExitStatus::Code(3))),
                (6100, Event::Deadline),
                (6100, Event::Spawned(14)),
                (6200, Event::Exited(ExitStatus::Code(1))),
                (7000, Event::Start),
                (7000, Event::Spawned(15)),
                (8000, Event::Deadline),
                (9000, Event::Exited(ExitStatus::Code(2))),
                (9000, Event::Start),
                (9000, Event::Spawned(16)),
                (9500, Event::Stop),
                (11500, Event::Deadline),
                (11600, Event::Exited(killed)),
            ],
        );
        assert_eq!(
            lines,
            [
                info("spawnerr: can't find command 'x'"),
                info("spawned: 'web' with pid 12"),
                info("success: web entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)"),
                info("exited: web (exit status 0; expected)"),
                info("spawned: 'web' with pid 13"),
                warn("exited: web (exit status 3; not expected)"),
                info("spawned: 'web' with pid 14"),
                warn("exited: web (exit status 1; not expected)"),
                info("gave up: web entered FATAL state, too many start retries too quickly"),
                info("spawned: 'web' with pid 15"),
                info("success: web entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)"),
                warn("exited: web (exit status 2; not expected)"),
                info("spawned: 'web' with pid 16"),
                (Level::Debug, "killing web (pid 16) with signal SIGTERM".into()),
                warn("killing 'web' (16) with SIGKILL"),
                warn("stopped: web (terminated by SIGKILL)"),
            ]
        );
    }

    #[test]
    fn subscribers_hear_every_transition_in_order() {
        let heard = Rc::new(RefCell::new(vec![]));
        let mut subs = Subscribers::default();
        for tag in ["a", "b"] {
            let heard = heard.clone();
            subs.add(move |who: &ProcessSpec, t: &Transition, _: Instant| {
                heard
                    .borrow_mut()
                    .push((tag, who.name.clone(), t.from, t.to));
            });
        }
        let mut s = spec("job", &["x"]);
        s.startsecs = 0;
        let mut p = Process::new();
        let now = Instant::now();
        for ev in [Event::Start, Event::Spawned(5)] {
            for e in p.handle(ev, &s, now, true).unwrap() {
                if let Effect::Transition(t) = e {
                    subs.notify(&s, &t, now);
                }
            }
        }
        use ProcessState::*;
        assert_eq!(
            *heard.borrow(),
            [
                ("a", "job".to_string(), Stopped, Starting),
                ("b", "job".to_string(), Stopped, Starting),
                ("a", "job".to_string(), Starting, Running),
                ("b", "job".to_string(), Starting, Running),
            ]
        );
    }
}
