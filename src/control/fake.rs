//! An in-memory [`Backend`] with a process table, so the server, the client and `steward ctl` can be
//! tested end to end without the engine. Transitions are immediate: start goes straight to RUNNING
//! (or to the refusal configured for the process), stop straight to STOPPED.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use crate::config::model::{ConsolePrefix, LogSpec, LogTarget, ProcessSpec};
use crate::control::backend::{
    ActionError, Backend, ConfigChanges, ConfigInfo, LogError, LogTail, ProcessInfo, ProcessState,
    Stream, SupervisorState,
};
use crate::logs::tail::{self, ReadError, TailBuffer};

/// One process of the fake table.
#[derive(Debug, Clone)]
pub struct FakeProcess {
    pub info: ProcessInfo,
    pub spec: ProcessSpec,
    pub group_priority: i64,
    /// What `start` answers instead of starting (e.g. `SpawnError`), leaving the process FATAL.
    pub start_error: Option<ActionError>,
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
    pub changes: Result<ConfigChanges, String>,
    pub main_log: Option<PathBuf>,
    pub signals: Vec<(String, i32)>,
    pub stdin: Vec<(String, String)>,
    pub shutdowns: u32,
    pub restarts: u32,
    /// Calls of `start` so far (counted on entry, before any wait).
    pub starts_begun: u32,
    /// In-memory tails of streams without a log file, by namespec (see [`FakeBackend::output`]).
    pub memory: Vec<(String, Stream, TailBuffer)>,
    next_pid: u32,
}

/// The fake backend. Interior mutability is enough: everything runs on one thread.
#[derive(Debug)]
pub struct FakeBackend {
    pub inner: RefCell<FakeState>,
}

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

    pub fn failing(mut self, e: ActionError) -> FakeProcess {
        self.start_error = Some(e);
        self
    }
}

impl FakeBackend {
    pub fn new(processes: Vec<FakeProcess>) -> FakeBackend {
        FakeBackend {
            inner: RefCell::new(FakeState {
                identification: "supervisor".into(),
                state: SupervisorState::Running,
                processes,
                available: Vec::new(),
                changes: Ok(ConfigChanges::default()),
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
        if let Some(p) = find(&mut s.processes, group, name) {
            p.info.state = ProcessState::Running;
            p.info.pid = pid;
            p.info.start = now();
        }
    }
}

/// Where a stream's log is: its file, or (console only, NONE) an in-memory tail as the engine keeps.
/// A stream without a file that was never given [`FakeBackend::output`] answers as supervisord does
/// for a process without a log, so wire-parity tests can compare those answers.
enum Source<'a> {
    File(PathBuf),
    Memory(&'a mut TailBuffer),
    Nothing,
}

fn log_source<'a>(
    s: &'a mut FakeState,
    group: &str,
    name: &str,
    stream: Stream,
) -> Result<Source<'a>, LogError> {
    let p = find(&mut s.processes, group, name).ok_or(LogError::BadName)?;
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
                .push((ns, stream, TailBuffer::new(crate::logs::TAIL_BYTES)));
            s.memory.len() - 1
        }
    };
    &mut s.memory[i].2
}

fn file_error(e: ReadError, path: &Path) -> LogError {
    match e {
        ReadError::NoFile => LogError::NoFile(Some(path.display().to_string())),
        ReadError::BadArguments => LogError::BadArguments,
        ReadError::Failed => LogError::Failed,
    }
}

fn find<'a>(procs: &'a mut [FakeProcess], group: &str, name: &str) -> Option<&'a mut FakeProcess> {
    procs
        .iter_mut()
        .find(|p| p.info.group == group && p.info.name == name)
}

impl Backend for FakeBackend {
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

