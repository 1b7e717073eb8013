//! The HTTP/1.1 that the control server and `steward ctl` speak, and no more: a request or status
//! line and headers up to [`MAX_HEAD`], bodies framed by `Content-Length` or chunked, responses
//! written in one piece or chunked (close-delimited for HTTP/1.0). Strict where being lenient would
//! make two readers of the same bytes disagree (a request with both `Content-Length` and
//! `Transfer-Encoding`, differing lengths, folded header lines): those are refused.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};

/// Most bytes of a request or status line and its headers; more is refused with 431.
pub const MAX_HEAD: usize = 64 * 1024;
/// Most header lines; more is refused with 431.
pub const MAX_HEADERS: usize = 100;
/// Longest chunk-size line, and most bytes of trailers.
const MAX_LINE: usize = 4096;

/// Why a message could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The peer closed the connection before the first byte of a message: the normal end of a
    /// keep-alive connection.
    Closed,
    /// The head is over [`MAX_HEAD`] or has more than [`MAX_HEADERS`] lines, or a body is over
    /// the limit its reader was given.
    TooLarge,
    /// Not a message we accept; the text says what was wrong.
    Malformed(&'static str),
    /// The connection failed.
    Io(io::ErrorKind),
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        Error::Io(e.kind())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Closed => f.write_str("connection closed"),
            Error::TooLarge => f.write_str("message too large"),
            Error::Malformed(what) => write!(f, "bad HTTP message: {what}"),
            Error::Io(k) => write!(f, "{}", io::Error::from(*k)),
        }
    }
}

/// A message's first line split at its first two spaces, and its headers in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Request: method, target, version. Response: version, status code, reason.
    pub first: [String; 3],
    /// Names as sent; values without surrounding blanks.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// How a body is delimited, and how much of it is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Length(u64),
    Chunked(Chunk),
    /// Until the peer closes (a response without length, HTTP/1.0 style).
    Close,
    Done,
}

/// Where a chunked body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    /// Trailer bytes read so far.
    Trailers(usize),
}

impl Head {
    /// The first value of header `name` (any case) as text, when it is visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .filter(|v| v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)))
    }

    /// Whether header `name` (any case) is there, whatever its value.
    pub fn has_header(&self, name: &str) -> bool {
        self.values(name).next().is_some()
    }

    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    /// Whether a comma-separated header (`Connection`, `Transfer-Encoding`) lists `token`.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name).any(|v| {
            v.split(|b| *b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    }

    /// The body's framing from `Transfer-Encoding` and `Content-Length`; `None` when neither is
    /// there (a request then has no body, a response runs to the close).
    pub fn framing(&self) -> Result<Option<Body>, Error> {
        let mut codings = self.values("transfer-encoding").peekable();
        if codings.peek().is_some() {
            if self.values("content-length").next().is_some() {
                return Err(Error::Malformed(
                    "both Content-Length and Transfer-Encoding",
                ));
            }
            let last = codings
                .flat_map(|v| v.split(|b| *b == b','))
                .map(<[u8]>::trim_ascii)
                .filter(|t| !t.is_empty())
                .last();
            return match last {
                Some(t) if t.eq_ignore_ascii_case(b"chunked") => {
                    Ok(Some(Body::Chunked(Chunk::Size)))
                }
                _ => Err(Error::Malformed("a transfer coding other than chunked")),
            };
        }
        let mut length = None;
        for v in self.values("content-length") {
            let n = parse_decimal(v).ok_or(Error::Malformed("bad Content-Length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(Error::Malformed("differing Content-Lengths"));
            }
            length = Some(n);
        }
        Ok(length.map(Body::Length))
    }
}

fn parse_decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Where the head in `buf` ends (just past its blank line), looking for it from `from` on.
/// Lines may end in CRLF or a bare LF.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = memchr::memchr(b'\n', &buf[at..]) {
        let nl = at + i;
        match buf.get(nl + 1) {
            Some(b'\n') => return Some(nl + 2),
            Some(b'\r') if buf.get(nl + 2) == Some(&b'\n') => return Some(nl + 3),
            _ => at = nl + 1,
        }
    }
    None
}

