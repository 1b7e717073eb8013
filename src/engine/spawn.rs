//! Starting one process: `posix_spawn` in the common case, `std::process::Command` + `pre_exec` (fork)
//! when the child must change user or umask, which posix_spawn cannot do.
//!
//! Everything that can fail in an explainable way (command lookup, user, directory, argv) is resolved in
//! the parent, so the spawn error reads like supervisord's. Both ways return once exec succeeded (or say
//! why it failed, the failed child already reaped), so the pid is a running program in its own process
//! group with default signal dispositions, an empty mask and only fds 0-2. Nobody here ever waits for a
//! child: that is `reaper`'s job.
//!
//! Why two ways: fork copies steward's page tables and write-protects its memory, so every later write by
//! any of steward's threads faults and flushes the other CPUs' TLBs until the child has exec'd. With
//! 200 programs started at once that was half of steward's CPU. posix_spawn (the C library's vfork-like
//! clone) shares the memory until exec and costs none of it.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use nix::errno::Errno;

use crate::config::model::ProcessSpec;

/// supervisord's fallback when it has no PATH of its own.
const DEFAULT_PATH: &str = "/bin:/usr/bin:/usr/local/bin";

/// Why a process could not be started. The text is what supervisord puts in `spawnerr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpawnError {
    /// `can't find command 'x'` (fault NO_FILE).
    NoFile(String),
    /// Not executable, a directory, no permission, unparsable (fault NOT_EXECUTABLE).
    NotExecutable(String),
    /// Anything else: user, directory, fork/exec failures.
    Other(String),
}

impl SpawnError {
    pub fn message(&self) -> &str {
        match self {
            SpawnError::NoFile(m) | SpawnError::NotExecutable(m) | SpawnError::Other(m) => m,
        }
    }
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

/// What every child of this steward shares: the inherited environment and the server URL.
#[derive(Debug, Clone, Default)]
pub struct SpawnContext {
    /// steward's own environment at start, the lowest layer of every child's environment.
    pub base_env: Vec<(OsString, OsString)>,
    /// `SUPERVISOR_SERVER_URL` for serverurl=AUTO; `None` when there is no control server.
    pub server_url: Option<String>,
    /// `[supervisord] environment`.
    pub supervisord_env: Vec<(String, String)>,
}

impl SpawnContext {
    pub fn from_process(
        supervisord_env: Vec<(String, String)>,
        server_url: Option<String>,
    ) -> Self {
        SpawnContext {
            base_env: std::env::vars_os().collect(),
            server_url,
            supervisord_env,
        }
    }

    fn base_path(&self) -> Option<&OsStr> {
        self.base_env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_os_str())
            .filter(|p| !p.is_empty())
    }

    /// The PATH a program's command is looked up in: the last `PATH` in its `environment=`, else
    /// steward's own unless empty, else (`None`) the default list. supervisord's rule:
    /// `[supervisord] environment` does not take part in the lookup.
    pub fn search_path<'a>(&'a self, spec: &'a ProcessSpec) -> Option<&'a OsStr> {
        spec.environment
            .iter()
            .rev()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| OsStr::new(v.as_str()))
            .or_else(|| self.base_path())
    }

    /// The file a spawn of `spec` would execute, or why there is none (supervisord's lookup).
    pub fn command(&self, spec: &ProcessSpec) -> Result<PathBuf, SpawnError> {
        let Some(program) = spec.argv.first() else {
            return Err(SpawnError::NotExecutable(format!(
                "can't parse command '{}': empty command",
                spec.command_line
            )));
        };
        resolve_command(program, self.search_path(spec))
    }
}

/// A started child and the parent's ends of its pipes.
#[derive(Debug)]
pub struct Spawned {
    pub pid: i32,
    /// Write end of the child's stdin (kept so the child does not see EOF, as under supervisord).
    pub stdin: Option<OwnedFd>,
    /// Read end of the child's stdout pipe, for `Logs::pump_tapped`.
    pub stdout: OwnedFd,
    /// `None` with redirect_stderr (it shares the stdout pipe).
    pub stderr: Option<OwnedFd>,
}

