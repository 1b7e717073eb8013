//! steward's own log through `tracing`, in supervisord's line format
//! `YYYY-MM-DD HH:MM:SS,mmm LEVEL message`, echoed to stdout unless silent and appended to `logfile`.
//!
//! CRIT has no tracing level: it is an ERROR event with target [`CRIT`]. Rotation belongs to `logs`;
//! the hook is [`MainLogFile`] (replace `write_file`), and SIGUSR2 calls [`reopen`].

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, Once};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields};
use tracing_subscriber::fmt::{FmtContext, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::config::model::{LogLevel, LogTarget};

/// Target that marks an ERROR event as supervisord's CRIT.
pub const CRIT: &str = "crit";

/// Where the main log goes besides stdout.
#[derive(Debug)]
enum MainLogFile {
    None,
    /// `/dev/stdout`-like: the inherited fd, never reopened.
    Fd1,
    Fd2,
    Path(PathBuf, Option<File>),
}

struct State {
    echo_stdout: bool,
    file: MainLogFile,
}

static STATE: Mutex<State> = Mutex::new(State {
    echo_stdout: true,
    file: MainLogFile::None,
});
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
        Level::ERROR if meta.target() == CRIT => 0,
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

fn tag(meta: &tracing::Metadata<'_>) -> &'static str {
    match rank(meta) {
        0 => "CRIT",
        1 => "ERRO",
        2 => "WARN",
        3 => "INFO",
        4 => "DEBG",
        _ => "TRAC",
    }
}

/// `2026-11-22 17:26:56,123` in local time.
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let t = now.as_secs() as libc::time_t;
    // SAFETY: localtime_r fills the zeroed struct we own from a time_t we own.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        tm
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{:03}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}

struct SupervisordFormat;

impl<S, N> FormatEvent<S, N> for SupervisordFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "{} {} ", timestamp(), tag(event.metadata()))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// One formatted line at a time goes to every destination.
struct LineWriter;

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut st = STATE.lock().unwrap_or_else(|e| e.into_inner());
        let to_stdout = st.echo_stdout || matches!(st.file, MainLogFile::Fd1);
        if to_stdout {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(buf).and_then(|_| out.flush());
        }
        match &mut st.file {
            MainLogFile::Path(path, file) => {
                if file.is_none() {
                    *file = OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&*path)
                        .ok();
                }
                if let Some(f) = file {
                    let _ = f.write_all(buf);
                }
            }
            MainLogFile::Fd2 => {
                let _ = std::io::stderr().lock().write_all(buf);
            }
            MainLogFile::None | MainLogFile::Fd1 => {}
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct MakeLineWriter;

impl<'a> MakeWriter<'a> for MakeLineWriter {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter
    }
}

fn open_append(path: &std::path::Path) -> Option<File> {
    OpenOptions::new().create(true).append(true).open(path).ok()
}

/// Install the subscriber (once per process) and point it at `logfile`. Called again on reload.
/// Deliberate difference: with `logfile=/dev/stdout` and the stdout echo on, each line is written once.
pub fn configure(logfile: &LogTarget, level: LogLevel, echo_stdout: bool) {
    {
        let mut st = STATE.lock().unwrap_or_else(|e| e.into_inner());
        st.echo_stdout = echo_stdout;
        st.file = match logfile {
            LogTarget::Stdout => MainLogFile::Fd1,
            LogTarget::Stderr => MainLogFile::Fd2,
            // Opened now, while we may still be root (before `[supervisord] user=` takes effect).
            LogTarget::File(p) => MainLogFile::Path(p.clone(), open_append(p)),
            LogTarget::None | LogTarget::Auto | LogTarget::Syslog => MainLogFile::None,
        };
    }
    MAX_RANK.store(rank_of_config(level), Ordering::Relaxed);
    INIT.call_once(|| {
        let layer = tracing_subscriber::fmt::layer()
            .event_format(SupervisordFormat)
            .with_writer(MakeLineWriter)
            .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                rank(meta) <= MAX_RANK.load(Ordering::Relaxed)
            }));
        let subscriber = tracing_subscriber::registry().with(layer);
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// SIGUSR2: reopen the log file (after logrotate moved it).
pub fn reopen() {
    let mut st = STATE.lock().unwrap_or_else(|e| e.into_inner());
    if let MainLogFile::Path(_, file) = &mut st.file {
        *file = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_shape() {
        let t = timestamp();
        assert_eq!(t.len(), 23, "{t}");
        assert_eq!(&t[4..5], "-");
        assert_eq!(&t[10..11], " ");
        assert_eq!(&t[19..20], ",");
    }
}
