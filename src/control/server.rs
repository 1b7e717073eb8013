//! The HTTP/1.1 server: supervisord's transport (reference 3.1) on a unix socket and on TCP.
//!
//! `POST /RPC2` carries XML-RPC; `GET /logtail/NAME[/stdout|/stderr]` and `GET /mainlogtail` stream a
//! log as it grows (chunked); `GET /` is the web page ([`web`]); `GET /metrics` is Prometheus text
//! ([`metrics`]); `GET /healthz` answers 200 when every autostart process is RUNNING or ended as
//! expected, 503 otherwise. Every path sits behind HTTP Basic auth when a username is set.
//! Hostile clients get an HTTP error and their connection closed; nobody else is affected.

use std::borrow::Cow;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use sha1::Digest as _;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::config::model::{Credentials, InetServerSpec, UnixServerSpec};
use crate::control::http::{self, Body, Head};
use crate::control::rpc;
use crate::control::{metrics, web, xmlrpc};
use crate::engine::api::{Changes, Engine, EngineError, ProcessId, Stream};

/// Limits that keep one client from hurting the others.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted request body; larger gets 413 (supervisorctl's requests are < 1 KiB).
    pub max_body: usize,
    /// Time allowed to send the request line and headers, from the end of the previous answer
    /// (so it also bounds idle keep-alive connections).
    pub header_timeout: Duration,
    /// Time allowed to send the body once the headers are in.
    pub body_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// How often a log tail stream looks for new data when its log has no change signal (a fake
    /// engine's file); a log with one is read as soon as it is written.
    pub tail_poll: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body: 2 * 1024 * 1024,
            header_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(30),
            max_connections: 256,
            tail_poll: Duration::from_millis(200),
        }
    }
}

/// A connection's stream, unix or TCP: one type, so the HTTP code is there once.
trait Io: AsyncRead + AsyncWrite + Unpin {}
impl<T: AsyncRead + AsyncWrite + Unpin> Io for T {}

type Conn = http::Reader<Box<dyn Io>>;

/// What the server answers.
struct Response {
    status: u16,
    /// Sent in this order, before the framing headers.
    headers: Vec<(&'static str, &'static str)>,
    body: Payload,
}

enum Payload {
    Full(Cow<'static, [u8]>),
    /// Chunked to an HTTP/1.1 client, until the close to an HTTP/1.0 one: the log tail streams.
    Stream(mpsc::Receiver<Vec<u8>>),
}

/// A request being answered: its head, and its body as far as it has been read.
struct Exchange<'a> {
    head: Head,
    path: String,
    body: Body,
    conn: &'a mut Conn,
}

/// One configured server (unix or inet): the engine it serves, credentials and limits.
pub struct Server<B> {
    engine: Rc<B>,
    auth: Option<Credentials>,
    limits: Limits,
}

