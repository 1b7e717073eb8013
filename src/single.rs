//! Single-command mode: `steward [OPTIONS] [--] CMD…`, and the same binary called `tini` or `dumb-init`.
//!
//! One child, everything forwarded, every orphan reaped, the child's status returned. No runtime: every
//! catchable signal is blocked and taken synchronously with `sigwaitinfo`, so an idle init sleeps in one
//! system call and no signal can arrive between two decisions.
//!
//! What the three personalities share and where they differ (facts from tini 0.19 and dumb-init 1.2.5):
//! * The child runs in its own process group (tini, steward) or its own session (`--setsid`, dumb-init's
//!   default). Signals go to the child, or to its whole group in group mode (tini `-g`, dumb-init's
//!   setsid mode, steward `-g`/`--setsid`).
//! * SIGCHLD is reset to its default before anything: a parent that ignores it would otherwise make the
//!   kernel reap our child behind our back, and we would wait for ever.
//! * The child gets the signal mask and ignored set we inherited (tini, steward); dumb-init gives it an
//!   empty mask and default dispositions, and so does the `dumb-init` personality. SIGCHLD is never
//!   handed down ignored.
//! * With a terminal, the child's group becomes the foreground only when we are the foreground (never
//!   when started as a background job), and gets it back at exit.
//! * TSTP/TTIN/TTOU received are forwarded, then we stop ourselves, unless a rewrite dropped them or
//!   made them a signal that does not stop (dumb-init stops anyway, and so does its personality). A
//!   child stopped by one of them stops us too when a job-control shell is our parent, so Ctrl-Z gives
//!   the prompt back. CONT is forwarded (and hands the terminal to the child again when `fg` made us
//!   the foreground).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::config::values;

/// Whose flags, defaults, exit codes and messages we follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personality {
    Steward,
    Tini,
    DumbInit,
}

impl Personality {
    pub fn name(self) -> &'static str {
        match self {
            Personality::Steward => "steward",
            Personality::Tini => "tini",
            Personality::DumbInit => "dumb-init",
        }
    }

    /// Exit status for a bad command line or an option that cannot be honoured.
    fn usage_code(self) -> i32 {
        match self {
            Personality::Steward => 2,
            Personality::Tini | Personality::DumbInit => 1,
        }
    }

    /// Exit status when the command cannot be executed at all.
    fn exec_failure_code(self, errno: i32) -> i32 {
        match self {
            // tini: the child's exit status after a failed execvp.
            Personality::Tini => match errno {
                libc::ENOENT => 127,
                libc::EACCES => 126,
                _ => 1,
            },
            Personality::DumbInit => 2,
            // The shell's convention.
            Personality::Steward => {
                if errno == libc::ENOENT {
                    127
                } else {
                    126
                }
            }
        }
    }
}

/// Verbosity levels, tini's numbering: 0 errors only, 1 warnings (the default), 2 info, 3 debug.
const ERROR: u8 = 0;
const WARN: u8 = 1;
const INFO: u8 = 2;
const DEBUG: u8 = 3;

/// Everything single-command mode needs to know, whichever personality parsed it.
#[derive(Debug, Clone)]
pub struct Options {
    pub personality: Personality,
    pub command: Vec<OsString>,
    /// Signal the child's process group rather than the child alone.
    pub group: bool,
    /// Start the child in a new session (implies `group`).
    pub setsid: bool,
    /// Signal number received -> signal number sent; 0 drops it.
    pub rewrite: BTreeMap<i32, i32>,
    /// Child statuses (exit code, or 128+N) reported as 0.
    pub remap_exit: Vec<u8>,
    /// Signal we get when our parent dies (`prctl(PR_SET_PDEATHSIG)`).
    pub pdeathsig: Option<i32>,
    pub verbosity: u8,
    /// Report every orphan reaped (at warning level).
    pub warn_reap: bool,
    /// Subreaper asked for explicitly: failing to become one is then fatal.
    pub subreaper: bool,
    /// Give the child the inherited mask and ignored signals (else empty mask, default dispositions).
    pub restore_signals: bool,
    /// When the child exits, send SIGTERM to what is left of its group (dumb-init, steward group modes).
    pub term_group_at_exit: bool,
}

impl Options {
    pub fn new(personality: Personality, command: Vec<OsString>) -> Options {
        Options {
            personality,
            command,
            group: false,
            setsid: false,
            rewrite: BTreeMap::new(),
            remap_exit: Vec::new(),
            pdeathsig: None,
            verbosity: WARN,
            warn_reap: false,
            subreaper: false,
            restore_signals: true,
            term_group_at_exit: false,
        }
    }
}

/// Highest signal number we know (the kernel's `_NSIG - 1`).
const MAX_SIG: i32 = 64;

/// A signal for steward's own flags: a name (`TERM`, `SIGTERM`, any case) or a number 1-64.
pub fn parse_signal(s: &str) -> Result<i32, String> {
    match s.trim().parse::<i32>() {
        Ok(n) if (1..=MAX_SIG).contains(&n) => Ok(n),
        Ok(_) => Err(format!("{s}: signal numbers go from 1 to {MAX_SIG}")),
        Err(_) => values::parse_signal(s).map_err(|e| format!("{s}: {e}")),
    }
}

