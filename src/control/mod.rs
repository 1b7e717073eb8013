//! HTTP/1.1 on unix and inet sockets: XML-RPC at /RPC2, /logtail streams, auth.