fn errno_name(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => format!("{:?}", Errno::from_raw(n)),
        None => e.to_string(),
    }
}

/// supervisord's lookup: a name with `/` is used as is; otherwise the first PATH entry where it exists
/// (dirs from `path`, else the default list). Then it must be a non-directory with an x bit that we may
/// execute.
pub fn resolve_command(program: &str, path: Option<&OsStr>) -> Result<PathBuf, SpawnError> {
    let (filename, meta) = if program.contains('/') {
        (PathBuf::from(program), std::fs::metadata(program).ok())
    } else {
        let path = path.unwrap_or(OsStr::new(DEFAULT_PATH));
        let mut found = None;
        for dir in std::env::split_paths(path) {
            let candidate = dir.join(program);
            if let Ok(m) = std::fs::metadata(&candidate) {
                found = Some((candidate, m));
                break;
            }
        }
        match found {
            Some((p, m)) => (p, Some(m)),
            None => (PathBuf::from(program), None),
        }
    };
    let shown = filename.display();
    let Some(meta) = meta else {
        return Err(SpawnError::NoFile(format!("can't find command '{shown}'")));
    };
    if meta.is_dir() {
        return Err(SpawnError::NotExecutable(format!(
            "command at '{shown}' is a directory"
        )));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(SpawnError::NotExecutable(format!(
            "command at '{shown}' is not executable"
        )));
    }
    let c = CString::new(filename.as_os_str().as_bytes()).map_err(|_| {
        SpawnError::NotExecutable(format!("command at '{shown}' is not executable"))
    })?;
    // SAFETY: access(2) reads a NUL-terminated path we own.
    if unsafe { libc::access(c.as_ptr(), libc::X_OK) } != 0 {
        return Err(SpawnError::NotExecutable(format!(
            "no permission to run command '{shown}'"
        )));
    }
    Ok(filename)
}

/// The child's environment in supervisord's precedence: steward's own < `SUPERVISOR_*` <
/// `[supervisord] environment` < the program's `environment`. With `user=`, the user's `HOME`, `USER`,
/// `LOGNAME` and `SHELL` from passwd come just above steward's own (supervisord leaves steward's
/// `HOME=/root` in place, which programs then try to write to).
pub fn child_env(spec: &ProcessSpec, ctx: &SpawnContext) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = ctx.base_env.clone();
    let mut set = |k: &str, v: &str| {
        let k = OsString::from(k);
        env.retain(|(ek, _)| *ek != k);
        env.push((k, OsString::from(v)));
    };
    set("SUPERVISOR_ENABLED", "1");
    let url = spec.serverurl.as_deref().or(ctx.server_url.as_deref());
    if let Some(url) = url {
        set("SUPERVISOR_SERVER_URL", url);
    }
    set("SUPERVISOR_PROCESS_NAME", &spec.name);
    set("SUPERVISOR_GROUP_NAME", &spec.group);
    if let Some(u) = &spec.user {
        if let Some(login) = &u.login {
            set("USER", login);
            set("LOGNAME", login);
        }
        if let Some(home) = &u.home {
            set("HOME", home);
        }
        if let Some(shell) = &u.shell {
            set("SHELL", shell);
        }
    }
    for (k, v) in ctx.supervisord_env.iter().chain(spec.environment.iter()) {
        set(k, v);
    }
    env
}

/// Credentials for the child, resolved in the parent.
#[derive(Debug, Clone)]
struct Creds {
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: Vec<libc::gid_t>,
}

