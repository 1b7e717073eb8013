//! Readiness and liveness checks: one tokio task per check that is needed right now, reporting into
//! the supervisor's loop through a channel it selects on.
//!
//! A task exists only while its process needs it (a ready check while STARTING, the sd_notify socket
//! while STARTING or RUNNING, a liveness check while RUNNING), so a steward without checks, or whose
//! checked processes are all settled without liveness checks, makes no wakeup at all. Reports carry the
//! pid they were made for; the supervisor ignores one whose child is gone.
//!
//! `exec:` checks fork a command; its exit is reaped by the one reaper (`engine::reaper`) and handed
//! back here ([`Checks::reaped`]), never by `waitpid` of our own.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use crate::config::model::{Check, ProcessSpec};
use crate::engine::api::{ProcessId, ProcessState, Stream};
use crate::engine::process::ExitStatus;
use crate::logs::{Changes, Logs};

/// A compiled `log:` pattern. regex-lite rather than regex: the same syntax for what a readiness line
/// needs at a small part of the binary size; Unicode classes (`\p{L}`) are refused and `\w`, `\d`,
/// `\s`, `\b` and `(?i)` are ASCII-only (README says so).
#[derive(Debug, Clone)]
pub struct Pattern(regex_lite::Regex);

impl Pattern {
    pub fn new(text: &str) -> Result<Pattern, String> {
        regex_lite::Regex::new(text)
            .map(Pattern)
            .map_err(|e| format!("bad regular expression: {e}"))
    }

    pub fn matches(&self, line: &str) -> bool {
        self.0.is_match(line)
    }
}

/// What a check task found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The ready check passed (or `READY=1` arrived).
    Ready,
    /// A liveness check passed.
    Passed,
    /// A liveness check failed, and why.
    Failed(String),
    /// sd_notify `STATUS=` text.
    Status(String),
    /// The child exited after writing this live pid to its pidfile: follow it.
    Follow(i32),
    /// The child exited and its pidfile names no live process: the exit stands.
    NoFollow(ExitStatus),
}

/// One report of a check task, for the child `pid` of process `id`.
#[derive(Debug, Clone)]
pub struct Report {
    pub id: ProcessId,
    pub pid: i32,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Ready,
    Notify,
    Health,
}

/// The first ready-check attempt comes this soon after the spawn; the gap doubles up to
/// [`READY_POLL_MAX`].
const READY_POLL_MIN: Duration = Duration::from_millis(20);
const READY_POLL_MAX: Duration = Duration::from_millis(200);
/// One ready-check attempt may take this long.
const READY_ATTEMPT: Duration = Duration::from_secs(5);

/// How long a pidfile may take to name a live daemon after the program's own process exited.
pub const FOLLOW_WAIT: Duration = Duration::from_secs(5);

/// The live process a pidfile names, if any.
fn read_pidfile(path: &std::path::Path) -> Option<i32> {
    let text = std::fs::read_to_string(path).ok()?;
    let pid: i32 = text.trim().parse().ok().filter(|p| *p > 0)?;
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false);
    (alive && !zombie).then_some(pid)
}

/// The running `exec:` check commands by pid: the check waiting for its status, or `None` once the
/// check gave up on it (killed; the reaper still collects it, quietly).
type ExecWaits = Arc<Mutex<HashMap<i32, Option<oneshot::Sender<ExitStatus>>>>>;

/// The check tasks of one supervisor.
pub struct Checks {
    tx: mpsc::UnboundedSender<Report>,
    rx: mpsc::UnboundedReceiver<Report>,
    tasks: HashMap<(ProcessId, Kind), (i32, AbortHandle)>,
    /// sd_notify sockets bound before the spawn, waiting for their task.
    notify: HashMap<ProcessId, tokio::net::UnixDatagram>,
    notify_dir: Option<PathBuf>,
    /// `WATCHDOG=1` of each notify-checked child, from its notify task to its liveness task.
    pings: HashMap<ProcessId, Arc<tokio::sync::Notify>>,
    exec_waits: ExecWaits,
}

