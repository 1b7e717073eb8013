//! The per-stream pump: read a child's pipe in large chunks and hand every chunk to the stream's sinks.
//!
//! Backpressure comes from the loop's shape: the next read happens only after every sink took the chunk.
//! Files are written synchronously (page cache), the console through its bounded queue; while either is
//! slow the pipe fills and the child blocks in `write`. Nothing is dropped on the way, and the loop drains
//! the pipe to EOF, so output written just before exit still arrives.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use super::console::{AnsiStripper, LineFramer};
use super::rotate::Splice;
use super::tap::{Output, Tap};
use super::{lock, StreamLogs};

/// One read, as large as supervisord's; the pipe rarely holds more.
pub const READ_BUF: usize = super::rotate::SUPERVISORD_READ;
/// Pipe capacity for a busy stream: fewer, larger reads and fewer child wakeups. A pipe starts at the
/// kernel's default (64 KiB) and grows once its child filled it, because pipe memory counts against a
/// per-user budget that a container's root usually shares with the host's root; quiet programs keep
/// small pipes. Best effort: the budget may refuse.
pub const PIPE_SIZE: libc::c_int = 1 << 20;
/// A read this large means the pipe was full: the child writes faster than one read drains.
const PIPE_FULL: usize = 64 << 10;

fn grow_pipe(fd: &AsyncFd<OwnedFd>, grown: &mut bool) {
    if !*grown {
        *grown = true;
        let _ = nix::fcntl::fcntl(
            fd.get_ref().as_fd(),
            nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_SIZE),
        );
    }
}

/// How long the console holds a partial line when the child goes quiet before writing it anyway.
/// Long enough that a line written in two calls (Python's unbuffered `print` writes the text, then the
/// newline) stays whole.
pub const PARTIAL_LINE_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// Per-pump settings that do not depend on the stream's sinks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PumpOptions {
    pub strip_ansi: bool,
    /// `loglevel=debug`: copy each chunk into steward's log.
    pub debug: bool,
}

pub(crate) fn prepare(fd: &OwnedFd) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = fcntl(fd.as_fd(), FcntlArg::F_GETFL)?;
    fcntl(
        fd.as_fd(),
        FcntlArg::F_SETFL(OFlag::from_bits_retain(flags) | OFlag::O_NONBLOCK),
    )?;
    Ok(())
}

async fn read_chunk(fd: &AsyncFd<OwnedFd>, buf: &mut [u8]) -> io::Result<usize> {
    // async_io, not ready() + try_io: it spends tokio's cooperative budget, so a child that always has
    // output cannot starve the engine and the other pumps on the single-threaded runtime.
    fd.async_io(Interest::READABLE, |inner| loop {
        match nix::unistd::read(inner.as_fd(), buf) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => return r.map_err(io::Error::from),
        }
    })
    .await
}

/// The common case — one file and nothing else — moves pipe pages into the file with splice(2), skipping
/// the copy through user space. Returns at EOF.
async fn splice_loop(stream: &StreamLogs, fd: &AsyncFd<OwnedFd>) {
    let file = &stream.files[0];
    let mut buf: Vec<u8> = Vec::new();
    let mut grown = false;
    loop {
        let outcome = fd
            .async_io(Interest::READABLE, |inner| {
                match lock(file).splice_from(inner.as_fd(), PIPE_SIZE as usize) {
                    Splice::WouldBlock => Err(io::ErrorKind::WouldBlock.into()),
                    other => Ok(other),
                }
            })
            .await;
        match outcome {
            Ok(Splice::Moved(n, report)) => {
                stream.bytes.fetch_add(n as u64, Relaxed);
                if n >= PIPE_FULL {
                    grow_pipe(fd, &mut grown);
                }
                if let Some(r) = report {
                    super::log_report(&r);
                }
            }
            Ok(Splice::Eof) => return,
            Ok(Splice::Unavailable) | Ok(Splice::WouldBlock) => {
                // A lazy AUTO file is not open until its first output, and most programs reach EOF
                // without any: reading that first chunk small costs no 128 KiB buffer (an mmap and a
                // munmap with musl) per stream at every stop. Once the file is open, splice carries the
                // rest; only a file splice cannot serve needs the big buffer.
                if buf.is_empty() && !lock(file).never_opened() {
                    buf = vec![0; READ_BUF];
                }
                let mut first = [0u8; 512];
                let b: &mut [u8] = if buf.is_empty() { &mut first } else { &mut buf };
                match read_chunk(fd, b).await {
                    Ok(0) => return,
                    Ok(n) => {
                        stream.bytes.fetch_add(n as u64, Relaxed);
                        let report = lock(file).write_all(&b[..n]);
                        if let Some(r) = report {
                            super::log_report(&r);
                        }
                    }
                    Err(e) => return read_failed(stream, &e),
                }
            }
            Err(e) => return read_failed(stream, &e),
        }
    }
}

