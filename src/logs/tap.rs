//! What a pump hands to the event system besides writing the logs: an event listener's stdout (its
//! protocol channel), `PROCESS_LOG_*` chunks (`*_events_enabled`), and capture mode's
//! `PROCESS_COMMUNICATION_*` bodies (`*_capture_maxbytes`). The engine turns these into events; this
//! module only splits the bytes the way supervisord's output dispatcher does.

use tokio::sync::mpsc::UnboundedSender;

use super::Stream;

/// Start and end of a capture-mode block (supervisord's `ProcessCommunicationEvent` tokens).
pub const BEGIN_TOKEN: &[u8] = b"<!--XSUPERVISOR:BEGIN-->";
pub const END_TOKEN: &[u8] = b"<!--XSUPERVISOR:END-->";

/// One message from a tapped pump to the engine. `key` is whatever the engine gave the tap (its
/// process id), `pid` the child the pipe belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tapped {
    pub key: u64,
    pub pid: i32,
    pub stream: Stream,
    pub what: TapData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TapData {
    /// Bytes from a listener's stdout, as read.
    Protocol(Vec<u8>),
    /// The listener's stdout reached EOF.
    ProtocolEnd,
    /// A chunk as it was logged (`PROCESS_LOG_STDOUT`/`STDERR`).
    Log(Vec<u8>),
    /// A completed capture block (`PROCESS_COMMUNICATION_STDOUT`/`STDERR`).
    Communication(Vec<u8>),
}

/// How a tapped stream is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapMode {
    /// A listener's stdout: every byte goes to the engine (and is logged as usual).
    Protocol,
    /// A program stream with log events and/or capture mode.
    Events {
        log_events: bool,
        /// 0: no capture mode.
        capture_maxbytes: u64,
    },
}

/// The engine's end of a pump.
#[derive(Debug)]
pub struct Tap {
    tx: UnboundedSender<Tapped>,
    key: u64,
    pid: i32,
    stream: Stream,
    mode: TapMode,
    split: CaptureSplitter,
}

impl Tap {
    pub fn new(
        tx: UnboundedSender<Tapped>,
        key: u64,
        pid: i32,
        stream: Stream,
        mode: TapMode,
    ) -> Tap {
        let capture = match mode {
            TapMode::Events {
                capture_maxbytes, ..
            } => capture_maxbytes,
            TapMode::Protocol => 0,
        };
        Tap {
            tx,
            key,
            pid,
            stream,
            mode,
            split: CaptureSplitter::new(capture),
        }
    }

    /// A listener's stdout, the protocol channel.
    pub fn is_protocol(&self) -> bool {
        self.mode == TapMode::Protocol
    }

    fn send(&self, what: TapData) {
        // The engine has gone (shutdown): nothing left to tell.
        let _ = self.tx.send(Tapped {
            key: self.key,
            pid: self.pid,
            stream: self.stream,
            what,
        });
    }

    /// Take a chunk read from the pipe; returns what the pump does with it, in order.
    pub fn take(&mut self, data: &[u8]) -> Vec<Output> {
        match self.mode {
            TapMode::Protocol => {
                self.send(TapData::Protocol(data.to_vec()));
                vec![Output::Logged(data.to_vec())]
            }
            TapMode::Events { log_events, .. } => {
                let mut out = Vec::new();
                for piece in self.split.feed(data) {
                    self.piece(piece, log_events, &mut out);
                }
                out
            }
        }
    }

    /// EOF: what is still held back goes to the log. supervisord drops it (it waits for more output
    /// that never comes): no log event for it, so listeners see what they see under supervisord,
    /// but steward keeps the bytes in the log file.
    pub fn finish(&mut self) -> Vec<Output> {
        match self.mode {
            TapMode::Protocol => {
                self.send(TapData::ProtocolEnd);
                Vec::new()
            }
            TapMode::Events { .. } => {
                let mut out = Vec::new();
                for piece in self.split.finish() {
                    self.piece(piece, false, &mut out);
                }
                out
            }
        }
    }

    fn piece(&self, piece: Piece, log_events: bool, out: &mut Vec<Output>) {
        match piece {
            Piece::Log { data, captured } => {
                if data.is_empty() {
                    return;
                }
                if log_events {
                    self.send(TapData::Log(data.clone()));
                }
                out.push(match captured {
                    true => Output::Captured(data),
                    false => Output::Logged(data),
                });
            }
            Piece::Communication(body) => self.send(TapData::Communication(body)),
        }
    }
}

/// What the pump does with a piece of tapped output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// To the stream's log sinks (and the debug copy in steward's log).
    Logged(Vec<u8>),
    /// Inside a capture block: only the debug copy, as supervisord's capture log keeps it from the
    /// log file but its main log's debug line still shows it.
    Captured(Vec<u8>),
}

/// A piece of output after capture-mode splitting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Output passed through supervisord's `_log`: to the log unless `captured` (then it went to the
    /// capture buffer instead); a log event either way.
    Log { data: Vec<u8>, captured: bool },
    /// A capture block ended: the bounded buffer's content.
    Communication(Vec<u8>),
}

/// supervisord's `record_output`: outside a block, text goes to the log and a begin token switches
/// to capture; inside, text goes to a buffer bounded to `capture_maxbytes` and the end token emits
/// it. A token split across reads is held back; with capture on, output no longer than the token it
/// is looking for waits for more (as in supervisord).
#[derive(Debug)]
pub struct CaptureSplitter {
    maxbytes: u64,
    capturing: bool,
    held: Vec<u8>,
    captured: Vec<u8>,
}