impl Drop for Checks {
    fn drop(&mut self) {
        self.clear();
        if let Some(d) = &self.notify_dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

impl Default for Checks {
    fn default() -> Checks {
        Checks::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Checks {
    pub fn new() -> Checks {
        let (tx, rx) = mpsc::unbounded_channel();
        Checks {
            tx,
            rx,
            tasks: HashMap::new(),
            notify: HashMap::new(),
            notify_dir: None,
            pings: HashMap::new(),
            exec_waits: Arc::default(),
        }
    }

    /// The next report; pending forever while no task runs.
    pub async fn next(&mut self) -> Report {
        match self.rx.recv().await {
            Some(r) => r,
            // We hold a sender ourselves, so the channel never closes.
            None => std::future::pending().await,
        }
    }

    /// Before spawning process `id`: bind its sd_notify socket if it uses one (`ready_check=notify`,
    /// `health_check=notify`, or both sharing it); returns the variables for its environment.
    ///
    /// A notify liveness check is systemd's watchdog: `WATCHDOG_USEC` tells the program how often to
    /// send `WATCHDOG=1`. `WATCHDOG_PID` is left out: the pid is only known after the spawn, and
    /// sd_watchdog_enabled() takes an unset `WATCHDOG_PID` as "this process".
    pub fn prepare_spawn(&mut self, id: ProcessId, spec: &ProcessSpec) -> Vec<(String, String)> {
        let l = &spec.lifecycle;
        let watchdog = l.health_check == Some(Check::Notify);
        if l.ready_check != Some(Check::Notify) && !watchdog {
            return vec![];
        }
        let dir = match &self.notify_dir {
            Some(d) => d.clone(),
            None => {
                // Not the pid alone: every steward that is PID 1 of its own namespace is pid 1, and
                // two of them may share a /tmp.
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or_default();
                let d = std::env::temp_dir()
                    .join(format!("steward-{}-{nanos:08x}", std::process::id()));
                let _ = std::fs::create_dir_all(&d);
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755));
                self.notify_dir = Some(d.clone());
                d
            }
        };
        let path = dir.join(format!("notify-{}.sock", id.0));
        let _ = std::fs::remove_file(&path);
        match tokio::net::UnixDatagram::bind(&path) {
            Ok(sock) => {
                // The child may run as another user.
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777));
                self.notify.insert(id, sock);
                // A fresh one per child: a ping of the previous child must not count for this one.
                self.pings.insert(id, Arc::default());
                let mut env = vec![("NOTIFY_SOCKET".into(), path.to_string_lossy().into_owned())];
                if watchdog {
                    let usec = l.health_interval.max(1).saturating_mul(1_000_000);
                    env.push(("WATCHDOG_USEC".into(), usec.to_string()));
                }
                env
            }
            Err(e) => {
                crate::engine::mainlog::emit(
                    crate::engine::process::Level::Error,
                    &format!("cannot bind the notify socket of {}: {e}", spec.name),
                );
                vec![]
            }
        }
    }

    /// Start or stop the tasks of process `id` to match its state: a ready check while STARTING, the
    /// notify socket while STARTING or RUNNING, the liveness check while RUNNING.
    pub fn sync(
        &mut self,
        id: ProcessId,
        spec: &ProcessSpec,
        state: ProcessState,
        pid: i32,
        logs: &Logs,
    ) {
        let l = &spec.lifecycle;
        let alive = pid > 0;
        let wanted = |k: Kind| match k {
            Kind::Ready => {
                alive
                    && state == ProcessState::Starting
                    && l.ready_check.is_some()
                    && l.ready_check != Some(Check::Notify)
            }
            Kind::Notify => {
                alive
                    && matches!(state, ProcessState::Starting | ProcessState::Running)
                    && (l.ready_check == Some(Check::Notify)
                        || l.health_check == Some(Check::Notify))
            }
            Kind::Health => alive && state == ProcessState::Running && l.health_check.is_some(),
        };
        for kind in [Kind::Ready, Kind::Notify, Kind::Health] {
            let key = (id, kind);
            let current = self.tasks.get(&key).map(|(p, _)| *p);
            if wanted(kind) {
                if current == Some(pid) {
                    continue;
                }
                if let Some((_, h)) = self.tasks.remove(&key) {
                    h.abort();
                }
                if let Some(h) = self.launch(id, pid, kind, spec, logs) {
                    self.tasks.insert(key, (pid, h));
                }
            } else if let Some((_, h)) = self.tasks.remove(&key) {
                h.abort();
            }
        }
        if !(alive || state == ProcessState::Starting) {
            self.notify.remove(&id);
            self.pings.remove(&id);
        }
    }