impl<B: Engine + 'static> Server<B> {
    pub fn new(engine: Rc<B>, auth: Option<Credentials>, limits: Limits) -> Rc<Server<B>> {
        Rc::new(Server {
            engine,
            auth,
            limits,
        })
    }

    /// Serve a bound unix socket until the returned future is dropped (which also ends every
    /// connection); the socket file goes away with the binding.
    pub async fn serve_unix(self: Rc<Self>, binding: UnixBinding) -> io::Result<()> {
        let listener = tokio::net::UnixListener::from_std(binding.take_listener()?)?;
        let _binding = binding;
        self.accept_loop(listener).await
    }

    /// Serve a bound TCP listener until the returned future is dropped.
    pub async fn serve_tcp(self: Rc<Self>, listener: std::net::TcpListener) -> io::Result<()> {
        if let Some(w) = inet_warning(self.auth.is_some(), listener.local_addr().ok()) {
            crate::engine::mainlog::emit(crate::engine::process::Level::Crit, &w);
        }
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        self.accept_loop(listener).await
    }

    async fn accept_loop<L: Accept>(self: Rc<Self>, listener: L) -> io::Result<()> {
        let local = tokio::task::LocalSet::new();
        let permits = Arc::new(Semaphore::new(self.limits.max_connections));
        // An fd held back for a client that comes while steward has none left (programs and
        // their logs took them all): without it the socket could never accept, and nobody could
        // stop the programs that hold the fds. Taken again when a connection gives one back.
        let reserve = Rc::new(std::cell::RefCell::new(reserve_fd()));
        let open = Rc::new(std::cell::RefCell::new(Open::default()));
        local
            .run_until(async move {
                loop {
                    let stream = match listener.accept_stream().await {
                        Ok(s) => s,
                        Err(e)
                            if e.raw_os_error() == Some(libc::EMFILE)
                                && reserve.borrow_mut().take().is_some() =>
                        {
                            continue;
                        }
                        Err(e) if transient_accept_error(&e) => {
                            // EMFILE and friends: back off briefly instead of spinning.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    // Full: clients that hold a connection without a request in progress (a
                    // slowloris dribbling its headers, an idle keep-alive) must not lock the
                    // others out, so the oldest one idle for IDLE_GRACE makes room. A client
                    // of a burst that has not been read yet is not idle long enough to go.
                    let permit = loop {
                        if let Ok(p) = permits.clone().try_acquire_owned() {
                            break p;
                        }
                        open.borrow_mut().evict_oldest_idle();
                        tokio::select! {
                            p = permits.clone().acquire_owned() => match p {
                                Ok(p) => break p,
                                Err(_) => return Ok(()),
                            },
                            _ = tokio::time::sleep(IDLE_GRACE / 4) => {}
                        }
                    };
                    let (id, idle, evicted) = open.borrow_mut().add();
                    let me = self.clone();
                    let reserve = reserve.clone();
                    let open = open.clone();
                    tokio::task::spawn_local(async move {
                        tokio::select! {
                            _ = me.serve_connection(Box::new(stream), idle) => {}
                            _ = evicted => {}
                        }
                        open.borrow_mut().remove(id);
                        drop(permit);
                        let mut r = reserve.borrow_mut();
                        if r.is_none() {
                            *r = reserve_fd();
                        }
                    });
                }
            })
            .await
    }

    /// `idle` is when the connection last had no request in progress (`None` while a request is
    /// being answered: its headers are in). Errors end the connection: they are the client's (bad
    /// bytes, hang-ups, timeouts), and there is nothing else to do.
    async fn serve_connection(self: Rc<Self>, stream: Box<dyn Io>, idle: Idle) {
        let mut conn = http::Reader::new(stream);
        loop {
            let head = match tokio::time::timeout(self.limits.header_timeout, conn.head()).await {
                Ok(Ok(bytes)) => http::parse_request(&bytes),
                Ok(Err(e)) => Err(e),
                Err(_) => return,
            };
            // HTTP/1.0 knows no chunks: a Transfer-Encoding there is a smuggling attempt.
            let head = head.and_then(|h| {
                if h.first[2] == "HTTP/1.0" && h.has_header("transfer-encoding") {
                    return Err(http::Error::Malformed("Transfer-Encoding in HTTP/1.0"));
                }
                Ok(h)
            });
            let (head, body) = match head.and_then(|h| Ok((h.framing()?, h))) {
                Ok((framing, head)) => (head, framing.unwrap_or(Body::Length(0))),
                Err(http::Error::Closed | http::Error::Io(_)) => return,
                Err(e) => {
                    let status = if e == http::Error::TooLarge { 431 } else { 400 };
                    if conn.get_mut().write_all(&bare_error(status)).await.is_ok() {
                        linger(&mut conn).await;
                    }
                    return;
                }
            };
            idle.set(None);
            // parse_request took only these two.
            let minor = u8::from(head.first[2] == "HTTP/1.1");
            let head_only = head.first[0] == "HEAD";
            let wants_close = if minor == 1 {
                head.has_token("connection", "close")
            } else {
                !head.has_token("connection", "keep-alive")
            };
            let mut ex = Exchange {
                path: http::path_of(&head.first[1]).to_string(),
                head,
                body,
                conn: &mut conn,
            };
            let resp = self.handle(&mut ex, &idle).await;
            let mut body = ex.body;
            idle.set(Some(std::time::Instant::now()));
            if !respond(conn.get_mut(), minor, head_only, wants_close, resp).await {
                linger(&mut conn).await;
                return;
            }
            // What the answer did not need of the body is read and dropped, so that the next
            // request starts where it should.
            if !matches!(body, Body::Done | Body::Length(0)) {
                let drain = conn.body(&mut body, self.limits.max_body);
                if !matches!(
                    tokio::time::timeout(self.limits.body_timeout, drain).await,
                    Ok(Ok(_))
                ) {
                    linger(&mut conn).await;
                    return;
                }
            }
        }
    }

    async fn handle(&self, req: &mut Exchange<'_>, idle: &Idle) -> Response {
        metrics::REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if !self.authorized(&req.head) {
            // Read the body first: clients such as Python's send it in a second write, and
            // closing before it arrives makes them fail with EPIPE instead of seeing the 401.
            let _ = self.read_body(req, idle).await;
            return unauthorized();
        }
        let method = req.head.first[0].as_str();
        let path = req.path.as_str();
        if path.starts_with("/RPC2") {
            if method != "POST" {
                return plain(400, "400 Bad Request\n");
            }
            if cross_site(&req.head) {
                return close(plain(
                    403,
                    "403 Forbidden: a call from another site's page is refused\n",
                ));
            }
            return self.rpc(req, idle).await;
        }
        if method != "GET" && method != "HEAD" {
            return plain(405, "405 Method Not Allowed\n");
        }
        if path == "/healthz" {
            let problems = rpc::health(&*self.engine).await;
            return if problems.is_empty() {
                plain(200, "ok\n")
            } else {
                let mut body = String::from("unhealthy\n");
                for p in problems {
                    body.push_str(&p);
                    body.push('\n');
                }
                plain(503, &body)
            };
        }
        if path == "/metrics" {
            let m = self.engine.metrics().await;
            return full(
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                metrics::render(&m, crate::clock::epoch()).into_bytes(),
            );
        }
        if path == "/mainlogtail" {
            return self.tail_stream(Followed::Main).await;
        }
        if let Some(rest) = path.strip_prefix("/logtail/") {
            let rest = rest.to_string();
            return self.logtail(&rest).await;
        }
        match web::asset(path) {
            Some(a) => page(a),
            None => not_found(),
        }
    }

    fn authorized(&self, req: &Head) -> bool {
        let Some(creds) = &self.auth else {
            return true;
        };
        let Some(value) = req.header("authorization") else {
            return false;
        };
        let Some(encoded) = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))
        else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Some(colon) = decoded.iter().position(|b| *b == b':') else {
            return false;
        };
        check_credentials(creds, &decoded[..colon], &decoded[colon + 1..])
    }

    /// The request's body, within the size and time limits. While it comes in, the connection counts
    /// as idle: a client that sends its headers and then dribbles the body is a slowloris too, and
    /// may be closed to make room once it has taken more than the grace period.
    async fn read_body(
        &self,
        req: &mut Exchange<'_>,
        idle: &Idle,
    ) -> Result<Result<Vec<u8>, http::Error>, tokio::time::error::Elapsed> {
        idle.set(Some(std::time::Instant::now()));
        let read = tokio::time::timeout(self.limits.body_timeout, async {
            // Clients that ask (curl, for larger bodies) wait for this before sending the body.
            if req.head.first[2] == "HTTP/1.1"
                && req.head.has_token("expect", "100-continue")
                && !matches!(req.body, Body::Done | Body::Length(0))
            {
                req.conn
                    .get_mut()
                    .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                    .await?;
            }
            req.conn.body(&mut req.body, self.limits.max_body).await
        })
        .await;
        idle.set(None);
        read
    }

    async fn rpc(&self, req: &mut Exchange<'_>, idle: &Idle) -> Response {
        let bytes = match self.read_body(req, idle).await {
            Err(_) => return close(plain(408, "408 Request Timeout\n")),
            Ok(Err(http::Error::TooLarge)) => return too_large(),
            Ok(Err(_)) => return close(plain(400, "400 Bad Request\n")),
            Ok(Ok(b)) => b,
        };
        let call = match xmlrpc::decode_call(&bytes) {
            Ok(c) => c,
            Err(_) => return plain(400, "400 Bad Request\n"),
        };
        let body = match rpc::dispatch(&*self.engine, &call).await {
            Ok(v) => xmlrpc::encode_response(&v),
            Err(f) => xmlrpc::encode_fault(&f),
        };
        full(200, "text/xml", body.into_bytes())
    }

    async fn logtail(&self, rest: &str) -> Response {
        let rest = percent_decode(rest);
        let (name, stream) = match rest.rsplit_once('/') {
            Some((n, "stdout")) => (n.to_string(), Stream::Stdout),
            Some((n, "stderr")) => (n.to_string(), Stream::Stderr),
            _ => (rest.clone(), Stream::Stdout),
        };
        let procs = self.engine.processes().await;
        let Ok(rpc::Target::Process(p)) = rpc::resolve(procs, &name) else {
            return not_found();
        };
        self.tail_stream(Followed::Process { id: p.id, stream })
            .await
    }

    /// The last ≤1024 bytes, then whatever is appended, until the client goes away or the log does
    /// (its group removed, the supervisor stopping). A log that shrinks (cleared or rotated) is
    /// followed from its new start. 404 when there is nothing to follow: an unknown process, a log
    /// file that does not exist, a main log that is not a file (as supervisord); a stream without a
    /// file (console only, NONE) is followed in the supervisor's in-memory tail. Between reads the
    /// stream waits for the log's change signal, so a line is sent as soon as it is written and an
    /// idle log costs no wakeups; without a signal it looks every `tail_poll`.
    async fn tail_stream(&self, log: Followed) -> Response {
        // A zero-byte read answers exactly "is there something to follow" with the read faults.
        if log.read(&*self.engine, -1, 0).await.is_err() {
            return not_found();
        }
        let (tx, rx) = mpsc::channel::<Vec<u8>>(8);
        let poll = self.limits.tail_poll;
        let engine = self.engine.clone();
        tokio::task::spawn_local(async move {
            // Subscribed before the first read: a write after it is either read or signalled.
            let mut changes = log.changes(&*engine).await;
            let Ok(size) = log.size(&*engine).await else {
                return;
            };
            let mut offset = size.saturating_sub(TAIL_START);
            let mut last_wake: Option<tokio::time::Instant> = None;
            loop {
                if let Some(c) = &mut changes {
                    c.borrow_and_update();
                }
                let Ok(size) = log.size(&*engine).await else {
                    return;
                };
                if size < offset {
                    offset = 0;
                }
                if size > offset {
                    let want = (size - offset).min(TAIL_CHUNK);
                    let from = i64::try_from(offset).unwrap_or(i64::MAX);
                    let len = i64::try_from(want).unwrap_or(i64::MAX);
                    let data = log.read(&*engine, from, len).await.unwrap_or_default();
                    // An in-memory tail may no longer hold the oldest of these bytes, and a file may
                    // have been cleared meanwhile: move on either way rather than ask again.
                    offset += want;
                    if !data.is_empty() && tx.send(data).await.is_err() {
                        return;
                    }
                    continue;
                }
                let gone = tokio::select! {
                    _ = tx.closed() => return,
                    r = async { changes.as_mut()?.changed().await.err() }, if changes.is_some() => r.is_some(),
                    _ = tokio::time::sleep(poll), if changes.is_none() => false,
                };
                if gone {
                    // The log's writer went away (a reload): the next read says
                    // whether there is still something to follow.
                    changes = None;
                }
                if let Some(next) = last_wake.map(|t| t + TAIL_MIN_GAP) {
                    if next > tokio::time::Instant::now() {
                        tokio::select! {
                            _ = tx.closed() => return,
                            _ = tokio::time::sleep_until(next) => {}
                        }
                    }
                }
                last_wake = Some(tokio::time::Instant::now());
            }
        });
        Response {
            status: 200,
            headers: vec![
                ("Content-Type", "text/plain;charset=utf-8"),
                ("X-Accel-Buffering", "no"),
            ],
            body: Payload::Stream(rx),
        }
    }
}

