//! Which signals the supervisor handles and what they mean, and the subreaper switch.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// `SIGTERM` for 15, `signal 99` for anything unnamed.
pub fn signame(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSTKFLT => "SIGSTKFLT",
        libc::SIGCHLD => "SIGCHLD",
        libc::SIGCONT => "SIGCONT",
        libc::SIGSTOP => "SIGSTOP",
        libc::SIGTSTP => "SIGTSTP",
        libc::SIGTTIN => "SIGTTIN",
        libc::SIGTTOU => "SIGTTOU",
        libc::SIGURG => "SIGURG",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGWINCH => "SIGWINCH",
        libc::SIGIO => "SIGIO",
        libc::SIGPWR => "SIGPWR",
        libc::SIGSYS => "SIGSYS",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

/// What a signal asks the supervisor to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Shutdown(i32),
    Reload,
    ReopenLogs,
    Reap,
}

/// The supervisor's signal handlers (reference 2.5): TERM/INT/QUIT, HUP, USR2, CHLD. Everything else keeps
/// its default action, which the kernel drops for PID 1.
pub struct Signals {
    chld: Signal,
    term: Signal,
    int: Signal,
    quit: Signal,
    hup: Signal,
    usr2: Signal,
}

impl Signals {
    /// Must be called inside the runtime, before the first child is spawned. Releases what [`hold`]
    /// held: a signal that arrived meanwhile is delivered to the new handlers now.
    pub fn install() -> std::io::Result<Signals> {
        let signals = Signals {
            chld: signal(SignalKind::child())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            quit: signal(SignalKind::quit())?,
            hup: signal(SignalKind::hangup())?,
            usr2: signal(SignalKind::user_defined2())?,
        };
        release();
        Ok(signals)
    }

    /// The next signal; SIGCHLD first so statuses are collected before a shutdown starts.
    pub async fn next(&mut self) -> Action {
        tokio::select! {
            biased;
            _ = self.chld.recv() => Action::Reap,
            _ = self.term.recv() => Action::Shutdown(libc::SIGTERM),
            _ = self.int.recv() => Action::Shutdown(libc::SIGINT),
            _ = self.quit.recv() => Action::Shutdown(libc::SIGQUIT),
            _ = self.hup.recv() => Action::Reload,
            _ = self.usr2.recv() => Action::ReopenLogs,
        }
    }
}

fn handled() -> nix::sys::signal::SigSet {
    use nix::sys::signal::Signal as S;
    let mut set = nix::sys::signal::SigSet::empty();
    for s in [
        S::SIGTERM,
        S::SIGINT,
        S::SIGQUIT,
        S::SIGHUP,
        S::SIGUSR2,
        S::SIGCHLD,
    ] {
        set.add(s);
    }
    set
}

/// Block the supervisor's signals until [`Signals::install`] has handlers for them. Before that, a
/// `docker stop` would be lost (the kernel drops unhandled signals sent to PID 1) or would kill a
/// steward that is not PID 1 outright, leaving its children behind. Children get an empty mask at spawn.
pub fn hold() {
    if let Err(e) = handled().thread_block() {
        tracing::debug!("could not block signals during start-up: {e}");
    }
}

fn release() {
    if let Err(e) = handled().thread_unblock() {
        tracing::debug!("could not unblock signals: {e}");
    }
}

/// When steward is not PID 1 (a laptop, a test), orphans of our children would go to the real init;
/// as a child subreaper they come to us instead, so reaping behaves the same everywhere.
pub fn become_subreaper_unless_pid1() {
    if std::process::id() != 1 {
        // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes integer arguments only.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        if rc != 0 {
            tracing::debug!(
                "could not become a child subreaper: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}
