//! The XML-RPC client behind `steward ctl`: one connection per call, like supervisorctl, over a
//! unix socket (`unix:///path`) or TCP (`http://host:port`), with optional Basic auth. It speaks to
//! steward and to a real supervisord alike.

use std::io;
use std::path::PathBuf;

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::control::http::{self, Body};
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

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Largest answer to a call that is read (supervisord's biggest, a full log read, is far smaller).
const MAX_ANSWER: usize = 256 * 1024 * 1024;

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

    /// Send `method path` with `extra` header lines and `body`; the answer's body and framing
    /// once its status is 200.
    async fn send(
        &self,
        method: &str,
        path: &str,
        extra: &str,
        body: &[u8],
    ) -> Result<(http::Reader<Box<dyn Io>>, Body), CallError> {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{extra}",
            match &self.url {
                ServerUrl::Unix(_) => "localhost".into(),
                ServerUrl::Http { host, port } => format!("{host}:{port}"),
            }
        );
        if let (Some(u), Some(p)) = (&self.username, &self.password) {
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            req.push_str(&format!("Authorization: Basic {token}\r\n"));
        }
        if method == "POST" {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut req = req.into_bytes();
        req.extend_from_slice(body);
        let mut conn = http::Reader::new(self.connect().await?);
        conn.get_mut().write_all(&req).await?;
        let broken = |e: http::Error| match e {
            http::Error::Io(k) => CallError::Io(k.into()),
            e => CallError::Io(io::Error::other(e.to_string())),
        };
        let head = http::parse_response(&conn.head().await.map_err(broken)?).map_err(broken)?;
        let status = http::status_of(&head).unwrap_or(0);
        if status != 200 {
            return Err(CallError::Http {
                status,
                reason: head.first[2].trim().to_string(),
            });
        }
        let framing = head.framing().map_err(broken)?.unwrap_or(Body::Close);
        Ok((conn, framing))
    }

    /// Call `method(params…)`; a fault comes back as `CallError::Fault`.
    pub async fn call(&self, method: &str, params: &[Value]) -> Result<Value, CallError> {
        let body = xmlrpc::encode_call(method, params);
        let extra = concat!(
            "Accept-Encoding: identity\r\nUser-Agent: steward/",
            env!("CARGO_PKG_VERSION"),
            "\r\nContent-Type: text/xml\r\nAccept: text/xml\r\n"
        );
        let (mut conn, mut framing) = self.send("POST", "/RPC2", extra, body.as_bytes()).await?;
        let bytes = conn
            .body(&mut framing, MAX_ANSWER)
            .await
            .map_err(|e| CallError::Io(io::Error::other(e.to_string())))?;
        match xmlrpc::decode_response(&bytes) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(f)) => Err(CallError::Fault(f)),
            Err(e) => Err(CallError::Decode(e.0)),
        }
    }

    /// `GET path` and hand each body chunk to `each` until the server ends the stream.
    pub async fn stream(&self, path: &str, mut each: impl FnMut(&[u8])) -> Result<(), CallError> {
        let (mut conn, mut framing) = self.send("GET", path, "Accept: */*\r\n", b"").await?;
        while let Some(d) = conn
            .data(&mut framing)
            .await
            .map_err(|e| CallError::Io(io::Error::other(e.to_string())))?
        {
            each(&d);
        }
        Ok(())
    }
}
