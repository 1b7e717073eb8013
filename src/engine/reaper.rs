//! The only `waitpid` caller in steward: collect every exited child, ours or re-parented orphans.

use crate::engine::process::ExitStatus;

/// Decode a raw wait status; `None` for stop/continue reports (we never ask for those).
pub fn decode(status: libc::c_int) -> Option<ExitStatus> {
    if libc::WIFEXITED(status) {
        Some(ExitStatus::Code(libc::WEXITSTATUS(status)))
    } else if libc::WIFSIGNALED(status) {
        Some(ExitStatus::Signal {
            signal: libc::WTERMSIG(status),
            core: libc::WCOREDUMP(status),
        })
    } else {
        None
    }
}

/// Reap one exited child without blocking; `None` when nothing (more) is waiting.
pub fn reap_one() -> Option<(i32, ExitStatus)> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: waitpid writes only into `status`, a local we own.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            match decode(status) {
                Some(s) => return Some((pid, s)),
                None => continue,
            }
        }
        if pid < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        // 0: children exist but none has exited; ECHILD: no children at all.
        return None;
    }
}

/// Reap until nothing is left, handing each status to `f`. SIGCHLDs coalesce, so one signal may stand
/// for many exits: always drain.
pub fn reap_all(mut f: impl FnMut(i32, ExitStatus)) {
    while let Some((pid, status)) = reap_one() {
        f(pid, status);
    }
}
