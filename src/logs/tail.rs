//! Bounded in-memory tails and supervisord's `read*Log` / `tail*Log` range rules.
//!
//! A [`TailBuffer`] keeps the last `capacity` bytes of a stream and counts every byte ever written, so it
//! behaves like a log file whose beginning has been cut away: offsets are positions in the whole stream.
//! The range rules are pure functions shared with the file-backed variants ([`read_file`], [`tail_file`])
//! so both answer the XML-RPC methods identically (reference 3.4, bottom).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// Why a `read*Log` call failed, named after supervisord's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// `NO_FILE`: the stream has no log file (and no in-memory tail).
    NoFile,
    /// `BAD_ARGUMENTS`: a negative offset with a length, or a negative length.
    BadArguments,
    /// `FAILED`: the file could not be read.
    Failed,
}

/// The byte range `[from, to)` that `readLog(offset, length)` returns from a stream of `size` bytes.
pub fn read_range(size: u64, offset: i64, length: i64) -> Result<(u64, u64), ReadError> {
    let size = i128::from(size);
    let (offset, length) = (i128::from(offset), i128::from(length));
    let (from, to) = if offset < 0 {
        // "The last |offset| bytes": only meaningful without a length.
        if length != 0 {
            return Err(ReadError::BadArguments);
        }
        ((size + offset).max(0), size)
    } else {
        if length < 0 {
            return Err(ReadError::BadArguments);
        }
        let to = if length == 0 {
            size
        } else {
            (offset + length).min(size)
        };
        (offset.min(size), to.max(offset.min(size)))
    };
    Ok((from as u64, to as u64))
}

/// supervisord's tail rule: at most `length` bytes ending at the end of the stream, nothing when `offset`
/// is already at (or past) the end; `overflow` when more than `length` bytes arrived since `offset`.
/// Returns `(from, to, new_offset, overflow)`; `new_offset` is the stream size.
pub fn tail_range(size: u64, offset: i64, length: i64) -> (u64, u64, u64, bool) {
    let sz = i128::from(size);
    let (mut offset, mut length) = (i128::from(offset), i128::from(length));
    let mut overflow = false;
    if sz > offset + length {
        overflow = true;
        offset = sz - 1;
    }
    if offset + length > sz {
        if offset > sz - 1 {
            length = 0;
        }
        offset = sz - length;
    }
    offset = offset.clamp(0, sz);
    length = length.max(0);
    let to = (offset + length).min(sz);
    (offset as u64, to as u64, size, overflow)
}

/// The last `capacity` bytes of a stream, with absolute offsets.
#[derive(Debug)]
pub struct TailBuffer {
    ring: Box<[u8]>,
    /// Where the next byte goes in `ring`.
    head: usize,
    /// Valid bytes in `ring` (≤ capacity).
    len: usize,
    /// Bytes ever written: the stream's "file size".
    end: u64,
    signal: super::Signal,
}

impl TailBuffer {
    pub fn new(capacity: usize) -> TailBuffer {
        TailBuffer {
            ring: vec![0; capacity.max(1)].into_boxed_slice(),
            head: 0,
            len: 0,
            end: 0,
            signal: super::Signal::default(),
        }
    }

    /// Told after every [`push`](Self::push) and [`clear`](Self::clear).
    pub fn subscribe(&self) -> super::Changes {
        self.signal.subscribe()
    }

    /// Tell the subscribers to look again though nothing was written (the log is going away).
    pub fn wake_followers(&self) {
        self.signal.bump();
    }

    /// Total bytes ever written (what a log file's size would be).
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Offset of the oldest byte still held.
    pub fn start(&self) -> u64 {
        self.end - self.len as u64
    }

    pub fn push(&mut self, data: &[u8]) {
        let cap = self.ring.len();
        self.end += data.len() as u64;
        // Only the last `cap` bytes can survive.
        let data = &data[data.len().saturating_sub(cap)..];
        let first = data.len().min(cap - self.head);
        self.ring[self.head..self.head + first].copy_from_slice(&data[..first]);
        let rest = &data[first..];
        self.ring[..rest.len()].copy_from_slice(rest);
        self.head = (self.head + data.len()) % cap;
        self.len = (self.len + data.len()).min(cap);
        self.signal.bump();
    }

    /// `clearProcessLogs`: forget the content; offsets restart at 0 like a removed file.
    pub fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
        self.end = 0;
        self.signal.bump();
    }

    /// Bytes `[from, to)` of the stream, clipped to what is still held.
    pub fn slice(&self, from: u64, to: u64) -> Vec<u8> {
        let from = from.max(self.start());
        let to = to.min(self.end);
        if from >= to {
            return Vec::new();
        }
        let cap = self.ring.len();
        // Index in `ring` of stream offset `from`: the oldest byte sits at head - len (mod cap).
        let oldest = (self.head + cap - self.len) % cap;
        let i = (oldest + (from - self.start()) as usize) % cap;
        let n = (to - from) as usize;
        let mut out = Vec::with_capacity(n);
        let first = n.min(cap - i);
        out.extend_from_slice(&self.ring[i..i + first]);
        out.extend_from_slice(&self.ring[..n - first]);
        out
    }

    /// `readProcessStdoutLog(offset, length)` over this buffer.
    pub fn read(&self, offset: i64, length: i64) -> Result<Vec<u8>, ReadError> {
        let (from, to) = read_range(self.end, offset, length)?;
        Ok(self.slice(from, to))
    }

    /// `tailProcessStdoutLog(offset, length)` over this buffer: `(bytes, new offset, overflow)`.
    pub fn tail(&self, offset: i64, length: i64) -> (Vec<u8>, u64, bool) {
        let (from, to, size, overflow) = tail_range(self.end, offset, length);
        (self.slice(from, to), size, overflow)
    }
}

