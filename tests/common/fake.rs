//! An in-memory [`Engine`] with a process table, so the server, the client and `steward ctl` can be
//! tested end to end without the supervisor. Transitions are immediate: start goes straight to
//! RUNNING (or to the refusal configured for the process), stop straight to STOPPED. Test-only: it
//! lives here, not in the steward binary.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use steward::config::model::{ConsolePrefix, LogSpec, LogTarget, ProcessSpec};
use steward::engine::api::{
    Changes, ConfigInfo, Engine, EngineError, GroupChanges, Metrics, ProcessId, ProcessInfo,
    ProcessState, Stream, SupervisorState, Tail,
};
use steward::logs::tail::{self, ReadError, TailBuffer};

/// One process of the fake table.
#[derive(Debug, Clone)]
pub struct FakeProcess {
    pub info: ProcessInfo,
    pub spec: ProcessSpec,
    pub group_priority: i64,
    /// What `start` answers instead of starting (e.g. `SpawnFailed`, which leaves it FATAL).
    pub start_error: Option<EngineError>,
    /// How long `start` with `wait` takes (as startsecs would).
    pub start_delay: std::time::Duration,
}

/// Everything the fake knows and records; tests may inspect and change it between requests.
#[derive(Debug)]
pub struct FakeState {
    pub identification: String,
    pub state: SupervisorState,
    pub processes: Vec<FakeProcess>,
    /// Groups a re-read would find but that are not active yet.
    pub available: Vec<FakeProcess>,
    pub changes: Result<GroupChanges, EngineError>,
    pub main_log: Option<PathBuf>,
    pub signals: Vec<(String, i32)>,
    pub stdin: Vec<(String, String)>,
    pub shutdowns: u32,
    pub restarts: u32,
    /// Calls of `start` so far (counted on entry, before any wait).
    pub starts_begun: u32,
    /// In-memory tails of streams without a log file, by namespec (see [`FakeEngine::output`]).
    pub memory: Vec<(String, Stream, TailBuffer)>,
    next_pid: u32,
}

/// The fake engine. Interior mutability is enough: everything runs on one thread.
#[derive(Debug)]
pub struct FakeEngine {
    pub inner: RefCell<FakeState>,
}

/// Ids unique across every fake in the test binary, like the engine's.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A plausible ProcessSpec with supervisord's defaults.
pub fn spec(group: &str, name: &str, logdir: Option<&std::path::Path>) -> ProcessSpec {
    let log = |stream: &str| {
        LogSpec::new(match logdir {
            Some(d) => LogTarget::File(d.join(format!("{name}.{stream}.log"))),
            None => LogTarget::None,
        })
    };
    ProcessSpec {
        group: group.into(),
        program: group.into(),
        stdout: log("stdout"),
        stderr: log("stderr"),
        console_prefix: ConsolePrefix::Off,
        ..ProcessSpec::new(name, &["/bin/sleep", "1000"])
    }
}

impl FakeProcess {
    /// A never-started process; with `logdir`, its stdout/stderr logs are files there.
    pub fn new(group: &str, name: &str, logdir: Option<&std::path::Path>) -> FakeProcess {
        let spec = spec(group, name, logdir);
        let file = |t: &LogTarget| match t {
            LogTarget::File(p) => Some(p.clone()),
            _ => None,
        };
        FakeProcess {
            info: ProcessInfo {
                id: ProcessId(NEXT_ID.fetch_add(1, Ordering::Relaxed)),
                name: name.into(),
                group: group.into(),
                state: ProcessState::Stopped,
                start: 0,
                stop: 0,
                now: now(),
                spawnerr: String::new(),
                exitstatus: 0,
                stdout_logfile: file(&spec.stdout.target),
                stderr_logfile: file(&spec.stderr.target),
                pid: 0,
                note: String::new(),
                unhealthy: None,
            },
            spec,
            group_priority: 999,
            start_error: None,
            start_delay: std::time::Duration::ZERO,
        }
    }

    pub fn autostart(mut self, on: bool) -> FakeProcess {
        self.spec.autostart = on;
        self
    }

    pub fn slow(mut self, d: std::time::Duration) -> FakeProcess {
        self.start_delay = d;
        self
    }

    pub fn failing(mut self, e: EngineError) -> FakeProcess {
        self.start_error = Some(e);
        self
    }
}