/// What the first chunk of a tail stream shows (supervisord's `tail -f` starts 1024 bytes back).
const TAIL_START: u64 = 1024;
/// While a program keeps writing in small pieces, a tail stream reads at most this often (two
/// requests to the supervisor per read); the first write after a quiet spell goes out at once.
const TAIL_MIN_GAP: Duration = Duration::from_millis(10);
/// Most bytes read per request while catching up, so one stream never holds a large buffer.
const TAIL_CHUNK: u64 = 64 * 1024;

/// The log a tail stream follows, read through the engine like the XML-RPC methods.
enum Followed {
    Process { id: ProcessId, stream: Stream },
    Main,
}

impl Followed {
    async fn read<B: Engine>(
        &self,
        b: &B,
        offset: i64,
        length: i64,
    ) -> Result<Vec<u8>, EngineError> {
        match self {
            Followed::Process { id, stream } => b.read_log(*id, *stream, offset, length).await,
            Followed::Main => b.read_main_log(offset, length).await,
        }
    }

    async fn changes<B: Engine>(&self, b: &B) -> Option<Changes> {
        match self {
            Followed::Process { id, stream } => b.log_changes(*id, *stream).await,
            Followed::Main => b.main_log_changes().await,
        }
    }

    /// The log's size now: a zero-length tail returns nothing but the new offset.
    async fn size<B: Engine>(&self, b: &B) -> Result<u64, EngineError> {
        let t = match self {
            Followed::Process { id, stream } => b.tail_log(*id, *stream, 0, 0).await?,
            Followed::Main => b.tail_main_log(0, 0).await?,
        };
        Ok(t.offset)
    }
}

