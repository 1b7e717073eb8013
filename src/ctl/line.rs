//! The shell's line editor, small enough to cost little in a static init binary: raw mode through
//! termios only while a line is read, one line redrawn with CR and `ESC[K` (scrolled sideways when it is
//! wider than the terminal), emacs keys, history and TAB completion. With TERM=dumb, or when stdin or
//! stdout is not a terminal, lines are read as they come, without editing.

use std::io::{self, BufRead, IsTerminal, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{self, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::termios::{
    self, ControlFlags, InputFlags, LocalFlags, SetArg, SpecialCharacterIndices, Termios,
};

/// How reading one line ended.
#[derive(Debug, PartialEq)]
pub enum Read {
    Line(String),
    /// Ctrl-D on an empty line, or the end of input.
    Eof,
    /// Ctrl-C.
    Interrupted,
}

/// Completion of the text before the cursor: the byte where the word being completed starts, and the
/// words that could stand there.
pub type Completions = (usize, Vec<String>);

/// Terminals that cannot take cursor movement (the list readline-like editors share).
const UNSUPPORTED_TERMS: &[&str] = &["dumb", "cons25", "emacs"];

/// Signals that end the shell while it edits: the terminal is put back first, then they act as if
/// never caught. SIGWINCH only redraws.
const CAUGHT: &[Signal] = &[
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGWINCH,
];

pub struct Editor {
    history: Vec<String>,
    max_history: usize,
    /// Bytes read after the end of the last line (typed ahead while a command ran): the next line's.
    pending: Vec<u8>,
}

impl Editor {
    pub fn new(max_history: usize) -> Self {
        Editor {
            history: Vec::new(),
            max_history,
            pending: Vec::new(),
        }
    }

    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// A line equal to the one before it is kept once (rustyline's and bash's `ignoredups`).
    pub fn add_history(&mut self, line: &str) {
        if line.is_empty() || self.history.last().is_some_and(|l| l == line) {
            return;
        }
        if self.history.len() >= self.max_history {
            self.history.remove(0);
        }
        self.history.push(line.to_string());
    }

    /// One line from the user, edited on a terminal. A terminating signal while editing puts the
    /// terminal back and then ends the process by that signal.
    pub fn read_line(
        &mut self,
        prompt: &str,
        complete: &mut dyn FnMut(&str) -> Completions,
    ) -> io::Result<Read> {
        let term = std::env::var("TERM").unwrap_or_default();
        let editable = io::stdin().is_terminal()
            && io::stdout().is_terminal()
            && !UNSUPPORTED_TERMS
                .iter()
                .any(|t| t.eq_ignore_ascii_case(&term));
        if !editable {
            return plain(prompt);
        }
        let raw = Raw::enter()?;
        let result = self.edit(&raw, prompt, complete);
        drop(raw);
        let sig = TERMINATING.load(Ordering::Relaxed);
        if sig != 0 {
            end_by(sig);
        }
        result
    }

    fn edit(
        &mut self,
        raw: &Raw,
        prompt: &str,
        complete: &mut dyn FnMut(&str) -> Completions,
    ) -> io::Result<Read> {
        let mut edit = Edit::new(prompt, self.history.len(), columns());
        let mut out = Vec::new();
        edit.refresh(&mut out);
        loop {
            let step = edit.feed(&mut self.pending, &self.history, complete, &mut out);
            write_out(&mut out)?;
            match step {
                Some(Step::Done(read)) => return Ok(read),
                Some(Step::Suspend) => {
                    raw.suspend()?;
                    edit.cols = columns();
                    edit.refresh(&mut out);
                    continue;
                }
                None => {}
            }
            match raw.wait()? {
                Wake::Input => {
                    let mut buf = [0u8; 4096];
                    match nix::unistd::read(io::stdin(), &mut buf) {
                        Ok(0) => return Ok(Read::Eof),
                        Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                        Err(Errno::EINTR | Errno::EAGAIN) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                Wake::Resize => {
                    edit.cols = columns();
                    edit.refresh(&mut out);
                }
                Wake::Terminate => return Err(io::ErrorKind::Interrupted.into()),
            }
        }
    }
}

/// Without editing: the prompt, then a line as the terminal (or pipe) gives it.
fn plain(prompt: &str) -> io::Result<Read> {
    let mut stdout = io::stdout();
    stdout.write_all(prompt.as_bytes())?;
    stdout.flush()?;
    let mut line = Vec::new();
    if io::stdin().lock().read_until(b'\n', &mut line)? == 0 {
        return Ok(Read::Eof);
    }
    let text = String::from_utf8_lossy(&line);
    Ok(Read::Line(text.trim_end_matches(['\r', '\n']).to_string()))
}

fn write_out(out: &mut Vec<u8>) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    let mut stdout = io::stdout().lock();
    stdout.write_all(out)?;
    stdout.flush()?;
    out.clear();
    Ok(())
}

/// The terminal's width (80 when it does not say).
fn columns() -> usize {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ only writes a winsize into the local we pass.
    let ok = unsafe { libc::ioctl(io::stdout().as_raw_fd(), libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 {
        usize::from(size.ws_col)
    } else {
        80
    }
}

/// The write end of the pipe the signal handler wakes `Raw::wait` through (-1 when not editing).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// The terminating signal that arrived while editing (0: none).
static TERMINATING: AtomicI32 = AtomicI32::new(0);
static RESIZED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int) {
    let errno = Errno::last_raw();
    if sig == libc::SIGWINCH {
        RESIZED.store(true, Ordering::Relaxed);
    } else {
        TERMINATING.store(sig, Ordering::Relaxed);
    }
    let fd = WAKE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the pipe is non-blocking, so a full one costs nothing.
        unsafe { libc::write(fd, b"!".as_ptr().cast(), 1) };
    }
    Errno::set_raw(errno);
}

/// Puts the default action back and delivers `sig` again (the terminal is already restored), so the
/// shell ends as the signal would have ended it had it not been caught.
fn end_by(sig: i32) -> ! {
    let _ = io::stdout().write_all(b"\n");
    let _ = io::stdout().flush();
    if let Ok(s) = Signal::try_from(sig) {
        // SAFETY: installs the default disposition; no handler code of ours runs.
        let _ = unsafe { signal::signal(s, SigHandler::SigDfl) };
        let _ = signal::raise(s);
    }
    std::process::exit(128 + sig)
}

enum Wake {
    Input,
    Resize,
    Terminate,
}

/// Raw mode and the signal handlers, for the time one line is read; dropping it puts both back, on
/// every way out.
struct Raw {
    cooked: Termios,
    raw: Termios,
    wake: OwnedFd,
    _wake_write: OwnedFd,
    old_actions: Vec<(Signal, SigAction)>,
}

impl Raw {
    fn enter() -> io::Result<Raw> {
        let stdin = io::stdin();
        let cooked = termios::tcgetattr(stdin.as_fd())?;
        let mut raw = cooked.clone();
        raw.input_flags &= !(InputFlags::BRKINT
            | InputFlags::ICRNL
            | InputFlags::INPCK
            | InputFlags::ISTRIP
            | InputFlags::IXON);
        raw.control_flags |= ControlFlags::CS8;
        // ISIG off: Ctrl-C, Ctrl-Z and Ctrl-\ arrive as keys. Output processing stays (\n is \r\n).
        raw.local_flags &=
            !(LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::IEXTEN | LocalFlags::ISIG);
        raw.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        raw.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        let (wake, wake_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        TERMINATING.store(0, Ordering::Relaxed);
        WAKE_FD.store(wake_write.as_raw_fd(), Ordering::Relaxed);
        let mut guard = Raw {
            cooked,
            raw,
            wake,
            _wake_write: wake_write,
            old_actions: Vec::new(),
        };
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::empty(),
            SigSet::empty(),
        );
        for &sig in CAUGHT {
            // SAFETY: on_signal only touches atomics, errno and write(2), all async-signal-safe.
            let old = unsafe { signal::sigaction(sig, &action) }?;
            guard.old_actions.push((sig, old));
        }
        guard.make_raw()?;
        Ok(guard)
    }

    fn make_raw(&self) -> io::Result<()> {
        termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSADRAIN, &self.raw)?;
        Ok(())
    }

    /// Ctrl-Z: the terminal as it was, stop as SIGTSTP would have stopped us, raw again once continued.
    fn suspend(&self) -> io::Result<()> {
        termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSADRAIN, &self.cooked)?;
        let _ = signal::raise(Signal::SIGTSTP);
        self.make_raw()
    }

    /// Until stdin has bytes or a signal came.
    fn wait(&self) -> io::Result<Wake> {
        loop {
            let stdin = io::stdin();
            let mut fds = [
                PollFd::new(stdin.as_fd(), PollFlags::POLLIN),
                PollFd::new(self.wake.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
            let input = fds[0].any().unwrap_or(false);
            let mut drain = [0u8; 64];
            while matches!(nix::unistd::read(&self.wake, &mut drain), Ok(n) if n > 0) {}
            if TERMINATING.load(Ordering::Relaxed) != 0 {
                return Ok(Wake::Terminate);
            }
            if RESIZED.swap(false, Ordering::Relaxed) {
                return Ok(Wake::Resize);
            }
            if input {
                return Ok(Wake::Input);
            }
        }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSADRAIN, &self.cooked);
        for (sig, old) in self.old_actions.drain(..) {
            // SAFETY: puts back the action that was there before enter().
            let _ = unsafe { signal::sigaction(sig, &old) };
        }
        WAKE_FD.store(-1, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Key {
    Char(char),
    Enter,
    Tab,
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    Up,
    Down,
    /// Ctrl-U: everything before the cursor.
    KillBefore,
    /// Ctrl-K: everything from the cursor on.
    KillAfter,
    /// Ctrl-W: the word before the cursor.
    KillWord,
    /// Ctrl-L.
    Clear,
    /// Ctrl-C.
    Interrupt,
    /// Ctrl-D: the end on an empty line, else Delete.
    EndOrDelete,
    /// Ctrl-Z.
    Suspend,
    /// Bytes that are no key of ours (other controls, invalid UTF-8, unknown escape sequences).
    Ignored,
}

/// The key at the start of `bytes` and how many bytes it took; None while it has not all arrived.
fn next_key(bytes: &[u8]) -> Option<(Key, usize)> {
    let key = match *bytes.first()? {
        0x1b => return escape(bytes),
        b'\r' | b'\n' => Key::Enter,
        b'\t' => Key::Tab,
        0x7f | 0x08 => Key::Backspace,
        0x01 => Key::Home,
        0x05 => Key::End,
        0x02 => Key::Left,
        0x06 => Key::Right,
        0x10 => Key::Up,
        0x0e => Key::Down,
        0x15 => Key::KillBefore,
        0x0b => Key::KillAfter,
        0x17 => Key::KillWord,
        0x0c => Key::Clear,
        0x03 => Key::Interrupt,
        0x04 => Key::EndOrDelete,
        0x1a => Key::Suspend,
        b @ 0x20..=0x7e => Key::Char(char::from(b)),
        0x00..=0x1f => Key::Ignored,
        _ => return utf8(bytes),
    };
    Some((key, 1))
}

fn utf8(bytes: &[u8]) -> Option<(Key, usize)> {
    let len = match bytes[0] {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return Some((Key::Ignored, 1)),
    };
    match std::str::from_utf8(bytes.get(..len).unwrap_or(bytes)) {
        Ok(s) => match s.chars().next() {
            Some(c) if !c.is_control() => Some((Key::Char(c), len)),
            _ => Some((Key::Ignored, len)),
        },
        // A valid start whose rest has not come yet.
        Err(e) if e.error_len().is_none() => None,
        Err(_) => Some((Key::Ignored, 1)),
    }
}

/// `ESC [ …` (CSI) and `ESC O x` (SS3) as terminals send them for arrows, Home, End and Delete. An ESC
/// followed by anything else is dropped alone, so the byte after it still counts.
fn escape(bytes: &[u8]) -> Option<(Key, usize)> {
    match *bytes.get(1)? {
        b'[' => {}
        b'O' => {
            let key = match *bytes.get(2)? {
                b'A' => Key::Up,
                b'B' => Key::Down,
                b'C' => Key::Right,
                b'D' => Key::Left,
                b'H' => Key::Home,
                b'F' => Key::End,
                _ => Key::Ignored,
            };
            return Some((key, 3));
        }
        _ => return Some((Key::Ignored, 1)),
    }
    // Parameters and intermediates (0x20-0x3f) up to a final byte (0x40-0x7e); a sequence that runs
    // long or breaks off is dropped up to where it went wrong.
    for (i, &b) in bytes.iter().enumerate().skip(2) {
        match b {
            0x20..=0x3f if i < 32 => {}
            0x40..=0x7e => {
                let params = std::str::from_utf8(&bytes[2..i]).unwrap_or("");
                let first = params.split(';').next().unwrap_or("");
                let key = match (b, first) {
                    (b'A', _) => Key::Up,
                    (b'B', _) => Key::Down,
                    (b'C', _) => Key::Right,
                    (b'D', _) => Key::Left,
                    (b'H', _) | (b'~', "1" | "7") => Key::Home,
                    (b'F', _) | (b'~', "4" | "8") => Key::End,
                    (b'~', "3") => Key::Delete,
                    _ => Key::Ignored,
                };
                return Some((key, i + 1));
            }
            _ => return Some((Key::Ignored, i)),
        }
    }
    None
}

/// Columns a character takes: 2 in the wide East Asian blocks and for most emoji, 0 for combining
/// marks and zero-width characters, else 1. Without tables it is rough, but a wrong guess only
/// misplaces the cursor on the screen, never the text.
fn char_width(c: char) -> usize {
    match u32::from(c) {
        0x0300..=0x036f | 0x200b..=0x200f | 0xfe00..=0xfe0f => 0,
        0x1100..=0x115f
        | 0x2e80..=0xa4cf
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x1f300..=0x1faff
        | 0x20000..=0x3fffd => 2,
        _ => 1,
    }
}

fn width(chars: &[char]) -> usize {
    chars.iter().map(|&c| char_width(c)).sum()
}

enum Step {
    Done(Read),
    Suspend,
}

/// The line being edited and what is on the screen for it.
struct Edit<'a> {
    prompt: &'a str,
    line: Vec<char>,
    /// The cursor, in characters.
    pos: usize,
    /// The first character on the screen when the line is wider than the room for it.
    scroll: usize,
    /// Which history entry Up and Down are at; `history.len()` is the line being typed.
    hist: usize,
    /// The line being typed, while Up shows older ones.
    typed: Vec<char>,
    /// The last key was a TAB that left several candidates: the next TAB lists them.
    tabbed: bool,
    cols: usize,
}

impl<'a> Edit<'a> {
    fn new(prompt: &'a str, hist: usize, cols: usize) -> Self {
        Edit {
            prompt,
            line: Vec::new(),
            pos: 0,
            scroll: 0,
            hist,
            typed: Vec::new(),
            tabbed: false,
            cols,
        }
    }

    /// Room for the line after the prompt, keeping the last column free so the cursor never wraps.
    fn room(&self) -> usize {
        let prompt: usize = self.prompt.chars().map(char_width).sum();
        self.cols.saturating_sub(prompt + 1).max(1)
    }

    /// Draws the prompt and the part of the line around the cursor over the current screen line.
    fn refresh(&mut self, out: &mut Vec<u8>) {
        let room = self.room();
        self.scroll = self.scroll.min(self.pos);
        let mut before = width(&self.line[self.scroll..self.pos]);
        while before > room {
            before -= char_width(self.line[self.scroll]);
            self.scroll += 1;
        }
        // Text that fits again (after a deletion) comes back on the left.
        let mut shown = width(&self.line[self.scroll..]);
        while self.scroll > 0 && shown + char_width(self.line[self.scroll - 1]) <= room {
            self.scroll -= 1;
            shown += char_width(self.line[self.scroll]);
            before += char_width(self.line[self.scroll]);
        }
        let mut end = self.scroll;
        let mut used = 0;
        while end < self.line.len() && used + char_width(self.line[end]) <= room {
            used += char_width(self.line[end]);
            end += 1;
        }
        out.push(b'\r');
        out.extend_from_slice(self.prompt.as_bytes());
        out.extend(
            self.line[self.scroll..end]
                .iter()
                .collect::<String>()
                .bytes(),
        );
        out.extend_from_slice(b"\x1b[K\r");
        let col = self.prompt.chars().map(char_width).sum::<usize>() + before;
        if col > 0 {
            out.extend(format!("\x1b[{col}C").bytes());
        }
    }

    /// Applies the whole keys at the start of `input`, taking them out, until a line is done.
    fn feed(
        &mut self,
        input: &mut Vec<u8>,
        history: &[String],
        complete: &mut dyn FnMut(&str) -> Completions,
        out: &mut Vec<u8>,
    ) -> Option<Step> {
        let mut used = 0;
        let mut step = None;
        while step.is_none() {
            let Some((key, n)) = next_key(&input[used..]) else {
                break;
            };
            used += n;
            step = self.key(key, history, complete, out);
        }
        input.drain(..used);
        step
    }

    fn key(
        &mut self,
        key: Key,
        history: &[String],
        complete: &mut dyn FnMut(&str) -> Completions,
        out: &mut Vec<u8>,
    ) -> Option<Step> {
        let tabbed = std::mem::take(&mut self.tabbed);
        match key {
            Key::Char(c) => {
                self.line.insert(self.pos, c);
                self.pos += 1;
                // At the end of a line that still fits, the character alone is enough.
                if self.pos == self.line.len() && width(&self.line[self.scroll..]) <= self.room() {
                    let mut utf8 = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                } else {
                    self.refresh(out);
                }
            }
            Key::Enter => {
                // A line scrolled sideways is left showing its end.
                if width(&self.line[self.scroll..]) > self.room() {
                    self.pos = self.line.len();
                    self.refresh(out);
                }
                out.extend_from_slice(b"\r\n");
                return Some(Step::Done(Read::Line(self.line.iter().collect())));
            }
            Key::Tab => self.complete(tabbed, complete, out),
            Key::Backspace if self.pos > 0 => {
                self.pos -= 1;
                self.line.remove(self.pos);
                self.refresh(out);
            }
            Key::EndOrDelete if self.line.is_empty() => return Some(Step::Done(Read::Eof)),
            Key::Delete | Key::EndOrDelete if self.pos < self.line.len() => {
                self.line.remove(self.pos);
                self.refresh(out);
            }
            Key::Left if self.pos > 0 => self.move_to(self.pos - 1, out),
            Key::Right if self.pos < self.line.len() => self.move_to(self.pos + 1, out),
            Key::Home => self.move_to(0, out),
            Key::End => self.move_to(self.line.len(), out),
            Key::Up if self.hist > 0 => {
                if self.hist == history.len() {
                    self.typed = std::mem::take(&mut self.line);
                }
                self.hist -= 1;
                self.show(history[self.hist].chars().collect(), out);
            }
            Key::Down if self.hist < history.len() => {
                self.hist += 1;
                let line = match history.get(self.hist) {
                    Some(h) => h.chars().collect(),
                    None => std::mem::take(&mut self.typed),
                };
                self.show(line, out);
            }
            Key::KillBefore => {
                self.line.drain(..self.pos);
                self.pos = 0;
                self.refresh(out);
            }
            Key::KillAfter => {
                self.line.truncate(self.pos);
                self.refresh(out);
            }
            Key::KillWord => {
                let mut start = self.pos;
                while start > 0 && self.line[start - 1].is_whitespace() {
                    start -= 1;
                }
                while start > 0 && !self.line[start - 1].is_whitespace() {
                    start -= 1;
                }
                self.line.drain(start..self.pos);
                self.pos = start;
                self.refresh(out);
            }
            Key::Clear => {
                out.extend_from_slice(b"\x1b[H\x1b[2J");
                self.refresh(out);
            }
            Key::Interrupt => return Some(Step::Done(Read::Interrupted)),
            Key::Suspend => return Some(Step::Suspend),
            // The keys above at the edge of the line or history, and keys we do not know.
            _ => self.tabbed = tabbed,
        }
        None
    }

    fn move_to(&mut self, pos: usize, out: &mut Vec<u8>) {
        self.pos = pos;
        self.refresh(out);
    }

    fn show(&mut self, line: Vec<char>, out: &mut Vec<u8>) {
        self.line = line;
        self.pos = self.line.len();
        self.refresh(out);
    }

    /// TAB: one candidate is put in whole with a space after it; several extend the word to what
    /// they have in common and ring the bell, and a second TAB lists them (readline's way).
    fn complete(
        &mut self,
        again: bool,
        complete: &mut dyn FnMut(&str) -> Completions,
        out: &mut Vec<u8>,
    ) {
        let before: String = self.line[..self.pos].iter().collect();
        let (start, mut words) = complete(&before);
        let start = before.get(..start).map_or(self.pos, |s| s.chars().count());
        words.sort();
        words.dedup();
        let replacement: Vec<char> = match words.as_slice() {
            [] => {
                out.push(0x07);
                return;
            }
            [word] => word.chars().chain([' ']).collect(),
            [first, rest @ ..] => {
                let mut common: Vec<char> = first.chars().collect();
                for w in rest {
                    let same = common.iter().zip(w.chars()).take_while(|(a, b)| **a == *b);
                    let same = same.count();
                    common.truncate(same);
                }
                self.tabbed = true;
                out.push(0x07);
                if again {
                    self.list(&words, out);
                }
                common
            }
        };
        if replacement.len() > self.pos - start || words.len() == 1 {
            self.line
                .splice(start..self.pos, replacement.iter().copied());
            self.pos = start + replacement.len();
        }
        self.refresh(out);
    }

    /// The candidates in columns under the line, sorted down each column, as readline shows them.
    fn list(&self, words: &[String], out: &mut Vec<u8>) {
        let cell = words
            .iter()
            .map(|w| w.chars().map(char_width).sum::<usize>())
            .max()
            .unwrap_or(0)
            + 2;
        let per_row = (self.cols / cell).max(1);
        let rows = words.len().div_ceil(per_row);
        out.extend_from_slice(b"\r\n");
        for row in 0..rows {
            let mut line = String::new();
            for col in 0..per_row {
                if let Some(w) = words.get(col * rows + row) {
                    let pad = cell - w.chars().map(char_width).sum::<usize>();
                    line.push_str(w);
                    line.push_str(&" ".repeat(pad));
                }
            }
            out.extend_from_slice(line.trim_end().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMPT: &str = "p> ";

    /// An editor on an 80-column screen with `history`, completing from `words` (the word before the
    /// cursor, split at spaces).
    struct Term {
        edit: Edit<'static>,
        history: Vec<String>,
        words: Vec<&'static str>,
        out: Vec<u8>,
    }

    impl Term {
        fn new(history: &[&str], words: &[&'static str]) -> Self {
            Term {
                edit: Edit::new(PROMPT, history.len(), 80),
                history: history.iter().map(|h| h.to_string()).collect(),
                words: words.to_vec(),
                out: Vec::new(),
            }
        }

        /// Feeds bytes; returns how a line ended, if it did. Leftover bytes of a partly sent key stay.
        fn feed(&mut self, bytes: &[u8], pending: &mut Vec<u8>) -> Option<Read> {
            pending.extend_from_slice(bytes);
            let words = self.words.clone();
            let mut complete = |before: &str| {
                let start = before.rfind(' ').map_or(0, |i| i + 1);
                let word = &before[start..];
                let found = words.iter().filter(|w| w.starts_with(word));
                (start, found.map(|w| w.to_string()).collect())
            };
            match self
                .edit
                .feed(pending, &self.history, &mut complete, &mut self.out)
            {
                Some(Step::Done(r)) => Some(r),
                Some(Step::Suspend) => panic!("unexpected suspend"),
                None => None,
            }
        }

        fn typed(&mut self, bytes: &[u8]) -> Option<Read> {
            let mut pending = Vec::new();
            let r = self.feed(bytes, &mut pending);
            assert!(pending.is_empty(), "left over: {pending:?}");
            r
        }

        fn line(&self) -> String {
            self.edit.line.iter().collect()
        }

        fn output(&mut self) -> String {
            String::from_utf8(std::mem::take(&mut self.out)).expect("output is UTF-8")
        }
    }

    #[test]
    fn enter_gives_the_line_and_printables_echo_as_typed() {
        let mut t = Term::new(&[], &[]);
        assert_eq!(t.typed(b"status web"), None);
        assert_eq!(t.output(), "status web");
        assert_eq!(t.typed(b"\r"), Some(Read::Line("status web".into())));
        assert!(t.output().ends_with("\r\n"));
        let mut t = Term::new(&[], &[]);
        assert_eq!(t.typed(b"x\n"), Some(Read::Line("x".into())));
    }

    #[test]
    fn utf8_is_one_character_even_when_split_across_reads() {
        let mut t = Term::new(&[], &[]);
        let mut pending = Vec::new();
        let e_acute = "é".as_bytes();
        assert_eq!(t.feed(b"h", &mut pending), None);
        assert_eq!(t.feed(&e_acute[..1], &mut pending), None);
        assert_eq!(pending, &e_acute[..1], "half a character waits");
        assert_eq!(t.feed(&e_acute[1..], &mut pending), None);
        assert!(pending.is_empty());
        t.typed("llo 世界".as_bytes());
        assert_eq!(t.line(), "héllo 世界");
        assert_eq!(t.edit.pos, 8);
        // Backspace takes one character, however many bytes; Left moves by one character.
        t.typed(b"\x7f\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D\x7f");
        assert_eq!(t.line(), "hllo 世");
        assert_eq!(t.edit.pos, 1);
        t.output();
        // The cursor is placed by columns: 世 takes two.
        t.typed(b"\x05");
        assert!(
            t.output().ends_with("\r\x1b[10C"),
            "p> hllo 世 is 10 columns"
        );
    }

    #[test]
    fn invalid_bytes_and_unknown_sequences_leave_the_line_alone() {
        let mut t = Term::new(&[], &[]);
        t.typed(b"a\xff\xfe\xc3(b\x1b[99~\x1b[1;5Pc\x1bOZd\x00\x1c\xc2\x85");
        assert_eq!(t.line(), "a(bcd");
        // An ESC before an ordinary character is dropped alone: the character stays.
        t.typed(b"\x1bx");
        assert_eq!(t.line(), "a(bcdx");
        // A CSI that breaks off before its final byte is dropped up to where it broke.
        t.typed(b"\x1b[12\x01y");
        assert_eq!(t.line(), "ya(bcdx");
    }

    #[test]
    fn escape_sequences_wait_for_their_end() {
        let mut t = Term::new(&["old"], &[]);
        let mut pending = Vec::new();
        t.feed(b"ab\x1b", &mut pending);
        assert_eq!(pending, b"\x1b");
        t.feed(b"[", &mut pending);
        assert_eq!(pending, b"\x1b[");
        t.feed(b"D", &mut pending);
        assert!(pending.is_empty());
        assert_eq!(t.edit.pos, 1);
        t.feed(b"\x1bO", &mut pending);
        t.feed(b"A", &mut pending);
        assert_eq!(t.line(), "old");
    }

    #[test]
    fn cursor_keys_move_and_delete_by_character() {
        let mut t = Term::new(&[], &[]);
        t.typed(b"stop web");
        t.typed(b"\x01"); // Ctrl-A
        assert_eq!(t.edit.pos, 0);
        t.typed(b"\x1b[C\x1b[C\x1b[3~"); // Right Right Delete
        assert_eq!(t.line(), "stp web");
        t.typed(b"\x04"); // Ctrl-D in a line deletes
        assert_eq!(t.line(), "st web");
        t.typed(b"\x05\x1b[D\x7f"); // Ctrl-E, Left, Backspace
        assert_eq!((t.line().as_str(), t.edit.pos), ("st wb", 4));
        for (home, end) in [
            (&b"\x1b[H"[..], &b"\x1b[F"[..]),
            (b"\x1b[1~", b"\x1b[4~"),
            (b"\x1bOH", b"\x1bOF"),
        ] {
            t.typed(home);
            assert_eq!(t.edit.pos, 0);
            t.typed(end);
            assert_eq!(t.edit.pos, 5);
        }
        t.typed(b"\x02\x02\x06"); // Ctrl-B Ctrl-B Ctrl-F
        assert_eq!(t.edit.pos, 4);
        t.output();
        // Keys at the edge do nothing, and say nothing.
        t.typed(b"\x05");
        t.output();
        t.typed(b"\x1b[C\x1b[3~\x04\x06");
        t.typed(b"\x01");
        t.output();
        t.typed(b"\x1b[D\x7f\x02");
        assert_eq!((t.line().as_str(), t.output().as_str()), ("st wb", ""));
    }

    #[test]
    fn kills_before_after_and_the_word_before() {
        let mut t = Term::new(&[], &[]);
        t.typed(b"signal usr2  web");
        t.typed(b"\x17"); // Ctrl-W
        assert_eq!(t.line(), "signal usr2  ");
        t.typed(b"\x17");
        assert_eq!(t.line(), "signal ");
        t.typed(b"hup web\x1b[D\x1b[D\x1b[D\x1b[D\x0b"); // Ctrl-K from before " web"
        assert_eq!(t.line(), "signal hup");
        t.typed(b"\x1b[D\x1b[D\x1b[D\x15"); // Ctrl-U before "hup"
        assert_eq!((t.line().as_str(), t.edit.pos), ("hup", 0));
    }

    #[test]
    fn up_and_down_walk_the_history_and_keep_the_typed_line() {
        let mut t = Term::new(&["first", "second"], &[]);
        t.typed(b"draft");
        t.typed(b"\x1b[A");
        assert_eq!((t.line().as_str(), t.edit.pos), ("second", 6));
        t.typed(b"\x10\x1b[A"); // Ctrl-P, then Up at the oldest stays
        assert_eq!(t.line(), "first");
        t.typed(b"\x1b[B");
        assert_eq!(t.line(), "second");
        t.typed(b"\x0e"); // Ctrl-N back to the line being typed
        assert_eq!(t.line(), "draft");
        t.typed(b"\x1b[B");
        assert_eq!(t.line(), "draft");
        assert_eq!(t.typed(b"\x1b[A\x1b[A\r"), Some(Read::Line("first".into())));
    }

    #[test]
    fn tab_completes_the_common_part_and_lists_on_the_second_tab() {
        let words = [
            "worker:*",
            "worker:worker_0",
            "worker:worker_1",
            "web",
            "all",
        ];
        let mut t = Term::new(&[], &words);
        t.typed(b"pid wor\t");
        assert_eq!(t.line(), "pid worker:");
        let first = t.output();
        assert!(first.contains('\x07'), "several candidates ring: {first:?}");
        assert!(!first.contains("worker_0"), "one TAB lists nothing");
        t.typed(b"\t");
        let list = t.output();
        assert!(
            list.contains("\r\nworker:*         worker:worker_0  worker:worker_1\r\n"),
            "{list:?}"
        );
        assert!(
            list.ends_with("\rp> pid worker:\x1b[K\r\x1b[14C"),
            "{list:?}"
        );
        // A key between two TABs starts over.
        t.typed(b"w\x7f\t");
        assert!(!t.output().contains("worker_0"));
        // One candidate is put in whole, with a space.
        t.typed(b"worker_1\x15status w\t");
        assert_eq!(t.line(), "status w");
        t.typed(b"e\t");
        assert_eq!(t.line(), "status web ");
        // Nothing to offer: the bell, the line as it was.
        t.output();
        t.typed(b"x\t");
        assert_eq!(t.line(), "status web x");
        assert!(t.output().contains('\x07'));
    }

    #[test]
    fn completion_replaces_the_word_before_the_cursor_only() {
        let mut t = Term::new(&[], &["status", "start"]);
        t.typed(b"stat web\x01\x1b[C\x1b[C\x1b[C\x1b[C\t");
        assert_eq!((t.line().as_str(), t.edit.pos), ("status  web", 7));
    }

    #[test]
    fn long_candidate_lists_fill_rows_down_columns() {
        let words: Vec<&'static str> = vec![
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa3",
        ];
        let mut t = Term::new(&[], &words);
        t.typed(b"\t\t");
        let list = t.output();
        for w in &words {
            assert!(
                list.contains(&format!("\r\n{w}\r\n")),
                "one a row: {list:?}"
            );
        }
    }

    #[test]
    fn ctrl_d_on_an_empty_line_ends_and_ctrl_c_interrupts() {
        let mut t = Term::new(&[], &[]);
        assert_eq!(t.typed(b"\x04"), Some(Read::Eof));
        let mut t = Term::new(&[], &[]);
        assert_eq!(t.typed(b"half\x03"), Some(Read::Interrupted));
    }

    #[test]
    fn keys_after_the_line_wait_for_the_next() {
        let mut t = Term::new(&[], &[]);
        let mut pending = Vec::new();
        assert_eq!(
            t.feed(b"one\rtwo\r", &mut pending),
            Some(Read::Line("one".into()))
        );
        assert_eq!(pending, b"two\r");
    }

    #[test]
    fn a_line_wider_than_the_screen_scrolls_and_never_wraps() {
        let mut t = Term::new(&[], &[]);
        t.edit.cols = 20;
        let long: String = ('a'..='z').cycle().take(300).collect();
        t.typed(long.as_bytes());
        t.typed(b"\x01\x06\x06");
        t.typed(b"\x05\x1b[D");
        t.typed("世界世界世界世界世界世界".as_bytes());
        t.typed(b"\x01");
        t.output();
        for keys in ["\x05", "\x01", "\x06", "\x05\x1b[D", "\x7f", "\x0c"] {
            t.typed(keys.as_bytes());
            let out = t.output();
            let last = out.rsplit('\r').nth(1).expect("a redraw");
            let shown = last.trim_end_matches("\x1b[K");
            let cols: usize = shown.chars().map(char_width).sum();
            assert!(cols < 20, "{cols} columns drawn: {shown:?}");
            let cursor: usize = out
                .rsplit("\x1b[")
                .next()
                .and_then(|s| s.strip_suffix('C'))
                .map_or(0, |n| n.parse().expect("a column"));
            assert!(cursor < 20, "cursor at {cursor}");
        }
        assert_eq!(t.edit.line.len(), 300 + 12 - 1);
    }

    #[test]
    fn history_skips_repeats_and_empty_lines_and_keeps_the_newest() {
        let mut e = Editor::new(3);
        for l in ["a", "a", "", "b", "a", "c", "d"] {
            e.add_history(l);
        }
        assert_eq!(e.history(), ["a", "c", "d"]);
    }

    proptest::proptest! {
        #[test]
        fn no_bytes_break_the_editor(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
            cols in 1usize..100,
        ) {
            let mut t = Term::new(&["a", "bb"], &["alpha", "alps", "beta"]);
            t.edit.cols = cols;
            let mut pending = Vec::new();
            for chunk in bytes.chunks(7) {
                // Ctrl-Z would stop the test; the real loop suspends there.
                let chunk: Vec<u8> = chunk.iter().map(|&b| if b == 0x1a { b'z' } else { b }).collect();
                let mut more = &chunk[..];
                while t.feed(more, &mut pending).is_some() {
                    t.edit = Edit::new(PROMPT, 2, cols);
                    more = &[];
                }
                proptest::prop_assert!(t.edit.pos <= t.edit.line.len());
                proptest::prop_assert!(pending.len() < 40);
                proptest::prop_assert!(std::str::from_utf8(&t.out).is_ok());
            }
        }
    }
}