fn read_at(f: &File, from: u64, to: u64) -> io::Result<Vec<u8>> {
    let mut out = vec![0; (to - from) as usize];
    let mut got = 0;
    while got < out.len() {
        match f.read_at(&mut out[got..], from + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    out.truncate(got);
    Ok(out)
}

/// `read*Log(offset, length)` over a log file.
pub fn read_file(path: &Path, offset: i64, length: i64) -> Result<Vec<u8>, ReadError> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReadError::NoFile),
        Err(_) => return Err(ReadError::Failed),
    };
    let size = f.metadata().map_err(|_| ReadError::Failed)?.len();
    let (from, to) = read_range(size, offset, length)?;
    read_at(&f, from, to).map_err(|_| ReadError::Failed)
}

/// `tail*Log(offset, length)` over a log file; a missing file gives `("", 0, false)` as in supervisord.
pub fn tail_file(path: &Path, offset: i64, length: i64) -> (Vec<u8>, u64, bool) {
    let Ok(f) = File::open(path) else {
        return (Vec::new(), 0, false);
    };
    let Ok(m) = f.metadata() else {
        return (Vec::new(), offset.max(0) as u64, false);
    };
    let (from, to, size, overflow) = tail_range(m.len(), offset, length);
    match read_at(&f, from, to) {
        Ok(data) => (data, size, overflow),
        Err(_) => (Vec::new(), offset.max(0) as u64, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_rules() {
        assert_eq!(read_range(100, -10, 0), Ok((90, 100)));
        assert_eq!(read_range(100, -1000, 0), Ok((0, 100)));
        assert_eq!(read_range(100, -10, 5), Err(ReadError::BadArguments));
        assert_eq!(read_range(100, 10, -5), Err(ReadError::BadArguments));
        assert_eq!(read_range(100, 10, 0), Ok((10, 100)));
        assert_eq!(read_range(100, 10, 20), Ok((10, 30)));
        assert_eq!(read_range(100, 90, 20), Ok((90, 100)));
        assert_eq!(read_range(100, 200, 20), Ok((100, 100)));
        assert_eq!(read_range(0, i64::MIN, 0), Ok((0, 0)));
        assert_eq!(read_range(10, i64::MAX, i64::MAX), Ok((10, 10)));
    }

    #[test]
    fn tail_rules() {
        // The supervisorctl pattern: first call offset 0 gets the last `length` bytes and overflow.
        assert_eq!(tail_range(100, 0, 10), (90, 100, 100, true));
        // Caught up: nothing, offset = size.
        assert_eq!(tail_range(100, 100, 10), (100, 100, 100, false));
        // Some new bytes within `length`: the last `length` bytes are returned.
        assert_eq!(tail_range(100, 95, 10), (90, 100, 100, false));
        assert_eq!(tail_range(5, 0, 10), (0, 5, 5, false));
        assert_eq!(tail_range(0, 0, 10), (0, 0, 0, false));
        assert_eq!(tail_range(100, -5, -5), (99, 99, 100, true));
        assert_eq!(tail_range(10, i64::MAX, i64::MAX), (10, 10, 10, false));
    }

    #[test]
    fn ring_keeps_the_last_bytes_with_absolute_offsets() {
        let mut t = TailBuffer::new(8);
        t.push(b"abc");
        assert_eq!(t.read(0, 0).unwrap(), b"abc");
        t.push(b"defgh");
        assert_eq!((t.start(), t.end()), (0, 8));
        t.push(b"ij");
        assert_eq!((t.start(), t.end()), (2, 10));
        assert_eq!(t.read(0, 0).unwrap(), b"cdefghij");
        assert_eq!(t.read(-3, 0).unwrap(), b"hij");
        assert_eq!(t.read(4, 3).unwrap(), b"efg");
        assert_eq!(t.tail(0, 4), (b"ghij".to_vec(), 10, true));
        assert_eq!(t.tail(10, 4), (Vec::new(), 10, false));
        t.push(b"0123456789ABCDEFGHIJ");
        assert_eq!(t.end(), 30);
        assert_eq!(t.read(0, 0).unwrap(), b"CDEFGHIJ");
        t.clear();
        assert_eq!(t.read(0, 0).unwrap(), b"");
        t.push(b"z");
        assert_eq!(t.read(0, 0).unwrap(), b"z");
    }

    #[test]
    fn ring_matches_a_model_under_many_pushes() {
        let mut t = TailBuffer::new(37);
        let mut all = Vec::new();
        for i in 0..500u32 {
            let chunk: Vec<u8> = (0..(i * 7 % 53)).map(|j| (i + j) as u8).collect();
            t.push(&chunk);
            all.extend_from_slice(&chunk);
            let keep = &all[all.len().saturating_sub(37)..];
            assert_eq!(t.read(0, 0).unwrap(), keep);
            assert_eq!(t.end(), all.len() as u64);
        }
    }

    #[test]
    fn files_follow_the_same_rules() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.log");
        assert_eq!(read_file(&p, 0, 0), Err(ReadError::NoFile));
        assert_eq!(tail_file(&p, 0, 10), (Vec::new(), 0, false));
        std::fs::write(&p, b"0123456789").unwrap();
        assert_eq!(read_file(&p, -4, 0).unwrap(), b"6789");
        assert_eq!(read_file(&p, 2, 3).unwrap(), b"234");
        assert_eq!(read_file(&p, -4, 1), Err(ReadError::BadArguments));
        assert_eq!(tail_file(&p, 0, 3), (b"789".to_vec(), 10, true));
    }
}
