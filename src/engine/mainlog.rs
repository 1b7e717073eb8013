//! How the engine installs steward's own log ([`crate::logs::MainLog`]) behind `tracing`.
//!
//! A global subscriber can be set only once, but a reload may change `logfile`, its rotation and
//! `loglevel`; so the subscriber writes to whichever `MainLog` is current and filters by a level that
//! [`install`] replaces. CRIT has no tracing level: it is an ERROR event with target `crit`.

use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Once, RwLock};
use std::time::Duration;

use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;

use crate::config::model::{LogLevel, SupervisordSpec};
use crate::engine::process::Level as Severity;
use crate::logs::{MainLog, SupervisordFormat};

/// Write one line to steward's main log at `level`.
pub fn emit(level: Severity, msg: &str) {
    match level {
        Severity::Crit => tracing::error!(target: "crit", "{msg}"),
        Severity::Error => tracing::error!("{msg}"),
        Severity::Warn => tracing::warn!("{msg}"),
        Severity::Info => tracing::info!("{msg}"),
        Severity::Debug => tracing::debug!("{msg}"),
    }
}

static CURRENT: RwLock<Option<MainLog>> = RwLock::new(None);
/// Rank of the most verbose level written (see `rank`).
static MAX_RANK: AtomicU8 = AtomicU8::new(3);
static INIT: Once = Once::new();

fn rank_of_config(l: LogLevel) -> u8 {
    match l {
        LogLevel::Critical => 0,
        LogLevel::Error => 1,
        LogLevel::Warn => 2,
        LogLevel::Info => 3,
        LogLevel::Debug => 4,
        LogLevel::Trace | LogLevel::Blather => 5,
    }
}

fn rank(meta: &tracing::Metadata<'_>) -> u8 {
    match *meta.level() {
        Level::ERROR if meta.target() == "crit" => 0,
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

fn current() -> Option<MainLog> {
    CURRENT.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The subscriber's writer: one formatted event per `write`, to the current main log.
struct CurrentWriter;

impl io::Write for CurrentWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(log) = current() {
            log.write_record(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct MakeCurrent;

impl<'a> MakeWriter<'a> for MakeCurrent {
    type Writer = CurrentWriter;
    fn make_writer(&'a self) -> CurrentWriter {
        CurrentWriter
    }
}

/// Open the main log `[supervisord]` describes, make it the destination of every `tracing` event (the
/// subscriber is installed on first use) and return it (for SIGUSR2 and `readLog`). Called at start,
/// while we may still be root, and again after each reload; the previous log closes when its last
/// handle goes.
pub fn install(spec: &SupervisordSpec) -> MainLog {
    let (log, reports) = MainLog::new(spec);
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = Some(log.clone());
    MAX_RANK.store(rank_of_config(spec.loglevel), Ordering::Relaxed);
    INIT.call_once(|| {
        let layer = tracing_subscriber::fmt::layer()
            .event_format(SupervisordFormat)
            .with_writer(MakeCurrent)
            .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                rank(meta) <= MAX_RANK.load(Ordering::Relaxed)
            }));
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer));
    });
    for r in reports {
        tracing::warn!("{r}");
    }
    log
}

/// Wait (at most `timeout`) until the current log's console lines are written: the last step at exit.
pub fn flush(timeout: Duration) -> bool {
    current().map_or(true, |l| l.flush(timeout))
}