/// `S:D` for steward's `-r`: D may be 0 (drop S). S may not be KILL or STOP (never delivered to us).
pub fn parse_rewrite(s: &str) -> Result<(i32, i32), String> {
    let (from, to) = s.split_once(':').ok_or_else(|| {
        format!("{s}: expected FROM:TO, e.g. TERM:QUIT or 15:3, or TERM:0 to drop")
    })?;
    let from = parse_signal(from)?;
    if from == libc::SIGKILL || from == libc::SIGSTOP {
        return Err(format!("{s}: {} never reaches us", sig_name(from)));
    }
    let to = if to.trim() == "0" {
        0
    } else {
        parse_signal(to)?
    };
    Ok((from, to))
}

fn sig_name(sig: i32) -> String {
    match values::signal_name(sig) {
        Some(n) => format!("SIG{n}"),
        None => format!("signal {sig}"),
    }
}

/// What the process we replace handed us, captured before we change anything.
struct Inherited {
    mask: libc::sigset_t,
    ignored: [bool; MAX_SIG as usize + 1],
}

impl Inherited {
    fn capture() -> Inherited {
        // SAFETY: sigprocmask and rt_sigaction only write into locals we own; the raw syscall also
        // reads 32 and 33, which glibc's sigaction refuses.
        unsafe {
            let mut mask: libc::sigset_t = std::mem::zeroed();
            libc::sigprocmask(libc::SIG_SETMASK, std::ptr::null(), &mut mask);
            let mut ignored = [false; MAX_SIG as usize + 1];
            for (sig, slot) in ignored.iter_mut().enumerate().skip(1) {
                let mut old = [0u64; 4];
                let rc = libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig as libc::c_long,
                    std::ptr::null::<u64>(),
                    old.as_mut_ptr(),
                    8usize,
                );
                *slot = rc == 0 && old[0] == KERNEL_IGN[0];
            }
            Inherited { mask, ignored }
        }
    }
}

/// Every signal we take with `sigwaitinfo`: all but KILL and STOP (which cannot be caught) and the
/// glibc-internal 32 and 33. A fault the kernel raises while its signal is blocked still kills us.
fn waited_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset only write into our local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in (1..32).chain(libc::SIGRTMIN()..=libc::SIGRTMAX()) {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::sigaddset(&mut set, sig);
            }
        }
        set
    }
}

struct Log {
    name: &'static str,
    verbosity: u8,
}

impl Log {
    fn at(&self, level: u8, msg: &str) {
        if self.verbosity >= level {
            let _ = writeln!(std::io::stderr(), "{}: {msg}", self.name);
        }
    }
}

/// The kernel's `struct sigaction` for SIG_DFL / SIG_IGN (handler, flags, restorer, mask). Through the
/// raw syscall so that 32 and 33, which glibc's wrapper refuses, are reset too.
const KERNEL_DFL: [u64; 4] = [0; 4];
const KERNEL_IGN: [u64; 4] = [1, 0, 0, 0];

/// What the child does between fork and exec, prepared in the parent: async-signal-safe calls only.
struct ChildSetup {
    ignore: [bool; MAX_SIG as usize + 1],
    mask: libc::sigset_t,
    all: libc::sigset_t,
    setsid: bool,
    take_tty: bool,
}

impl ChildSetup {
    fn apply(&self) -> std::io::Result<()> {
        // SAFETY: in the forked child before exec: sigprocmask, rt_sigaction, setsid, ioctl, tcsetpgrp
        // and getpid are async-signal-safe and only read data prepared before the fork.
        unsafe {
            // Nothing may interrupt the terminal hand-over (a SIGTTOU would stop us).
            libc::sigprocmask(libc::SIG_SETMASK, &self.all, std::ptr::null_mut());
            if self.setsid {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                // Only works when the terminal is no other session's; failing is not an error.
                libc::ioctl(0, libc::TIOCSCTTY, 0);
            } else if self.take_tty {
                libc::tcsetpgrp(0, libc::getpid());
            }
            for sig in 1..=MAX_SIG {
                if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                    continue;
                }
                let act = if self.ignore[sig as usize] {
                    KERNEL_IGN.as_ptr()
                } else {
                    KERNEL_DFL.as_ptr()
                };
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    act,
                    std::ptr::null_mut::<u64>(),
                    8usize,
                );
            }
            // Raw, so that 32 and 33 stay blocked if they were (glibc's wrapper would drop them).
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &self.mask as *const libc::sigset_t,
                std::ptr::null_mut::<libc::sigset_t>(),
                8usize,
            );
        }
        Ok(())
    }
}

/// How the child's status reads as ours: its exit code, or 128+N when signal N killed it.
fn status_code(status: libc::c_int) -> Option<i32> {
    if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Some(128 + libc::WTERMSIG(status))
    } else {
        None
    }
}

fn is_job_stop(sig: i32) -> bool {
    sig == libc::SIGTSTP || sig == libc::SIGTTIN || sig == libc::SIGTTOU
}

fn kill(pid: i32, sig: i32) -> bool {
    // SAFETY: kill(2) with integer arguments.
    unsafe { libc::kill(pid, sig) == 0 }
}

fn pending(sig: i32) -> bool {
    // SAFETY: sigpending/sigismember only touch our local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut set) == 0 && libc::sigismember(&set, sig) == 1
    }
}