    /// Stop every task (a reload builds a new table).
    pub fn clear(&mut self) {
        for (_, (_, h)) in self.tasks.drain() {
            h.abort();
        }
        self.notify.clear();
        self.pings.clear();
    }

    /// The reaper found `pid`: if it is an `exec:` check's command, hand its status over (or drop it,
    /// for a check that gave up on it). True when it was one.
    pub fn reaped(&self, pid: i32, status: ExitStatus) -> bool {
        match lock(&self.exec_waits).remove(&pid) {
            Some(tx) => {
                if let Some(tx) = tx {
                    let _ = tx.send(status);
                }
                true
            }
            None => false,
        }
    }

    /// Child `pid` of process `id` exited with `status` and the program has a pidfile: read it (for up
    /// to [`FOLLOW_WAIT`], as a daemon may write it just after its parent exits) and report
    /// [`Outcome::Follow`] or [`Outcome::NoFollow`].
    pub fn follow(&self, id: ProcessId, pid: i32, path: PathBuf, status: ExitStatus) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + FOLLOW_WAIT;
            let outcome = loop {
                if let Some(daemon) = read_pidfile(&path).filter(|d| *d != pid) {
                    break Outcome::Follow(daemon);
                }
                if tokio::time::Instant::now() >= deadline {
                    break Outcome::NoFollow(status);
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            };
            let _ = tx.send(Report { id, pid, outcome });
        });
    }

    /// How many tasks run now (for tests and the idle measurement).
    pub fn running(&self) -> usize {
        self.tasks.len()
    }

    fn launch(
        &mut self,
        id: ProcessId,
        pid: i32,
        kind: Kind,
        spec: &ProcessSpec,
        logs: &Logs,
    ) -> Option<AbortHandle> {
        let tx = self.tx.clone();
        let report = move |outcome| {
            let _ = tx.send(Report { id, pid, outcome });
        };
        let l = spec.lifecycle.clone();
        let waits = self.exec_waits.clone();
        let handle = match kind {
            Kind::Ready => {
                let check = l.ready_check.clone()?;
                if let Check::Log(re) = &check {
                    let pattern = Pattern::new(re).ok()?;
                    let logs = logs.clone();
                    let namespec = spec.namespec();
                    tokio::spawn(async move {
                        watch_log(&logs, &namespec, &pattern).await;
                        report(Outcome::Ready);
                    })
                } else {
                    tokio::spawn(async move {
                        let mut gap = READY_POLL_MIN;
                        loop {
                            if probe(&check, READY_ATTEMPT, &waits).await.is_ok() {
                                report(Outcome::Ready);
                                return;
                            }
                            tokio::time::sleep(gap).await;
                            gap = (gap * 2).min(READY_POLL_MAX);
                        }
                    })
                }
            }
            Kind::Notify => {
                let sock = self.notify.remove(&id)?;
                let ready = l.ready_check == Some(Check::Notify);
                let watchdog = (l.health_check == Some(Check::Notify))
                    .then(|| self.pings.get(&id).cloned())
                    .flatten();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    loop {
                        let Ok(n) = sock.recv(&mut buf).await else {
                            return;
                        };
                        for line in String::from_utf8_lossy(&buf[..n]).lines() {
                            match (line, &watchdog) {
                                ("READY=1", _) if ready => report(Outcome::Ready),
                                ("WATCHDOG=1", Some(pings)) => {
                                    pings.notify_one();
                                    report(Outcome::Passed);
                                }
                                ("WATCHDOG=trigger", Some(_)) => {
                                    report(Outcome::Failed("it sent WATCHDOG=trigger".into()));
                                }
                                _ => {
                                    if let Some(text) = line.strip_prefix("STATUS=") {
                                        report(Outcome::Status(text.to_string()));
                                    }
                                }
                            }
                        }
                    }
                })
            }
            Kind::Health => {
                let check = l.health_check.clone()?;
                let every = Duration::from_secs(l.health_interval.max(1));
                let timeout = Duration::from_secs(l.health_timeout.max(1));
                if check == Check::Notify {
                    // The watchdog: each interval without a WATCHDOG=1 is a failed check, counted
                    // from the last one (a ping restarts the clock, as systemd's does).
                    let pings = self.pings.get(&id).cloned()?;
                    let secs = every.as_secs();
                    tokio::spawn(async move {
                        loop {
                            if tokio::time::timeout(every, pings.notified()).await.is_err() {
                                report(Outcome::Failed(format!("no WATCHDOG=1 within {secs} s")));
                            }
                        }
                    })
                } else {
                    tokio::spawn(async move {
                        loop {
                            tokio::time::sleep(every).await;
                            report(match probe(&check, timeout, &waits).await {
                                Ok(()) => Outcome::Passed,
                                Err(why) => Outcome::Failed(why),
                            });
                        }
                    })
                }
            }
        };
        Some(handle.abort_handle())
    }
}

