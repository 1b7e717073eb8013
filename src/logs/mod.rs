//! Child output: pipe readers, rotating files, console prefixing, tail buffers; steward's own log.
//!
//! # Who calls what
//!
//! The supervisor (`engine::supervisor`) owns one [`Logs`] per configuration in force and steward's
//! [`MainLog`] (installed behind `tracing` by `engine::mainlog`):
//!
//! | when | call |
//! |---|---|
//! | start, reload (after every pump ended) | [`Logs::new`]: remove old AUTO files unless `nocleanup`, name AUTO files (created at their first output or read), open every other file once |
//! | a spawn (`engine::spawn` makes the pipes) | [`Logs::pump_tapped`] per read end (the tap, if any, from `engine::events`): a task that ends at EOF; awaited before exit and reload |
//! | addProcessGroup / removeProcessGroup | [`Logs::add_process`] / [`Logs::remove_process`] |
//! | SIGUSR2 | [`Logs::reopen`], [`MainLog::reopen`] |
//! | readProcess*Log / tailProcess*Log / clearProcessLogs | [`Logs::read`] / [`Logs::tail`] / [`Logs::clear`] |
//! | getProcessInfo's log paths (AUTO resolved) | [`Logs::logfile`] |
//! | readLog / clearLog | [`MainLog::read`] / [`MainLog::clear`] |
//! | `/logtail`, `/mainlogtail`, a `log:` ready check: wait for output | [`Logs::changes`] / [`MainLog::changes`] ([`Signal`]) |
//! | exit | [`Logs::flush`], then `engine::mainlog::flush` |
//!
//! `namespec` is [`ProcessSpec::namespec`]. [`ReadError`] maps to supervisord's faults `NO_FILE`,
//! `BAD_ARGUMENTS`, `FAILED`. A stream whose output goes to no file (console only, or `NONE`) keeps a
//! bounded in-memory tail ([`TAIL_BYTES`]), so `read`/`tail` answer for it too; a stream with a file is
//! read back from its first file, like supervisord.
//!
//! # Behaviour
//!
//! * Files rotate with supervisord's rule and names ([`rotate`]); targets naming steward's own
//!   stdout/stderr (`/dev/stdout`, `/proc/self/fd/1`, `/dev/fd/1`, same for 2) write to the inherited fd
//!   and never rotate, whatever maxbytes says.
//! * Console output is line-atomic and prefixed with [`ProcessSpec::console_prefix`] ([`console`]); a
//!   partial line is held until its newline, 64 KiB, 200 ms of silence, or EOF. Silence and EOF end it
//!   with a newline of ours (the rest of the line comes prefixed again), so nothing is glued to it.
//! * Backpressure, not loss: a slow sink stops the pump reading, and the child blocks on its pipe.
//! * `strip_ansi` applies to every sink; `loglevel=debug` copies each chunk into steward's log as
//!   `'name' stdout output:\n…`.
//! * Failures never stop a program: a log directory that is missing or not writable, or a full disk, is
//!   logged once (WARN) and retried on every later write; what could not be written is dropped, and
//!   writing resumes by itself (INFO "writable again").
//! * `*_events_enabled` and `*_capture_maxbytes` (capture mode), and an event listener's stdout (its
//!   protocol channel, still logged as supervisord logs it) go through a [`tap::Tap`] to the engine.
//! * Not implemented yet: `*_syslog` and `syslog` targets (a warning; output discarded).
//!
//! # Config keys this module expects from the loader (steward extensions)
//!
//! * `console_prefix` in `[program:x]`, `[eventlistener:x]`, `[fcgi-program:x]`, with a default for all
//!   programs in `[supervisord]`: `true`/`on`/… (the default) means `%(process_name)s | `;
//!   `false`/`off`/`none` means [`ConsolePrefix::Off`]; anything else is a format with the program
//!   expansions. INI strips trailing blanks, so a value in double quotes keeps them
//!   (`console_prefix="%(process_name)s: "`). TOML: `console_prefix = false` or a string.
//! * `stdout_logfile_also` / `stderr_logfile_also`: more destinations for the stream, comma-separated
//!   (`stdout_logfile_also=/dev/stdout` beside a rotated `stdout_logfile`); each a path, `AUTO`, or a
//!   console name, rotated with the stream's maxbytes/backups. TOML: a string or an array of strings.
//!   Filled into [`LogSpec::also`].
//! * `[supervisord] console_timestamps` (and `--timestamps`): the local time before each console line.
//!
//! On a terminal, console prefixes are coloured (unless `NO_COLOR`) and padded to the widest ([`look`]).