fn stop_self() {
    // SAFETY: kill(2) on ourselves; SIGSTOP cannot be blocked, so we stop here until a SIGCONT.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGSTOP);
    }
}

/// Whether stopping our process group hands the terminal back to a job-control shell that will
/// continue us: stdin is our session's terminal, and the first ancestor outside our group is in our
/// session (so the group is not orphaned). That ancestor may be our parent (`bash -i`) or further up
/// (`bash -c 'steward -- vim'` run from one). Anywhere else (PID 1, a service, a test harness) a stop
/// would be a hang.
fn job_control_above(tty_mode: bool) -> bool {
    if !tty_mode || std::process::id() == 1 {
        return false;
    }
    // SAFETY: getsid/getpgrp/tcgetsid/getppid take integers (or fd 0) and return ids.
    let (sid, pgrp, tty_sid, mut p) = unsafe {
        (
            libc::getsid(0),
            libc::getpgrp(),
            libc::tcgetsid(0),
            libc::getppid(),
        )
    };
    if tty_sid != sid {
        return false;
    }
    for _ in 0..64 {
        if p <= 1 {
            return false;
        }
        // SAFETY: getpgid takes a pid and returns an id (or -1).
        let pg = unsafe { libc::getpgid(p) };
        if pg != pgrp {
            // SAFETY: as above.
            return pg > 0 && unsafe { libc::getsid(p) } == sid;
        }
        match parent_of(p) {
            Some(pp) => p = pp,
            None => return false,
        }
    }
    false
}

/// The parent pid of `pid`, from /proc.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Stop our whole process group: what the job-control stop of our child would have done to the job
/// had the child not been in a group of its own.
fn stop_job() {
    // SAFETY: kill(2) on our own process group; SIGSTOP cannot be blocked, so we stop here too.
    unsafe {
        libc::kill(0, libc::SIGSTOP);
    }
}

/// The terminal on fd 0, one system call each.
mod tty {
    pub fn is_tty() -> bool {
        // SAFETY: isatty(2) on fd 0 only inspects the descriptor.
        unsafe { libc::isatty(0) == 1 }
    }

    pub fn own_group() -> i32 {
        // SAFETY: getpgrp(2) has no arguments and cannot fail.
        unsafe { libc::getpgrp() }
    }

    pub fn session_leader() -> bool {
        // SAFETY: getsid(2)/getpid(2) take integers and return ids.
        unsafe { libc::getsid(0) == libc::getpid() }
    }

    /// The terminal's foreground process group (-1 when there is none or fd 0 is no terminal).
    pub fn foreground() -> i32 {
        // SAFETY: tcgetpgrp(3) on fd 0 returns an integer.
        unsafe { libc::tcgetpgrp(0) }
    }

    /// Hand the terminal to `pgrp`. Called with SIGTTOU blocked, so a background caller is not stopped.
    pub fn set_foreground(pgrp: i32) {
        // SAFETY: tcsetpgrp(3) on fd 0 with an integer.
        unsafe {
            libc::tcsetpgrp(0, pgrp);
        }
    }

    /// Let go of our controlling terminal (TIOCNOTTY), so the child's new session can take it.
    pub fn detach() -> bool {
        // SAFETY: ioctl(TIOCNOTTY) on fd 0 takes no argument.
        unsafe { libc::ioctl(0, libc::TIOCNOTTY) == 0 }
    }
}