/// How long `log:` waits before looking at a stream that has no change signal (only a process the
/// logs do not know); every other stream wakes the check when it is written.
const LOG_FALLBACK: Duration = Duration::from_secs(1);
/// While a program keeps writing in small pieces, `log:` reads at most this often: a read per write
/// of a chatty program would cost more than the check is worth. The first write after a quiet spell
/// is read at once.
const LOG_MIN_GAP: Duration = Duration::from_millis(10);

/// Wait until a new line of the process's output (stdout or stderr) matches `pattern`. Reads the
/// stream's tail (its file or in-memory buffer) only while the process is STARTING, and only when the
/// stream was written: the writer's signal ([`crate::logs::Signal`]) wakes it.
async fn watch_log(logs: &Logs, namespec: &str, pattern: &Pattern) {
    const CHUNK: i64 = 1 << 16;
    let streams = [Stream::Stdout, Stream::Stderr];
    // Subscribed before the first read: a write after it is either read or signalled.
    let mut changes: [Option<Changes>; 2] = streams.map(|s| logs.changes(namespec, s));
    let mut offsets: Vec<u64> = streams
        .iter()
        .map(|s| logs.tail(namespec, *s, 0, 0).1)
        .collect();
    let mut partial: Vec<String> = vec![String::new(); streams.len()];
    let mut last_wake: Option<tokio::time::Instant> = None;
    loop {
        let mut backlog = false;
        for c in changes.iter_mut().flatten() {
            c.borrow_and_update();
        }
        for (i, s) in streams.iter().enumerate() {
            // The stream's size; smaller than where we were: rotated or cleared, start over.
            let size = logs.tail(namespec, *s, 0, 0).1;
            if size < offsets[i] {
                offsets[i] = 0;
                partial[i].clear();
            }
            let Ok(from) = i64::try_from(offsets[i]) else {
                continue;
            };
            // Exactly the bytes after `from` (a tail read would hand back older ones too).
            let Ok(bytes) = logs.read(namespec, *s, from, CHUNK) else {
                continue;
            };
            offsets[i] += bytes.len() as u64;
            partial[i].push_str(&String::from_utf8_lossy(&bytes));
            while let Some(nl) = partial[i].find('\n') {
                let line: String = partial[i].drain(..=nl).collect();
                if pattern.matches(line.trim_end_matches(['\n', '\r'])) {
                    return;
                }
            }
            // A prompt-like line without a newline counts too.
            if !partial[i].is_empty() && pattern.matches(&partial[i]) {
                return;
            }
            // More than one chunk waiting: read on without waiting for another write.
            if bytes.len() as i64 == CHUNK {
                backlog = true;
                if let Some(c) = &mut changes[i] {
                    c.mark_changed();
                }
            }
        }
        any_changed(&mut changes, LOG_FALLBACK).await;
        if let Some(next) = last_wake.map(|t| t + LOG_MIN_GAP) {
            if !backlog && next > tokio::time::Instant::now() {
                tokio::time::sleep_until(next).await;
            }
        }
        last_wake = Some(tokio::time::Instant::now());
    }
}