pub mod console;
pub mod look;
pub mod main_log;
mod pump;
pub mod rotate;
pub mod tail;
pub mod tap;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::task::JoinHandle;

pub use console::{AnsiStripper, Console, LineFramer};
pub use main_log::{MainLog, MainLogWriter, SupervisordFormat};
pub use rotate::{Report, RotatingFile};
pub use tail::{ReadError, TailBuffer};

use crate::config::{Config, ConsolePrefix, LogLevel, LogSpec, LogTarget, ProcessSpec};

/// Child output as supervisord puts it into text (its main log's debug copy, event payloads): the
/// UTF-8 text, or `Undecodable: b'…'` (Python's `repr` of the bytes) when it is not UTF-8.
pub fn output_text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(data) {
        Ok(t) => t.into(),
        Err(_) => format!("Undecodable: {}", python_bytes_repr(data)).into(),
    }
}

/// Python's `repr()` of a `bytes` value.
pub fn python_bytes_repr(data: &[u8]) -> String {
    let quote = if data.contains(&b'\'') && !data.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::from("b");
    out.push(quote as char);
    for &b in data {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b == quote => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote as char);
    out
}

/// Bytes of in-memory tail kept per stream that has no log file.
pub const TAIL_BYTES: usize = 64 << 10;

/// What one output stream carried (see [`Logs::counters`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamCounters {
    pub bytes: u64,
    pub dropped: u64,
}

/// Which of a child's output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Poisoning only means another thread panicked mid-write; the file/ring is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn log_report(r: &Report) {
    match r {
        Report::Failed { .. } => tracing::warn!("{r}"),
        Report::Recovered { .. } => tracing::info!("{r}"),
    }
}

/// Tells a reader that a log (a file or an in-memory tail) changed, so it can wait for output instead
/// of polling: the ready check `log:` and the `/logtail` streams.
///
/// Bumped by the writer after each write, clear, reopen, always under the lock that guards the log;
/// subscribing takes the same lock. So a reader that subscribes, then reads, then waits on
/// `changed()` (after `borrow_and_update`) misses nothing, and a bump with no subscriber is one
/// atomic load.
#[derive(Debug)]
pub struct Signal(tokio::sync::watch::Sender<u64>);

/// The reading end of a [`Signal`]; `changed()` fails once the log is gone (removed, reloaded).
pub type Changes = tokio::sync::watch::Receiver<u64>;

impl Default for Signal {
    fn default() -> Signal {
        Signal(tokio::sync::watch::Sender::new(0))
    }
}

