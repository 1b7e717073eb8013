//! The control servers' lifetime next to the supervisor: bound before anything starts, re-bound when
//! a reload changes their section, their socket files removed when they are dropped.
//!
//! The servers talk to the engine only through [`Engine`] (a [`Handle`] in steward).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;

use tokio::sync::mpsc;

use crate::config::model::{Config, InetServerSpec, UnixServerSpec};
use crate::control::server::{self, BindError, Limits, Server, UnixBinding};
use crate::engine::api::{Engine, Handle};
use crate::engine::mainlog::emit;
use crate::engine::process::Level;

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

fn serve_unix<E: Engine + 'static>(
    b: &Rc<E>,
    spec: &UnixServerSpec,
    binding: UnixBinding,
) -> Serving {
    let srv = Server::new(b.clone(), spec.auth.clone(), Limits::default());
    Box::pin(srv.serve_unix(binding))
}

fn serve_inet<E: Engine + 'static>(
    b: &Rc<E>,
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

/// Serve until dropped. `reloads` delivers each configuration a reload brings into force: a server
/// whose section changed is closed and bound again
/// (an unchanged one keeps its socket, so clients never see it vanish). A re-bind that fails is
/// logged and leaves that server off: as PID 1, exiting would take the container down.
pub async fn serve(
    bound: Bound,
    backend: Rc<Handle>,
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
