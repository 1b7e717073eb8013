//! The clean end and the daemon detector, both by reading /proc: which processes are left below
//! steward, and which hold a given pipe open.
//!
//! As PID 1 every process of the namespace descends from steward; as a subreaper, every orphan of its
//! programs does. Once the programs have stopped, what is left gets SIGTERM, then SIGKILL after
//! `[supervisord] shutdown_grace`, so steward never sits on output pipes that leftovers hold open.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::engine::mainlog::emit;
use crate::engine::process::Level;
use crate::engine::reaper;

/// The inode of the file `fd` refers to (for a pipe: the pipe's identity).
pub fn inode_of(fd: i32) -> Option<u64> {
    let st = nix::sys::stat::fstat(unsafe_borrow(fd)).ok()?;
    Some(st.st_ino)
}

fn unsafe_borrow(fd: i32) -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: only used for one fstat(2) of an fd the caller holds open for the duration of the call.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

fn pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// Processes other than steward with a descriptor on one of the pipes `inodes`.
pub fn pipe_holders(inodes: &[u64]) -> Vec<i32> {
    if inodes.is_empty() {
        return vec![];
    }
    let me = std::process::id() as i32;
    let wanted: Vec<String> = inodes.iter().map(|i| format!("pipe:[{i}]")).collect();
    let mut out = vec![];
    for pid in pids() {
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|l| wanted.iter().any(|w| l.as_os_str() == w.as_str()))
        });
        if holds {
            out.push(pid);
        }
    }
    out.sort_unstable();
    out
}

/// Every live (not zombie) process below steward.
pub fn leftovers() -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut parent: HashMap<i32, i32> = HashMap::new();
    let mut zombie = vec![];
    for pid in pids() {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command may contain spaces and parentheses: the fields follow the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let state = f.next().unwrap_or("");
        let Some(ppid) = f.next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if state == "Z" {
            zombie.push(pid);
        }
        parent.insert(pid, ppid);
    }
    let below = |mut p: i32| {
        for _ in 0..4096 {
            match parent.get(&p) {
                Some(&pp) if pp == me => return true,
                Some(&pp) if pp > 0 && pp != p => p = pp,
                _ => return false,
            }
        }
        false
    };
    let mut out: Vec<i32> = parent
        .keys()
        .copied()
        .filter(|&p| p != me && !zombie.contains(&p) && below(p))
        .collect();
    out.sort_unstable();
    out
}

fn signal_all(pids: &[i32], signal: i32) {
    for &p in pids {
        // SAFETY: kill(2) with integer arguments; a pid that is already gone gives ESRCH, ignored.
        unsafe {
            libc::kill(p, signal);
        }
    }
}

/// SIGKILL to every process below steward, at once (a second Ctrl-C).
pub fn kill_all_now() {
    signal_all(&leftovers(), libc::SIGKILL);
}

/// Reap what has ended (orphans are ours as PID 1 / subreaper) and list what is still alive.
fn reap_and_list() -> Vec<i32> {
    reaper::reap_all(|_, _| {});
    leftovers()
}

/// After every program stopped: SIGTERM to what is left, SIGKILL after `grace`, until nothing is left
/// (or, for a process that survives SIGKILL, 2 s more). Polls /proc every 20 ms only while waiting.
pub async fn clean_end(grace: Duration) {
    const POLL: Duration = Duration::from_millis(20);
    let left = reap_and_list();
    if left.is_empty() {
        return;
    }
    emit(
        Level::Warn,
        &format!(
            "{} process(es) left behind by the programs: sending SIGTERM ({})",
            left.len(),
            summary(&left)
        ),
    );
    signal_all(&left, libc::SIGTERM);
    let deadline = Instant::now() + grace;
    let mut left = reap_and_list();
    while !left.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(POLL).await;
        left = reap_and_list();
    }
    if left.is_empty() {
        return;
    }
    emit(
        Level::Warn,
        &format!(
            "{} process(es) still there after {} s: sending SIGKILL ({})",
            left.len(),
            grace.as_secs(),
            summary(&left)
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(2);
    while !left.is_empty() && Instant::now() < deadline {
        signal_all(&left, libc::SIGKILL);
        tokio::time::sleep(POLL).await;
        left = reap_and_list();
    }
    if !left.is_empty() {
        emit(
            Level::Error,
            &format!(
                "{} process(es) survived SIGKILL: {}",
                left.len(),
                summary(&left)
            ),
        );
    }
}

/// `pid 12 (sleep), pid 13 (nginx), … and 190 more`.
fn summary(pids: &[i32]) -> String {
    let named: Vec<String> = pids
        .iter()
        .take(5)
        .map(|p| {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            format!("pid {p} ({})", comm.trim_end())
        })
        .collect();
    let more = pids.len().saturating_sub(named.len());
    if more > 0 {
        format!("{}, and {more} more", named.join(", "))
    } else {
        named.join(", ")
    }
}

/// True when orphans come to steward: it is PID 1, or a subreaper. Only then is what is left below it
/// its business at the end (a steward inside a test harness leaves its siblings alone).
pub fn adopts_orphans() -> bool {
    if std::process::id() == 1 {
        return true;
    }
    let mut flag: libc::c_int = 0;
    // SAFETY: prctl(2) PR_GET_CHILD_SUBREAPER writes one int through the pointer we pass.
    let rc = unsafe { libc::prctl(libc::PR_GET_CHILD_SUBREAPER, &mut flag as *mut libc::c_int) };
    rc == 0 && flag != 0
}