/// Run the command; returns our exit status.
pub fn run(o: &Options) -> i32 {
    let log = Log {
        name: o.personality.name(),
        verbosity: o.verbosity,
    };
    let Some(program) = o.command.first() else {
        log.at(ERROR, "no command given");
        return o.personality.usage_code();
    };
    // SAFETY: getppid has no arguments; taken first so a parent that dies before prctl is noticed.
    let parent = unsafe { libc::getppid() };
    let inherited = Inherited::capture();
    // SAFETY: sigaction with a zeroed (SIG_DFL) action we own.
    unsafe {
        let dfl: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGCHLD, &dfl, std::ptr::null_mut());
    }
    let waited = waited_set();
    // SAFETY: sigprocmask reads the set we built and writes nothing.
    unsafe {
        libc::sigprocmask(libc::SIG_BLOCK, &waited, std::ptr::null_mut());
    }

    if let Some(sig) = o.pdeathsig {
        // SAFETY: prctl(PR_SET_PDEATHSIG) takes integer arguments only.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) } != 0 {
            log.at(
                ERROR,
                &format!(
                    "cannot set the parent-death signal: {}",
                    std::io::Error::last_os_error()
                ),
            );
            return o.personality.usage_code();
        }
        // SAFETY: getppid has no arguments.
        if unsafe { libc::getppid() } != parent {
            kill(std::process::id() as i32, sig);
        }
    }

    let pid1 = std::process::id() == 1;
    if !pid1 {
        // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes integer arguments only.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        if rc != 0 {
            let e = std::io::Error::last_os_error();
            if o.subreaper {
                log.at(ERROR, &format!("cannot become a child subreaper: {e}"));
                return o.personality.usage_code();
            }
            log.at(
                WARN,
                &format!("cannot become a child subreaper ({e}): orphans go to init"),
            );
        } else if o.personality == Personality::Tini && !o.subreaper {
            log.at(
                WARN,
                "not PID 1 and no -s/TINI_SUBREAPER: registered as a child subreaper anyway, so \
                 orphans are re-parented to us and reaped",
            );
        } else if o.personality == Personality::Steward {
            log.at(
                INFO,
                "not PID 1: registered as a child subreaper, so orphans are re-parented to us and \
                 reaped",
            );
        }
    }

    let stdin_tty = tty::is_tty();
    let our_pgrp = tty::own_group();
    let tty_mode = stdin_tty && !o.setsid;
    let take_tty = tty_mode && tty::foreground() == our_pgrp;
    // Signals the kernel sends us for letting go of the terminal, not meant for the child (dumb-init).
    let mut swallow_once: Vec<i32> = Vec::new();
    if o.setsid && stdin_tty {
        if tty::detach() {
            if tty::session_leader() {
                swallow_once = vec![libc::SIGHUP, libc::SIGCONT];
            }
        } else {
            log.at(
                DEBUG,
                &format!(
                    "cannot detach from the terminal: {}",
                    std::io::Error::last_os_error()
                ),
            );
        }
    }

    let mut ignore = [false; MAX_SIG as usize + 1];
    // SAFETY: zeroed sigsets filled by sigemptyset/sigfillset.
    let (mask, all) = unsafe {
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        (empty, all)
    };
    let mask = if o.restore_signals {
        ignore = inherited.ignored;
        inherited.mask
    } else {
        mask
    };
    // Never handed down: an ignored SIGCHLD breaks every child that waits for its own children.
    ignore[libc::SIGCHLD as usize] = false;
    let setup = ChildSetup {
        ignore,
        mask,
        all,
        setsid: o.setsid,
        take_tty,
    };

    let mut cmd = Command::new(program);
    cmd.args(&o.command[1..]);
    if !o.setsid {
        cmd.process_group(0);
    }
    // SAFETY: ChildSetup::apply makes only async-signal-safe calls on data prepared above.
    unsafe {
        cmd.pre_exec(move || setup.apply());
    }
    let child = match cmd.spawn() {
        Ok(c) => c.id() as i32,
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(0);
            let shown = program.to_string_lossy();
            if errno == libc::ENOENT {
                log.at(ERROR, &format!("can't find command '{shown}'"));
            } else {
                log.at(ERROR, &format!("couldn't exec {shown}: {e}"));
            }
            return o.personality.exec_failure_code(errno);
        }
    };
    log.at(
        INFO,
        &format!("spawned '{}' as pid {child}", program.to_string_lossy()),
    );
    let group = o.group || o.setsid;
    let target = if group { -child } else { child };
    let mut rewrite = o.rewrite.clone();
    if o.setsid {
        // A session without a terminal is an orphaned process group: the kernel drops TSTP/TTIN/TTOU
        // sent to it, so only SIGSTOP actually stops it (dumb-init's rule).
        for s in [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU] {
            rewrite.entry(s).or_insert(libc::SIGSTOP);
        }
    }
    // Returns the signal the child was sent, if any.
    let forward = |sig: i32| -> Option<i32> {
        let to = rewrite.get(&sig).copied().unwrap_or(sig);
        if to == 0 {
            log.at(DEBUG, &format!("dropped {}", sig_name(sig)));
            None
        } else if kill(target, to) {
            log.at(
                DEBUG,
                &format!("forwarded {} as {}", sig_name(sig), sig_name(to)),
            );
            Some(to)
        } else {
            log.at(
                DEBUG,
                &format!(
                    "could not forward {}: {}",
                    sig_name(sig),
                    std::io::Error::last_os_error()
                ),
            );
            None
        }
    };
    let give_tty_to_child = || {
        if tty_mode && tty::foreground() == our_pgrp {
            tty::set_foreground(child);
        }
    };

    // We stopped ourselves after forwarding a stop signal: the child's own stop report that follows
    // must not stop us a second time.
    let mut stopped_already = false;
    let code = loop {
        let mut main_status = None;
        loop {
            let mut st = 0;
            // SAFETY: waitpid writes only into our local.
            let r = unsafe { libc::waitpid(child, &mut st, libc::WNOHANG | libc::WUNTRACED) };
            if r == child && libc::WIFSTOPPED(st) {
                let sig = libc::WSTOPSIG(st);
                log.at(DEBUG, &format!("child stopped by {}", sig_name(sig)));
                if is_job_stop(sig)
                    && !std::mem::take(&mut stopped_already)
                    && job_control_above(tty_mode)
                {
                    stop_job();
                }
                continue;
            }
            if r == child {
                main_status = Some(st);
            }
            if r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            break;
        }
        loop {
            let mut st = 0;
            // SAFETY: waitpid writes only into our local.
            let r = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
            if r > 0 {
                if r == child {
                    main_status = Some(st);
                } else if o.warn_reap {
                    log.at(WARN, &format!("reaped zombie process with pid={r}"));
                }
                continue;
            }
            if r == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            break;
        }
        if let Some(st) = main_status {
            if let Some(code) = status_code(st) {
                if libc::WIFEXITED(st) {
                    log.at(INFO, &format!("child exited with status {code}"));
                } else {
                    log.at(
                        INFO,
                        &format!("child killed by {}", sig_name(libc::WTERMSIG(st))),
                    );
                }
                break code;
            }
        }
        // SAFETY: sigwaitinfo on our blocked set; it writes only into `info`.
        let sig = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::sigwaitinfo(&waited, &mut info)
        };
        if sig <= 0 || sig == libc::SIGCHLD {
            continue;
        }
        log.at(DEBUG, &format!("received {}", sig_name(sig)));
        if let Some(i) = swallow_once.iter().position(|&s| s == sig) {
            swallow_once.remove(i);
            continue;
        }
        if sig == libc::SIGCONT {
            stopped_already = false;
            give_tty_to_child();
        }
        let sent = forward(sig);
        // Stopping ourselves is for a stop the child shares. dumb-init stops even when the signal
        // was dropped or rewritten (and waits stopped beside a running or dead child until a
        // SIGCONT); its personality keeps that, the others do not.
        let child_stops = match o.personality {
            Personality::DumbInit => true,
            Personality::Steward | Personality::Tini => {
                sent.is_some_and(|s| is_job_stop(s) || s == libc::SIGSTOP)
            }
        };
        // Not when a SIGCONT is already waiting: it came for this stop (a shell that knows only
        // our parent may continue the job before we got here), and would not come again.
        if is_job_stop(sig) && child_stops && !pid1 && !pending(libc::SIGCONT) {
            stopped_already = true;
            stop_self();
        }
    };

    if o.term_group_at_exit && group {
        kill(-child, libc::SIGTERM);
    }
    // Give the terminal back if the child's group still has it.
    if tty_mode && tty::foreground() == child {
        tty::set_foreground(our_pgrp);
    }
    let code = code & 0xff;
    if o.remap_exit.contains(&(code as u8)) {
        log.at(INFO, &format!("exit status {code} remapped to 0"));
        0
    } else {
        code
    }
}

