//! The control server's [`Backend`] on top of the engine's [`Handle`], and the servers' lifetime
//! next to the supervisor (bound before anything starts, re-bound when a reload changes them,
//! removed at exit).
//!
//! The engine answers every question over its request channel, log reads and clears included (it
//! owns the log writers, so clearing behind their back would corrupt their size accounting); the
//! two the trait wants synchronously (identification, state) come from a copy of the configuration
//! in force, refreshed on reload, and from the supervisor's state watch.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::rc::Rc;

use tokio::io::AsyncWriteExt as _;
use tokio::sync::{mpsc, watch};

use crate::config::model::{Config, InetServerSpec, UnixServerSpec};
use crate::control::backend::{
    ActionError, Backend, ConfigChanges, ConfigInfo, LogError, LogTail, ProcessInfo, Stream,
    SupervisorState,
};
use crate::control::server::{self, BindError, Limits, Server, UnixBinding};
use crate::engine::api::{self, Fault, Handle};
use crate::engine::process::Level;
use crate::engine::supervisor::emit;

/// What the synchronous trait methods read.
struct Cached {
    identification: String,
}

impl Cached {
    fn of(config: &Config) -> Cached {
        Cached {
            identification: config.supervisord.identifier.clone(),
        }
    }
}

/// [`Backend`] for the real supervisor.
pub struct EngineBackend {
    handle: Handle,
    state: watch::Receiver<api::SupervisorState>,
    cached: RefCell<Cached>,
}

impl EngineBackend {
    pub fn new(
        handle: Handle,
        state: watch::Receiver<api::SupervisorState>,
        config: &Config,
    ) -> EngineBackend {
        EngineBackend {
            handle,
            state,
            cached: RefCell::new(Cached::of(config)),
        }
    }

    /// A reload brought a new configuration into force.
    pub fn set_config(&self, config: &Config) {
        *self.cached.borrow_mut() = Cached::of(config);
    }
}

fn namespec(group: &str, name: &str) -> String {
    format!("{group}:{name}")
}

fn action_error(f: Fault) -> ActionError {
    match f {
        Fault::ShutdownState => ActionError::ShuttingDown,
        Fault::BadName(_) => ActionError::BadName,
        Fault::NoFile(d) => ActionError::NoFile(d),
        Fault::NotExecutable(d) => ActionError::NotExecutable(d),
        Fault::Failed(d) | Fault::BadSignal(d) => ActionError::Failed(d),
        Fault::BadArguments => ActionError::Failed("BAD_ARGUMENTS".into()),
        Fault::AbnormalTermination(_) => ActionError::AbnormalTermination,
        Fault::SpawnError(_) => ActionError::SpawnError,
        Fault::AlreadyStarted(_) => ActionError::AlreadyStarted,
        Fault::NotRunning(_) => ActionError::NotRunning,
        Fault::AlreadyAdded(_) => ActionError::AlreadyAdded,
        Fault::StillRunning(_) => ActionError::StillRunning,
    }
}

/// A log target as a file the control side may read: the engine reports devices and syslog by
/// name, and those are not files to read back.
fn log_file(shown: &str) -> Option<PathBuf> {
    match shown {
        "" | "syslog" | "/dev/stdout" | "/dev/stderr" => None,
        p => Some(PathBuf::from(p)),
    }
}

fn process_info(p: api::ProcessInfo) -> ProcessInfo {
    ProcessInfo {
        state: p.state,
        start: p.start,
        stop: p.stop,
        now: p.now,
        spawnerr: p.spawnerr,
        exitstatus: p.exitstatus.into(),
        stdout_logfile: log_file(&p.stdout_logfile),
        stderr_logfile: log_file(&p.stderr_logfile),
        pid: u32::try_from(p.pid).unwrap_or(0),
        name: p.name,
        group: p.group,
    }
}

/// The engine's read faults as the control side names them. The engine spells "no path at all" as
/// Python's `None`; supervisord leaves the detail out then.
fn log_error(f: Fault) -> LogError {
    match f {
        Fault::BadName(_) => LogError::BadName,
        Fault::NoFile(d) if d == "None" => LogError::NoFile(None),
        Fault::NoFile(d) => LogError::NoFile(Some(d)),
        Fault::BadArguments => LogError::BadArguments,
        Fault::ShutdownState => LogError::ShuttingDown,
        _ => LogError::Failed,
    }
}

fn log_tail(t: api::Tail) -> LogTail {
    LogTail {
        bytes: t.bytes,
        offset: t.offset,
        overflow: t.overflow,
    }
}

