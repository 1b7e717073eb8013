//! A size-rotating log file with supervisord's rule and names.
//!
//! After every write, if the file has reached `maxbytes`, the backups shift up one (`x.log.N-1` → `x.log.N`
//! … `x.log.1` → `x.log.2`), the live file becomes `x.log.1` and a fresh empty `x.log` is opened. With
//! `backups = 0` the live file is just truncated; with `maxbytes = 0` it never rotates. A chunk is always
//! written whole first, so a file may end up to one read chunk above `maxbytes`, exactly as in supervisord.
//!
//! Nothing here panics or logs: I/O failures turn into [`Report`]s that the caller logs *after* releasing
//! whatever lock guards this file. That matters for steward's own log, whose writer is this type: logging
//! from inside the writer would re-enter it.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A state change worth one line in steward's log: the file stopped or started working again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The first failure after a working period (or at open). Later failures stay quiet until recovery.
    Failed {
        path: PathBuf,
        what: &'static str,
        error: String,
    },
    /// Writing works again after a failure.
    Recovered { path: PathBuf },
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Report::Failed { path, what, error } => {
                write!(
                    f,
                    "log file {}: cannot {what}: {error}; output is dropped until it works again",
                    path.display()
                )
            }
            Report::Recovered { path } => write!(f, "log file {}: writable again", path.display()),
        }
    }
}

/// One log file, rotated by size. Not shared by itself: wrap it in a mutex to share.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    maxbytes: u64,
    backups: u32,
    file: Option<File>,
    /// Bytes in the live file (its append offset).
    size: u64,
    /// Rotation applies only to regular files: a FIFO or a device (`/dev/null`, a tty) cannot be renamed
    /// away or truncated meaningfully, and seeking it is what makes supervisord fail with "Illegal seek".
    regular: bool,
    /// Set while failing, so a broken file is reported once, not once per chunk.
    failing: bool,
    rotate_failing: bool,
    splice_unsupported: bool,
    /// Bytes given to `write_all` that could not be written (for `/metrics`).
    dropped: u64,
    /// Whether an open was ever attempted: a lazy writer stays unopened (no file, no fd) until then.
    opened: bool,
    /// Bumped after every write, clear and reopen.
    signal: super::Signal,
}

/// The most supervisord reads from a child's pipe at once, and so the most it writes past `maxbytes`
/// before rotating.
pub const SUPERVISORD_READ: usize = 128 << 10;

/// What [`RotatingFile::splice_from`] did.
#[derive(Debug)]
pub enum Splice {
    /// Moved this many bytes; a report to log if the rotation that followed had trouble.
    Moved(usize, Option<Report>),
    /// The pipe's write end is closed and the pipe is empty.
    Eof,
    /// The pipe is empty for now.
    WouldBlock,
    /// Use read + [`RotatingFile::write_all`] for this chunk.
    Unavailable,
}

impl RotatingFile {
    /// Open `path` (creating it) to add to its end. Never fails: a file that cannot be opened yet is retried on
    /// every later write and on [`reopen`](Self::reopen); the returned report says why it failed.
    pub fn open(
        path: impl Into<PathBuf>,
        maxbytes: u64,
        backups: u32,
    ) -> (RotatingFile, Option<Report>) {
        let mut f = RotatingFile::lazy(path, maxbytes, backups);
        let report = f.try_open(false).err().flatten();
        (f, report)
    }

    /// A writer for `path` that creates and opens the file only when it is first needed: the first
    /// write, [`touch`](Self::touch), or [`clear`](Self::clear). [`reopen`](Self::reopen) leaves it unopened.
    pub fn lazy(path: impl Into<PathBuf>, maxbytes: u64, backups: u32) -> RotatingFile {
        RotatingFile {
            path: path.into(),
            maxbytes,
            backups,
            file: None,
            size: 0,
            regular: true,
            failing: false,
            rotate_failing: false,
            splice_unsupported: false,
            dropped: 0,
            opened: false,
            signal: super::Signal::default(),
        }
    }

    /// Told after every write, [`clear`](Self::clear) and [`reopen`](Self::reopen) (see
    /// [`super::Signal`]).
    pub fn subscribe(&self) -> super::Changes {
        self.signal.subscribe()
    }

    /// Tell the subscribers to look again though nothing was written (the log is going away).
    pub fn wake_followers(&self) {
        self.signal.bump();
    }