// ----- the `tini` and `dumb-init` command lines -----

/// Outcome of parsing an alias's command line.
enum Parsed {
    Run(Options),
    /// Print this (to stdout or stderr) and exit with this code.
    Exit {
        text: String,
        stderr: bool,
        code: i32,
    },
}

const TINI_VERSION: &str = "0.19.0";
const DUMB_INIT_VERSION: &str = "1.2.5";

fn tini_usage(prog: &str) -> String {
    format!(
        "{prog} (steward {ver}, as tini {TINI_VERSION})\n\
         Usage: {prog} [OPTIONS] PROGRAM -- [ARGS] | --version\n\n\
         Runs PROGRAM as the only child of an init: forwards signals to it, reaps zombies, exits\n\
         with its status.\n\n\
         Options:\n\
         \x20 --version      print the version and exit\n\
         \x20 -h             print this help and exit\n\
         \x20 -s             register as a child subreaper (done anyway when not PID 1)\n\
         \x20 -p SIGNAL      get SIGNAL (e.g. SIGKILL, SIGTERM) when our parent dies\n\
         \x20 -v             more output; repeat for more\n\
         \x20 -w             print a warning for each zombie reaped\n\
         \x20 -g             send signals to the child's whole process group\n\
         \x20 -e EXIT_CODE   report EXIT_CODE (0-255) as 0; may be repeated\n\
         \x20 -l             print the license and exit\n\n\
         Environment:\n\
         \x20 TINI_SUBREAPER           set: as -s\n\
         \x20 TINI_VERBOSITY           the verbosity level (default 1)\n\
         \x20 TINI_KILL_PROCESS_GROUP  set: as -g\n",
        ver = env!("CARGO_PKG_VERSION"),
    )
}

/// tini's `-p` takes a `SIG`-prefixed name from its own table, nothing else.
fn tini_signal(s: &str) -> Option<i32> {
    let name = s.strip_prefix("SIG")?;
    if name.is_empty()
        || name
            .bytes()
            .any(|b| !b.is_ascii_uppercase() && !b.is_ascii_digit())
        || [
            "STKFLT", "IO", "POLL", "PWR", "IOT", "CLD", "RTMIN", "RTMAX",
        ]
        .contains(&name)
    {
        return None;
    }
    values::parse_signal(name).ok().filter(|&n| n < 32)
}

/// One step of getopt: the option letters of `arg` (without the leading `-`), each with its argument
/// when `takes_arg` says so, taken from the rest of `arg` or the next word.
fn short_opts(
    arg: &str,
    takes_arg: impl Fn(char) -> bool,
    next: &mut impl Iterator<Item = OsString>,
) -> Result<Vec<(char, Option<String>)>, String> {
    let mut out = Vec::new();
    for (i, c) in arg.char_indices() {
        if takes_arg(c) {
            let rest = &arg[i + c.len_utf8()..];
            let value = if !rest.is_empty() {
                rest.to_string()
            } else {
                match next.next() {
                    Some(v) => v.to_string_lossy().into_owned(),
                    None => return Err(format!("option requires an argument -- '{c}'")),
                }
            };
            out.push((c, Some(value)));
            return Ok(out);
        }
        out.push((c, None));
    }
    Ok(out)
}

