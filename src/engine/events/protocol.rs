//! The listener's side of supervisord's event protocol, as read from its stdout (reference 4): a
//! listener starts ACKNOWLEDGED, says `READY\n`, gets one event (BUSY), answers `RESULT n\n` and n
//! bytes, and is ACKNOWLEDGED again. Anything out of turn puts it in UNKNOWN for good (until it is
//! started again). Pure: bytes in, outcomes out.

use std::collections::VecDeque;

const READY: &[u8] = b"READY\n";
const RESULT: &[u8] = b"RESULT ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerState {
    Acknowledged,
    Ready,
    Busy,
    Unknown,
}

impl ListenerState {
    pub fn name(self) -> &'static str {
        match self {
            ListenerState::Acknowledged => "ACKNOWLEDGED",
            ListenerState::Ready => "READY",
            ListenerState::Busy => "BUSY",
            ListenerState::Unknown => "UNKNOWN",
        }
    }
}

/// What the listener said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// A state change, for the debug log (`name: FROM -> TO`).
    Changed(ListenerState, ListenerState),
    /// It broke the protocol and entered UNKNOWN; `had_event` when it was holding an event.
    Violated { had_event: bool },
    /// A result line that is not `RESULT <int>`: UNKNOWN, and its event is rejected.
    BadResultLine(String),
    /// A complete result for the event it was holding (the state is ACKNOWLEDGED again).
    Result(Vec<u8>),
}

/// One listener process's protocol state; a new one per spawn.
#[derive(Debug)]
pub struct Protocol {
    state: ListenerState,
    buf: VecDeque<u8>,
    result_len: Option<usize>,
    result: Vec<u8>,
}

impl Default for Protocol {
    fn default() -> Self {
        Protocol {
            state: ListenerState::Acknowledged,
            buf: VecDeque::new(),
            result_len: None,
            result: Vec::new(),
        }
    }
}

impl Protocol {
    pub fn state(&self) -> ListenerState {
        self.state
    }

    /// An event was written to it: READY -> BUSY; returns (from, to).
    pub fn sent(&mut self) -> (ListenerState, ListenerState) {
        self.set(ListenerState::Busy)
    }

    /// The result handler failed (not a rejection): UNKNOWN; returns (from, to).
    pub fn handler_failed(&mut self) -> (ListenerState, ListenerState) {
        self.set(ListenerState::Unknown)
    }

    fn set(&mut self, to: ListenerState) -> (ListenerState, ListenerState) {
        let from = self.state;
        self.state = to;
        (from, to)
    }

    fn change(&mut self, to: ListenerState) -> Said {
        let (from, to) = self.set(to);
        Said::Changed(from, to)
    }

    /// Bytes read from the listener's stdout; what they meant, in order.
    pub fn feed(&mut self, data: &[u8]) -> Vec<Said> {
        self.buf.extend(data);
        let mut out = Vec::new();
        while !self.buf.is_empty() {
            match self.state {
                ListenerState::Unknown => {
                    self.buf.clear();
                }
                ListenerState::Acknowledged => {
                    if self.buf.len() < READY.len() {
                        break;
                    }
                    if self.buf.iter().take(READY.len()).eq(READY.iter()) {
                        self.buf.drain(..READY.len());
                        out.push(self.change(ListenerState::Ready));
                    } else {
                        self.buf.clear();
                        out.push(self.change(ListenerState::Unknown));
                        out.push(Said::Violated { had_event: false });
                    }
                }
                ListenerState::Ready => {
                    // Spurious output while waiting for an event.
                    self.buf.clear();
                    out.push(self.change(ListenerState::Unknown));
                    out.push(Said::Violated { had_event: false });
                }
                ListenerState::Busy => match self.result_len {
                    None => {
                        let Some(nl) = self.buf.iter().position(|&b| b == b'\n') else {
                            break;
                        };
                        let line: Vec<u8> = self.buf.drain(..=nl).take(nl).collect();
                        match parse_result_line(&line) {
                            Some(n) => {
                                self.result_len = Some(n);
                                self.result.clear();
                                // As supervisord: the body is looked at only once more bytes came.
                                if self.buf.is_empty() {
                                    break;
                                }
                            }
                            None => {
                                self.buf.clear();
                                out.push(Said::BadResultLine(
                                    crate::logs::output_text(&line).into_owned(),
                                ));
                                out.push(self.change(ListenerState::Unknown));
                                out.push(Said::Violated { had_event: true });
                            }
                        }
                    }
                    Some(n) => {
                        let need = n - self.result.len();
                        let take = need.min(self.buf.len());
                        self.result.extend(self.buf.drain(..take));
                        if self.result.len() < n {
                            break;
                        }
                        self.result_len = None;
                        out.push(Said::Result(std::mem::take(&mut self.result)));
                        out.push(self.change(ListenerState::Acknowledged));
                    }
                },
            }
        }
        out
    }
}