fn read_failed(stream: &StreamLogs, e: &io::Error) {
    // EIO and friends: the pipe is unusable; treat it as the end of output.
    tracing::warn!(
        "reading {} {} output failed: {e}",
        stream.name,
        stream.stream
    );
}

pub(crate) async fn run(
    stream: Arc<StreamLogs>,
    opts: PumpOptions,
    fd: AsyncFd<OwnedFd>,
    mut tap: Option<Tap>,
) {
    if tap.is_none()
        && stream.files.len() == 1
        && stream.consoles.is_empty()
        && stream.tail.is_none()
        && !opts.strip_ansi
        && !opts.debug
    {
        return splice_loop(&stream, &fd).await;
    }
    // supervisord's debug copy of a listener's stdout is the bytes' repr (`b'READY\n'`).
    let repr = tap.as_ref().is_some_and(Tap::is_protocol);
    let mut buf = vec![0u8; READ_BUF];
    let mut stripped = Vec::new();
    let mut stripper = AnsiStripper::default();
    let mut framer = LineFramer::with_stamp(&stream.prefix, stream.stamp_at);
    let mut grown = false;
    loop {
        // A partial line waits for its newline only so long: a prompt or a progress bar must show.
        let read = if framer.pending() > 0 {
            match tokio::time::timeout(PARTIAL_LINE_WAIT, read_chunk(&fd, &mut buf)).await {
                Ok(r) => r,
                Err(_idle) => {
                    if let Some(first) = stream.consoles.first() {
                        let mut out = first.buffer();
                        framer.flush_partial(&mut out);
                        send_consoles(&stream, out).await;
                    }
                    continue;
                }
            }
        } else {
            read_chunk(&fd, &mut buf).await
        };
        let n = match read {
            Ok(0) => break,
            Ok(n) => {
                stream.bytes.fetch_add(n as u64, Relaxed);
                if n >= PIPE_FULL {
                    grow_pipe(&fd, &mut grown);
                }
                n
            }
            Err(e) => {
                read_failed(&stream, &e);
                break;
            }
        };
        let data = if opts.strip_ansi {
            stripper.strip(&buf[..n], &mut stripped);
            &stripped[..]
        } else {
            &buf[..n]
        };
        match &mut tap {
            Some(t) => deliver_tapped(&stream, opts, t.take(data), &mut framer, repr).await,
            None => deliver(&stream, opts, data, &mut framer, repr).await,
        }
    }
    if opts.strip_ansi {
        stripper.finish(&mut stripped);
        match &mut tap {
            Some(t) => deliver_tapped(&stream, opts, t.take(&stripped), &mut framer, repr).await,
            None => deliver(&stream, opts, &stripped, &mut framer, repr).await,
        }
    }
    if let Some(t) = &mut tap {
        let rest = t.finish();
        deliver_tapped(&stream, opts, rest, &mut framer, repr).await;
    }
    if let Some(first) = stream.consoles.first() {
        let mut out = first.buffer();
        framer.finish(&mut out);
        send_consoles(&stream, out).await;
    }
}

async fn deliver_tapped(
    stream: &StreamLogs,
    opts: PumpOptions,
    out: Vec<Output>,
    framer: &mut LineFramer,
    repr: bool,
) {
    for o in out {
        match o {
            Output::Logged(data) => deliver(stream, opts, &data, framer, repr).await,
            Output::Captured(data) if opts.debug => debug_copy(stream, &data, false),
            Output::Captured(_) => {}
        }
    }
}

async fn deliver(
    stream: &StreamLogs,
    opts: PumpOptions,
    data: &[u8],
    framer: &mut LineFramer,
    repr: bool,
) {
    if data.is_empty() {
        return;
    }
    for f in &stream.files {
        let report = lock(f).write_all(data);
        if let Some(r) = report {
            super::log_report(&r);
        }
    }
    if let Some(t) = &stream.tail {
        lock(t).push(data);
    }
    if opts.debug {
        debug_copy(stream, data, repr);
    }
    if let Some(first) = stream.consoles.first() {
        let mut out = first.buffer();
        framer.feed(data, &mut out);
        send_consoles(stream, out).await;
    }
}

/// `loglevel=debug`'s copy of a chunk in steward's log, as supervisord writes it.
fn debug_copy(stream: &StreamLogs, data: &[u8], repr: bool) {
    let text = if repr {
        super::python_bytes_repr(data).into()
    } else {
        super::output_text(data)
    };
    tracing::debug!("'{}' {} output:\n{}", stream.name, stream.stream, text);
}

async fn send_consoles(stream: &StreamLogs, out: Vec<u8>) {
    if out.is_empty() {
        return;
    }
    // Rare: a stream listing both /dev/stdout and /dev/stderr gets a copy per extra console.
    for c in stream.consoles.iter().skip(1) {
        let mut copy = c.buffer();
        copy.extend_from_slice(&out);
        c.send(copy).await;
    }
    if let Some(first) = stream.consoles.first() {
        first.send(out).await;
    }
}