impl FakeEngine {
    pub fn new(processes: Vec<FakeProcess>) -> FakeEngine {
        FakeEngine {
            inner: RefCell::new(FakeState {
                identification: "supervisor".into(),
                state: SupervisorState::Running,
                processes,
                available: Vec::new(),
                changes: Ok(GroupChanges::default()),
                main_log: None,
                signals: Vec::new(),
                stdin: Vec::new(),
                shutdowns: 0,
                restarts: 0,
                starts_begun: 0,
                memory: Vec::new(),
                next_pid: 4000,
            }),
        }
    }

    /// Output of a process whose stream has no log file (console only, NONE): kept in memory.
    pub fn output(&self, group: &str, name: &str, stream: Stream, data: &[u8]) {
        memory(&mut self.inner.borrow_mut(), group, name, stream).push(data);
    }

    /// Put a process straight into RUNNING (as autostart would).
    pub fn run(&self, group: &str, name: &str) {
        let mut s = self.inner.borrow_mut();
        s.next_pid += 1;
        let pid = s.next_pid;
        if let Some(p) = s
            .processes
            .iter_mut()
            .find(|p| p.info.group == group && p.info.name == name)
        {
            p.info.state = ProcessState::Running;
            p.info.pid = pid;
            p.info.start = now();
        }
    }
}

/// Where a stream's log is: its file, or (console only, NONE) an in-memory tail as the engine keeps.
/// A stream without a file that was never given [`FakeEngine::output`] answers as supervisord does
/// for a process without a log, so wire-parity tests can compare those answers.
enum Source<'a> {
    File(PathBuf),
    Memory(&'a mut TailBuffer),
    Nothing,
}

fn log_source(s: &mut FakeState, id: ProcessId, stream: Stream) -> Result<Source<'_>, EngineError> {
    let p = find(&mut s.processes, id)?;
    let file = match stream {
        Stream::Stdout => p.info.stdout_logfile.clone(),
        Stream::Stderr => p.info.stderr_logfile.clone(),
    };
    if let Some(f) = file {
        return Ok(Source::File(f));
    }
    let ns = p.info.namespec();
    match s
        .memory
        .iter_mut()
        .find(|(n, st, _)| *n == ns && *st == stream)
    {
        Some((_, _, t)) => Ok(Source::Memory(t)),
        None => Ok(Source::Nothing),
    }
}

fn memory<'a>(s: &'a mut FakeState, group: &str, name: &str, stream: Stream) -> &'a mut TailBuffer {
    let ns = if group == name {
        name.to_string()
    } else {
        format!("{group}:{name}")
    };
    let i = match s
        .memory
        .iter()
        .position(|(n, st, _)| *n == ns && *st == stream)
    {
        Some(i) => i,
        None => {
            s.memory
                .push((ns, stream, TailBuffer::new(steward::logs::TAIL_BYTES)));
            s.memory.len() - 1
        }
    };
    &mut s.memory[i].2
}

fn file_error(e: ReadError, path: &Path) -> EngineError {
    match e {
        ReadError::NoFile => EngineError::NoFile(Some(path.to_path_buf())),
        ReadError::BadArguments => EngineError::BadArguments,
        ReadError::Failed => EngineError::Failed(path.display().to_string()),
    }
}

fn find(procs: &mut [FakeProcess], id: ProcessId) -> Result<&mut FakeProcess, EngineError> {
    procs
        .iter_mut()
        .find(|p| p.info.id == id)
        .ok_or(EngineError::BadName)
}

impl Engine for FakeEngine {
    fn identification(&self) -> String {
        self.inner.borrow().identification.clone()
    }

    fn state(&self) -> SupervisorState {
        self.inner.borrow().state
    }

    async fn processes(&self) -> Vec<ProcessInfo> {
        let t = now();
        self.inner
            .borrow()
            .processes
            .iter()
            .map(|p| ProcessInfo {
                now: t,
                ..p.info.clone()
            })
            .collect()
    }

    async fn start(&self, id: ProcessId, wait: bool) -> Result<(), EngineError> {
        self.inner.borrow_mut().starts_begun += 1;
        let delay = self
            .inner
            .borrow()
            .processes
            .iter()
            .find(|p| p.info.id == id)
            .map(|p| p.start_delay)
            .unwrap_or_default();
        if wait && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut s = self.inner.borrow_mut();
        s.next_pid += 1;
        let pid = s.next_pid;
        let p = find(&mut s.processes, id)?;
        if p.info.state.is_running() {
            return Err(EngineError::AlreadyStarted);
        }
        if let Some(e) = p.start_error.clone() {
            if e == EngineError::SpawnFailed {
                p.info.state = ProcessState::Fatal;
                p.info.spawnerr = "Exited too quickly (process log may have details)".into();
                p.info.start = now();
                p.info.stop = now();
            }
            return Err(e);
        }
        p.info.state = ProcessState::Running;
        p.info.pid = pid;
        p.info.start = now();
        p.info.spawnerr.clear();
        Ok(())
    }

