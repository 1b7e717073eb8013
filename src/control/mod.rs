//! HTTP/1.1 on unix and inet sockets: XML-RPC at /RPC2, /logtail streams, /healthz, auth.
//!
//! * [`xmlrpc`]: values and the codec, byte-exact with Python's `xmlrpc.client.dumps` (in-house
//!   rather than `dxr`, see the module doc).
//! * [`rpc`]: supervisord 4.3.0's 41 methods, faults, namespecs, multicall (log offsets: the
//!   backend applies `crate::logs::tail`).
//! * [`backend`]: the one trait the supervisor implements for all of the above.
//! * [`server`]: binding (supervisord's `<file>.<pid>` + hard link + stale-socket probe) and serving.
//! * [`client`]: what `steward ctl` uses; also drives a real supervisord.
//! * [`fake`]: an in-memory backend and a threaded test server, for tests.
//! * [`web`]: the web page at `/` (embedded assets; the page uses `/RPC2` and `/logtail`).
//!
//! * [`engine_backend`]: the [`backend::Backend`] of the real supervisor (over `engine::api::Handle`)
//!   and the servers' lifetime next to it: `engine::run_main` binds every configured server before
//!   anything starts (a bind error is `Error: …`, exit 2), serves them beside `Supervisor::run`,
//!   re-binds a server whose section a reload changed, and drops them (removing the socket file)
//!   when the supervisor's run returns.
//!
//! The serve futures run their connections on their own `LocalSet`, so the backend's futures need
//! not be `Send`.

pub mod backend;
pub mod client;
pub mod engine_backend;
pub mod fake;
pub mod rpc;
pub mod server;
pub mod web;
pub mod xmlrpc;
