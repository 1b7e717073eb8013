//! Minimal child-output sink: drain a child's pipe to a file or to steward's inherited stdout/stderr.
//!
//! This is a stand-in for the full `logs` module (rotation, prefixes, tail buffers). The whole boundary
//! is [`attach`]: the supervisor calls it once per pipe right after a spawn; replace its body to wire in
//! `logs`. One thread per pipe keeps back-pressure local: a slow sink blocks only that child.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::model::LogTarget;

/// Bumped by SIGUSR2: sinks reopen their files before their next write (for logrotate).
static REOPEN_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Ask every file sink to reopen its file.
pub fn reopen_all() {
    REOPEN_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// A destination resolved for one stream of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    Stdout,
    Stderr,
    File(PathBuf),
}

/// The sinks of a configured target; `auto` is the file chosen for AUTO when the process was added.
pub fn sinks_for(target: &LogTarget, also: &[LogTarget], auto: Option<&Path>) -> Vec<Sink> {
    std::iter::once(target)
        .chain(also.iter())
        .filter_map(|t| match t {
            LogTarget::Stdout => Some(Sink::Stdout),
            LogTarget::Stderr => Some(Sink::Stderr),
            LogTarget::File(p) => Some(Sink::File(p.clone())),
            LogTarget::Auto => auto.map(|p| Sink::File(p.to_path_buf())),
            // syslog is not supported here; NONE discards.
            LogTarget::Syslog | LogTarget::None => None,
        })
        .collect()
}

/// supervisord's AUTO file name: `<childlogdir>/<name>-<stream>---<identifier>-<random8>.log`.
pub fn auto_path(childlogdir: &Path, name: &str, stream: &str, identifier: &str) -> PathBuf {
    let mut bytes = [0u8; 8];
    if let Ok(mut f) = File::open("/dev/urandom") {
        let _ = f.read_exact(&mut bytes);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
    let suffix: String = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    childlogdir.join(format!("{name}-{stream}---{identifier}-{suffix}.log"))
}

struct OpenSink {
    sink: Sink,
    file: Option<File>,
    generation: u64,
}

impl OpenSink {
    fn write(&mut self, chunk: &[u8]) {
        match &self.sink {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(chunk).and_then(|_| out.flush());
            }
            Sink::Stderr => {
                let _ = std::io::stderr().lock().write_all(chunk);
            }
            Sink::File(path) => {
                let generation = REOPEN_GENERATION.load(Ordering::Relaxed);
                if self.file.is_none() || generation != self.generation {
                    self.generation = generation;
                    self.file = OpenOptions::new().create(true).append(true).open(path).ok();
                }
                if let Some(f) = &mut self.file {
                    let _ = f.write_all(chunk);
                }
            }
        }
    }
}

/// Read `pipe` until EOF (the child and everything that inherited the pipe are gone), writing every chunk
/// as read, unframed, to each sink. Returns at once; the reading happens on its own thread.
pub fn attach(name: &str, pipe: OwnedFd, sinks: Vec<Sink>) {
    let name = name.to_string();
    let run = move || {
        let mut pipe = File::from(pipe);
        let mut open: Vec<OpenSink> = sinks
            .into_iter()
            .map(|sink| OpenSink {
                sink,
                file: None,
                generation: 0,
            })
            .collect();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => open.iter_mut().for_each(|s| s.write(&buf[..n])),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
    };
    let spawned = std::thread::Builder::new()
        .name(format!("out:{name}"))
        .stack_size(64 * 1024)
        .spawn(run);
    if let Err(e) = spawned {
        // The pipe is dropped with the closure: the child gets EPIPE rather than blocking forever.
        tracing::warn!("cannot read output of {name}: {e}");
    }
}