    /// Create the file now if this writer never opened it (someone is about to read it).
    pub fn touch(&mut self) -> Option<Report> {
        if self.opened {
            return None;
        }
        self.try_open(false).err().flatten()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes in the live file as far as this writer knows.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether this (lazy) writer has not tried to open its file yet.
    pub fn never_opened(&self) -> bool {
        !self.opened
    }

    /// Whether the file is currently open.
    pub fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// A report for the caller to log, or `None` when this failure repeats one already reported.
    fn failed(&mut self, what: &'static str, e: &io::Error) -> Option<Report> {
        if self.failing {
            return None;
        }
        self.failing = true;
        Some(Report::Failed {
            path: self.path.clone(),
            what,
            error: e.to_string(),
        })
    }

    fn try_open(&mut self, truncate: bool) -> Result<(), Option<Report>> {
        self.file = None;
        self.opened = true;
        let mut oo = OpenOptions::new();
        // O_NONBLOCK only for the open itself: opening a FIFO without a reader would otherwise hang
        // steward; with it the open fails (ENXIO), is reported, and is retried later.
        oo.create(true)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK);
        // Not O_APPEND: splice(2) refuses O_APPEND files. Every write seeks to the end first instead
        // (`seek_end`), which keeps append behaviour for logrotate's copytruncate.
        oo.write(true).truncate(truncate);
        let opened = oo.open(&self.path).and_then(|f| {
            // Blocking writes again: a slow FIFO reader should push back, not lose data.
            let fl = nix::fcntl::fcntl(&f, nix::fcntl::FcntlArg::F_GETFL)?;
            let fl = nix::fcntl::OFlag::from_bits_retain(fl) - nix::fcntl::OFlag::O_NONBLOCK;
            nix::fcntl::fcntl(&f, nix::fcntl::FcntlArg::F_SETFL(fl))?;
            f.metadata().map(|m| (f, m))
        });
        match opened {
            Ok((f, m)) => {
                let ft = m.file_type();
                self.regular =
                    ft.is_file() && !(ft.is_fifo() || ft.is_socket() || ft.is_char_device());
                self.size = if self.regular { m.len() } else { 0 };
                self.file = Some(f);
                self.seek_end();
                Ok(())
            }
            Err(e) => Err(self.failed("open", &e)),
        }
    }

    /// Position at the end of the file and learn its real size: someone may have truncated it
    /// (copytruncate) or appended to it since our last write.
    fn seek_end(&mut self) {
        if let (true, Some(f)) = (self.regular, self.file.as_mut()) {
            if let Ok(end) = f.seek(SeekFrom::End(0)) {
                self.size = end;
            }
        }
    }