    async fn stop(&self, id: ProcessId, _wait: bool) -> Result<(), EngineError> {
        let mut s = self.inner.borrow_mut();
        let p = find(&mut s.processes, id)?;
        if !p.info.state.is_running() {
            return Err(EngineError::NotRunning);
        }
        p.info.state = ProcessState::Stopped;
        p.info.pid = 0;
        p.info.stop = now();
        Ok(())
    }

    async fn signal(&self, id: ProcessId, signal: i32) -> Result<(), EngineError> {
        let mut s = self.inner.borrow_mut();
        let p = find(&mut s.processes, id)?;
        if !p.info.state.is_signallable() {
            return Err(EngineError::NotRunning);
        }
        let ns = p.info.namespec();
        s.signals.push((ns, signal));
        Ok(())
    }

    async fn send_stdin(&self, id: ProcessId, data: &[u8]) -> Result<(), EngineError> {
        let mut s = self.inner.borrow_mut();
        let p = find(&mut s.processes, id)?;
        let ns = p.info.namespec();
        s.stdin
            .push((ns, String::from_utf8_lossy(data).into_owned()));
        Ok(())
    }

    async fn read_log(
        &self,
        id: ProcessId,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Vec<u8>, EngineError> {
        let mut s = self.inner.borrow_mut();
        match log_source(&mut s, id, stream)? {
            Source::File(p) => tail::read_file(&p, offset, length).map_err(|e| file_error(e, &p)),
            // A ring has no file: only its argument check can fail.
            Source::Memory(t) => t
                .read(offset, length)
                .map_err(|_| EngineError::BadArguments),
            Source::Nothing => Err(EngineError::NoFile(None)),
        }
    }

    async fn tail_log(
        &self,
        id: ProcessId,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Tail, EngineError> {
        let mut s = self.inner.borrow_mut();
        let (bytes, offset, overflow) = match log_source(&mut s, id, stream)? {
            Source::File(p) => tail::tail_file(&p, offset, length),
            Source::Memory(t) => t.tail(offset, length),
            Source::Nothing => (Vec::new(), 0, false),
        };
        Ok(Tail {
            bytes,
            offset,
            overflow,
        })
    }

    // Nobody writes the fake's files, so truncating them here corrupts nothing.
    async fn clear_logs(&self, id: ProcessId) -> Result<(), EngineError> {
        let mut s = self.inner.borrow_mut();
        let p = find(&mut s.processes, id)?;
        for f in [&p.info.stdout_logfile, &p.info.stderr_logfile]
            .into_iter()
            .flatten()
        {
            if f.exists() {
                std::fs::write(f, b"").map_err(|e| EngineError::Failed(e.to_string()))?;
            }
        }
        let ns = p.info.namespec();
        for (n, _, t) in s.memory.iter_mut() {
            if *n == ns {
                t.clear();
            }
        }
        Ok(())
    }

    // Only an in-memory tail has a writer here ([`FakeEngine::output`]); nobody writes the files, so
    // their followers poll, as for a log without a signal.
    async fn log_changes(&self, id: ProcessId, stream: Stream) -> Option<Changes> {
        match log_source(&mut self.inner.borrow_mut(), id, stream).ok()? {
            Source::Memory(t) => Some(t.subscribe()),
            Source::File(_) | Source::Nothing => None,
        }
    }

    async fn main_log_changes(&self) -> Option<Changes> {
        None
    }

    async fn read_main_log(&self, offset: i64, length: i64) -> Result<Vec<u8>, EngineError> {
        let f = self.inner.borrow().main_log.clone();
        let f = f.ok_or(EngineError::NoFile(None))?;
        tail::read_file(&f, offset, length).map_err(|e| file_error(e, &f))
    }

    async fn tail_main_log(&self, offset: i64, length: i64) -> Result<Tail, EngineError> {
        let f = self.inner.borrow().main_log.clone();
        let (bytes, offset, overflow) =
            tail::tail_file(&f.ok_or(EngineError::NoFile(None))?, offset, length);
        Ok(Tail {
            bytes,
            offset,
            overflow,
        })
    }

    async fn clear_main_log(&self) -> Result<(), EngineError> {
        match self.inner.borrow().main_log.clone() {
            Some(f) if f.exists() => {
                std::fs::write(f, b"").map_err(|e| EngineError::Failed(e.to_string()))
            }
            _ => Err(EngineError::NoFile(None)),
        }
    }

    async fn reread(&self) -> Result<GroupChanges, EngineError> {
        self.inner.borrow().changes.clone()
    }

    async fn add_group(&self, group: &str) -> Result<(), EngineError> {
        let mut s = self.inner.borrow_mut();
        if s.processes.iter().any(|p| p.info.group == group) {
            return Err(EngineError::AlreadyAdded);
        }
        let (add, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut s.available)
            .into_iter()
            .partition(|p| p.info.group == group);
        s.available = keep;
        if add.is_empty() {
            return Err(EngineError::BadName);
        }
        s.processes.extend(add);
        Ok(())
    }

    async fn remove_group(&self, group: &str) -> Result<(), EngineError> {
        let mut s = self.inner.borrow_mut();
        let members: Vec<&FakeProcess> = s
            .processes
            .iter()
            .filter(|p| p.info.group == group)
            .collect();
        if members.is_empty() {
            return Err(EngineError::BadName);
        }
        if members.iter().any(|p| {
            !matches!(
                p.info.state,
                ProcessState::Stopped | ProcessState::Exited | ProcessState::Fatal
            )
        }) {
            return Err(EngineError::StillRunning);
        }
        s.processes.retain(|p| p.info.group != group);
        Ok(())
    }

    async fn config_info(&self) -> Vec<ConfigInfo> {
        let s = self.inner.borrow();
        let active = s.processes.iter().map(|p| (p, true));
        let avail = s.available.iter().map(|p| (p, false));
        active
            .chain(avail)
            .map(|(p, inuse)| ConfigInfo {
                spec: p.spec.clone(),
                group_priority: p.group_priority,
                inuse,
            })
            .collect()
    }

    fn shutdown(&self) {
        self.inner.borrow_mut().shutdowns += 1;
    }

    async fn restart(&self) -> Result<(), EngineError> {
        self.inner.borrow_mut().restarts += 1;
        Ok(())
    }

    async fn remote_comm_event(&self, _kind: &str, _data: &str) {}

    /// The fake counts nothing: every process with zero counters.
    async fn metrics(&self) -> Metrics {
        let processes = self.processes().await;
        Metrics {
            processes: processes
                .into_iter()
                .map(|p| (p, Default::default()))
                .collect(),
            reloads: 0,
            started: now(),
        }
    }
}

/// A FakeEngine served on a unix socket by its own thread and runtime, for tests of the server,
/// the client and `steward ctl` (including the stock supervisorctl). Stopped and joined on drop.
pub struct TestServer {
    pub socket: PathBuf,
    commands: Option<tokio::sync::mpsc::UnboundedSender<Command>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type Command = Box<dyn FnOnce(&FakeEngine) + Send>;

impl TestServer {
    /// Serve `make()`'s backend on `socket` with the given credentials and limits.
    pub fn start<F>(
        socket: PathBuf,
        auth: Option<steward::config::model::Credentials>,
        limits: steward::control::server::Limits,
        make: F,
    ) -> std::io::Result<TestServer>
    where
        F: FnOnce() -> FakeEngine + Send + 'static,
    {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Command>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let spec = steward::config::model::UnixServerSpec {
            file: socket.clone(),
            chmod: 0o700,
            chown: None,
            auth: auth.clone(),
        };
        let thread = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            let backend = std::rc::Rc::new(make());
            let binding = match steward::control::server::bind_unix(&spec) {
                Ok(b) => b,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.0));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            let server = steward::control::server::Server::new(backend.clone(), auth, limits);
            rt.block_on(async move {
                let serve = server.serve_unix(binding);
                tokio::pin!(serve);
                loop {
                    tokio::select! {
                        _ = &mut serve => return,
                        cmd = rx.recv() => match cmd {
                            Some(f) => f(&backend),
                            None => return,
                        },
                    }
                }
            });
        });
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(TestServer {
                socket,
                commands: Some(tx),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(std::io::Error::other(e))
            }
            Err(_) => {
                let _ = thread.join();
                Err(std::io::Error::other("server thread died"))
            }
        }
    }

    /// Run `f` on the server thread against the backend and return its result.
    pub fn with<R: Send + 'static>(&self, f: impl FnOnce(&FakeEngine) -> R + Send + 'static) -> R {
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(c) = &self.commands {
            let _ = c.send(Box::new(move |b: &FakeEngine| {
                let _ = tx.send(f(b));
            }));
        }
        rx.recv().expect("server thread alive")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.commands.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