/// How long a connection must have been without a request in progress before it may be closed
/// to make room for another client.
const IDLE_GRACE: Duration = Duration::from_secs(1);

/// When a connection last had no request in progress; `None` while it has one.
type Idle = Rc<std::cell::Cell<Option<std::time::Instant>>>;

/// The connections being served, oldest first: since when each is idle, and how to close it
/// (taken once used).
#[derive(Default)]
struct Open {
    next: u64,
    conns: std::collections::BTreeMap<u64, (Idle, Option<oneshot::Sender<()>>)>,
}

impl Open {
    fn add(&mut self) -> (u64, Idle, oneshot::Receiver<()>) {
        self.next += 1;
        let idle = Rc::new(std::cell::Cell::new(Some(std::time::Instant::now())));
        let (tx, rx) = oneshot::channel();
        self.conns.insert(self.next, (idle.clone(), Some(tx)));
        (self.next, idle, rx)
    }

    fn remove(&mut self, id: u64) {
        self.conns.remove(&id);
    }

    fn evict_oldest_idle(&mut self) {
        let victim = self.conns.values_mut().find(|(idle, close)| {
            close.is_some() && idle.get().is_some_and(|t| t.elapsed() >= IDLE_GRACE)
        });
        if let Some((_, close)) = victim {
            if let Some(tx) = close.take() {
                let _ = tx.send(());
            }
        }
    }
}

