//! HTTP/1.1 on unix and inet sockets: XML-RPC at /RPC2, /logtail streams, /healthz, auth.
//!
//! * [`xmlrpc`]: values and the codec, byte-exact with Python's `xmlrpc.client.dumps` (in-house
//!   rather than `dxr`, see the module doc).
//! * [`rpc`]: supervisord 4.3.0's 41 methods, faults, namespecs, multicall, log offset rules.
//! * [`backend`]: the one trait the supervisor implements for all of the above.
//! * [`server`]: binding (supervisord's `<file>.<pid>` + hard link + stale-socket probe) and serving.
//! * [`client`]: what `steward ctl` uses; also drives a real supervisord.
//! * [`fake`]: an in-memory backend and a threaded test server, for tests.
//!
//! Wiring it into the supervisor (inside the `current_thread` runtime, after the config loaded):
//!
//! ```text
//! let backend = Rc::new(EngineBackend::new(supervisor_handle));
//! if let Some(spec) = &config.unix_http_server {
//!     let binding = server::bind_unix(spec)?;          // BindError -> "Error: …", exit 2
//!     let srv = server::Server::new(backend.clone(), spec.auth.clone(), Limits::default());
//!     tasks.spawn_local(srv.serve_unix(binding));        // dropping the task removes the socket
//! }
//! if let Some(spec) = &config.inet_http_server {
//!     let listener = server::bind_tcp(spec)?;
//!     let srv = server::Server::new(backend.clone(), spec.auth.clone(), Limits::default());
//!     tasks.spawn_local(srv.serve_tcp(listener));
//! }
//! ```
//!
//! The serve futures run their connections on their own `LocalSet`, so the backend's futures need
//! not be `Send`; abort or drop them at shutdown (and before re-binding on reload).

pub mod backend;
pub mod client;
pub mod engine_backend;
pub mod fake;
pub mod rpc;
pub mod server;
pub mod xmlrpc;
