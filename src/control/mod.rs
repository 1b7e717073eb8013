//! HTTP/1.1 on unix and inet sockets: XML-RPC at /RPC2, /logtail streams, auth.

pub mod backend;
pub mod client;
pub mod fake;
pub mod rpc;
pub mod server;
pub mod xmlrpc;