impl CaptureSplitter {
    pub fn new(maxbytes: u64) -> CaptureSplitter {
        CaptureSplitter {
            maxbytes,
            capturing: false,
            held: Vec::new(),
            captured: Vec::new(),
        }
    }

    pub fn feed(&mut self, data: &[u8]) -> Vec<Piece> {
        let mut out = Vec::new();
        if self.maxbytes == 0 {
            out.push(Piece::Log {
                data: data.to_vec(),
                captured: false,
            });
            return out;
        }
        self.held.extend_from_slice(data);
        loop {
            let token = if self.capturing {
                END_TOKEN
            } else {
                BEGIN_TOKEN
            };
            if self.held.len() <= token.len() {
                return out;
            }
            let buf = std::mem::take(&mut self.held);
            match find(&buf, token) {
                Some(at) => {
                    self.log(&buf[..at], &mut out);
                    self.toggle(&mut out);
                    self.held = buf[at + token.len()..].to_vec();
                    if self.held.is_empty() {
                        return out;
                    }
                }
                None => {
                    let keep = prefix_at_end(&buf, token);
                    self.held = buf[buf.len() - keep..].to_vec();
                    self.log(&buf[..buf.len() - keep], &mut out);
                    return out;
                }
            }
        }
    }

    pub fn finish(&mut self) -> Vec<Piece> {
        let mut out = Vec::new();
        let rest = std::mem::take(&mut self.held);
        self.log(&rest, &mut out);
        out
    }

    fn log(&mut self, data: &[u8], out: &mut Vec<Piece>) {
        if data.is_empty() {
            return;
        }
        if self.capturing {
            self.captured.extend_from_slice(data);
            let max = usize::try_from(self.maxbytes).unwrap_or(usize::MAX);
            if self.captured.len() > max {
                let cut = self.captured.len() - max;
                self.captured.drain(..cut);
            }
        }
        out.push(Piece::Log {
            data: data.to_vec(),
            captured: self.capturing,
        });
    }

    fn toggle(&mut self, out: &mut Vec<Piece>) {
        self.capturing = !self.capturing;
        if !self.capturing {
            out.push(Piece::Communication(std::mem::take(&mut self.captured)));
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The length of the longest proper prefix of `token` that `data` ends with.
fn prefix_at_end(data: &[u8], token: &[u8]) -> usize {
    (1..token.len())
        .rev()
        .find(|&n| data.ends_with(&token[..n]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(s: &str, captured: bool) -> Piece {
        Piece::Log {
            data: s.as_bytes().to_vec(),
            captured,
        }
    }

    #[test]
    fn capture_blocks_become_communication() {
        let mut c = CaptureSplitter::new(100);
        let mut out = c.feed(b"before <!--XSUPERVISOR:BEGIN-->hello<!--XSUPERVISOR:END--> after\n");
        out.extend(c.finish());
        assert_eq!(
            out,
            [
                log("before ", false),
                log("hello", true),
                Piece::Communication(b"hello".to_vec()),
                log(" after\n", false),
            ]
        );
    }

    #[test]
    fn tokens_split_across_reads_are_held() {
        let mut c = CaptureSplitter::new(100);
        let mut out = c.feed(b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa<!--XSUPER");
        out.extend(c.feed(b"VISOR:BEGIN-->xyz"));
        out.extend(c.feed(b"<!--XSUPERVISOR:END-->"));
        out.extend(c.finish());
        assert_eq!(
            out,
            [
                log("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false),
                log("xyz", true),
                Piece::Communication(b"xyz".to_vec()),
            ]
        );
    }

    #[test]
    fn the_capture_buffer_keeps_the_last_maxbytes() {
        let mut c = CaptureSplitter::new(4);
        let out = c.feed(b"<!--XSUPERVISOR:BEGIN-->abcdefgh<!--XSUPERVISOR:END-->");
        assert_eq!(out.last(), Some(&Piece::Communication(b"efgh".to_vec())));
    }

    /// supervisord holds output no longer than a token until more comes; at EOF more never comes and
    /// it sends no event for it. steward sends none either but still logs the bytes.
    #[test]
    fn the_tail_held_at_eof_is_logged_without_an_event() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mode = TapMode::Events {
            log_events: true,
            capture_maxbytes: 100,
        };
        let mut tap = Tap::new(tx, 7, 42, Stream::Stderr, mode);
        let out = tap.take(b"<!--XSUPERVISOR:BEGIN-->x<!--XSUPERVISOR:END-->\n");
        assert_eq!(out, [Output::Captured(b"x".to_vec())]);
        assert_eq!(tap.finish(), [Output::Logged(b"\n".to_vec())]);
        let mut got = Vec::new();
        while let Ok(t) = rx.try_recv() {
            got.push(t.what);
        }
        assert_eq!(
            got,
            [
                TapData::Log(b"x".to_vec()),
                TapData::Communication(b"x".to_vec())
            ]
        );
    }

    #[test]
    fn without_capture_everything_is_logged_at_once() {
        let mut c = CaptureSplitter::new(0);
        assert_eq!(c.feed(b"hi"), [log("hi", false)]);
        assert!(c.finish().is_empty());
    }
}
