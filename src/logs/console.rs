//! Child output on steward's own stdout/stderr: whole lines only, optionally prefixed.
//!
//! The inherited fd is written directly and never reopened: reopening `/dev/stdout` fails with ENXIO when
//! fd 1 is a socket, and seeking it is supervisord's "Illegal seek". Each destination fd has one writer
//! thread fed by a byte-bounded queue. Pumps hand it buffers of complete lines ([`LineFramer`]), so a
//! `write` never ends mid-line and lines from different programs cannot interleave. The queue bound is
//! the backpressure: a pump waits (without blocking the runtime) while the console is slow, stops reading
//! its pipe, and the child blocks. The thread exists so that a stalled console (a full pipe to a slow log
//! collector) blocks neither the engine nor pumps that do not write to the console.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Bytes a console may hold queued before pumps wait.
pub const QUEUE_BYTES: usize = 1 << 20;
/// A line longer than this is written in pieces (the first piece prefixed), so memory stays bounded.
pub const MAX_PARTIAL: usize = 64 << 10;
/// Buffers kept for reuse, so steady-state output allocates nothing.
const POOL: usize = 32;
/// Buffers joined into one `writev`.
const BATCH: usize = 64;

enum Target {
    /// fd 1 or 2, inherited from whoever started steward; borrowed for the whole process lifetime.
    Inherited(RawFd),
    /// A descriptor we own (tests, benchmarks).
    Owned(OwnedFd),
}

impl Target {
    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            // SAFETY: fd 1/2 stay open for the life of the process: steward never closes its stdio.
            Target::Inherited(fd) => unsafe { BorrowedFd::borrow_raw(*fd) },
            Target::Owned(fd) => fd.as_fd(),
        }
    }
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Vec<u8>>,
    bytes: usize,
    pool: Vec<Vec<u8>>,
    /// The writer thread is writing a batch it already took off `items`.
    busy: bool,
    closed: bool,
}

struct Shared {
    target: Target,
    name: &'static str,
    queue: Mutex<Queue>,
    /// Wakes the writer thread; also signalled when the queue drains (for [`Console::flush`]).
    cond: Condvar,
    /// Wakes pumps waiting for queue space.
    space: Notify,
    /// Serialises the thread's writes with [`Console::write_direct`] so neither splits the other's lines.
    write_lock: Mutex<()>,
}

/// One console destination (steward's fd 1 or fd 2). Cheap to clone.
#[derive(Clone)]
pub struct Console {
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave the data inconsistent (plain queues), so poisoning
    // is ignored rather than turned into a second panic.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Console {
    /// steward's stdout.
    pub fn stdout() -> Console {
        Console::with_target(Target::Inherited(1), "stdout")
    }

    /// steward's stderr.
    pub fn stderr() -> Console {
        Console::with_target(Target::Inherited(2), "stderr")
    }

    /// A console writing to `fd` (for tests and benchmarks).
    pub fn from_fd(fd: OwnedFd) -> Console {
        Console::with_target(Target::Owned(fd), "console")
    }