fn parse_tini(prog: &str, args: Vec<OsString>, env: &dyn Fn(&str) -> Option<OsString>) -> Parsed {
    let usage_err = |msg: Option<String>| Parsed::Exit {
        text: match msg {
            Some(m) => format!("{prog}: {m}\n{}", tini_usage(prog)),
            None => tini_usage(prog),
        },
        stderr: true,
        code: 1,
    };
    if args.len() == 1 && args[0] == "--version" {
        return Parsed::Exit {
            text: format!(
                "tini version {TINI_VERSION} (steward {})\n",
                env!("CARGO_PKG_VERSION")
            ),
            stderr: false,
            code: 0,
        };
    }
    let mut o = Options::new(Personality::Tini, Vec::new());
    // GNU getopt: options may follow the program name (they are permuted out) unless POSIXLY_CORRECT
    // is set; `--` ends the options.
    let posixly = env("POSIXLY_CORRECT").is_some();
    let mut verbose = 0u8;
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let bytes = a.as_bytes();
        if bytes == b"--" {
            rest.extend(it.by_ref());
            break;
        }
        if bytes.len() < 2 || bytes[0] != b'-' {
            rest.push(a);
            if posixly {
                rest.extend(it.by_ref());
                break;
            }
            continue;
        }
        let s = a.to_string_lossy().into_owned();
        if s.starts_with("--") {
            return usage_err(Some(format!("unrecognized option '{s}'")));
        }
        let opts = match short_opts(&s[1..], |c| c == 'p' || c == 'e', &mut it) {
            Ok(v) => v,
            Err(m) => return usage_err(Some(m)),
        };
        for (c, v) in opts {
            match (c, v) {
                ('h', _) => {
                    return Parsed::Exit {
                        text: tini_usage(prog),
                        stderr: false,
                        code: 0,
                    }
                }
                ('l', _) => {
                    return Parsed::Exit {
                        text: format!(
                            "steward is MIT licensed; it behaves like tini {TINI_VERSION} (MIT) \
                             but shares none of its code.\n"
                        ),
                        stderr: false,
                        code: 0,
                    }
                }
                ('s', _) => o.subreaper = true,
                ('v', _) => verbose = verbose.saturating_add(1),
                ('w', _) => o.warn_reap = true,
                ('g', _) => o.group = true,
                ('p', Some(v)) => match tini_signal(&v) {
                    Some(n) => o.pdeathsig = Some(n),
                    None => return fatal(prog, &format!("Not a valid option for -p: {v}")),
                },
                ('e', Some(v)) => match v.parse::<u8>() {
                    Ok(n) => o.remap_exit.push(n),
                    _ => return fatal(prog, &format!("Not a valid option for -e: {v}")),
                },
                (c, _) => return usage_err(Some(format!("invalid option -- '{c}'"))),
            }
        }
    }
    if rest.is_empty() {
        return usage_err(None);
    }
    o.command = rest;
    if env("TINI_SUBREAPER").is_some() {
        o.subreaper = true;
    }
    if env("TINI_KILL_PROCESS_GROUP").is_some() {
        o.group = true;
    }
    // atoi(): leading digits, anything else is 0.
    if let Some(v) = env("TINI_VERBOSITY") {
        let s = v.to_string_lossy();
        let digits: String = s
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        o.verbosity = digits.parse::<u32>().map_or(0, |n| n.min(255) as u8);
    }
    o.verbosity = o.verbosity.saturating_add(verbose);
    Parsed::Run(o)
}

fn fatal(prog: &str, msg: &str) -> Parsed {
    Parsed::Exit {
        text: format!("{prog}: {msg}\n"),
        stderr: true,
        code: 1,
    }
}

fn dumb_init_help(prog: &str) -> String {
    format!(
        "{prog} (steward {ver}, as dumb-init v{DUMB_INIT_VERSION})\n\
         Usage: {prog} [option] command [[arg] ...]\n\n\
         Runs command as the only child of an init: forwards signals to it, reaps zombies, exits\n\
         with its status. By default the child gets its own session and signals go to its whole\n\
         process group.\n\n\
         Optional arguments:\n\
         \x20 -c, --single-child   signal only the child, and do not start a new session\n\
         \x20 -r, --rewrite s:r    forward signal s as signal r (numbers 1-31; r=0 drops s);\n\
         \x20                      may be repeated\n\
         \x20 -v, --verbose        print debugging information to stderr\n\
         \x20 -h, --help           print this help and exit\n\
         \x20 -V, --version        print the version and exit\n\n\
         Environment: DUMB_INIT_SETSID=0 as -c; DUMB_INIT_DEBUG=1 as -v.\n",
        ver = env!("CARGO_PKG_VERSION"),
    )
}

const DUMB_INIT_LONG: [(&str, bool, char); 5] = [
    ("single-child", false, 'c'),
    ("rewrite", true, 'r'),
    ("verbose", false, 'v'),
    ("version", false, 'V'),
    ("help", false, 'h'),
];

/// dumb-init's `-r s:r`: two numbers, s in 1-31, r in 0-31.
fn dumb_init_rewrite(v: &str) -> Option<(i32, i32)> {
    let (a, b) = v.split_once(':')?;
    // sscanf("%d:%d"): blanks before each number; anything after the second is ignored.
    let num = |s: &str, whole: bool| -> Option<i32> {
        let t = s.trim_start();
        let t = t.strip_prefix('+').unwrap_or(t);
        let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        if whole && end != t.len() {
            return None;
        }
        t[..end].parse().ok()
    };
    let (s, r) = (num(a, true)?, num(b, false)?);
    ((1..=31).contains(&s) && (0..=31).contains(&r)).then_some((s, r))
}

