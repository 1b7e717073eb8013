//! steward's own log: a `tracing-subscriber` writer over a rotating file (same rule as child logs), the
//! console, or both, plus supervisord's line format.
//!
//! ```text
//! let (main_log, reports) = MainLog::new(&config.supervisord);
//! tracing_subscriber::fmt()
//!     .event_format(SupervisordFormat)
//!     .with_writer(main_log.clone())
//!     .with_max_level(level_filter)          // from loglevel
//!     .init();
//! for r in reports { tracing::warn!("{r}") }
//! ```
//!
//! Console echo goes through the same [`Console`] queue as child output, so steward's own lines never
//! split a child's line either, and a stuck console never blocks the caller (see
//! [`Console::send_nowait`]).

use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

use super::console::Console;
use super::rotate::{Report, RotatingFile};
use super::tail::{self, ReadError};
use super::{console_of, console_stderr, console_stdout, lock, Stream};
use crate::config::{LogTarget, SupervisordSpec};

struct Inner {
    file: Option<Mutex<RotatingFile>>,
    /// Where the log itself goes when `logfile` is `/dev/stdout` or `/dev/stderr`.
    console: Option<Console>,
    /// The foreground echo to stdout (supervisord echoes unless `silent`).
    echo: Option<Console>,
    /// Where failures of the file are reported (they cannot go through `tracing`: we are its writer).
    errors: Console,
}

/// steward's own log. Cheap to clone; implements [`MakeWriter`].
#[derive(Clone)]
pub struct MainLog {
    inner: Arc<Inner>,
}

impl MainLog {
    /// Open the log described by `[supervisord]` `logfile`, `logfile_maxbytes`, `logfile_backups`,
    /// `silent`. The reports say what failed (the log keeps retrying); log them once tracing is set up.
    pub fn new(spec: &SupervisordSpec) -> (MainLog, Vec<Report>) {
        MainLog::with_consoles(spec, console_stdout(), console_stderr())
    }

    /// [`MainLog::new`] with other console destinations (tests).
    pub fn with_consoles(
        spec: &SupervisordSpec,
        stdout: Console,
        stderr: Console,
    ) -> (MainLog, Vec<Report>) {
        let mut reports = Vec::new();
        let mut file = None;
        let mut console = None;
        match console_of(&spec.logfile) {
            Some(Stream::Stdout) => console = Some(stdout.clone()),
            Some(Stream::Stderr) => console = Some(stderr.clone()),
            None => {
                if let LogTarget::File(p) = &spec.logfile {
                    let (f, r) = RotatingFile::open(p, spec.logfile_maxbytes, spec.logfile_backups);
                    reports.extend(r);
                    file = Some(Mutex::new(f));
                }
            }
        }
        let echo_dup = console
            .as_ref()
            .is_some_and(|c| c.raw_fd() == stdout.raw_fd());
        let echo = (!spec.silent && !echo_dup).then_some(stdout);
        (
            MainLog {
                inner: Arc::new(Inner {
                    file,
                    console,
                    echo,
                    errors: stderr,
                }),
            },
            reports,
        )
    }

    /// The log file, if the log goes to one (`readLog` needs it).
    pub fn path(&self) -> Option<PathBuf> {
        self.inner
            .file
            .as_ref()
            .map(|f| lock(f).path().to_path_buf())
    }

    /// Wait (at most `timeout`) until the log lines queued for the console are written (shutdown).
    pub fn flush(&self, timeout: std::time::Duration) -> bool {
        let i = &self.inner;
        [&i.console, &i.echo]
            .into_iter()
            .flatten()
            .all(|c| c.flush(timeout))
            && i.errors.flush(timeout)
    }

    /// SIGUSR2.
    pub fn reopen(&self) -> Option<Report> {
        self.inner.file.as_ref().and_then(|f| lock(f).reopen())
    }

    /// `readLog(offset, length)`: `NO_FILE` when the log is not a file.
    pub fn read(&self, offset: i64, length: i64) -> Result<Vec<u8>, ReadError> {
        let p = self.path().ok_or(ReadError::NoFile)?;
        tail::read_file(&p, offset, length)
    }

    /// A signal that the log file changed (`/mainlogtail`); `None` when the log is not a file.
    pub fn changes(&self) -> Option<super::Changes> {
        self.inner.file.as_ref().map(|f| lock(f).subscribe())
    }

    /// `clearLog`.
    pub fn clear(&self) -> Option<Report> {
        self.inner.file.as_ref().and_then(|f| lock(f).clear())
    }

    /// Write one formatted record everywhere it goes. Never fails: a logger must not take steward down.
    pub fn write_record(&self, buf: &[u8]) {
        let i = &self.inner;
        if let Some(f) = &i.file {
            let report = lock(f).write_all(buf);
            if let Some(r) = report {
                i.errors.send_nowait(format!("steward: {r}\n").as_bytes());
            }
        }
        if let Some(c) = &i.console {
            c.send_nowait(buf);
        }
        if let Some(c) = &i.echo {
            c.send_nowait(buf);
        }
    }
}

/// One record's writer; tracing's fmt layer writes a whole formatted event in one `write`.
pub struct MainLogWriter<'a> {
    log: &'a MainLog,
}

impl io::Write for MainLogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.log.write_record(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for MainLog {
    type Writer = MainLogWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        MainLogWriter { log: self }
    }
}