fn resolve_user(spec: &ProcessSpec) -> Result<Option<Creds>, SpawnError> {
    let Some(user) = &spec.user else {
        return Ok(None);
    };
    let (Some(uid), Some(gid)) = (user.uid, user.gid) else {
        return Err(SpawnError::Other(format!(
            "couldn't setuid to {}: no such user",
            user.name
        )));
    };
    // SAFETY: geteuid/getuid have no arguments and cannot fail.
    let (euid, ruid) = unsafe { (libc::geteuid(), libc::getuid()) };
    if euid != 0 {
        if uid == ruid {
            // "Switching" to ourselves is allowed and a no-op, as in supervisord.
            return Ok(None);
        }
        return Err(SpawnError::Other(
            "Can't drop privilege as nonroot user".to_string(),
        ));
    }
    let mut groups = user.groups.clone();
    if !groups.contains(&gid) {
        groups.insert(0, gid);
    }
    Ok(Some(Creds { uid, gid, groups }))
}

fn pipe() -> Result<(OwnedFd, OwnedFd), SpawnError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| SpawnError::Other(format!("couldn't make pipe: {e:?}")))
}

/// Signal dispositions and mask as a freshly exec'd program expects them, prepared in the parent.
struct SignalReset {
    empty: libc::sigset_t,
}

/// The kernel's `struct sigaction` (handler, flags, restorer, mask) all zero: SIG_DFL. Going through
/// the raw syscall also resets 32 and 33, which glibc's wrapper refuses to touch.
const KERNEL_SIGACTION_DFL: [u64; 4] = [0; 4];

/// `sig` back to SIG_DFL. Async-signal-safe (the fork child calls it).
fn set_default(sig: i32) {
    // SAFETY: rt_sigaction with a valid, zeroed kernel sigaction and the kernel's sigset size
    // (8 bytes); errors (SIGKILL, SIGSTOP) are harmless and ignored.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            KERNEL_SIGACTION_DFL.as_ptr(),
            std::ptr::null_mut::<u64>(),
            8usize,
        );
    }
}

impl SignalReset {
    fn new() -> SignalReset {
        // SAFETY: sigemptyset only writes to our zeroed local.
        unsafe {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            SignalReset { empty }
        }
    }

    /// In the child: async-signal-safe calls only.
    fn apply(&self) {
        for sig in 1..=64 {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            set_default(sig);
        }
        // SAFETY: sets the mask from a set prepared in the parent.
        unsafe {
            libc::sigprocmask(libc::SIG_SETMASK, &self.empty, std::ptr::null_mut());
        }
    }
}

/// A failure in the child is reported to the parent as one integer (std passes the raw code through its
/// exec-status pipe): the step times STEP_BASE plus the errno, so the spawn error can say what failed.
const STEP_BASE: i32 = 100_000;
const STEP_SETGROUPS: i32 = 1;
const STEP_SETGID: i32 = 2;
const STEP_SETUID: i32 = 3;
const STEP_CHDIR: i32 = 4;

/// In the child: the current errno tagged with `step`. Does not allocate.
fn step_error(step: i32) -> io::Error {
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
    io::Error::from_raw_os_error(step * STEP_BASE + errno)
}