    /// Move up to `max` bytes from the pipe `from` straight into the file, without a copy through user
    /// space, then rotate if the size limit is reached.
    ///
    /// Only for the common case (the file is open and regular); anything unusual answers
    /// [`Splice::Unavailable`] so the caller reads and writes the chunk the ordinary way, which reports,
    /// drops what cannot be written and reopens. A failed splice consumes nothing from the pipe.
    pub fn splice_from(&mut self, from: BorrowedFd<'_>, max: usize) -> Splice {
        if !self.regular || self.splice_unsupported || self.failing {
            return Splice::Unavailable;
        }
        self.seek_end();
        let Some(file) = self.file.as_ref() else {
            return Splice::Unavailable;
        };
        let flags = libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK;
        // Large moves save wakeups while the rotation point is far. Near it, move what supervisord would
        // read at once (128 KiB) and no more: a rotated file then ends where it would with supervisord,
        // after a whole write of the program's rather than in the middle of a line.
        let max = if self.maxbytes > self.size {
            let room = usize::try_from(self.maxbytes - self.size).unwrap_or(usize::MAX);
            max.min(room.max(SUPERVISORD_READ))
        } else {
            max
        };
        loop {
            let (fin, fout) = (from.as_raw_fd(), file.as_raw_fd());
            // SAFETY: both fds are open for the call (borrowed / owned by self); null offsets mean "use and
            // advance the file positions", which is what we want.
            let n = unsafe {
                libc::splice(
                    fin,
                    std::ptr::null_mut(),
                    fout,
                    std::ptr::null_mut(),
                    max,
                    flags,
                )
            };
            match Errno::result(n).map(|n| n as usize) {
                Ok(0) => return Splice::Eof,
                Ok(n) => {
                    self.size += n as u64;
                    let mut report = None;
                    if self.maxbytes > 0 && self.size >= self.maxbytes {
                        report = self.rotate();
                    }
                    self.signal.bump();
                    return Splice::Moved(n, report);
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return Splice::WouldBlock,
                Err(Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {
                    // A filesystem without splice support: stop trying.
                    self.splice_unsupported = true;
                    return Splice::Unavailable;
                }
                Err(_) => return Splice::Unavailable,
            }
        }
    }

    /// Write all of `data`, then rotate if the size limit is reached.
    ///
    /// On failure (missing directory, ENOSPC, EIO…) what could not be written is dropped and the writer
    /// stays usable: the next call tries again, reopening the file if needed.
    pub fn write_all(&mut self, data: &[u8]) -> Option<Report> {
        let report = self.write_then_rotate(data);
        self.signal.bump();
        report
    }

    fn write_then_rotate(&mut self, data: &[u8]) -> Option<Report> {
        let mut report = None;
        if self.file.is_none() {
            if let Err(r) = self.try_open(false) {
                self.dropped += data.len() as u64;
                return r;
            }
        }
        self.seek_end();
        let Some(file) = self.file.as_mut() else {
            self.dropped += data.len() as u64;
            return None;
        };
        let mut rest = data;
        while !rest.is_empty() {
            match file.write(rest) {
                Ok(0) => {
                    self.dropped += rest.len() as u64;
                    let e = io::Error::from(io::ErrorKind::WriteZero);
                    return self.failed("write", &e);
                }
                Ok(n) => {
                    self.size += n as u64;
                    rest = &rest[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // ENOSPC/EDQUOT/EIO: the unwritten tail is lost; keep the file open so writing resumes
                    // as soon as space comes back.
                    self.dropped += rest.len() as u64;
                    let r = self.failed("write", &e);
                    if self.regular && self.maxbytes > 0 && self.size >= self.maxbytes {
                        let _ = self.rotate();
                    }
                    return r;
                }
            }
        }
        if self.failing {
            self.failing = false;
            report = Some(Report::Recovered {
                path: self.path.clone(),
            });
        }
        if self.regular && self.maxbytes > 0 && self.size >= self.maxbytes {
            if let Some(r) = self.rotate() {
                report = Some(r);
            }
        }
        report
    }

    /// Bytes lost so far because the file could not be written.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Shift the backups and start an empty live file.
    fn rotate(&mut self) -> Option<Report> {
        self.file = None;
        let mut report = None;
        if self.backups > 0 {
            for i in (1..self.backups).rev() {
                let src = numbered(&self.path, i);
                if src.exists() {
                    // rename() replaces the destination atomically: no window without the older backup.
                    if let Err(e) = std::fs::rename(&src, numbered(&self.path, i + 1)) {
                        report = report.or(self.rotate_failed(&e));
                    }
                }
            }
            if let Err(e) = std::fs::rename(&self.path, numbered(&self.path, 1)) {
                if e.kind() != io::ErrorKind::NotFound {
                    // Keep appending rather than truncate data that was never moved aside.
                    report = report.or(self.rotate_failed(&e));
                    return match self.try_open(false) {
                        Ok(()) => report,
                        Err(r) => report.or(r),
                    };
                }
            }
        }
        self.rotate_failing = false;
        match self.try_open(true) {
            Ok(()) => report,
            Err(r) => report.or(r),
        }
    }

    /// Rotation failures (e.g. a read-only directory) are tracked apart from write failures: the file
    /// itself still takes data, so they must not flap between "failed" and "recovered" on every chunk.
    fn rotate_failed(&mut self, e: &io::Error) -> Option<Report> {
        if self.rotate_failing {
            return None;
        }
        self.rotate_failing = true;
        Some(Report::Failed {
            path: self.path.clone(),
            what: "rotate",
            error: e.to_string(),
        })
    }

    /// Close and open the file again (SIGUSR2, after an external logrotate moved it away), appending.
    pub fn reopen(&mut self) -> Option<Report> {
        if !self.opened {
            return None;
        }
        let report = match self.try_open(false) {
            Ok(()) if self.failing => {
                self.failing = false;
                Some(Report::Recovered {
                    path: self.path.clone(),
                })
            }
            Ok(()) => None,
            Err(r) => r,
        };
        self.signal.bump();
        report
    }

    /// `clearProcessLogs`: remove the live file and start an empty one (backups stay).
    pub fn clear(&mut self) -> Option<Report> {
        let report = self.remove_and_open();
        self.signal.bump();
        report
    }

    fn remove_and_open(&mut self) -> Option<Report> {
        self.file = None;
        if self.regular {
            if let Err(e) = std::fs::remove_file(&self.path) {
                if e.kind() != io::ErrorKind::NotFound {
                    return self.failed("remove", &e);
                }
            }
        }
        match self.try_open(!self.regular) {
            Ok(()) => None,
            Err(r) => r,
        }
    }
}

/// `x.log` → `x.log.N`.
pub fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    fn names(dir: &Path) -> Vec<(String, u64)> {
        let mut v: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn rotates_with_supervisord_names_and_sizes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.log");
        let (mut f, r) = RotatingFile::open(&p, 10, 3);
        assert!(r.is_none());
        // Each write is whole; rotation happens after it when size >= maxbytes.
        for chunk in [
            &b"aaaaaa"[..],
            b"bbbbbb",
            b"cc",
            b"dddddddddd",
            b"e",
            b"fffffffffffff",
            b"g",
        ] {
            assert!(f.write_all(chunk).is_none());
        }
        // aaaaaa+bbbbbb = 12 → rotate; cc+dddddddddd = 12 → rotate; e+fffffffffffff = 14 → rotate; g.
        assert_eq!(
            names(d.path()),
            vec![
                ("x.log".into(), 1),
                ("x.log.1".into(), 14),
                ("x.log.2".into(), 12),
                ("x.log.3".into(), 12),
            ]
        );
        assert_eq!(std::fs::read(numbered(&p, 3)).unwrap(), b"aaaaaabbbbbb");
        // One more rotation drops the oldest: only .1 ….3 are kept.
        f.write_all(b"hhhhhhhhhh");
        let n = names(d.path());
        assert_eq!(n.len(), 4);
        assert_eq!(std::fs::read(numbered(&p, 3)).unwrap(), b"ccdddddddddd");
        assert_eq!(std::fs::read(numbered(&p, 1)).unwrap(), b"ghhhhhhhhhh");
        assert_eq!(std::fs::read(&p).unwrap(), b"");
    }

    #[test]
    fn zero_backups_truncates_and_zero_maxbytes_never_rotates() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.log");
        let (mut f, _) = RotatingFile::open(&p, 4, 0);
        f.write_all(b"12345");
        assert_eq!(names(d.path()), vec![("t.log".into(), 0)]);
        f.write_all(b"67");
        assert_eq!(std::fs::read(&p).unwrap(), b"67");

        let p2 = d.path().join("n.log");
        let (mut g, _) = RotatingFile::open(&p2, 0, 5);
        for _ in 0..100 {
            g.write_all(b"0123456789");
        }
        assert_eq!(std::fs::metadata(&p2).unwrap().len(), 1000);
        assert!(!numbered(&p2, 1).exists());
    }

    #[test]
    fn appends_to_an_existing_file_and_counts_its_size() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        std::fs::write(&p, b"12345678").unwrap();
        let (mut f, _) = RotatingFile::open(&p, 10, 1);
        assert_eq!(f.size(), 8);
        f.write_all(b"90");
        assert_eq!(std::fs::read(numbered(&p, 1)).unwrap(), b"1234567890");
    }