/// Wait until one of `changes` fires; a log without a signal, or whose writer is gone (dropped as
/// `None`), is looked at again after `fallback`.
async fn any_changed(changes: &mut [Option<Changes>; 2], fallback: Duration) {
    let [a, b] = changes;
    let poll = a.is_none() || b.is_none();
    let (gone_a, gone_b) = tokio::select! {
        r = async { a.as_mut()?.changed().await.err() }, if a.is_some() => (r.is_some(), false),
        r = async { b.as_mut()?.changed().await.err() }, if b.is_some() => (false, r.is_some()),
        _ = tokio::time::sleep(fallback), if poll => (false, false),
    };
    if gone_a {
        *a = None;
    }
    if gone_b {
        *b = None;
    }
}

/// Run one `tcp:`, `http://` or `exec:` check within `timeout`.
async fn probe(check: &Check, timeout: Duration, waits: &ExecWaits) -> Result<(), String> {
    match tokio::time::timeout(timeout, probe_once(check, waits)).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
    }
}

async fn connect(host: &str, port: u16) -> Result<tokio::net::TcpStream, String> {
    // tokio resolves on its blocking pool: a slow DNS server never stalls the supervisor's loop.
    let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(a) => a.collect(),
        Err(e) => return Err(format!("cannot resolve {host}: {e}")),
    };
    let mut last = format!("{host} has no address");
    for a in addrs {
        match tokio::net::TcpStream::connect(a).await {
            Ok(s) => return Ok(s),
            Err(e) => last = format!("connect {a}: {e}"),
        }
    }
    Err(last)
}

async fn probe_once(check: &Check, waits: &ExecWaits) -> Result<(), String> {
    match check {
        Check::Tcp { host, port } => connect(host, *port).await.map(drop),
        Check::Http { host, port, path } => {
            let mut s = connect(host, *port).await?;
            let req = format!(
                "GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: steward\r\nConnection: close\r\n\r\n"
            );
            s.write_all(req.as_bytes())
                .await
                .map_err(|e| format!("send: {e}"))?;
            let mut head = [0u8; 64];
            let mut n = 0;
            while n < 12 {
                match s.read(&mut head[n..]).await {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) => return Err(format!("read: {e}")),
                }
            }
            let line = String::from_utf8_lossy(&head[..n]);
            let code: u16 = line
                .split_whitespace()
                .nth(1)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| "no HTTP answer".to_string())?;
            if (200..400).contains(&code) {
                Ok(())
            } else {
                Err(format!("HTTP status {code}"))
            }
        }
        Check::Exec(argv) => {
            let (tx, rx) = oneshot::channel();
            let child = std::process::Command::new(&argv[0])
                .args(&argv[1..])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
            let pid = child.id() as i32;
            // Registered before the next await: the reaper runs on this same thread, later.
            lock(waits).insert(pid, Some(tx));
            // Never waited on here: the one reaper collects it and hands the status over.
            drop(child);
            // Kills the command if this future is dropped (timeout, task aborted) before it ended.
            let _guard = KillOnDrop(pid, waits.clone());
            let status = rx
                .await
                .map_err(|_| "the check was abandoned".to_string())?;
            match status {
                ExitStatus::Code(0) => Ok(()),
                other => Err(format!("{} {}", argv[0], other.describe())),
            }
        }
        Check::Log(_) | Check::Notify => Ok(()),
    }
}