impl Signal {
    pub fn bump(&self) {
        if self.0.receiver_count() > 0 {
            self.0.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    pub fn subscribe(&self) -> Changes {
        self.0.subscribe()
    }
}

/// A log file shared by every stream that names it.
pub type SharedFile = Arc<Mutex<RotatingFile>>;

/// steward's inherited stdout, one writer thread for the whole process.
pub fn console_stdout() -> Console {
    static C: OnceLock<Console> = OnceLock::new();
    C.get_or_init(Console::stdout).clone()
}

/// steward's inherited stderr.
pub fn console_stderr() -> Console {
    static C: OnceLock<Console> = OnceLock::new();
    C.get_or_init(Console::stderr).clone()
}

/// Where one stream of one process goes.
pub(crate) struct StreamLogs {
    pub name: String,
    pub stream: Stream,
    /// The file `read`/`tail`/`clear` use: the first file destination.
    pub path: Option<PathBuf>,
    pub files: Vec<SharedFile>,
    pub consoles: Vec<Console>,
    /// Empty for none.
    pub prefix: Vec<u8>,
    /// Where each line's time goes in `prefix` (`console_timestamps`).
    pub stamp_at: Option<usize>,
    /// Only for streams without a file.
    pub tail: Option<Mutex<TailBuffer>>,
    /// Bytes read from the child's pipe so far (for `/metrics`).
    pub bytes: std::sync::atomic::AtomicU64,
}

impl StreamLogs {
    /// Create the file `read`/`tail` are about to look at, if it is lazy and still unwritten: an AUTO
    /// log reads as empty, as supervisord's (created at start) does, never as missing.
    fn touch(&self) {
        if let Some(f) = self.files.first() {
            if let Some(r) = lock(f).touch() {
                log_report(&r);
            }
        }
    }
}

struct ProcLogs {
    stdout: Arc<StreamLogs>,
    stderr: Arc<StreamLogs>,
}

impl ProcLogs {
    fn get(&self, s: Stream) -> &Arc<StreamLogs> {
        match s {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        }
    }
}

struct Inner {
    childlogdir: PathBuf,
    identifier: String,
    opts: pump::PumpOptions,
    files: Mutex<HashMap<PathBuf, SharedFile>>,
    procs: Mutex<HashMap<String, ProcLogs>>,
    stdout: Console,
    stderr: Console,
    look: Mutex<Look>,
}

/// How console prefixes look in this configuration (see [`look`]).
struct Look {
    /// `NO_COLOR` is not set: prefixes on a terminal are coloured.
    colour: bool,
    timestamps: bool,
    /// The widest visible prefix among the programs writing to a console.
    width: usize,
    /// Palette slots by process name; a process added later takes a free one.
    slots: HashMap<String, usize>,
}

/// Whether any stream of `spec` goes to steward's stdout or stderr.
fn writes_to_console(spec: &ProcessSpec) -> bool {
    let mut streams = vec![&spec.stdout];
    if !spec.redirect_stderr {
        streams.push(&spec.stderr);
    }
    streams.into_iter().any(|ls| {
        std::iter::once(&ls.target)
            .chain(ls.also.iter())
            .any(|t| console_of(t).is_some())
    })
}

impl Look {
    fn new(config: &Config) -> Look {
        let shown: Vec<&ProcessSpec> = config
            .processes()
            .filter(|p| writes_to_console(p))
            .collect();
        let width = shown
            .iter()
            .filter_map(|p| match &p.console_prefix {
                ConsolePrefix::Text(t) => Some(look::visible_width(t)),
                ConsolePrefix::Off => None,
            })
            .max()
            .unwrap_or(0);
        Look {
            colour: !look::no_color(std::env::var_os("NO_COLOR").as_deref()),
            timestamps: config.supervisord.console_timestamps,
            width,
            slots: look::assign(shown.iter().map(|p| p.name.as_str())),
        }
    }

    /// The prefix bytes of one console stream of `name`, and where its time goes. Off a terminal and
    /// without timestamps it is `text` as configured, byte for byte.
    fn prefix(&mut self, name: &str, text: &str, on_terminal: bool) -> (Vec<u8>, Option<usize>) {
        let stamp = |at: usize| self.timestamps.then_some(at);
        if !on_terminal || text.is_empty() {
            return (text.as_bytes().to_vec(), stamp(0));
        }
        let slot = self.colour.then(|| self.slot(name));
        let (bytes, at) = look::decorate(text, name, self.width, slot);
        (bytes, self.timestamps.then_some(at))
    }

    fn slot(&mut self, name: &str) -> usize {
        if let Some(&s) = self.slots.get(name) {
            return s;
        }
        let mut taken = [false; look::PALETTE.len()];
        for &s in self.slots.values() {
            taken[s % look::PALETTE.len()] = true;
        }
        let s = look::pick(name, &taken);
        self.slots.insert(name.to_string(), s);
        s
    }
}

/// All child log streams of one configuration. Cheap to clone.
#[derive(Clone)]
pub struct Logs {
    inner: Arc<Inner>,
}

/// The target, if it names steward's own stdout/stderr.
fn console_of(t: &LogTarget) -> Option<Stream> {
    match t {
        LogTarget::Stdout => Some(Stream::Stdout),
        LogTarget::Stderr => Some(Stream::Stderr),
        // The loader maps these already; repeated here so a path never gets reopened or rotated.
        LogTarget::File(p) => match p.to_str()? {
            "/dev/stdout" | "/proc/self/fd/1" | "/dev/fd/1" => Some(Stream::Stdout),
            "/dev/stderr" | "/proc/self/fd/2" | "/dev/fd/2" => Some(Stream::Stderr),
            _ => None,
        },
        _ => None,
    }
}

impl Logs {
    /// Set up every process of `config`: remove old AUTO files (unless `nocleanup`), pick AUTO names,
    /// open every other file. Problems are logged, never fatal.
    pub fn new(config: &Config) -> Logs {
        Logs::with_consoles(config, console_stdout(), console_stderr())
    }

    /// [`Logs::new`] with other console destinations (tests, benchmarks).
    pub fn with_consoles(config: &Config, stdout: Console, stderr: Console) -> Logs {
        let sv = &config.supervisord;
        if !sv.nocleanup {
            cleanup_auto_logs(&sv.childlogdir, &sv.identifier);
        }
        let logs = Logs {
            inner: Arc::new(Inner {
                childlogdir: sv.childlogdir.clone(),
                identifier: sv.identifier.clone(),
                opts: pump::PumpOptions {
                    strip_ansi: sv.strip_ansi,
                    debug: sv.loglevel >= LogLevel::Debug,
                },
                files: Mutex::new(HashMap::new()),
                procs: Mutex::new(HashMap::new()),
                stdout,
                stderr,
                look: Mutex::new(Look::new(config)),
            }),
        };
        for p in config.processes() {
            logs.add_process(p);
        }
        logs
    }

    /// Register a process (group added). Idempotent: a process already known keeps its files and tails.
    pub fn add_process(&self, spec: &ProcessSpec) {
        let key = spec.namespec();
        if lock(&self.inner.procs).contains_key(&key) {
            return;
        }
        let stdout = self.stream_logs(spec, Stream::Stdout, &spec.stdout);
        let stderr = if spec.redirect_stderr {
            // stderr shares the stdout pipe; this entry only answers read/tail calls (with nothing).
            self.stream_logs(spec, Stream::Stderr, &none_spec())
        } else {
            self.stream_logs(spec, Stream::Stderr, &spec.stderr)
        };
        lock(&self.inner.procs).insert(
            key,
            ProcLogs {
                stdout: Arc::new(stdout),
                stderr: Arc::new(stderr),
            },
        );
    }

    /// Forget a process (group removed). Its running pumps finish normally; shared files stay open for
    /// other users.
    pub fn remove_process(&self, namespec: &str) {
        let removed = lock(&self.inner.procs).remove(namespec);
        // Its followers look again and find it gone: the file may live on (a pump still draining,
        // another program writing to it), and with it the signal they wait on.
        for sl in removed.iter().flat_map(|p| [&p.stdout, &p.stderr]) {
            match (sl.files.first(), &sl.tail) {
                (Some(f), _) => lock(f).wake_followers(),
                (None, Some(t)) => lock(t).wake_followers(),
                (None, None) => {}
            }
        }
        drop(removed);
        lock(&self.inner.files).retain(|_, f| Arc::strong_count(f) > 1);
    }

    fn stream_logs(&self, spec: &ProcessSpec, stream: Stream, ls: &LogSpec) -> StreamLogs {
        let mut path = None;
        let mut files = Vec::new();
        let mut consoles: Vec<Console> = Vec::new();
        for t in std::iter::once(&ls.target).chain(ls.also.iter()) {
            if let Some(s) = console_of(t) {
                let c = match s {
                    Stream::Stdout => &self.inner.stdout,
                    Stream::Stderr => &self.inner.stderr,
                };
                if !consoles.iter().any(|x| x.raw_fd() == c.raw_fd()) {
                    consoles.push(c.clone());
                }
                continue;
            }
            let p = match t {
                LogTarget::None => continue,
                LogTarget::Syslog => {
                    tracing::warn!(
                        "{}: {stream}_logfile=syslog is not supported; output is discarded",
                        spec.name
                    );
                    continue;
                }
                LogTarget::Auto => {
                    // Checked now, as creating the file would: a childlogdir that is missing or
                    // read-only gets the in-memory tail.
                    let dir = &self.inner.childlogdir;
                    let access = nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK;
                    if let Err(e) = nix::unistd::access(dir, access) {
                        tracing::warn!(
                            "{}: cannot create an AUTO {stream} log in {}: {}; keeping only an in-memory tail",
                            spec.name,
                            dir.display(),
                            io::Error::from(e)
                        );
                        continue;
                    }
                    let files = lock(&self.inner.files);
                    auto_log_path(dir, &spec.name, stream, &self.inner.identifier, |p| {
                        files.contains_key(p)
                    })
                }
                LogTarget::File(p) => p.clone(),
                LogTarget::Stdout | LogTarget::Stderr => continue,
            };
            let lazy = matches!(t, LogTarget::Auto);
            let f = self.shared_file(&p, ls.maxbytes, ls.backups, lazy);
            if !files.iter().any(|x| Arc::ptr_eq(x, &f)) {
                files.push(f);
            }
            path.get_or_insert(p);
        }
        let text = match (&spec.console_prefix, consoles.is_empty()) {
            (ConsolePrefix::Text(t), false) => t.as_str(),
            _ => "",
        };
        let on_terminal = !consoles.is_empty() && consoles.iter().all(Console::is_terminal);
        let (prefix, stamp_at) = lock(&self.inner.look).prefix(&spec.name, text, on_terminal);
        let tail = files
            .is_empty()
            .then(|| Mutex::new(TailBuffer::new(TAIL_BYTES)));
        StreamLogs {
            name: spec.name.clone(),
            stream,
            path,
            files,
            consoles,
            prefix,
            stamp_at,
            tail,
            bytes: Default::default(),
        }
    }

    /// The writer of `path`, shared by every stream that names it. A lazy one (AUTO) creates its file
    /// at the first output or the first read: 200 quiet programs cost no files and no fds.
    fn shared_file(&self, path: &Path, maxbytes: u64, backups: u32, lazy: bool) -> SharedFile {
        let mut files = lock(&self.inner.files);
        if let Some(f) = files.get(path) {
            return f.clone();
        }
        let f = if lazy {
            RotatingFile::lazy(path, maxbytes, backups)
        } else {
            let (f, report) = RotatingFile::open(path, maxbytes, backups);
            if let Some(r) = report {
                log_report(&r);
            }
            f
        };
        let f = Arc::new(Mutex::new(f));
        files.insert(path.to_path_buf(), f.clone());
        f
    }

    fn stream(&self, namespec: &str, s: Stream) -> Option<Arc<StreamLogs>> {
        lock(&self.inner.procs)
            .get(namespec)
            .map(|p| p.get(s).clone())
    }

    /// Start pumping `fd` (the read end of the child's pipe for `stream`) into the process's sinks,
    /// also handing what it reads to the event system when there is a `tap` (see [`tap`]). Must be
    /// called inside the tokio runtime. The task ends when the pipe reaches EOF.
    pub fn pump_tapped(
        &self,
        spec: &ProcessSpec,
        stream: Stream,
        fd: OwnedFd,
        tap: Option<tap::Tap>,
    ) -> io::Result<JoinHandle<()>> {
        self.add_process(spec);
        let sl = self
            .stream(&spec.namespec(), stream)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "process not registered"))?;
        pump::prepare(&fd)?;
        // Registering and spawning panic outside a runtime; a missing runtime is an error here instead.
        let rt = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let _guard = rt.enter();
        // SAFETY: an OwnedFd stays open and names the same file description until the AsyncFd drops it.
        let afd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(io::Error::from)?;
        Ok(rt.spawn(pump::run(sl, self.inner.opts, afd, tap)))
    }