    #[test]
    fn reopen_follows_an_external_rename() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.log");
        let (mut f, _) = RotatingFile::open(&p, 0, 0);
        f.write_all(b"one\n");
        std::fs::rename(&p, d.path().join("r.log.old")).unwrap();
        f.write_all(b"two\n");
        assert!(f.reopen().is_none());
        f.write_all(b"three\n");
        assert_eq!(
            std::fs::read(d.path().join("r.log.old")).unwrap(),
            b"one\ntwo\n"
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"three\n");
    }

    #[test]
    fn missing_directory_is_reported_once_and_retried() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("later");
        let p = dir.join("m.log");
        let (mut f, r) = RotatingFile::open(&p, 100, 1);
        assert!(matches!(r, Some(Report::Failed { what: "open", .. })));
        assert!(
            f.write_all(b"lost\n").is_none(),
            "a repeated failure is not reported again"
        );
        assert!(f.reopen().is_none());
        std::fs::create_dir(&dir).unwrap();
        assert_eq!(
            f.write_all(b"kept\n"),
            Some(Report::Recovered { path: p.clone() })
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"kept\n");
    }

    #[test]
    fn full_device_drops_data_reports_once_and_never_rotates() {
        // /dev/full fails every write with ENOSPC, like a full disk.
        let (mut f, r) = RotatingFile::open("/dev/full", 1, 3);
        assert!(r.is_none());
        let first = f.write_all(b"x");
        assert!(
            matches!(first, Some(Report::Failed { what: "write", .. })),
            "{first:?}"
        );
        for _ in 0..10 {
            assert!(f.write_all(b"yyyy").is_none());
        }
        assert!(!Path::new("/dev/full.1").exists());
    }

    #[test]
    fn copytruncate_leaves_no_hole_and_splice_rotates_too() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.log");
        let (mut f, _) = RotatingFile::open(&p, 7, 1);
        f.write_all(b"abc");
        // logrotate's copytruncate: the file shrinks under us; writing continues at the new end.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(0)
            .unwrap();
        f.write_all(b"d");
        assert_eq!(std::fs::read(&p).unwrap(), b"d");

        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK).unwrap();
        let mut w = File::from(w);
        assert!(matches!(
            f.splice_from(r.as_fd(), 1 << 16),
            Splice::WouldBlock
        ));
        w.write_all(b"efghij").unwrap();
        assert!(matches!(
            f.splice_from(r.as_fd(), 1 << 16),
            Splice::Moved(6, None)
        ));
        assert_eq!(std::fs::read(numbered(&p, 1)).unwrap(), b"defghij");
        assert_eq!(std::fs::read(&p).unwrap(), b"");
        drop(w);
        assert!(matches!(f.splice_from(r.as_fd(), 1 << 16), Splice::Eof));
    }

    #[test]
    fn large_splices_stop_near_the_rotation_point_like_supervisord_reads() {
        const K: usize = 1024;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.log");
        let (mut f, _) = RotatingFile::open(&p, 300 * K as u64, 3);
        let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK).unwrap();
        let mut w = File::from(w);
        nix::fcntl::fcntl(w.as_fd(), nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20)).unwrap();
        w.write_all(&vec![b'x'; 1 << 20]).unwrap();
        // Far from the rotation point (300 KiB of room): exactly the room moves, then it rotates.
        assert!(
            matches!(f.splice_from(r.as_fd(), 1 << 20), Splice::Moved(n, None) if n == 300 * K)
        );
        assert_eq!(
            std::fs::metadata(numbered(&p, 1)).unwrap().len(),
            300 * K as u64
        );
        // 250 KiB in: 50 KiB of room, yet one supervisord-sized read (128 KiB) moves, as it would there.
        f.write_all(&vec![b'y'; 250 * K]);
        assert!(
            matches!(f.splice_from(r.as_fd(), 1 << 20), Splice::Moved(n, None) if n == SUPERVISORD_READ)
        );
        assert_eq!(
            std::fs::metadata(numbered(&p, 1)).unwrap().len(),
            (250 * K + SUPERVISORD_READ) as u64
        );
    }

    #[test]
    fn a_fifo_without_reader_does_not_hang() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("fifo");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let (mut f, r) = RotatingFile::open(&p, 1, 1);
        assert!(
            matches!(r, Some(Report::Failed { what: "open", .. })),
            "{r:?}"
        );
        assert!(f.write_all(b"dropped").is_none());
        let reader = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&p)
            .unwrap();
        assert!(matches!(
            f.write_all(b"hello\n"),
            Some(Report::Recovered { .. })
        ));
        let mut got = String::new();
        std::io::Read::read_to_string(&mut &reader, &mut got).ok();
        assert_eq!(got, "hello\n");
        assert!(!numbered(&p, 1).exists(), "a FIFO is never rotated");
    }

    #[test]
    fn clear_removes_the_live_file_only() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.log");
        let (mut f, _) = RotatingFile::open(&p, 3, 2);
        f.write_all(b"abc");
        f.write_all(b"de");
        assert!(f.clear().is_none());
        assert_eq!(std::fs::read(&p).unwrap(), b"");
        assert_eq!(std::fs::read(numbered(&p, 1)).unwrap(), b"abc");
        f.write_all(b"f");
        assert_eq!(std::fs::read(&p).unwrap(), b"f");
    }
}