    fn with_target(target: Target, name: &'static str) -> Console {
        let shared = Arc::new(Shared {
            target,
            name,
            queue: Mutex::new(Queue::default()),
            cond: Condvar::new(),
            space: Notify::new(),
            write_lock: Mutex::new(()),
        });
        let s = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("steward-{name}"))
            .spawn(move || writer_thread(&s));
        if let Err(e) = spawned {
            // Without a thread nothing drains the queue; mark it closed so senders drop instead of waiting.
            tracing::error!(
                "cannot start the {name} writer thread: {e}; console output is dropped"
            );
            lock(&shared.queue).closed = true;
        }
        Console { shared }
    }

    /// An empty buffer, reused from the pool when one is free.
    pub fn buffer(&self) -> Vec<u8> {
        lock(&self.shared.queue).pool.pop().unwrap_or_default()
    }

    /// Give back a buffer that was not sent.
    pub fn recycle(&self, mut buf: Vec<u8>) {
        let mut q = lock(&self.shared.queue);
        if q.pool.len() < POOL && buf.capacity() > 0 {
            buf.clear();
            q.pool.push(buf);
        }
    }

    /// Queue whole lines for writing, waiting while the queue is over its bound.
    pub async fn send(&self, buf: Vec<u8>) {
        if buf.is_empty() {
            self.recycle(buf);
            return;
        }
        let mut buf = Some(buf);
        loop {
            let notified = self.shared.space.notified();
            tokio::pin!(notified);
            // Register before checking, so a wakeup between the check and the await is not missed.
            notified.as_mut().enable();
            {
                let mut q = lock(&self.shared.queue);
                if q.closed {
                    return;
                }
                // An oversized buffer is let through on an empty queue, or it could never be sent.
                if q.bytes == 0 || q.bytes + buf.as_ref().map_or(0, Vec::len) <= QUEUE_BYTES {
                    let b = buf.take().unwrap_or_default();
                    q.bytes += b.len();
                    q.items.push_back(b);
                    drop(q);
                    self.shared.cond.notify_all();
                    return;
                }
            }
            notified.await;
        }
    }

    /// Queue a copy of `data` without waiting (steward's own log lines, written from synchronous code).
    /// Allowed past the pumps' bound up to twice [`QUEUE_BYTES`]; beyond that the console has been stuck
    /// for a long while and the record is dropped (false), because steward — PID 1 — must not hang on
    /// a log line. Its log file still gets every record.
    pub fn send_nowait(&self, data: &[u8]) -> bool {
        let mut q = lock(&self.shared.queue);
        if q.closed || q.bytes + data.len() > 2 * QUEUE_BYTES {
            return false;
        }
        let mut b = q.pool.pop().unwrap_or_default();
        b.extend_from_slice(data);
        q.bytes += b.len();
        q.items.push_back(b);
        drop(q);
        self.shared.cond.notify_all();
        true
    }

    /// Write `data` now, from the calling thread (steward's own log lines). Blocks while the console is
    /// blocked, like any logger on a full pipe; never splits a line written by the writer thread.
    pub fn write_direct(&self, data: &[u8]) -> io::Result<()> {
        let _g = lock(&self.shared.write_lock);
        write_all_vectored(self.shared.target.fd(), &[data])
    }

    /// Wait until everything queued so far has been written (shutdown), at most `timeout`.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut q = lock(&self.shared.queue);
        while !q.closed && (!q.items.is_empty() || q.busy) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            q = self
                .shared
                .cond
                .wait_timeout(q, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// The destination is a terminal (colours and aligned prefixes make sense there).
    pub fn is_terminal(&self) -> bool {
        std::io::IsTerminal::is_terminal(&self.shared.target.fd())
    }

    /// Raw fd, for identifying the destination.
    pub fn raw_fd(&self) -> RawFd {
        self.shared.target.fd().as_raw_fd()
    }
}

fn writer_thread(s: &Shared) {
    let mut batch: Vec<Vec<u8>> = Vec::with_capacity(BATCH);
    let mut failing = false;
    loop {
        {
            let mut q = lock(&s.queue);
            q.busy = false;
            if q.items.is_empty() {
                // Tell flush() the queue is drained.
                s.cond.notify_all();
            }
            while q.items.is_empty() {
                q = s.cond.wait(q).unwrap_or_else(|e| e.into_inner());
            }
            while batch.len() < BATCH {
                match q.items.pop_front() {
                    Some(b) => batch.push(b),
                    None => break,
                }
            }
            q.busy = true;
        }
        let result = {
            let _g = lock(&s.write_lock);
            let bufs: Vec<&[u8]> = batch.iter().map(|b| &b[..]).collect();
            write_all_vectored(s.target.fd(), &bufs)
        };
        match result {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("writing to {} works again", s.name);
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(
                    "cannot write child output to {}: {e}; it is dropped until writing works",
                    s.name
                );
            }
            Err(_) => {}
        }
        let mut q = lock(&s.queue);
        for mut b in batch.drain(..) {
            q.bytes -= b.len();
            if q.pool.len() < POOL {
                b.clear();
                q.pool.push(b);
            }
        }
        drop(q);
        s.space.notify_waiters();
    }
}