impl Backend for EngineBackend {
    fn identification(&self) -> String {
        self.cached.borrow().identification.clone()
    }

    fn state(&self) -> SupervisorState {
        *self.state.borrow()
    }

    /// The engine keeps its table in start order: groups by (priority, name), each group's
    /// processes by (priority, name) as the model sorts them.
    async fn processes(&self) -> Vec<ProcessInfo> {
        self.handle
            .info(None)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(process_info)
            .collect()
    }

    async fn start(&self, group: &str, name: &str, wait: bool) -> Result<(), ActionError> {
        self.handle
            .start(&namespec(group, name), wait)
            .await
            .map_err(action_error)
    }

    async fn stop(&self, group: &str, name: &str, wait: bool) -> Result<(), ActionError> {
        self.handle
            .stop(&namespec(group, name), wait)
            .await
            .map_err(action_error)
    }

    async fn signal(&self, group: &str, name: &str, signal: i32) -> Result<(), ActionError> {
        self.handle
            .signal(&namespec(group, name), signal)
            .await
            .map_err(action_error)
    }

    async fn send_stdin(&self, group: &str, name: &str, data: &str) -> Result<(), ActionError> {
        let fd = self
            .handle
            .stdin(&namespec(group, name))
            .await
            .map_err(action_error)?;
        // Written here rather than by the supervisor: a child that does not read stalls only
        // this request (until its client goes away), never the supervisor.
        let mut pipe = tokio::net::unix::pipe::Sender::from_owned_fd(fd)
            .map_err(|e| ActionError::Failed(e.to_string()))?;
        match pipe.write_all(data.as_bytes()).await {
            Ok(()) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {
                Err(ActionError::NoFile(namespec(group, name)))
            }
            Err(e) => Err(ActionError::Failed(e.to_string())),
        }
    }