fn parse_dumb_init(
    prog: &str,
    args: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Parsed {
    let bad = |msg: String| Parsed::Exit {
        text: format!("{prog}: {msg}\n"),
        stderr: true,
        code: 1,
    };
    let mut o = Options::new(Personality::DumbInit, Vec::new());
    o.setsid = true;
    o.group = true;
    o.restore_signals = false;
    o.term_group_at_exit = true;
    o.verbosity = 0;
    let mut single_child = false;
    let mut rest = Vec::new();
    let mut it = args.into_iter();
    // getopt_long with "+": options end at the first word that is not one.
    while let Some(a) = it.next() {
        let bytes = a.as_bytes();
        if bytes == b"--" {
            rest.extend(it.by_ref());
            break;
        }
        if bytes.len() < 2 || bytes[0] != b'-' {
            rest.push(a);
            rest.extend(it.by_ref());
            break;
        }
        let s = a.to_string_lossy().into_owned();
        let opts: Vec<(char, Option<String>)> = if let Some(long) = s.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            // Unambiguous prefixes are accepted, as getopt_long does.
            let matches: Vec<_> = DUMB_INIT_LONG
                .iter()
                .filter(|(l, _, _)| *l == name || l.starts_with(name))
                .collect();
            let exact = matches.iter().find(|(l, _, _)| *l == name);
            let Some(&&(l, takes, c)) = exact.or(if matches.len() == 1 {
                matches.first()
            } else {
                None
            }) else {
                return bad(if matches.is_empty() {
                    format!("unrecognized option '{s}'")
                } else {
                    format!("option '{s}' is ambiguous")
                });
            };
            match (takes, value) {
                (true, Some(v)) => vec![(c, Some(v))],
                (true, None) => match it.next() {
                    Some(v) => vec![(c, Some(v.to_string_lossy().into_owned()))],
                    None => return bad(format!("option '--{l}' requires an argument")),
                },
                (false, Some(_)) => {
                    return bad(format!("option '--{l}' doesn't allow an argument"))
                }
                (false, None) => vec![(c, None)],
            }
        } else {
            match short_opts(&s[1..], |c| c == 'r', &mut it) {
                Ok(v) => v,
                Err(m) => return bad(m),
            }
        };
        for (c, v) in opts {
            match (c, v) {
                ('h', _) => {
                    return Parsed::Exit {
                        text: dumb_init_help(prog),
                        stderr: true,
                        code: 0,
                    }
                }
                ('V', _) => {
                    return Parsed::Exit {
                        text: format!("dumb-init v{DUMB_INIT_VERSION}\n"),
                        stderr: true,
                        code: 0,
                    }
                }
                ('v', _) => o.verbosity = DEBUG,
                ('c', _) => single_child = true,
                ('r', Some(v)) => match dumb_init_rewrite(&v) {
                    Some((s, r)) => {
                        o.rewrite.insert(s, r);
                    }
                    None => {
                        return Parsed::Exit {
                            text: "Usage: -r option takes <signum>:<signum>, where <signum> is \
                                   between 1 and 31.\nThis option can be specified multiple \
                                   times.\nUse --help for full usage.\n"
                                .to_string(),
                            stderr: true,
                            code: 1,
                        }
                    }
                },
                (c, _) => return bad(format!("invalid option -- '{c}'")),
            }
        }
    }
    if rest.is_empty() {
        return Parsed::Exit {
            text: format!(
                "Usage: {prog} [option] program [args]\nTry {prog} --help for full usage.\n"
            ),
            stderr: true,
            code: 1,
        };
    }
    o.command = rest;
    if env("DUMB_INIT_DEBUG").is_some_and(|v| v == "1") {
        o.verbosity = DEBUG;
    }
    if single_child || env("DUMB_INIT_SETSID").is_some_and(|v| v == "0") {
        o.setsid = false;
        o.group = false;
    }
    Parsed::Run(o)
}

/// Entry point for the `tini` and `dumb-init` names: `args` is the whole command line, argv[0] included.
pub fn main_alias(personality: Personality, args: Vec<OsString>) -> i32 {
    let prog = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_else(|| personality.name().to_string());
    let rest = args.into_iter().skip(1).collect();
    let env = |k: &str| std::env::var_os(k);
    let parsed = match personality {
        Personality::DumbInit => parse_dumb_init(&prog, rest, &env),
        _ => parse_tini(&prog, rest, &env),
    };
    match parsed {
        Parsed::Run(o) => run(&o),
        Parsed::Exit { text, stderr, code } => {
            if stderr {
                let _ = std::io::stderr().write_all(text.as_bytes());
            } else {
                let _ = std::io::stdout().write_all(text.as_bytes());
            }
            code
        }
    }
}