/// Write every byte of `bufs` with as few `writev` calls as possible, resuming after partial writes and
/// waiting out EAGAIN on an fd someone else made non-blocking.
fn write_all_vectored(fd: BorrowedFd<'_>, bufs: &[&[u8]]) -> io::Result<()> {
    const IOV_MAX: usize = 1024;
    let (mut i, mut off) = (0, 0);
    let mut iov: Vec<IoSlice<'_>> = Vec::with_capacity(bufs.len().min(IOV_MAX));
    while i < bufs.len() {
        if off == bufs[i].len() {
            i += 1;
            off = 0;
            continue;
        }
        iov.clear();
        iov.push(IoSlice::new(&bufs[i][off..]));
        iov.extend(
            bufs[i + 1..]
                .iter()
                .take(IOV_MAX - 1)
                .map(|b| IoSlice::new(b)),
        );
        // SAFETY: IoSlice is guaranteed ABI-compatible with iovec; the buffers outlive the call.
        let n = unsafe {
            libc::writev(
                fd.as_raw_fd(),
                iov.as_ptr().cast::<libc::iovec>(),
                iov.len() as libc::c_int,
            )
        };
        match nix::errno::Errno::result(n) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                let mut n = n as usize;
                while n > 0 {
                    let left = bufs[i].len() - off;
                    if n >= left {
                        n -= left;
                        i += 1;
                        off = 0;
                    } else {
                        off += n;
                        n = 0;
                    }
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(nix::errno::Errno::EAGAIN) => {
                let mut fds = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLOUT)];
                let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Cuts a stream into whole lines for the console, prefixing each line.
///
/// A trailing partial line is held until its newline arrives, it grows past [`MAX_PARTIAL`], the child
/// goes quiet ([`flush_partial`](Self::flush_partial)) or the stream ends ([`finish`](Self::finish)).
/// What a quiet spell or the end flushes is ended with a newline, so the console stays a sequence of
/// whole lines: another program's line, or steward's own, never starts in the middle of it. The rest of
/// a line split by a quiet spell is a line of its own, prefixed again.
#[derive(Debug, Default)]
pub struct LineFramer {
    prefix: Vec<u8>,
    /// Where in `prefix` each line's local time goes (`console_timestamps`); `None`: no time.
    stamp_at: Option<usize>,
    /// The time text and the second it shows; refreshed once per chunk, not per line.
    stamp: Vec<u8>,
    stamp_sec: i64,
    partial: Vec<u8>,
    /// False after a piece of an over-long line was written: its continuation gets no prefix.
    at_line_start: bool,
    /// A quiet spell ended the last line with a newline of ours: if the child's own newline comes next,
    /// it ends that same line and is dropped rather than printed as an empty line.
    split: bool,
}

impl LineFramer {
    /// `prefix` is written before every line; empty for none.
    pub fn new(prefix: &[u8]) -> LineFramer {
        LineFramer::with_stamp(prefix, None)
    }

    /// Like [`new`](Self::new); with `Some(at)`, every prefix also carries the local time
    /// (`HH:MM:SS `), inserted at byte `at` of `prefix` (after a colour's escape, say).
    pub fn with_stamp(prefix: &[u8], stamp_at: Option<usize>) -> LineFramer {
        LineFramer {
            prefix: prefix.to_vec(),
            stamp_at: stamp_at.map(|at| at.min(prefix.len())),
            stamp: Vec::new(),
            stamp_sec: i64::MIN,
            partial: Vec::new(),
            at_line_start: true,
            split: false,
        }
    }

    fn refresh_stamp(&mut self) {
        if self.stamp_at.is_none() {
            return;
        }
        let now = crate::clock::epoch();
        if now != self.stamp_sec {
            self.stamp_sec = now;
            self.stamp.clear();
            self.stamp
                .extend_from_slice(crate::logs::look::clock_text(now).as_bytes());
        }
    }

    fn put_prefix(&self, out: &mut Vec<u8>) {
        match self.stamp_at {
            None => out.extend_from_slice(&self.prefix),
            Some(at) => {
                out.extend_from_slice(&self.prefix[..at]);
                out.extend_from_slice(&self.stamp);
                out.extend_from_slice(&self.prefix[at..]);
            }
        }
    }

    /// Append the complete lines of `partial + data` to `out`.
    pub fn feed(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        self.refresh_stamp();
        if self.split && !data.is_empty() {
            self.split = false;
            if data[0] == b'\n' {
                data = &data[1..];
            }
        }
        match memchr::memrchr(b'\n', data) {
            None => self.partial.extend_from_slice(data),
            Some(last) => {
                let (whole, rest) = data.split_at(last + 1);
                if self.prefix.is_empty() && self.stamp_at.is_none() {
                    out.extend_from_slice(&self.partial);
                    out.extend_from_slice(whole);
                } else {
                    // The first line may continue the held partial one.
                    let first = memchr::memchr(b'\n', whole).unwrap_or(last);
                    if self.at_line_start {
                        self.put_prefix(out);
                    }
                    out.extend_from_slice(&self.partial);
                    out.extend_from_slice(&whole[..=first]);
                    let base = first + 1;
                    let mut start = base;
                    for nl in memchr::memchr_iter(b'\n', &whole[base..]) {
                        self.put_prefix(out);
                        out.extend_from_slice(&whole[start..=base + nl]);
                        start = base + nl + 1;
                    }
                }
                self.partial.clear();
                self.at_line_start = true;
                self.partial.extend_from_slice(rest);
            }
        }
        if self.partial.len() >= MAX_PARTIAL {
            self.emit_partial(out);
        }
    }

    /// Write the held partial line now (the child went quiet), ended by a newline; its continuation
    /// is prefixed again.
    pub fn flush_partial(&mut self, out: &mut Vec<u8>) {
        if !self.partial.is_empty() {
            self.emit_partial(out);
            out.push(b'\n');
            self.at_line_start = true;
            self.split = true;
        }
    }

    fn emit_partial(&mut self, out: &mut Vec<u8>) {
        if self.at_line_start {
            self.refresh_stamp();
            self.put_prefix(out);
        }
        out.extend_from_slice(&self.partial);
        self.partial.clear();
        self.at_line_start = false;
    }

    /// End of stream: write what is held, ended by a newline so the next line written to the console
    /// does not start glued to it.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let unterminated = !self.partial.is_empty() || !self.at_line_start;
        if !self.partial.is_empty() {
            self.emit_partial(out);
        }
        if unterminated {
            out.push(b'\n');
        }
        self.at_line_start = true;
        self.split = false;
    }

    /// Bytes held back waiting for a newline.
    pub fn pending(&self) -> usize {
        self.partial.len()
    }
}

/// Removes ANSI escape sequences the way supervisord's `strip_ansi` does: `ESC [` and everything after it
/// up to and including the next byte from a fixed set of final letters. Unlike supervisord, a sequence
/// split across two reads is still removed.
#[derive(Debug, Default)]
pub struct AnsiStripper {
    state: AnsiState,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum AnsiState {
    #[default]
    Text,
    /// An ESC ended the previous chunk.
    Esc,
    /// Inside `ESC [ …`, dropping bytes until a final letter.
    Seq,
}

fn is_final(b: u8) -> bool {
    matches!(
        b,
        b'H' | b'f'
            | b'A'
            | b'B'
            | b'C'
            | b'D'
            | b'R'
            | b's'
            | b'u'
            | b'J'
            | b'K'
            | b'h'
            | b'l'
            | b'p'
            | b'm'
    )
}

impl AnsiStripper {
    /// Replace `out` with `data` minus escape sequences.
    pub fn strip(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        out.clear();
        while !data.is_empty() {
            match self.state {
                AnsiState::Text => match memchr::memchr(0x1b, data) {
                    None => {
                        out.extend_from_slice(data);
                        return;
                    }
                    Some(i) => {
                        out.extend_from_slice(&data[..i]);
                        data = &data[i + 1..];
                        self.state = AnsiState::Esc;
                    }
                },
                AnsiState::Esc => {
                    if data[0] == b'[' {
                        self.state = AnsiState::Seq;
                        data = &data[1..];
                    } else {
                        out.push(0x1b);
                        self.state = AnsiState::Text;
                    }
                }
                AnsiState::Seq => match data.iter().position(|&b| is_final(b)) {
                    None => return,
                    Some(i) => {
                        data = &data[i + 1..];
                        self.state = AnsiState::Text;
                    }
                },
            }
        }
    }

    /// End of stream: a lone ESC that was held back is real data.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        out.clear();
        if self.state == AnsiState::Esc {
            out.push(0x1b);
        }
        self.state = AnsiState::Text;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(prefix: &str, chunks: &[&[u8]]) -> Vec<u8> {
        let mut f = LineFramer::new(prefix.as_bytes());
        let mut out = Vec::new();
        for c in chunks {
            f.feed(c, &mut out);
        }
        f.finish(&mut out);
        out
    }

    #[test]
    fn prefixes_every_line_across_chunk_boundaries() {
        assert_eq!(
            frame("web | ", &[b"a\nb", b"c\n\nd\ne"]),
            b"web | a\nweb | bc\nweb | \nweb | d\nweb | e\n"
        );
        assert_eq!(frame("w ", &[b"x", b"y", b"z\n"]), b"w xyz\n");
        assert_eq!(frame("", &[b"a\nb", b"c\nd"]), b"a\nbc\nd\n");
        assert_eq!(frame("p ", &[]), b"");
    }

    #[test]
    fn timestamps_go_where_asked_before_every_line() {
        // The stamp and its place: `HH:MM:SS ` at byte `at` of the prefix.
        fn stamped(line: &str, before: &str, after: &str) -> bool {
            let Some(rest) = line.strip_prefix(before) else {
                return false;
            };
            let b = rest.as_bytes();
            b.len() >= 9
                && b[..8].iter().enumerate().all(|(i, c)| match i {
                    2 | 5 => *c == b':',
                    _ => c.is_ascii_digit(),
                })
                && b[8] == b' '
                && rest[9..].starts_with(after)
        }
        let mut f = LineFramer::with_stamp(b"\x1b[36mweb |\x1b[0m ", Some(5));
        let mut out = Vec::new();
        f.feed(b"a\nb\npart", &mut out);
        f.flush_partial(&mut out);
        f.feed(b"ial\n", &mut out);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text:?}");
        for (l, body) in lines.iter().zip(["a", "b", "part", "ial"]) {
            assert!(
                stamped(l, "\x1b[36m", &format!("web |\x1b[0m {body}")),
                "{l:?}"
            );
        }
        // Without a prefix, the time alone.
        let mut f = LineFramer::with_stamp(b"", Some(0));
        let mut out = Vec::new();
        f.feed(b"x\n", &mut out);
        f.finish(&mut out);
        assert!(stamped(std::str::from_utf8(&out).unwrap(), "", "x\n"));
    }

    #[test]
    fn holds_partial_lines_until_newline() {
        let mut f = LineFramer::new(b"p ");
        let mut out = Vec::new();
        f.feed(b"abc", &mut out);
        assert!(out.is_empty());
        assert_eq!(f.pending(), 3);
        f.feed(b"d\nef", &mut out);
        assert_eq!(out, b"p abcd\n");
        assert_eq!(f.pending(), 2);
    }

    #[test]
    fn a_quiet_spell_ends_the_line_and_the_rest_is_prefixed_again() {
        for prefix in ["p | ", ""] {
            let mut f = LineFramer::new(prefix.as_bytes());
            let mut out = Vec::new();
            f.feed(b"Loading", &mut out);
            f.flush_partial(&mut out);
            f.flush_partial(&mut out);
            f.feed(b"... done\nnext", &mut out);
            f.flush_partial(&mut out);
            // The child's own newline right after a flush ends the flushed line: no empty line.
            f.feed(b"\nlast\n", &mut out);
            f.finish(&mut out);
            let p = prefix;
            let expect = format!("{p}Loading\n{p}... done\n{p}next\n{p}last\n");
            assert_eq!(String::from_utf8(out).unwrap(), expect);
        }
    }

    #[test]
    fn long_lines_pass_through_byte_for_byte_in_bounded_pieces() {
        let long: Vec<u8> = (0..(MAX_PARTIAL * 3))
            .map(|i| (i % 251) as u8 | 0x80)
            .collect();
        let mut f = LineFramer::new(b"");
        let mut out = Vec::new();
        for c in long.chunks(10_000) {
            f.feed(c, &mut out);
            assert!(f.pending() < MAX_PARTIAL);
        }
        f.feed(b"\n", &mut out);
        f.finish(&mut out);
        assert_eq!(&out[..long.len()], &long[..]);
        assert_eq!(out.len(), long.len() + 1);

        let mut f = LineFramer::new(b"P|");
        let mut out = Vec::new();
        for c in long.chunks(10_000) {
            f.feed(c, &mut out);
        }
        f.feed(b"\nnext\n", &mut out);
        let mut expect = b"P|".to_vec();
        expect.extend_from_slice(&long);
        expect.extend_from_slice(b"\nP|next\n");
        assert_eq!(out, expect, "one prefix for the whole long line");
    }

    #[test]
    fn strips_ansi_like_supervisord_even_across_chunks() {
        let mut s = AnsiStripper::default();
        let mut out = Vec::new();
        let mut all = Vec::new();
        for c in [
            &b"\x1b[31mred\x1b[0m plain \x1b"[..],
            b"[1",
            b";2Hmoved \x1bX",
        ] {
            s.strip(c, &mut out);
            all.extend_from_slice(&out);
        }
        s.finish(&mut out);
        all.extend_from_slice(&out);
        assert_eq!(all, b"red plain moved \x1bX");
        s.strip(b"end\x1b", &mut out);
        assert_eq!(out, b"end");
        s.finish(&mut out);
        assert_eq!(out, b"\x1b");
    }

    #[test]
    fn own_log_lines_never_block_on_a_stuck_console() {
        let (_r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let console = Console::from_fd(w);
        let line = [b'l'; 1023];
        let mut queued = 0usize;
        // Nobody reads the pipe: after the pipe and twice the queue bound are full, records are dropped.
        while console.send_nowait(&line) {
            queued += line.len();
            assert!(queued <= 2 * QUEUE_BYTES + (4 << 20), "unbounded");
        }
        assert!(queued >= QUEUE_BYTES);
        assert!(!console.flush(Duration::from_millis(1)));
    }

    #[test]
    fn framed_output_is_whole_prefixed_lines() {
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let console = Console::from_fd(w);
        let expected_lines = 4 * 5_000 + 1_000;
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            let mut f = std::io::BufReader::new(std::fs::File::from(r));
            let mut next = [0u32; 4];
            let mut own = 0;
            let mut line = Vec::new();
            for _ in 0..expected_lines {
                line.clear();
                f.read_until(b'\n', &mut line).unwrap();
                let s = String::from_utf8(line.clone()).unwrap();
                if s == "steward own log line\n" {
                    own += 1;
                    continue;
                }
                let (prefix, body) = s
                    .split_once(" | ")
                    .unwrap_or_else(|| panic!("unprefixed line {s:?}"));
                let p: usize = prefix.trim_start_matches("prog").parse().unwrap();
                let mut words = body.split(' ');
                assert_eq!(words.next(), Some("line"));
                let n: u32 = words.next().unwrap().parse().unwrap();
                assert_eq!(n, next[p], "program {p} lines out of order or torn: {s:?}");
                assert!(
                    s.ends_with(&format!("{}\n", "y".repeat((n % 89) as usize + 1))),
                    "torn line {s:?}"
                );
                next[p] += 1;
            }
            (next, own)
        });
        // steward's own log writes directly from another thread meanwhile.
        let direct = console.clone();
        let own = std::thread::spawn(move || {
            for _ in 0..1_000 {
                direct.write_direct(b"steward own log line\n").unwrap();
            }
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut tasks = Vec::new();
            for p in 0..4u32 {
                let c = console.clone();
                tasks.push(tokio::spawn(async move {
                    let mut framer = LineFramer::new(format!("prog{p} | ").as_bytes());
                    let mut text = Vec::new();
                    for i in 0..5_000u32 {
                        text.extend_from_slice(
                            format!("line {i} {}\n", "y".repeat((i % 89) as usize + 1)).as_bytes(),
                        );
                    }
                    for chunk in text.chunks(1000 + p as usize * 777) {
                        let mut out = c.buffer();
                        framer.feed(chunk, &mut out);
                        c.send(out).await;
                        tokio::task::yield_now().await;
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        });
        own.join().unwrap();
        assert!(console.flush(Duration::from_secs(30)));
        assert_eq!(reader.join().unwrap(), ([5_000; 4], 1_000));
    }
}
