//! HTTP/1.1 on unix and inet sockets: XML-RPC at /RPC2, /logtail streams, /healthz, auth.
//!
//! Everything here talks to the engine through one trait, [`crate::engine::api::Engine`] (steward's
//! `Handle`; an in-memory fake in the tests), in the engine's types. Wire formats live only here.
//!
//! * [`xmlrpc`]: values and the codec, byte-exact with Python's `xmlrpc.client.dumps` (in-house
//!   rather than `dxr`, see the module doc).
//! * [`rpc`]: supervisord 4.3.0's 41 methods: namespecs resolved to process ids, `group:*` fan-out,
//!   multicall, and the one mapping of `EngineError` to supervisord's fault codes and strings.
//! * [`http`]: the little HTTP/1.1 both sides speak (heads, bodies, limits), in-house to keep the
//!   binary small.
//! * [`server`]: binding (supervisord's `<file>.<pid>` + hard link + stale-socket probe) and serving.
//! * [`servers`]: the servers' lifetime beside the supervisor (bound before anything starts,
//!   re-bound when a reload changes them, socket files removed at exit).
//! * [`client`]: what `steward ctl` uses; also drives a real supervisord.
//! * [`metrics`]: `GET /metrics`, Prometheus text from the engine's counters and `/proc`.
//! * [`web`]: the web page at `/` (embedded assets; the page uses `/RPC2` and `/logtail`).
//!
//! The serve futures run their connections on their own `LocalSet`, so the engine's futures need
//! not be `Send`.

pub mod client;
pub mod http;
pub mod metrics;
pub mod rpc;
pub mod server;
pub mod servers;
pub mod web;
pub mod xmlrpc;