/// supervisord's main-log line: `YYYY-MM-DD HH:MM:SS,mmm LEVEL message` in local time, LEVEL one of
/// `CRIT ERRO WARN INFO DEBG TRAC`. tracing has no CRITICAL level: an ERROR event with target `crit`
/// (`tracing::error!(target: "crit", …)`) is written as `CRIT`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SupervisordFormat;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for SupervisordFormat
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        let tag = match *meta.level() {
            tracing::Level::ERROR if meta.target() == "crit" => "CRIT",
            tracing::Level::ERROR => "ERRO",
            tracing::Level::WARN => "WARN",
            tracing::Level::INFO => "INFO",
            tracing::Level::DEBUG => "DEBG",
            tracing::Level::TRACE => "TRAC",
        };
        write!(writer, "{} {tag} ", timestamp())?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// `2026-11-22 17:31:06,123` in local time.
pub fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let millis = now.subsec_millis();
    let Some(tm) = crate::clock::local(secs) else {
        return format!("{secs},{millis:03}");
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02},{millis:03}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LogLevel;

    fn spec(logfile: LogTarget, silent: bool) -> SupervisordSpec {
        SupervisordSpec {
            logfile,
            logfile_maxbytes: 100,
            logfile_backups: 2,
            loglevel: LogLevel::Info,
            pidfile: None,
            umask: 0o22,
            nodaemon: true,
            silent,
            minfds: 1024,
            minprocs: 200,
            nocleanup: false,
            childlogdir: PathBuf::from("/tmp"),
            user: None,
            directory: None,
            strip_ansi: false,
            environment: Vec::new(),
            identifier: "supervisor".into(),
            shutdown_grace: 5,
            console_timestamps: false,
        }
    }

    fn pipe_console() -> (Console, std::fs::File) {
        let (r, w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                .unwrap();
        (Console::from_fd(w), std::fs::File::from(r))
    }

    fn drain(log: &MainLog, f: &mut std::fs::File) -> Vec<u8> {
        // Console writes are queued: wait until the writer thread has written them.
        assert!(log.flush(std::time::Duration::from_secs(10)));
        use std::io::Read;
        let mut v = vec![0; 1 << 16];
        match f.read(&mut v) {
            Ok(n) => v.truncate(n),
            Err(_) => v.clear(),
        }
        v
    }

    #[test]
    fn rotates_like_child_logs_and_echoes_unless_silent() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("steward.log");
        let (out, mut out_r) = pipe_console();
        let (err, _err_r) = pipe_console();
        let (log, reports) =
            MainLog::with_consoles(&spec(LogTarget::File(p.clone()), false), out, err);
        assert!(reports.is_empty());
        for i in 0..30 {
            log.write_record(format!("2026-01-01 00:00:00,000 INFO line {i:02}\n").as_bytes());
        }
        // 30 lines of 37 bytes, rotating at >= 100 bytes: 3 lines (111 bytes) per file, 2 backups kept.
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 0);
        assert_eq!(
            std::fs::metadata(super::super::rotate::numbered(&p, 1))
                .unwrap()
                .len(),
            111
        );
        assert!(!super::super::rotate::numbered(&p, 3).exists());
        assert!(drain(&log, &mut out_r).starts_with(b"2026-01-01 00:00:00,000 INFO line 00\n"));
        assert_eq!(log.read(0, 0), Ok(Vec::new()));

        let (out, mut out_r) = pipe_console();
        let (err, _err_r) = pipe_console();
        let (log, _) = MainLog::with_consoles(&spec(LogTarget::File(p.clone()), true), out, err);
        log.write_record(b"quiet\n");
        assert!(drain(&log, &mut out_r).is_empty());
        assert_eq!(log.read(-6, 0).unwrap(), b"quiet\n");
    }

    #[test]
    fn console_log_is_written_once_and_has_no_file() {
        let (out, mut out_r) = pipe_console();
        let (err, _err_r) = pipe_console();
        let (log, _) = MainLog::with_consoles(&spec(LogTarget::Stdout, false), out, err);
        log.write_record(b"once\n");
        assert_eq!(drain(&log, &mut out_r), b"once\n");
        assert_eq!(log.read(0, 0), Err(ReadError::NoFile));
        assert!(log.reopen().is_none());
    }

    #[test]
    fn missing_log_directory_is_reported_on_stderr_and_never_panics() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("nope").join("steward.log");
        let (out, _out_r) = pipe_console();
        let (err, mut err_r) = pipe_console();
        let (log, reports) = MainLog::with_consoles(&spec(LogTarget::File(p), true), out, err);
        assert_eq!(reports.len(), 1);
        log.write_record(b"x\n");
        log.write_record(b"y\n");
        assert!(
            drain(&log, &mut err_r).is_empty(),
            "already reported at open"
        );
        assert!(timestamp().len() == 23);
    }

    #[test]
    fn formats_like_supervisord() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.log");
        let (out, _out_r) = pipe_console();
        let (err, _err_r) = pipe_console();
        let mut sp = spec(LogTarget::File(p.clone()), true);
        sp.logfile_maxbytes = 0;
        let (log, _) = MainLog::with_consoles(&sp, out, err);
        let sub = tracing_subscriber::fmt()
            .event_format(SupervisordFormat)
            .with_writer(log.clone())
            .finish();
        tracing::subscriber::with_default(sub, || {
            tracing::info!("spawned: 'web' with pid 42");
            tracing::error!(target: "crit", "Supervisor is running as root");
        });
        let text = String::from_utf8(std::fs::read(&p).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(&lines[0][23..], " INFO spawned: 'web' with pid 42");
        assert_eq!(&lines[1][23..], " CRIT Supervisor is running as root");
        assert_eq!(&lines[0][4..5], "-");
        assert_eq!(&lines[0][19..20], ",");
    }
}