/// An `exec:` check that timed out (or whose task was aborted) is killed; the reaper collects it. Its
/// pid stays known (without a waiter), so that its end is not logged as an unknown process's.
struct KillOnDrop(i32, ExecWaits);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(tx) = lock(&self.1).get_mut(&self.0) {
            tx.take();
            // SAFETY: kill(2) with integer arguments; the pid is our unreaped child (still in the map).
            unsafe {
                libc::kill(self.0, libc::SIGKILL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_tcp_probes() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let waits = ExecWaits::default();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = tokio::spawn(async move {
                for answer in [
                    "HTTP/1.1 204 No Content\r\n\r\n",
                    "HTTP/1.0 503 Busy\r\n\r\n",
                ] {
                    let (mut s, _) = listener.accept().await.unwrap();
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    s.write_all(answer.as_bytes()).await.unwrap();
                }
            });
            let http = Check::Http {
                host: "127.0.0.1".into(),
                port,
                path: "/".into(),
            };
            let t = Duration::from_secs(5);
            assert_eq!(probe(&http, t, &waits).await, Ok(()));
            assert_eq!(probe(&http, t, &waits).await, Err("HTTP status 503".into()));
            server.await.unwrap();
            let tcp = Check::Tcp {
                host: "127.0.0.1".into(),
                port,
            };
            let err = probe(&tcp, t, &waits).await.unwrap_err();
            assert!(err.contains("refused"), "{err}");
        });
    }

    /// With the clock paused, a poll would only see the line once the runtime moved time on to its
    /// next tick; the check sees it at the instant the pump writes it, at virtual time zero. Once
    /// through a file (the splice path) and once through an in-memory tail (no file).
    #[test]
    fn a_log_check_sees_its_line_when_written_not_at_a_poll() {
        use crate::config::LogTarget;
        use crate::logs::tests::{config, log_spec, process};
        let dir = tempfile::tempdir().unwrap();
        let file = log_spec(LogTarget::File(dir.path().join("p.log")), 0, 0);
        let memory = log_spec(LogTarget::None, 0, 0);
        for (stream, spec) in [
            (Stream::Stdout, process("p", file.clone(), memory.clone())),
            (Stream::Stderr, process("p", file, memory)),
        ] {
            let config = config(dir.path(), vec![spec.clone()]);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap();
            let waited = rt.block_on(async {
                let logs = Logs::new(&config);
                let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
                let pump = logs.pump_tapped(&spec, stream, r, None).unwrap();
                let start = tokio::time::Instant::now();
                let watcher = tokio::spawn({
                    let logs = logs.clone();
                    async move {
                        let pattern = Pattern::new("^ready$").unwrap();
                        watch_log(&logs, "p", &pattern).await;
                        tokio::time::Instant::now()
                    }
                });
                // The watcher reads the empty log and waits; only then comes the line.
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                assert!(!watcher.is_finished());
                nix::unistd::write(&w, b"starting\nready\n").unwrap();
                let seen = watcher.await.unwrap();
                drop(w);
                pump.await.unwrap();
                seen - start
            });
            assert_eq!(
                waited,
                Duration::ZERO,
                "{stream}: the check waited for a poll"
            );
        }
    }

    #[test]
    fn log_patterns() {
        let p = Pattern::new(r"listening on \d+").unwrap();
        assert!(p.matches("INFO listening on 8080"));
        assert!(!p.matches("listening on port"));
        assert!(Pattern::new("(").is_err());
        // What README says differs from the full regex syntax.
        assert!(Pattern::new(r"\p{L}").is_err());
        assert!(!Pattern::new(r"^\d$").unwrap().matches("\u{0663}"));
        assert!(Pattern::new(r"(?i)^ready$").unwrap().matches("READY"));
    }
}
