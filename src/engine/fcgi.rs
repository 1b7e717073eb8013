//! `[fcgi-program:x]` sockets: made by steward before the pool's first spawn (`tcp://host:port`, or
//! `unix:///path` with `socket_owner` and `socket_mode`, listening with `socket_backlog`), handed to
//! every process of the pool as its fd 0, as supervisord does, and closed when the group is removed
//! (or at a reload or exit). supervisord closes it whenever the pool has no process left and makes
//! it again at the next start; steward keeps it, so connections wait in the backlog across restarts.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::config::model::{FcgiSpec, GroupKind, GroupSpec};

struct Socket {
    fd: OwnedFd,
    /// A unix socket's file, removed with the socket.
    path: Option<PathBuf>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// The sockets of the fcgi-program groups, by group name.
#[derive(Default)]
pub struct Sockets {
    open: HashMap<String, Socket>,
}

impl Sockets {
    /// The socket a process of `group` gets as fd 0: `Ok(None)` for other kinds of group; made on
    /// first use. The error is the spawn error.
    pub fn for_group(&mut self, group: Option<&GroupSpec>) -> Result<Option<&OwnedFd>, String> {
        let Some(g) = group else { return Ok(None) };
        let GroupKind::FcgiProgram(spec) = &g.kind else {
            return Ok(None);
        };
        if !self.open.contains_key(&g.name) {
            let s = make(spec)
                .map_err(|e| format!("Could not create FastCGI socket {}: {e}", spec.socket))?;
            self.open.insert(g.name.clone(), s);
        }
        Ok(self.open.get(&g.name).map(|s| &s.fd))
    }

    /// The group was removed: its socket is closed (and a unix socket's file removed).
    pub fn remove(&mut self, group: &str) {
        self.open.remove(group);
    }

    pub fn clear(&mut self) {
        self.open.clear();
    }
}

fn make(spec: &FcgiSpec) -> std::io::Result<Socket> {
    let backlog = spec
        .socket_backlog
        .map_or(libc::SOMAXCONN, |b| b.min(i32::MAX as u32) as i32);
    if let Some(path) = spec.socket.strip_prefix("unix://") {
        let path = Path::new(path);
        // A socket file left by an earlier run would make bind fail.
        if std::fs::symlink_metadata(path).is_ok_and(|m| {
            use std::os::unix::fs::FileTypeExt;
            m.file_type().is_socket()
        }) {
            let _ = std::fs::remove_file(path);
        }
        let l = std::os::unix::net::UnixListener::bind(path)?;
        let fd = OwnedFd::from(l);
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(spec.socket_mode))?;
        if let Some(owner) = &spec.socket_owner {
            chown(path, owner)?;
        }
        listen(&fd, backlog)?;
        clear_nonblocking(&fd)?;
        return Ok(Socket {
            fd,
            path: Some(path.to_path_buf()),
        });
    }
    let hostport = spec.socket.strip_prefix("tcp://").unwrap_or(&spec.socket);
    let (host, port) = hostport
        .rsplit_once(':')
        .ok_or_else(|| std::io::Error::other("expected tcp://host:port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port
        .parse()
        .map_err(|_| std::io::Error::other("bad port"))?;
    // std's TcpListener sets SO_REUSEADDR on Unix, as supervisord does.
    let l = std::net::TcpListener::bind((host, port))?;
    let fd = OwnedFd::from(l);
    listen(&fd, backlog)?;
    clear_nonblocking(&fd)?;
    Ok(Socket { fd, path: None })
}

fn listen(fd: &OwnedFd, backlog: i32) -> std::io::Result<()> {
    // SAFETY: listen(2) on a socket we own; integer arguments only.
    if unsafe { libc::listen(fd.as_raw_fd(), backlog) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// FastCGI programs accept on fd 0 with blocking calls.
fn clear_nonblocking(fd: &OwnedFd) -> std::io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    use std::os::fd::AsFd;
    let flags = OFlag::from_bits_retain(fcntl(fd.as_fd(), FcntlArg::F_GETFL)?);
    fcntl(fd.as_fd(), FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK))?;
    Ok(())
}

/// `socket_owner=user[:group]`.
fn chown(path: &Path, owner: &str) -> std::io::Result<()> {
    let root = Path::new("/");
    let (user, group) = match owner.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (owner, None),
    };
    let u = crate::config::passwd::lookup_user(root, user)
        .ok_or_else(|| std::io::Error::other(format!("no such user {user:?}")))?;
    let gid = match group {
        Some(g) => crate::config::passwd::lookup_group(root, g)
            .ok_or_else(|| std::io::Error::other(format!("no such group {g:?}")))?,
        None => u.gid,
    };
    std::os::unix::fs::chown(path, Some(u.uid), Some(gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(socket: &str) -> GroupSpec {
        GroupSpec {
            name: "fcgi".into(),
            priority: 999,
            kind: GroupKind::FcgiProgram(FcgiSpec {
                socket: socket.into(),
                socket_backlog: Some(5),
                socket_owner: None,
                socket_mode: 0o660,
            }),
            processes: vec![],
        }
    }

    #[test]
    fn unix_socket_with_mode_removed_with_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.sock");
        let g = group(&format!("unix://{}", path.display()));
        let mut s = Sockets::default();
        assert!(s.for_group(Some(&g)).unwrap().is_some());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        std::os::unix::net::UnixStream::connect(&path).unwrap();
        s.remove("fcgi");
        assert!(!path.exists());
    }

    #[test]
    fn tcp_socket_and_errors() {
        let mut s = Sockets::default();
        let fd = s
            .for_group(Some(&group("tcp://127.0.0.1:0")))
            .unwrap()
            .unwrap()
            .as_raw_fd();
        assert!(fd > 2);
        let mut other = Sockets::default();
        let err = other
            .for_group(Some(&group("unix:///nonexistent-dir/x.sock")))
            .unwrap_err();
        assert!(
            err.starts_with("Could not create FastCGI socket unix:///nonexistent-dir/x.sock: "),
            "{err}"
        );
        assert!(other.for_group(None).unwrap().is_none());
    }
}
