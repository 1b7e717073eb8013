//! What `/metrics` reports of the processes that a snapshot does not hold: counts of starts and
//! restarts, gathered by a [`Subscriber`] to the state machine's transitions. Counting is a hash
//! lookup and an add per transition; nothing is read or formatted until someone asks.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use crate::config::model::ProcessSpec;
use crate::engine::api::ProcessState;
use crate::engine::process::{Cause, Transition};
use crate::engine::transitions::Subscriber;

/// Counts for one process, kept by namespec for the life of steward (across reloads, so they only
/// grow, as Prometheus counters must).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Spawns attempted: every entry into STARTING.
    pub starts: u64,
    /// The automatic ones among them: autorestarts from EXITED and retries from BACKOFF.
    pub restarts: u64,
    /// Exits of a child, whatever the state they led to.
    pub exits: u64,
}

/// The counters, shared by the subscriber that fills them and the supervisor that reads them (one
/// thread: a `RefCell` suffices).
#[derive(Debug, Clone, Default)]
pub struct Counters(Rc<RefCell<HashMap<String, Counts>>>);

impl Counters {
    pub fn of(&self, namespec: &str) -> Counts {
        self.0.borrow().get(namespec).copied().unwrap_or_default()
    }
}

impl Subscriber for Counters {
    fn transition(&mut self, who: &ProcessSpec, t: &Transition, _now: Instant) {
        let mut map = self.0.borrow_mut();
        let c = map.entry(who.namespec()).or_default();
        if t.to == ProcessState::Starting {
            c.starts += 1;
            if matches!(t.cause, Cause::Autorestart | Cause::Retry) {
                c.restarts += 1;
            }
        }
        if t.exit.is_some() {
            c.exits += 1;
        }
    }
}