    /// What a stream carried so far: bytes read from the child, and bytes its files could not take
    /// (a file shared by several streams counts its losses in each). Counted since this `Logs` was
    /// made, so a reload starts them again.
    pub fn counters(&self, namespec: &str, s: Stream) -> Option<StreamCounters> {
        let sl = self.stream(namespec, s)?;
        Some(StreamCounters {
            bytes: sl.bytes.load(std::sync::atomic::Ordering::Relaxed),
            dropped: sl.files.iter().map(|f| lock(f).dropped()).sum(),
        })
    }

    /// SIGUSR2: close and reopen every child log file (after an external logrotate).
    pub fn reopen(&self) {
        let files: Vec<SharedFile> = lock(&self.inner.files).values().cloned().collect();
        for f in files {
            let report = lock(&f).reopen();
            if let Some(r) = report {
                log_report(&r);
            }
        }
    }

    /// The stream's log file (what getProcessInfo reports as `stdout_logfile`), if it has one.
    pub fn logfile(&self, namespec: &str, s: Stream) -> Option<PathBuf> {
        self.stream(namespec, s)?.path.clone()
    }

    /// A signal that the stream's log (what [`Logs::read`] reads: its first file, or its in-memory
    /// tail) changed; `None` for an unknown process or a stream with nothing to read.
    pub fn changes(&self, namespec: &str, s: Stream) -> Option<Changes> {
        let sl = self.stream(namespec, s)?;
        match (sl.files.first(), &sl.tail) {
            (Some(f), _) => Some(lock(f).subscribe()),
            (None, Some(t)) => Some(lock(t).subscribe()),
            (None, None) => None,
        }
    }