/// The two listener kinds, accepted the same way.
trait Accept {
    type S: AsyncRead + AsyncWrite + Unpin + 'static;
    async fn accept_stream(&self) -> io::Result<Self::S>;
}

impl Accept for tokio::net::UnixListener {
    type S = tokio::net::UnixStream;
    async fn accept_stream(&self) -> io::Result<Self::S> {
        self.accept().await.map(|(s, _)| s)
    }
}

impl Accept for tokio::net::TcpListener {
    type S = tokio::net::TcpStream;
    async fn accept_stream(&self) -> io::Result<Self::S> {
        self.accept().await.map(|(s, _)| s)
    }
}

fn reserve_fd() -> Option<std::fs::File> {
    std::fs::File::open("/dev/null").ok()
}

fn transient_accept_error(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM | libc::ECONNABORTED)
    ) || e.kind() == io::ErrorKind::ConnectionAborted
        || e.kind() == io::ErrorKind::ConnectionReset
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Write `resp` (its head only for HEAD); whether the connection may serve another request. The
/// headers go out as hyper, which served here before, wrote them: the response's own, `Connection`,
/// the framing, `date`.
async fn respond(
    io: &mut Box<dyn Io>,
    minor: u8,
    head_only: bool,
    wants_close: bool,
    resp: Response,
) -> bool {
    let closing = resp.headers.contains(&("Connection", "close"));
    // An HTTP/1.0 stream ends with the connection.
    let close_delimited = matches!(resp.body, Payload::Stream(_)) && minor == 0 && !head_only;
    let keep = !(wants_close || closing || close_delimited);
    let mut out = format!(
        "HTTP/1.{minor} {} {}\r\n",
        resp.status,
        http::reason(resp.status)
    );
    for (name, value) in &resp.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if minor == 1 && wants_close && !closing {
        out.push_str("Connection: close\r\n");
    } else if minor == 0 && keep {
        out.push_str("Connection: keep-alive\r\n");
    }
    match &resp.body {
        Payload::Full(b) => out.push_str(&format!("Content-Length: {}\r\n", b.len())),
        Payload::Stream(_) if minor == 1 && !head_only => {
            out.push_str("Transfer-Encoding: chunked\r\n")
        }
        Payload::Stream(_) => {}
    }
    out.push_str(&format!(
        "date: {}\r\n\r\n",
        http::date(crate::clock::epoch())
    ));
    let mut out = out.into_bytes();
    let mut rx = match resp.body {
        Payload::Full(b) => {
            if !head_only {
                out.extend_from_slice(&b);
            }
            return io.write_all(&out).await.is_ok() && keep;
        }
        Payload::Stream(_) if head_only => return io.write_all(&out).await.is_ok() && keep,
        Payload::Stream(rx) => rx,
    };
    if io.write_all(&out).await.is_err() {
        return false;
    }
    while let Some(data) = rx.recv().await {
        let framed = if minor == 1 {
            let mut c = format!("{:x}\r\n", data.len()).into_bytes();
            c.extend_from_slice(&data);
            c.extend_from_slice(b"\r\n");
            c
        } else {
            data
        };
        if io.write_all(&framed).await.is_err() {
            return false;
        }
    }
    minor == 1 && io.write_all(b"0\r\n\r\n").await.is_ok() && keep
}