/// A complete head (the bytes up to and including its blank line).
fn parse_head(head: &[u8]) -> Result<Head, Error> {
    let mut lines = head
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let first = lines.next().unwrap_or_default();
    // Visible ASCII and single spaces between three parts.
    if !first.iter().all(|b| (b' '..=b'~').contains(b)) {
        return Err(Error::Malformed("bad first line"));
    }
    let text = std::str::from_utf8(first).map_err(|_| Error::Malformed("bad first line"))?;
    let mut parts = text.splitn(3, ' ');
    let (Some(a), Some(b), Some(c)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::Malformed("bad first line"));
    };
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return Err(Error::TooLarge);
        }
        let colon = memchr::memchr(b':', line).ok_or(Error::Malformed("header without colon"))?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().copied().all(is_token) {
            return Err(Error::Malformed("bad header name"));
        }
        let value = line[colon + 1..].trim_ascii();
        if value.iter().any(|b| matches!(b, b'\0' | b'\r' | b'\n')) {
            return Err(Error::Malformed("bad header value"));
        }
        headers.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
    }
    Ok(Head {
        first: [a.to_string(), b.to_string(), c.to_string()],
        headers,
    })
}

/// A request head: a token method, a target of visible characters, HTTP/1.0 or HTTP/1.1.
pub fn parse_request(head: &[u8]) -> Result<Head, Error> {
    let h = parse_head(head)?;
    let [method, target, version] = &h.first;
    if method.is_empty() || !method.bytes().all(is_token) {
        return Err(Error::Malformed("bad method"));
    }
    if target.is_empty() || target.contains(' ') {
        return Err(Error::Malformed("bad request target"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(Error::Malformed("not HTTP/1.0 or HTTP/1.1"));
    }
    Ok(h)
}

/// A response head: HTTP/1.x, a three-digit status, any reason.
pub fn parse_response(head: &[u8]) -> Result<Head, Error> {
    let h = parse_head(head)?;
    if !h.first[0].starts_with("HTTP/1.") || status_of(&h).is_none() {
        return Err(Error::Malformed("bad status line"));
    }
    Ok(h)
}

/// A response head's status code.
pub fn status_of(h: &Head) -> Option<u16> {
    let s = &h.first[1];
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// The path of a request target: origin-form as it is, absolute-form without scheme and host,
/// either without its query.
pub fn path_of(target: &str) -> &str {
    let t = match target.find("://") {
        Some(i) if target[..i].bytes().all(|b| b.is_ascii_alphabetic()) => {
            let rest = &target[i + 3..];
            rest.find('/').map_or("/", |j| &rest[j..])
        }
        _ => target,
    };
    t.split(['?', '#']).next().unwrap_or(t)
}

/// A connection's read side with what has been read but not yet used.
pub struct Reader<S> {
    io: S,
    buf: Vec<u8>,
    /// How far `buf` has been searched for the end of a head.
    scanned: usize,
}

impl<S: AsyncRead + Unpin> Reader<S> {
    pub fn new(io: S) -> Reader<S> {
        Reader {
            io,
            buf: Vec::new(),
            scanned: 0,
        }
    }

    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// Whether bytes that arrived are waiting to be used.
    pub fn buffered(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Read more; 0 at the end of the stream.
    async fn fill(&mut self) -> Result<usize, Error> {
        let mut chunk = [0u8; 8192];
        let n = self.io.read(&mut chunk).await?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        self.scanned = 0;
        self.buf.drain(..n).collect()
    }

    /// The next message's head bytes, blank line included. Blank lines before it are skipped, as
    /// RFC 9112 asks of a server.
    pub async fn head(&mut self) -> Result<Vec<u8>, Error> {
        loop {
            let blank = self
                .buf
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            if blank > 0 {
                self.take(blank);
            }
            if let Some(end) = head_end(&self.buf, self.scanned) {
                if end > MAX_HEAD {
                    return Err(Error::TooLarge);
                }
                return Ok(self.take(end));
            }
            if self.buf.len() > MAX_HEAD {
                return Err(Error::TooLarge);
            }
            // A terminator may straddle the next read.
            self.scanned = self.buf.len().saturating_sub(2);
            if self.fill().await? == 0 {
                return Err(if self.buf.is_empty() {
                    Error::Closed
                } else {
                    Error::Malformed("connection closed in the head")
                });
            }
        }
    }

    async fn line(&mut self) -> Result<Vec<u8>, Error> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf) {
                let mut l = self.take(i + 1);
                l.pop();
                if l.last() == Some(&b'\r') {
                    l.pop();
                }
                return Ok(l);
            }
            if self.buf.len() > MAX_LINE {
                return Err(Error::Malformed("line too long in a chunked body"));
            }
            if self.fill().await? == 0 {
                return Err(Error::Malformed("connection closed in a chunked body"));
            }
        }
    }

    /// Drop what is buffered and read more, to be dropped too; 0 at the end of the stream.
    pub async fn discard(&mut self) -> Result<usize, Error> {
        self.take(self.buf.len());
        let n = self.fill().await?;
        self.take(n);
        Ok(n)
    }

    /// The next piece of `body`, `None` at its end.
    pub async fn data(&mut self, body: &mut Body) -> Result<Option<Vec<u8>>, Error> {
        loop {
            match *body {
                Body::Done => return Ok(None),
                Body::Length(0) => {
                    *body = Body::Done;
                    return Ok(None);
                }
                Body::Length(n) | Body::Chunked(Chunk::Data(n)) => {
                    if self.buf.is_empty() && self.fill().await? == 0 {
                        return Err(Error::Malformed("connection closed in the body"));
                    }
                    let k = usize::try_from(n).unwrap_or(usize::MAX).min(self.buf.len());
                    let left = n - k as u64;
                    *body = match *body {
                        Body::Length(_) => Body::Length(left),
                        _ if left == 0 => Body::Chunked(Chunk::DataEnd),
                        _ => Body::Chunked(Chunk::Data(left)),
                    };
                    return Ok(Some(self.take(k)));
                }
                Body::Close => {
                    if self.buf.is_empty() && self.fill().await? == 0 {
                        *body = Body::Done;
                        return Ok(None);
                    }
                    let all = self.buf.len();
                    return Ok(Some(self.take(all)));
                }
                Body::Chunked(Chunk::Size) => {
                    let line = self.line().await?;
                    let size = line.split(|b| *b == b';').next().unwrap_or_default();
                    let n =
                        parse_hex(size.trim_ascii()).ok_or(Error::Malformed("bad chunk size"))?;
                    *body = Body::Chunked(if n == 0 {
                        Chunk::Trailers(0)
                    } else {
                        Chunk::Data(n)
                    });
                }
                Body::Chunked(Chunk::DataEnd) => {
                    if !self.line().await?.is_empty() {
                        return Err(Error::Malformed("chunk longer than its size"));
                    }
                    *body = Body::Chunked(Chunk::Size);
                }
                Body::Chunked(Chunk::Trailers(seen)) => {
                    let line = self.line().await?;
                    if line.is_empty() {
                        *body = Body::Done;
                        return Ok(None);
                    }
                    let seen = seen + line.len();
                    if seen > MAX_LINE {
                        return Err(Error::Malformed("trailers too long"));
                    }
                    *body = Body::Chunked(Chunk::Trailers(seen));
                }
            }
        }
    }

    /// All of `body`; [`Error::TooLarge`] as soon as it is over `max` bytes.
    pub async fn body(&mut self, body: &mut Body, max: usize) -> Result<Vec<u8>, Error> {
        if let Body::Length(n) = *body {
            if n > max as u64 {
                return Err(Error::TooLarge);
            }
        }
        let mut all = Vec::new();
        while let Some(d) = self.data(body).await? {
            if all.len() + d.len() > max {
                return Err(Error::TooLarge);
            }
            all.extend_from_slice(&d);
        }
        Ok(all)
    }
}

fn parse_hex(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 15 {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(v).ok()?, 16).ok()
}

/// The standard reason phrase of the statuses steward sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// `secs` since the epoch as an HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
pub fn date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let s = secs.rem_euclid(86_400);
    // Days to a civil date (Howard Hinnant's algorithm), in the proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WD[days.rem_euclid(7) as usize],
        MON[(month - 1) as usize],
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn request(bytes: &[u8]) -> Result<Head, Error> {
        block(async { parse_request(&Reader::new(bytes).head().await?) })
    }

    #[test]
    fn a_request_head_with_any_case_of_header_names() {
        let h = request(
            b"\r\nPOST /RPC2?x=1 HTTP/1.1\r\nhost: a\r\nCONTENT-length:  12 \r\nX-E:\r\n\r\nrest",
        )
        .unwrap();
        assert_eq!(h.first, ["POST", "/RPC2?x=1", "HTTP/1.1"].map(String::from));
        assert_eq!(h.header("Content-Length"), Some("12"));
        assert_eq!(h.header("x-e"), Some(""));
        assert_eq!(h.framing(), Ok(Some(Body::Length(12))));
        let lf = request(b"GET / HTTP/1.0\nHost: a\n\n").unwrap();
        assert_eq!(lf.first[2], "HTTP/1.0");
        assert_eq!(lf.framing(), Ok(None));
    }

    #[test]
    fn bad_heads_are_refused() {
        for bad in [
            &b"BLAH\r\n\r\n"[..],
            b"GET /\r\n\r\n",
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"G(T / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nNo colon\r\n\r\n",
            b"GET / HTTP/1.1\r\n folded: x\r\n\r\n",
            b"GET /\x01 HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nX: a\0b\r\n\r\n",
        ] {
            assert!(
                matches!(request(bad), Err(Error::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(request(b""), Err(Error::Closed));
        assert!(matches!(
            request(b"GET / HTTP/1.1\r\n"),
            Err(Error::Malformed(_))
        ));
    }

    #[test]
    fn heads_over_the_limits_are_too_large() {
        let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long.resize(MAX_HEAD + 10, b'a');
        assert_eq!(request(&long), Err(Error::TooLarge));
        long.extend_from_slice(b"\r\n\r\n");
        assert_eq!(request(&long), Err(Error::TooLarge));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("X{i}: y\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(request(&many), Err(Error::TooLarge));
    }

    #[test]
    fn framing_refuses_ambiguous_lengths() {
        let framing = |hs: &str| {
            request(format!("POST / HTTP/1.1\r\n{hs}\r\n").as_bytes())
                .unwrap()
                .framing()
        };
        assert_eq!(
            framing("Content-Length: 3\r\nContent-Length: 3\r\n"),
            Ok(Some(Body::Length(3)))
        );
        for bad in [
            "Content-Length: 3\r\nContent-Length: 4\r\n",
            "Content-Length: -1\r\n",
            "Content-Length: 1e3\r\n",
            "Content-Length: 99999999999999999999\r\n",
            "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: gzip\r\n",
            "Transfer-Encoding: chunked, gzip\r\n",
        ] {
            assert!(matches!(framing(bad), Err(Error::Malformed(_))), "{bad}");
        }
        assert_eq!(
            framing("Transfer-Encoding: gzip\r\ntransfer-encoding: Chunked\r\n"),
            Ok(Some(Body::Chunked(Chunk::Size)))
        );
    }

    #[test]
    fn bodies_by_length_chunked_and_close() {
        let all = |bytes: &[u8], mut b: Body, max| block(Reader::new(bytes).body(&mut b, max));
        assert_eq!(
            all(b"hello world", Body::Length(5), 100),
            Ok(b"hello".to_vec())
        );
        assert_eq!(
            all(b"hel", Body::Length(5), 100),
            Err(Error::Malformed("connection closed in the body"))
        );
        assert_eq!(all(b"hello", Body::Length(5), 4), Err(Error::TooLarge));
        let chunked = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        assert_eq!(
            all(chunked, Body::Chunked(Chunk::Size), 100),
            Ok(b"hello world".to_vec())
        );
        assert_eq!(
            all(chunked, Body::Chunked(Chunk::Size), 10),
            Err(Error::TooLarge)
        );
        for bad in [
            &b"x\r\n"[..],
            b"5\r\nhelloX\r\n",
            b"5\r\nhel",
            b"fffffffffffffffff\r\n",
        ] {
            assert!(matches!(
                all(bad, Body::Chunked(Chunk::Size), 100),
                Err(Error::Malformed(_))
            ));
        }
        assert_eq!(
            all(b"to the end", Body::Close, 100),
            Ok(b"to the end".to_vec())
        );
        // What follows a body stays for the next message.
        block(async {
            let mut r = Reader::new(&b"3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n"[..]);
            let mut b = Body::Chunked(Chunk::Size);
            assert_eq!(r.body(&mut b, 10).await, Ok(b"abc".to_vec()));
            assert_eq!(b, Body::Done);
            assert!(parse_request(&r.head().await.unwrap()).is_ok());
            assert_eq!(r.head().await, Err(Error::Closed));
        });
    }

    #[test]
    fn responses_and_paths() {
        let h = parse_response(b"HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic\r\n\r\n")
            .unwrap();
        assert_eq!(status_of(&h), Some(401));
        assert!(parse_response(b"HTTP/1.1 2000 OK\r\n\r\n").is_err());
        assert!(parse_response(b"ICY 200 OK\r\n\r\n").is_err());
        assert_eq!(path_of("/logtail/a?x=1"), "/logtail/a");
        assert_eq!(path_of("http://h:1/healthz?x"), "/healthz");
        assert_eq!(path_of("http://h"), "/");
        assert_eq!(path_of("/a://b"), "/a://b");
    }

    #[test]
    fn http_dates() {
        assert_eq!(date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(date(1_796_083_199), "Mon, 30 Nov 2026 23:59:59 GMT");
    }
}