    /// `readProcessStdoutLog` / `readProcessStderrLog`.
    pub fn read(
        &self,
        namespec: &str,
        s: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Vec<u8>, ReadError> {
        let sl = self.stream(namespec, s).ok_or(ReadError::NoFile)?;
        sl.touch();
        match (&sl.path, &sl.tail) {
            (Some(p), _) => tail::read_file(p, offset, length),
            (None, Some(t)) => lock(t).read(offset, length),
            (None, None) => Err(ReadError::NoFile),
        }
    }

    /// `tailProcessStdoutLog` / `tailProcessStderrLog`: `(bytes, new offset, overflow)`.
    pub fn tail(
        &self,
        namespec: &str,
        s: Stream,
        offset: i64,
        length: i64,
    ) -> (Vec<u8>, u64, bool) {
        let Some(sl) = self.stream(namespec, s) else {
            return (Vec::new(), 0, false);
        };
        sl.touch();
        match (&sl.path, &sl.tail) {
            (Some(p), _) => tail::tail_file(p, offset, length),
            (None, Some(t)) => lock(t).tail(offset, length),
            (None, None) => (Vec::new(), 0, false),
        }
    }

    /// `clearProcessLogs`: empty both streams' first files (backups stay) and tails. False if unknown.
    pub fn clear(&self, namespec: &str) -> bool {
        let Some((out, err)) = lock(&self.inner.procs)
            .get(namespec)
            .map(|p| (p.stdout.clone(), p.stderr.clone()))
        else {
            return false;
        };
        for sl in [out, err] {
            if let Some(f) = sl.files.first() {
                let report = lock(f).clear();
                if let Some(r) = report {
                    log_report(&r);
                }
            }
            if let Some(t) = &sl.tail {
                lock(t).clear();
            }
        }
        true
    }

    /// Wait (at most `timeout`) until console output already queued has been written.
    pub fn flush(&self, timeout: Duration) -> bool {
        let a = self.inner.stdout.flush(timeout);
        let b = self.inner.stderr.flush(timeout);
        a && b
    }
}

fn none_spec() -> LogSpec {
    LogSpec {
        target: LogTarget::None,
        also: Vec::new(),
        maxbytes: 0,
        backups: 0,
        capture_maxbytes: 0,
        events_enabled: false,
        syslog: false,
    }
}

/// Eight characters from the alphabet Python's `tempfile` uses, from std's per-process random keys.
fn random8() -> String {
    use std::hash::{BuildHasher, Hasher};
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let mut x = h.finish();
    (0..8)
        .map(|_| {
            let c = ALPHABET[(x % ALPHABET.len() as u64) as usize] as char;
            x /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// A new AUTO log path, named as supervisord names it:
/// `<childlogdir>/<procname>-<stdout|stderr>---<identifier>-<random8>.log`, neither on disk nor `taken`.
/// The file itself is created at the first output or read ([`RotatingFile::lazy`]).
pub fn auto_log_path(
    childlogdir: &Path,
    procname: &str,
    s: Stream,
    identifier: &str,
    taken: impl Fn(&Path) -> bool,
) -> PathBuf {
    loop {
        let p = childlogdir.join(format!("{procname}-{s}---{identifier}-{}.log", random8()));
        if !taken(&p) && std::fs::symlink_metadata(&p).is_err() {
            return p;
        }
    }
}

/// Whether `name` is an AUTO log of `identifier` (supervisord's pattern `.+?---ID-\S+\.log\.?\d{0,4}`,
/// matched from the start of the name and not anchored at the end).
pub fn is_auto_log_name(name: &str, identifier: &str) -> bool {
    let marker = format!("---{identifier}-");
    let mut from = 1;
    while let Some(i) = name
        .get(from..)
        .and_then(|s| s.find(&marker))
        .map(|i| i + from)
    {
        if name[..i].contains('\n') {
            return false;
        }
        let rest = &name[i + marker.len()..];
        // `\S+\.log`: one or more non-space characters, then ".log", all without whitespace.
        let ws = rest.find(char::is_whitespace).unwrap_or(rest.len());
        if rest[..ws].get(1..).is_some_and(|r| r.contains(".log")) {
            return true;
        }
        from = i + 1;
    }
    false
}

/// Remove old AUTO logs of `identifier` from `childlogdir` (supervisord does this at every start).
pub fn cleanup_auto_logs(childlogdir: &Path, identifier: &str) -> usize {
    let entries = match std::fs::read_dir(childlogdir) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(
                "Could not clear childlog dir {}: {e}",
                childlogdir.display()
            );
            return 0;
        }
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if is_auto_log_name(name, identifier) {
            match std::fs::remove_file(e.path()) {
                Ok(()) => removed += 1,
                Err(err) => tracing::warn!("Failed to clean up {}: {err}", e.path().display()),
            }
        }
    }
    removed
}

#[cfg(test)]
pub(crate) mod tests;