/// `RESULT <n>`: what follows the first 7 bytes must be an integer (Python's `int()`: surrounding
/// blanks allowed). The prefix itself is not checked, as in supervisord.
fn parse_result_line(line: &[u8]) -> Option<usize> {
    let rest = line.get(RESULT.len()..)?;
    let text = std::str::from_utf8(rest).ok()?.trim();
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::ListenerState::*;
    use super::*;

    #[test]
    fn a_full_round() {
        let mut p = Protocol::default();
        assert_eq!(p.feed(b"READY\n"), [Said::Changed(Acknowledged, Ready)]);
        assert_eq!(p.sent(), (Ready, Busy));
        assert_eq!(p.feed(b"RESULT 2\nO"), []);
        assert_eq!(
            p.feed(b"KREADY\n"),
            [
                Said::Result(b"OK".to_vec()),
                Said::Changed(Busy, Acknowledged),
                Said::Changed(Acknowledged, Ready)
            ]
        );
    }

    #[test]
    fn byte_by_byte() {
        let mut p = Protocol::default();
        let mut said = vec![];
        for b in b"READY\n" {
            said.extend(p.feed(&[*b]));
        }
        p.sent();
        for b in b"RESULT 4\nFAIL" {
            said.extend(p.feed(&[*b]));
        }
        assert_eq!(
            said,
            [
                Said::Changed(Acknowledged, Ready),
                Said::Result(b"FAIL".to_vec()),
                Said::Changed(Busy, Acknowledged)
            ]
        );
    }

    #[test]
    fn violations() {
        let mut p = Protocol::default();
        assert_eq!(
            p.feed(b"hello!\n"),
            [
                Said::Changed(Acknowledged, Unknown),
                Said::Violated { had_event: false }
            ]
        );
        assert_eq!(p.feed(b"READY\n"), []);
        assert_eq!(p.state(), Unknown);

        let mut p = Protocol::default();
        p.feed(b"READY\n");
        assert_eq!(
            p.feed(b"x"),
            [
                Said::Changed(Ready, Unknown),
                Said::Violated { had_event: false }
            ]
        );

        let mut p = Protocol::default();
        p.feed(b"READY\n");
        p.sent();
        assert_eq!(
            p.feed(b"RESULT two\n"),
            [
                Said::BadResultLine("RESULT two".into()),
                Said::Changed(Busy, Unknown),
                Said::Violated { had_event: true }
            ]
        );
    }

    #[test]
    fn result_lines() {
        assert_eq!(parse_result_line(b"RESULT 2"), Some(2));
        assert_eq!(parse_result_line(b"RESULT  12 "), Some(12));
        assert_eq!(parse_result_line(b"XXXXXX 3"), Some(3));
        assert_eq!(parse_result_line(b"RESULT -1"), None);
        assert_eq!(parse_result_line(b"RESULT"), None);
    }
}