    async fn read_log(
        &self,
        group: &str,
        name: &str,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<Vec<u8>, LogError> {
        self.handle
            .read_log(&namespec(group, name), stream, offset, length)
            .await
            .map_err(log_error)
    }

    async fn tail_log(
        &self,
        group: &str,
        name: &str,
        stream: Stream,
        offset: i64,
        length: i64,
    ) -> Result<LogTail, LogError> {
        self.handle
            .tail_log(&namespec(group, name), stream, offset, length)
            .await
            .map(log_tail)
            .map_err(log_error)
    }

    async fn clear_logs(&self, group: &str, name: &str) -> Result<(), ActionError> {
        self.handle
            .clear_logs(Some(&namespec(group, name)))
            .await
            .map(drop)
            .map_err(action_error)
    }

    async fn read_main_log(&self, offset: i64, length: i64) -> Result<Vec<u8>, LogError> {
        self.handle
            .read_main_log(offset, length)
            .await
            .map_err(log_error)
    }

    async fn tail_main_log(&self, offset: i64, length: i64) -> Result<LogTail, LogError> {
        self.handle
            .tail_main_log(offset, length)
            .await
            .map(log_tail)
            .map_err(log_error)
    }

    async fn clear_main_log(&self) -> Result<(), ActionError> {
        self.handle.clear_main_log().await.map_err(action_error)
    }

    async fn reread(&self) -> Result<ConfigChanges, String> {
        let c = self.handle.reread().await?;
        Ok(ConfigChanges {
            added: c.added,
            changed: c.changed,
            removed: c.removed,
        })
    }

    async fn add_group(&self, group: &str) -> Result<(), ActionError> {
        self.handle.add_group(group).await.map_err(action_error)
    }

    async fn remove_group(&self, group: &str) -> Result<(), ActionError> {
        self.handle.remove_group(group).await.map_err(action_error)
    }

    async fn config_info(&self) -> Vec<ConfigInfo> {
        let Some(c) = self.handle.group_configs().await else {
            return Vec::new();
        };
        c.groups
            .into_iter()
            .flat_map(|g| {
                let inuse = c.active.contains(&g.name);
                let priority = g.priority;
                g.processes.into_iter().map(move |spec| ConfigInfo {
                    spec,
                    group_priority: priority,
                    inuse,
                })
            })
            .collect()
    }

    // Queued synchronously, so it is ordered before any later request of any client; its answer
    // (Ok, or SHUTDOWN_STATE when already stopping) changes nothing for the caller.
    fn shutdown(&self) {
        let (reply, _) = tokio::sync::oneshot::channel();
        let _ = self.handle.tx.send(api::Request::Shutdown { reply });
    }

    fn restart(&self) {
        let (reply, _) = tokio::sync::oneshot::channel();
        let _ = self.handle.tx.send(api::Request::Reload { reply });
    }

    async fn remote_comm_event(&self, _kind: &str, _data: &str) {}
}

// ---------------------------------------------------------------------------------------------
// The servers' lifetime

/// The configured servers, bound (sockets exist, nothing served yet).
pub struct Bound {
    unix: Option<(UnixServerSpec, UnixBinding)>,
    inet: Option<(InetServerSpec, std::net::TcpListener)>,
}

impl Bound {
    /// Bind `[unix_http_server]` and `[inet_http_server]`; the first failure is returned and
    /// whatever was bound already is released (its socket file removed).
    pub fn bind(config: &Config) -> Result<Bound, BindError> {
        let unix = match &config.unix_http_server {
            Some(spec) => Some((spec.clone(), server::bind_unix(spec)?)),
            None => None,
        };
        let inet = match &config.inet_http_server {
            Some(spec) => Some((spec.clone(), server::bind_tcp(spec)?)),
            None => None,
        };
        Ok(Bound { unix, inet })
    }
}

type Serving = Pin<Box<dyn Future<Output = io::Result<()>>>>;

fn serve_unix(b: &Rc<EngineBackend>, spec: &UnixServerSpec, binding: UnixBinding) -> Serving {
    let srv = Server::new(b.clone(), spec.auth.clone(), Limits::default());
    Box::pin(srv.serve_unix(binding))
}

fn serve_inet(
    b: &Rc<EngineBackend>,
    spec: &InetServerSpec,
    listener: std::net::TcpListener,
) -> Serving {
    let srv = Server::new(b.clone(), spec.auth.clone(), Limits::default());
    Box::pin(srv.serve_tcp(listener))
}

/// One running server and the spec it was made from (to tell whether a reload changed it).
struct Running<S> {
    spec: S,
    serving: Option<Serving>,
}

/// Serve until dropped. `reloads` delivers each configuration a reload brings into force: the
/// backend's copy is refreshed, and a server whose section changed is closed and bound again
/// (an unchanged one keeps its socket, so clients never see it vanish). A re-bind that fails is
/// logged and leaves that server off: as PID 1, exiting would take the container down.
pub async fn serve(
    bound: Bound,
    backend: Rc<EngineBackend>,
    mut reloads: mpsc::UnboundedReceiver<Config>,
) {
    let mut unix = bound.unix.map(|(spec, binding)| Running {
        serving: Some(serve_unix(&backend, &spec, binding)),
        spec,
    });
    let mut inet = bound.inet.map(|(spec, listener)| Running {
        serving: Some(serve_inet(&backend, &spec, listener)),
        spec,
    });
    loop {
        tokio::select! {
            r = poll_opt(&mut unix) => {
                log_ended("unix_http_server", r);
                if let Some(u) = &mut unix { u.serving = None; }
            }
            r = poll_opt(&mut inet) => {
                log_ended("inet_http_server", r);
                if let Some(i) = &mut inet { i.serving = None; }
            }
            config = reloads.recv() => {
                let Some(config) = config else {
                    return std::future::pending().await;
                };
                backend.set_config(&config);
                if unix.as_ref().map(|u| &u.spec) != config.unix_http_server.as_ref() {
                    // Closed first: the new binding probes the path and would find us alive.
                    drop(unix.take());
                    unix = config.unix_http_server.as_ref().and_then(|spec| {
                        match server::bind_unix(spec) {
                            Ok(b) => Some(Running { serving: Some(serve_unix(&backend, spec, b)), spec: spec.clone() }),
                            Err(e) => { emit(Level::Crit, &format!("unix_http_server: {e}")); None }
                        }
                    });
                }
                if inet.as_ref().map(|i| &i.spec) != config.inet_http_server.as_ref() {
                    drop(inet.take());
                    inet = config.inet_http_server.as_ref().and_then(|spec| {
                        match server::bind_tcp(spec) {
                            Ok(l) => Some(Running { serving: Some(serve_inet(&backend, spec, l)), spec: spec.clone() }),
                            Err(e) => { emit(Level::Crit, &format!("inet_http_server: {e}")); None }
                        }
                    });
                }
            }
        }
    }
}

async fn poll_opt<S>(r: &mut Option<Running<S>>) -> io::Result<()> {
    match r.as_mut().and_then(|r| r.serving.as_mut()) {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

fn log_ended(what: &str, r: io::Result<()>) {
    if let Err(e) = r {
        emit(Level::Crit, &format!("{what} stopped serving: {e}"));
    }
}