/// Close after an answer the way that lets the client read it: the write side first, then take in
/// (a bounded amount of) what the client still sends. Closing a socket with unread input resets the
/// connection, and a reset can destroy the answer before the client has read it.
async fn linger(conn: &mut Conn) {
    if conn.get_mut().shutdown().await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(LINGER, async {
        let mut taken = 0;
        while taken < LINGER_BYTES {
            match conn.discard().await {
                Ok(0) | Err(_) => return,
                Ok(n) => taken += n,
            }
        }
    })
    .await;
}

/// How long, and for how many bytes, [`linger`] waits for the client to finish sending.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 1024 * 1024;

/// The answer to a request that could not be read: no body, and the connection closed after it.
fn bare_error(status: u16) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {}\r\nConnection: close\r\nContent-Length: 0\r\ndate: {}\r\n\r\n",
        http::reason(status),
        http::date(crate::clock::epoch())
    )
    .into_bytes()
}

fn full(status: u16, content_type: &'static str, body: impl Into<Cow<'static, [u8]>>) -> Response {
    Response {
        status,
        headers: vec![("Content-Type", content_type)],
        body: Payload::Full(body.into()),
    }
}

/// Whether a call to `/RPC2` comes from a page of another site in a browser (CSRF): the browser says so
/// in `Sec-Fetch-Site`, or the call carries an `Origin` (only browsers send one) with a content type a
/// page may send cross-site without asking first. Any other type needs a CORS preflight, which steward
/// never grants, so the browser never sends such a call. supervisorctl and XML-RPC libraries send no
/// `Origin`; steward's own page sends `text/xml` from its own origin.
fn cross_site(req: &Head) -> bool {
    let header = |name| req.header(name).map(|v| v.trim().to_ascii_lowercase());
    if header("sec-fetch-site").is_some_and(|s| s != "same-origin" && s != "none") {
        return true;
    }
    if !req.has_header("origin") {
        return false;
    }
    let kind = header("content-type").unwrap_or_default();
    let media = kind.split(';').next().unwrap_or("").trim();
    matches!(
        media,
        "" | "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data"
    )
}

fn plain(status: u16, text: &str) -> Response {
    full(status, "text/plain", text.as_bytes().to_vec())
}

fn page(a: web::Asset) -> Response {
    let mut r = full(200, a.content_type, a.body);
    r.headers.extend_from_slice(web::HEADERS);
    r
}

fn close(mut r: Response) -> Response {
    r.headers.push(("Connection", "close"));
    r
}

fn not_found() -> Response {
    plain(404, "404 Not Found\n")
}

fn too_large() -> Response {
    close(plain(413, "413 Payload Too Large\n"))
}

fn unauthorized() -> Response {
    let body = "<html><head><title>Unauthorized</title></head>\
                <body><h1>401 Unauthorized</h1></body></html>\n";
    let mut r = full(401, "text/html", body.as_bytes());
    r.headers
        .push(("Www-Authenticate", "Basic realm=\"default\""));
    close(r)
}

/// Equal-length comparison whose time does not depend on where the inputs differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// Check a Basic-auth pair against the configured credentials (`{SHA}` = hex SHA-1 of the password).
pub fn check_credentials(creds: &Credentials, user: &[u8], pass: &[u8]) -> bool {
    let user_ok = constant_time_eq(user, creds.username.as_bytes());
    let pass_ok = match creds.password.strip_prefix("{SHA}") {
        Some(hex) => {
            let digest = sha1::Sha1::digest(pass);
            let mine: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            constant_time_eq(mine.as_bytes(), hex.to_ascii_lowercase().as_bytes())
        }
        None => constant_time_eq(pass, creds.password.as_bytes()),
    };
    user_ok & pass_ok
}