    async fn start(&self, group: &str, name: &str, wait: bool) -> Result<(), ActionError> {
        self.inner.borrow_mut().starts_begun += 1;
        let delay = self
            .inner
            .borrow()
            .processes
            .iter()
            .find(|p| p.info.group == group && p.info.name == name)
            .map(|p| p.start_delay)
            .unwrap_or_default();
        if wait && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut s = self.inner.borrow_mut();
        s.next_pid += 1;
        let pid = s.next_pid;
        let p = find(&mut s.processes, group, name).ok_or(ActionError::BadName)?;
        if p.info.state.is_running() {
            return Err(ActionError::AlreadyStarted);
        }
        if let Some(e) = p.start_error.clone() {
            if e == ActionError::SpawnError {
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

    async fn stop(&self, group: &str, name: &str, _wait: bool) -> Result<(), ActionError> {
        let mut s = self.inner.borrow_mut();
        let p = find(&mut s.processes, group, name).ok_or(ActionError::BadName)?;
        if !p.info.state.is_running() {
            return Err(ActionError::NotRunning);
        }
        p.info.state = ProcessState::Stopped;
        p.info.pid = 0;
        p.info.stop = now();
        Ok(())
    }

    async fn signal(&self, group: &str, name: &str, signal: i32) -> Result<(), ActionError> {
        let mut s = self.inner.borrow_mut();
        let p = find(&mut s.processes, group, name).ok_or(ActionError::BadName)?;
        if !p.info.state.is_signallable() {
            return Err(ActionError::NotRunning);
        }
        let ns = p.info.namespec();
        s.signals.push((ns, signal));
        Ok(())
    }

    async fn send_stdin(&self, group: &str, name: &str, data: &str) -> Result<(), ActionError> {
        let mut s = self.inner.borrow_mut();
        let p = find(&mut s.processes, group, name).ok_or(ActionError::BadName)?;
        let ns = p.info.namespec();
        s.stdin.push((ns, data.into()));
        Ok(())
    }

    async fn read_log(
        &self,
        group: &str,
        name: &str,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Vec<u8>, LogError> {
        let mut s = self.inner.borrow_mut();
        match log_source(&mut s, group, name, stream)? {
            Source::File(p) => tail::read_file(&p, offset, length).map_err(|e| file_error(e, &p)),
            // A ring has no file: only its argument check can fail.
            Source::Memory(t) => t.read(offset, length).map_err(|_| LogError::BadArguments),
            Source::Nothing => Err(LogError::NoFile(None)),
        }
    }

    async fn tail_log(
        &self,
        group: &str,
        name: &str,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<LogTail, LogError> {
        let mut s = self.inner.borrow_mut();
        let (bytes, offset, overflow) = match log_source(&mut s, group, name, stream)? {
            Source::File(p) => tail::tail_file(&p, offset, length),
            Source::Memory(t) => t.tail(offset, length),
            Source::Nothing => (Vec::new(), 0, false),
        };
        Ok(LogTail {
            bytes,
            offset,
            overflow,
        })
    }

    // Nobody writes the fake's files, so truncating them here corrupts nothing.
    async fn clear_logs(&self, group: &str, name: &str) -> Result<(), ActionError> {
        let mut s = self.inner.borrow_mut();
        let p = find(&mut s.processes, group, name).ok_or(ActionError::BadName)?;
        for f in [&p.info.stdout_logfile, &p.info.stderr_logfile]
            .into_iter()
            .flatten()
        {
            if f.exists() {
                std::fs::write(f, b"").map_err(|e| ActionError::Failed(e.to_string()))?;
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

    async fn read_main_log(&self, offset: i64, length: i64) -> Result<Vec<u8>, LogError> {
        let f = self.inner.borrow().main_log.clone();
        let f = f.ok_or(LogError::NoFile(None))?;
        tail::read_file(&f, offset, length).map_err(|e| file_error(e, &f))
    }

    async fn tail_main_log(&self, offset: i64, length: i64) -> Result<LogTail, LogError> {
        let f = self.inner.borrow().main_log.clone();
        let (bytes, offset, overflow) =
            tail::tail_file(&f.ok_or(LogError::NoFile(None))?, offset, length);
        Ok(LogTail {
            bytes,
            offset,
            overflow,
        })
    }

    async fn clear_main_log(&self) -> Result<(), ActionError> {
        match self.inner.borrow().main_log.clone() {
            Some(f) if f.exists() => {
                std::fs::write(f, b"").map_err(|e| ActionError::Failed(e.to_string()))
            }
            _ => Err(ActionError::NoFile("None".into())),
        }
    }

    async fn reread(&self) -> Result<ConfigChanges, String> {
        self.inner.borrow().changes.clone()
    }

    async fn add_group(&self, group: &str) -> Result<(), ActionError> {
        let mut s = self.inner.borrow_mut();
        if s.processes.iter().any(|p| p.info.group == group) {
            return Err(ActionError::AlreadyAdded);
        }
        let (add, keep): (Vec<_>, Vec<_>) = std::mem::take(&mut s.available)
            .into_iter()
            .partition(|p| p.info.group == group);
        s.available = keep;
        if add.is_empty() {
            return Err(ActionError::BadName);
        }
        s.processes.extend(add);
        Ok(())
    }

    async fn remove_group(&self, group: &str) -> Result<(), ActionError> {
        let mut s = self.inner.borrow_mut();
        let members: Vec<&FakeProcess> = s
            .processes
            .iter()
            .filter(|p| p.info.group == group)
            .collect();
        if members.is_empty() {
            return Err(ActionError::BadName);
        }
        if members.iter().any(|p| {
            !matches!(
                p.info.state,
                ProcessState::Stopped | ProcessState::Exited | ProcessState::Fatal
            )
        }) {
            return Err(ActionError::StillRunning);
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

    fn restart(&self) {
        self.inner.borrow_mut().restarts += 1;
    }

    async fn remote_comm_event(&self, _kind: &str, _data: &str) {}
}

/// A FakeBackend served on a unix socket by its own thread and runtime, for tests of the server,
/// the client and `steward ctl` (including the stock supervisorctl). Stopped and joined on drop.
pub struct TestServer {
    pub socket: PathBuf,
    commands: Option<tokio::sync::mpsc::UnboundedSender<Command>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type Command = Box<dyn FnOnce(&FakeBackend) + Send>;

impl TestServer {
    /// Serve `make()`'s backend on `socket` with the given credentials and limits.
    pub fn start<F>(
        socket: PathBuf,
        auth: Option<crate::config::model::Credentials>,
        limits: crate::control::server::Limits,
        make: F,
    ) -> std::io::Result<TestServer>
    where
        F: FnOnce() -> FakeBackend + Send + 'static,
    {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Command>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let spec = crate::config::model::UnixServerSpec {
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
            let binding = match crate::control::server::bind_unix(&spec) {
                Ok(b) => b,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.0));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            let server = crate::control::server::Server::new(backend.clone(), auth, limits);
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
    pub fn with<R: Send + 'static>(&self, f: impl FnOnce(&FakeBackend) -> R + Send + 'static) -> R {
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(c) = &self.commands {
            let _ = c.send(Box::new(move |b: &FakeBackend| {
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