/// Mark every fd from 3 up close-on-exec, so the child gets exactly 0, 1 and 2. Closing them outright
/// would also close std's exec-status pipe, which must stay open until exec.
fn cloexec_from_3() {
    // SAFETY: close_range(2) with integer arguments; the CLOEXEC flag only changes fd flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if rc != 0 {
        // Pre-5.11 kernels: walk the usual fd range.
        for fd in 3..4096 {
            // SAFETY: fcntl on a possibly closed fd just fails with EBADF.
            unsafe {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
    }
}

/// Start one configured process: own process group, pipes for stdin/stdout/stderr, `user=`, `directory`,
/// `umask`, the environment, fds beyond 2 closed, signal mask and dispositions reset.
pub fn spawn_process(spec: &ProcessSpec, ctx: &SpawnContext) -> Result<Spawned, SpawnError> {
    spawn_process_fd0(spec, ctx, None)
}

/// [`spawn_process`], with `fd0` (an fcgi-program's socket) as the child's stdin instead of a pipe;
/// there is then no stdin to write to.
pub fn spawn_process_fd0(
    spec: &ProcessSpec,
    ctx: &SpawnContext,
    fd0: Option<&OwnedFd>,
) -> Result<Spawned, SpawnError> {
    if let Some(reason) = &spec.argv_error {
        return Err(SpawnError::NotExecutable(format!(
            "can't parse command '{}': {reason}",
            spec.command_line
        )));
    }
    let filename = ctx.command(spec)?;
    let program = &spec.argv[0];
    let env = child_env(spec, ctx);
    let creds = resolve_user(spec)?;
    let dir = match &spec.directory {
        Some(d) => {
            // Checked here for a clear spawn error; the child's chdir (as the target user) is the real test.
            let problem = match std::fs::metadata(d) {
                Ok(m) if m.is_dir() => None,
                Ok(_) => Some("ENOTDIR".to_string()),
                Err(e) => Some(errno_name(&e)),
            };
            if let Some(p) = problem {
                return Err(SpawnError::Other(format!(
                    "couldn't chdir to {}: {p}",
                    d.display()
                )));
            }
            Some(CString::new(d.as_os_str().as_bytes()).map_err(|_| {
                SpawnError::Other(format!("couldn't chdir to {}: EINVAL", d.display()))
            })?)
        }
        None => None,
    };

    let (stdin, stdin_w) = match fd0 {
        Some(fd) => (
            fd.try_clone()
                .map_err(|e| SpawnError::Other(format!("couldn't dup socket: {e}")))?,
            None,
        ),
        None => {
            let (r, w) = pipe()?;
            (r, Some(w))
        }
    };
    // Always a pipe, as in supervisord, even for `NONE`: the stream still has an in-memory tail and the
    // debug copy in the main log, and no program depends on /dev/null existing.
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = if spec.redirect_stderr {
        (None, None)
    } else {
        let (r, w) = pipe()?;
        (Some(r), Some(w))
    };
    if creds.is_none() && spec.umask.is_none() {
        let ends = (stdin, out_w, err_w);
        let pid = posix_spawn_process(spec, &filename, env, dir.as_deref(), ends)?;
        return Ok(Spawned {
            pid,
            stdin: stdin_w,
            stdout: out_r,
            stderr: err_r,
        });
    }
    let err_w = match err_w {
        Some(w) => w,
        None => out_w
            .try_clone()
            .map_err(|e| SpawnError::Other(format!("couldn't dup pipe: {e}")))?,
    };
    let mut cmd = Command::new(&filename);
    cmd.arg0(program)
        .args(&spec.argv[1..])
        .env_clear()
        .envs(env)
        .process_group(0)
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::from(err_w));

    let reset = SignalReset::new();
    let umask = spec.umask;
    let dir_shown = spec
        .directory
        .as_ref()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let creds_for_msg = creds.clone();
    // SAFETY: the closure runs in the forked child before exec and only makes async-signal-safe calls
    // (setgroups, setgid, setuid, chdir, umask, sigaction, sigprocmask, close_range/fcntl) on data
    // prepared above; it allocates nothing (io::Error::last_os_error does not allocate).
    unsafe {
        cmd.pre_exec(move || {
            reset.apply();
            if let Some(c) = &creds {
                if libc::setgroups(c.groups.len(), c.groups.as_ptr()) != 0 {
                    return Err(step_error(STEP_SETGROUPS));
                }
                if libc::setgid(c.gid) != 0 {
                    return Err(step_error(STEP_SETGID));
                }
                if libc::setuid(c.uid) != 0 {
                    return Err(step_error(STEP_SETUID));
                }
            }
            if let Some(d) = &dir {
                if libc::chdir(d.as_ptr()) != 0 {
                    return Err(step_error(STEP_CHDIR));
                }
            }
            if let Some(m) = umask {
                libc::umask(m as libc::mode_t);
            }
            cloexec_from_3();
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| {
        let code = e.raw_os_error().unwrap_or(0);
        let errno = errno_name(&io::Error::from_raw_os_error(code % STEP_BASE));
        let (uid, gid) = creds_for_msg.as_ref().map_or((0, 0), |c| (c.uid, c.gid));
        SpawnError::Other(match code / STEP_BASE {
            STEP_SETGROUPS => format!("couldn't set supplementary groups: {errno}"),
            STEP_SETGID => format!("couldn't setgid to {gid}: {errno}"),
            STEP_SETUID => format!("couldn't setuid to {uid}: {errno}"),
            STEP_CHDIR => format!("couldn't chdir to {}: {errno}", dir_shown),
            _ => format!("couldn't exec {}: {errno}", filename.display()),
        })
    })?;
    // Dropping `cmd` closes our copies of the child's pipe ends, so EOF comes when the child is gone.
    drop(cmd);
    Ok(Spawned {
        pid: child.id() as i32,
        stdin: stdin_w,
        stdout: out_r,
        stderr: err_r,
    })
}

/// `fd`, moved above 2 if it is one of 0-2 (steward started with those closed): the child's dup2 onto
/// 0, 1 and 2 must not overwrite a source it has yet to copy.
fn above_stdio(fd: OwnedFd) -> Result<OwnedFd, SpawnError> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    let moved = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))
        .map_err(|e| SpawnError::Other(format!("couldn't dup pipe: {e:?}")))?;
    // SAFETY: F_DUPFD_CLOEXEC returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(moved) })
}

