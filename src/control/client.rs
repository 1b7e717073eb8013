//! The XML-RPC client behind `steward ctl`: one connection per call, like supervisorctl, over a
//! unix socket (`unix:///path`) or TCP (`http://host:port`), with optional Basic auth. It speaks to
//! steward and to a real supervisord alike.

use std::io;
use std::path::PathBuf;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::control::xmlrpc::{self, Fault, Value};

/// Where the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerUrl {
    Unix(PathBuf),
    Http { host: String, port: u16 },
}

impl ServerUrl {
    /// `unix:///abs/path` or `http://host[:port]` (port 80 by default, as Python's client).
    pub fn parse(url: &str) -> Result<ServerUrl, String> {
        if let Some(path) = url.strip_prefix("unix://") {
            if path.is_empty() {
                return Err(format!("bad server url {url}"));
            }
            return Ok(ServerUrl::Unix(PathBuf::from(path)));
        }
        if let Some(rest) = url.strip_prefix("http://") {
            let hostport = rest.split('/').next().unwrap_or("");
            let (host, port) = match hostport.rsplit_once(':') {
                Some((h, p)) => (
                    h,
                    p.parse::<u16>().map_err(|_| format!("bad port in {url}"))?,
                ),
                None => (hostport, 80),
            };
            let host = if host.is_empty() { "localhost" } else { host };
            return Ok(ServerUrl::Http {
                host: host.to_string(),
                port,
            });
        }
        Err(format!("bad server url {url}"))
    }
}

/// How a call failed, in the categories supervisorctl distinguishes.
#[derive(Debug)]
pub enum CallError {
    /// The server answered with an XML-RPC fault.
    Fault(Fault),
    /// A non-200 HTTP answer (401 is bad credentials).
    Http { status: u16, reason: String },
    /// Could not connect or the connection broke.
    Io(io::Error),
    /// The answer was not XML-RPC.
    Decode(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Fault(x) => write!(f, "{x}"),
            CallError::Http { status, reason } => write!(f, "{status} {reason}"),
            CallError::Io(e) => write!(f, "{e}"),
            CallError::Decode(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for CallError {
    fn from(e: io::Error) -> CallError {
        CallError::Io(e)
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    pub url: ServerUrl,
    /// Sent only when both are set, as supervisorctl does.
    pub username: Option<String>,
    pub password: Option<String>,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

impl Client {
    pub fn new(url: ServerUrl, username: Option<String>, password: Option<String>) -> Client {
        Client {
            url,
            username,
            password,
        }
    }

    async fn connect(&self) -> io::Result<Box<dyn Io>> {
        Ok(match &self.url {
            ServerUrl::Unix(p) => Box::new(tokio::net::UnixStream::connect(p).await?),
            ServerUrl::Http { host, port } => {
                Box::new(tokio::net::TcpStream::connect((host.as_str(), *port)).await?)
            }
        })
    }

    fn host_header(&self) -> String {
        match &self.url {
            ServerUrl::Unix(_) => "localhost".into(),
            ServerUrl::Http { host, port } => format!("{host}:{port}"),
        }
    }

    fn auth_header(&self) -> Option<String> {
        match (&self.username, &self.password) {
            (Some(u), Some(p)) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )),
            _ => None,
        }
    }

    async fn send(&self, req: Request<Full<Bytes>>) -> Result<Response<Incoming>, CallError> {
        let stream = self.connect().await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| CallError::Io(io::Error::other(e)))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        sender
            .send_request(req)
            .await
            .map_err(|e| CallError::Io(io::Error::other(e)))
    }

    /// Call `method(params…)`; a fault comes back as `CallError::Fault`.
    pub async fn call(&self, method: &str, params: &[Value]) -> Result<Value, CallError> {
        let body = xmlrpc::encode_call(method, params);
        let mut req = Request::post("/RPC2")
            .header("Host", self.host_header())
            .header("Accept-Encoding", "identity")
            .header("User-Agent", concat!("steward/", env!("CARGO_PKG_VERSION")))
            .header("Content-Type", "text/xml")
            .header("Accept", "text/xml")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| CallError::Decode(e.to_string()))?;
        if let Some(a) = self.auth_header() {
            if let Ok(v) = HeaderValue::from_str(&a) {
                req.headers_mut().insert("Authorization", v);
            }
        }
        let resp = self.send(req).await?;
        let status = resp.status();
        if status != hyper::StatusCode::OK {
            return Err(CallError::Http {
                status: status.as_u16(),
                reason: status.canonical_reason().unwrap_or("").to_string(),
            });
        }
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| CallError::Io(io::Error::other(e)))?
            .to_bytes();
        match xmlrpc::decode_response(&bytes) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(f)) => Err(CallError::Fault(f)),
            Err(e) => Err(CallError::Decode(e.0)),
        }
    }

    /// `GET path` and hand each body chunk to `each` until the server ends the stream.
    pub async fn stream(&self, path: &str, mut each: impl FnMut(&[u8])) -> Result<(), CallError> {
        let mut req = Request::get(path)
            .header("Host", self.host_header())
            .header("Accept", "*/*")
            .body(Full::new(Bytes::new()))
            .map_err(|e| CallError::Decode(e.to_string()))?;
        if let Some(a) = self.auth_header() {
            if let Ok(v) = HeaderValue::from_str(&a) {
                req.headers_mut().insert("Authorization", v);
            }
        }
        let resp = self.send(req).await?;
        let status = resp.status();
        if status != hyper::StatusCode::OK {
            return Err(CallError::Http {
                status: status.as_u16(),
                reason: status.canonical_reason().unwrap_or("").to_string(),
            });
        }
        let mut body = resp.into_body();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| CallError::Io(io::Error::other(e)))?;
            if let Some(d) = frame.data_ref() {
                each(d);
            }
        }
        Ok(())
    }
}