// ---------------------------------------------------------------------------------------------
// Binding

/// Why a server socket could not be set up (steward exits 2 with this text, as supervisord does).
#[derive(Debug)]
pub struct BindError(pub String);

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

const IN_USE: &str = "Another program is already listening on a port that one of our HTTP \
                      servers is configured to use.  Shut this program down first before \
                      starting steward.";

/// A bound unix socket; the socket file is removed when this is dropped.
pub struct UnixBinding {
    listener: std::cell::RefCell<Option<std::os::unix::net::UnixListener>>,
    path: PathBuf,
}

impl UnixBinding {
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn take_listener(&self) -> io::Result<std::os::unix::net::UnixListener> {
        let l = self
            .listener
            .borrow_mut()
            .take()
            .ok_or_else(|| io::Error::other("listener already taken"))?;
        l.set_nonblocking(true)?;
        Ok(l)
    }
}

impl Drop for UnixBinding {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Bind `[unix_http_server]` the way supervisord does: bind `<file>.<pid>`, chmod/chown it, then
/// hard-link it to `<file>` so the name never points at a half-made socket. When `<file>` exists,
/// probe it: a live server means "in use"; a dead one is unlinked (with a note on stderr).
pub fn bind_unix(spec: &UnixServerSpec) -> Result<UnixBinding, BindError> {
    let file = &spec.file;
    let tmp = PathBuf::from(format!("{}.{}", file.display(), std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let fail = |what: &str, e: io::Error| BindError(format!("{what} {}: {e}", file.display()));
    let listener =
        std::os::unix::net::UnixListener::bind(&tmp).map_err(|e| fail("Cannot bind", e))?;
    let cleanup = |e: BindError| {
        let _ = std::fs::remove_file(&tmp);
        e
    };
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(spec.chmod))
        .map_err(|e| cleanup(fail("Cannot chmod", e)))?;
    if let Some((uid, gid)) = spec.chown {
        nix::unistd::chown(
            &tmp,
            Some(nix::unistd::Uid::from_raw(uid)),
            gid.map(nix::unistd::Gid::from_raw),
        )
        .map_err(|e| cleanup(fail("Cannot chown", io::Error::from(e))))?;
    }
    let mut tries = 0;
    loop {
        match std::fs::hard_link(&tmp, file) {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries == 0 => {
                tries += 1;
                if std::os::unix::net::UnixStream::connect(file).is_ok() {
                    return Err(cleanup(BindError(IN_USE.into())));
                }
                eprintln!("Unlinking stale socket {}", file.display());
                let _ = std::fs::remove_file(file);
            }
            Err(e) => return Err(cleanup(fail("Cannot link socket", e))),
        }
    }
    let _ = std::fs::remove_file(&tmp);
    Ok(UnixBinding {
        listener: std::cell::RefCell::new(Some(listener)),
        path: file.clone(),
    })
}

/// Bind `[inet_http_server]` (empty host = all interfaces). A missing username is allowed but
/// worth a loud warning, which [`Server::serve_tcp`] logs with [`inet_warning`].
pub fn bind_tcp(spec: &InetServerSpec) -> Result<std::net::TcpListener, BindError> {
    let host = if spec.host.is_empty() || spec.host == "*" {
        "0.0.0.0"
    } else {
        spec.host.as_str()
    };
    std::net::TcpListener::bind((host, spec.port)).map_err(|e| {
        if e.kind() == io::ErrorKind::AddrInUse {
            BindError(IN_USE.into())
        } else {
            BindError(format!("Cannot listen on {host}:{}: {e}", spec.port))
        }
    })
}

/// supervisord's CRIT line for a server without credentials; louder when the address is not a
/// loopback one, since then anyone who can reach the port controls every program.
pub fn inet_warning(has_auth: bool, local: Option<std::net::SocketAddr>) -> Option<String> {
    if has_auth {
        return None;
    }
    let mut w =
        "Server 'inet_http_server' running without any HTTP authentication checking".to_string();
    if let Some(a) = local.filter(|a| !a.ip().is_loopback()) {
        w.push_str(&format!(
            "; it listens on {a}, not a loopback address: anyone who can reach it can start, stop \
             and signal every program, write to their stdin and shut steward down \
             (set username and password, or bind 127.0.0.1)"
        ));
    }
    Some(w)
}