fn c_string(bytes: &[u8], what: &str) -> Result<CString, SpawnError> {
    CString::new(bytes)
        .map_err(|_| SpawnError::NotExecutable(format!("{what} contains a NUL byte")))
}

/// [`spawn_process_fd0`] without `user=` and `umask`: the same child, started by posix_spawn. `ends`
/// are the child's stdin, stdout and stderr (`None`: stderr goes where stdout goes). Returns the pid.
fn posix_spawn_process(
    spec: &ProcessSpec,
    filename: &std::path::Path,
    env: Vec<(OsString, OsString)>,
    dir: Option<&std::ffi::CStr>,
    ends: (OwnedFd, OwnedFd, Option<OwnedFd>),
) -> Result<i32, SpawnError> {
    use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags};
    use nix::sys::signal::SigSet;

    let path = c_string(filename.as_os_str().as_bytes(), "the command")?;
    let argv = spec
        .argv
        .iter()
        .map(|a| c_string(a.as_bytes(), "the command line"))
        .collect::<Result<Vec<_>, _>>()?;
    let envp = env
        .iter()
        .map(|(k, v)| {
            c_string(
                &[k.as_bytes(), b"=", v.as_bytes()].concat(),
                "the environment",
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let stdin = above_stdio(ends.0)?;
    let out = above_stdio(ends.1)?;
    let err = ends.2.map(above_stdio).transpose()?;

    let failed = |e: Errno| SpawnError::Other(format!("couldn't start: {e:?}"));
    let mut actions = PosixSpawnFileActions::init().map_err(failed)?;
    actions.add_dup2(stdin.as_raw_fd(), 0).map_err(failed)?;
    actions.add_dup2(out.as_raw_fd(), 1).map_err(failed)?;
    let err_fd = err.as_ref().unwrap_or(&out).as_raw_fd();
    actions.add_dup2(err_fd, 2).map_err(failed)?;
    if let Some(d) = dir {
        let fa =
            &mut actions as *mut PosixSpawnFileActions as *mut libc::posix_spawn_file_actions_t;
        // SAFETY: PosixSpawnFileActions is repr(transparent) over the initialised
        // posix_spawn_file_actions_t, and `d` outlives the posix_spawn call below.
        Errno::result(unsafe { libc::posix_spawn_file_actions_addchdir_np(fa, d.as_ptr()) })
            .map_err(failed)?;
    }
    let mut attr = PosixSpawnAttr::init().map_err(failed)?;
    attr.set_flags(
        PosixSpawnFlags::POSIX_SPAWN_SETPGROUP
            | PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK
            | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF,
    )
    .map_err(failed)?;
    attr.set_pgroup(nix::unistd::Pid::from_raw(0))
        .map_err(failed)?;
    attr.set_sigmask(&SigSet::empty()).map_err(failed)?;
    attr.set_sigdefault(&every_signal()).map_err(failed)?;

    // Every fd steward opens is close-on-exec (`prepare_for_spawning` marked the ones it inherited), so
    // the child gets exactly the three dup2'd above.
    let pid =
        nix::spawn::posix_spawn(path.as_c_str(), &actions, &attr, &argv, &envp).map_err(|e| {
            let errno = format!("{e:?}");
            SpawnError::Other(match (&spec.directory, dir) {
                (Some(d), Some(c))
                    if nix::unistd::access(c, nix::unistd::AccessFlags::X_OK).is_err() =>
                {
                    format!("couldn't chdir to {}: {errno}", d.display())
                }
                _ => format!("couldn't exec {}: {errno}", filename.display()),
            })
        })?;
    Ok(pid.as_raw())
}

/// Every signal, the C library's own (32-34) included: its sigfillset leaves those out, and glibc's
/// posix_spawn then gives them to the child ignored.
fn every_signal() -> nix::sys::signal::SigSet {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigset_t is a plain bit array on Linux; all bits set is every signal, and the write
    // initialises the whole value before it is read.
    unsafe {
        std::ptr::write_bytes(set.as_mut_ptr(), 0xff, 1);
        nix::sys::signal::SigSet::from_sigset_t_unchecked(set.assume_init())
    }
}

/// Once at start, what posix_spawn cannot do per child: mark every fd steward inherited above 2
/// close-on-exec (everything steward opens itself is already), so programs get exactly 0-2; and put
/// back to default the signals from 32 up that steward inherited ignored. posix_spawn resets every
/// other signal for the child, but not the C library's own (32-34), and an ignored disposition is the
/// one thing exec keeps.
pub fn prepare_for_spawning() {
    cloexec_from_3();
    for sig in 32..=64 {
        let mut old = [0u64; 4];
        // SAFETY: rt_sigaction only reads the current disposition into our buffer (the kernel's
        // layout: handler, flags, restorer, mask) with the kernel's sigset size.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                std::ptr::null::<u64>(),
                old.as_mut_ptr(),
                8usize,
            )
        };
        if rc == 0 && old[0] == libc::SIG_IGN as u64 {
            set_default(sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::process::tests::spec;

    #[test]
    fn resolve_errors_read_like_supervisord() {
        assert_eq!(
            resolve_command("/nonexistent/thing", None),
            Err(SpawnError::NoFile(
                "can't find command '/nonexistent/thing'".into()
            ))
        );
        assert_eq!(
            resolve_command("/tmp", None),
            Err(SpawnError::NotExecutable(
                "command at '/tmp' is a directory".into()
            ))
        );
        assert_eq!(
            resolve_command("no-such-program-here", Some(OsStr::new("/bin"))),
            Err(SpawnError::NoFile(
                "can't find command 'no-such-program-here'".into()
            ))
        );
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("plain");
        std::fs::write(&f, "x").unwrap();
        assert!(matches!(
            resolve_command(f.to_str().unwrap(), None),
            Err(SpawnError::NotExecutable(m)) if m.ends_with("is not executable")
        ));
        let found = resolve_command("sh", Some(OsStr::new("/nonexistent:/bin:/usr/bin"))).unwrap();
        assert!(found.ends_with("sh"));
        assert!(found.is_absolute());
    }

    #[test]
    fn failures_in_the_child_name_their_step() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "switching users needs root: run the tests as root (CI does)"
        );
        // Forks: keep away from the supervisor tests' waitpid(-1).
        let _guard = crate::engine::supervisor::tests::SERIAL
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let d = tempfile::tempdir().unwrap();
        let private = d.path().join("private");
        std::fs::create_dir(&private).unwrap();
        std::fs::set_permissions(
            &private,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let mut s = spec("web", &["/bin/true"]);
        s.user = Some(crate::config::model::UserSpec {
            name: "nobody".into(),
            uid: Some(65534),
            gid: Some(65534),
            groups: vec![],
            login: Some("nobody".into()),
            home: Some("/nonexistent".into()),
            shell: None,
        });
        s.directory = Some(private.clone());
        let e = spawn_process(&s, &SpawnContext::default()).unwrap_err();
        assert_eq!(
            e.message(),
            format!("couldn't chdir to {}: EACCES", private.display())
        );
    }

    #[test]
    fn env_precedence() {
        let mut s = spec("web", &["x"]);
        s.group = "g".into();
        s.environment = vec![("A".into(), "prog".into()), ("B".into(), "prog".into())];
        let ctx = SpawnContext {
            base_env: vec![
                ("A".into(), "base".into()),
                ("C".into(), "base".into()),
                ("SUPERVISOR_ENABLED".into(), "0".into()),
            ],
            server_url: Some("unix:///run/s.sock".into()),
            supervisord_env: vec![("B".into(), "sup".into()), ("D".into(), "sup".into())],
        };
        let env: std::collections::BTreeMap<_, _> = child_env(&s, &ctx)
            .into_iter()
            .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
            .collect();
        assert_eq!(env["A"], "prog");
        assert_eq!(env["B"], "prog");
        assert_eq!(env["C"], "base");
        assert_eq!(env["D"], "sup");
        assert_eq!(env["SUPERVISOR_ENABLED"], "1");
        assert_eq!(env["SUPERVISOR_PROCESS_NAME"], "web");
        assert_eq!(env["SUPERVISOR_GROUP_NAME"], "g");
        assert_eq!(env["SUPERVISOR_SERVER_URL"], "unix:///run/s.sock");
    }

    #[test]
    fn search_path_is_the_programs_own_last_path() {
        let mut s = spec("web", &["x"]);
        s.environment = vec![
            ("PATH".into(), "/first".into()),
            ("A".into(), "b".into()),
            ("PATH".into(), "/opt/app/bin:/bin".into()),
        ];
        let ctx = SpawnContext::from_process(Vec::new(), None);
        assert_eq!(ctx.search_path(&s), Some(OsStr::new("/opt/app/bin:/bin")));
    }

    #[test]
    fn missing_directory_and_user_are_spawn_errors() {
        let mut s = spec("web", &["/bin/true"]);
        s.directory = Some("/nonexistent-dir".into());
        let e = spawn_process(&s, &SpawnContext::default()).unwrap_err();
        assert_eq!(e.message(), "couldn't chdir to /nonexistent-dir: ENOENT");
        let mut s = spec("web", &["/bin/true"]);
        s.user = Some(crate::config::model::UserSpec {
            name: "nosuchuser".into(),
            uid: None,
            gid: None,
            groups: vec![],
            login: None,
            home: None,
            shell: None,
        });
        let e = spawn_process(&s, &SpawnContext::default()).unwrap_err();
        assert_eq!(e.message(), "couldn't setuid to nosuchuser: no such user");
        let mut s = spec("web", &["x"]);
        s.argv = vec![];
        s.argv_error = Some("No closing quotation".into());
        assert!(matches!(
            spawn_process(&s, &SpawnContext::default()),
            Err(SpawnError::NotExecutable(_))
        ));
    }
}