/// The personality an argv[0] basename asks for, if any.
pub fn personality_of(argv0: &OsStr) -> Option<Personality> {
    match std::path::Path::new(argv0).file_name()?.as_bytes() {
        b"tini" | b"tini-static" => Some(Personality::Tini),
        b"dumb-init" => Some(Personality::DumbInit),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    fn run_opts(p: Parsed) -> Options {
        match p {
            Parsed::Run(o) => o,
            Parsed::Exit { text, code, .. } => panic!("exit {code}: {text}"),
        }
    }

    fn exit_code(p: Parsed) -> (i32, bool) {
        match p {
            Parsed::Run(o) => panic!("ran {:?}", o.command),
            Parsed::Exit { code, stderr, .. } => (code, stderr),
        }
    }

    #[test]
    fn tini_permutes_options_and_reads_its_environment() {
        let o = run_opts(parse_tini(
            "tini",
            os(&[
                "-gvw", "-e3", "-e", "143", "-p", "SIGTERM", "sh", "--", "-c", "x",
            ]),
            &no_env,
        ));
        assert!(o.group && o.warn_reap && !o.setsid && o.restore_signals);
        assert_eq!(o.verbosity, 2);
        assert_eq!(o.remap_exit, [3, 143]);
        assert_eq!(o.pdeathsig, Some(libc::SIGTERM));
        assert_eq!(o.command, os(&["sh", "-c", "x"]));
        // Without `--`, an option after the program is tini's own.
        assert_eq!(
            exit_code(parse_tini("tini", os(&["echo", "-n"]), &no_env)),
            (1, true)
        );
        let env = |k: &str| match k {
            "TINI_VERBOSITY" => Some(OsString::from("3x")),
            "TINI_KILL_PROCESS_GROUP" | "TINI_SUBREAPER" => Some(OsString::new()),
            _ => None,
        };
        let o = run_opts(parse_tini("tini", os(&["-v", "true"]), &env));
        assert!(o.group && o.subreaper);
        assert_eq!(o.verbosity, 4);
        let posix = |k: &str| (k == "POSIXLY_CORRECT").then(OsString::new);
        let o = run_opts(parse_tini("tini", os(&["echo", "-n"]), &posix));
        assert_eq!(o.command, os(&["echo", "-n"]));
    }

    #[test]
    fn tini_usage_errors_exit_1() {
        for bad in [
            &[][..],
            &["-e", "256", "true"],
            &["-e", "x", "true"],
            &["-p", "KILL", "true"],
            &["-p", "9", "true"],
            &["-p", "SIGPWR", "true"],
            &["--bogus", "true"],
            &["-x", "true"],
            &["--version", "x"],
            &["-e"],
        ] {
            assert_eq!(
                exit_code(parse_tini("tini", os(bad), &no_env)),
                (1, true),
                "{bad:?}"
            );
        }
        assert_eq!(
            exit_code(parse_tini("tini", os(&["-h"]), &no_env)),
            (0, false)
        );
        assert_eq!(
            exit_code(parse_tini("tini", os(&["--version"]), &no_env)),
            (0, false)
        );
        assert_eq!(
            exit_code(parse_tini("tini", os(&["-l"]), &no_env)),
            (0, false)
        );
    }

    #[test]
    fn dumb_init_defaults_flags_and_environment() {
        let o = run_opts(parse_dumb_init("dumb-init", os(&["sh", "-v"]), &no_env));
        assert!(o.setsid && o.group && o.term_group_at_exit && !o.restore_signals);
        assert_eq!(o.command, os(&["sh", "-v"]));
        let o = run_opts(parse_dumb_init(
            "dumb-init",
            os(&["--sing", "--rewrite=15:2", "-r", "1:0", "-v", "--", "x"]),
            &no_env,
        ));
        assert!(!o.setsid && !o.group);
        assert_eq!(o.rewrite, BTreeMap::from([(15, 2), (1, 0)]));
        assert_eq!(o.verbosity, DEBUG);
        let env = |k: &str| match k {
            "DUMB_INIT_SETSID" => Some(OsString::from("0")),
            "DUMB_INIT_DEBUG" => Some(OsString::from("1")),
            _ => None,
        };
        let o = run_opts(parse_dumb_init("dumb-init", os(&["x"]), &env));
        assert!(!o.setsid && o.verbosity == DEBUG);
        let env = |k: &str| (k == "DUMB_INIT_SETSID").then(|| OsString::from("no"));
        assert!(run_opts(parse_dumb_init("dumb-init", os(&["x"]), &env)).setsid);
        for bad in [
            &[][..],
            &["-r", "15:32", "x"],
            &["-r", "0:1", "x"],
            &["-r", "TERM:0", "x"],
            &["--bogus", "x"],
            &["--ver", "x"],
            &["-x", "x"],
        ] {
            assert_eq!(
                exit_code(parse_dumb_init("dumb-init", os(bad), &no_env)),
                (1, true),
                "{bad:?}"
            );
        }
        assert_eq!(
            exit_code(parse_dumb_init("dumb-init", os(&["-h"]), &no_env)),
            (0, true)
        );
        assert_eq!(
            exit_code(parse_dumb_init("dumb-init", os(&["-V"]), &no_env)),
            (0, true)
        );
    }

    #[test]
    fn steward_signal_and_rewrite_syntax() {
        assert_eq!(parse_signal("term"), Ok(15));
        assert_eq!(parse_signal("SIGUSR1"), Ok(10));
        assert_eq!(parse_signal("40"), Ok(40));
        assert!(parse_signal("65").is_err() && parse_signal("0").is_err());
        assert_eq!(parse_rewrite("TERM:QUIT"), Ok((15, 3)));
        assert_eq!(parse_rewrite("usr1:0"), Ok((10, 0)));
        assert!(parse_rewrite("KILL:TERM").is_err());
        assert!(parse_rewrite("TERM").is_err());
        assert_eq!(tini_signal("SIGKILL"), Some(9));
        assert_eq!(tini_signal("SIGURG"), Some(23));
        assert_eq!(tini_signal("sigterm"), None);
    }
}
