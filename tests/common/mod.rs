//! Shared harness for black-box tests of the steward binary. Waits poll for a condition with a deadline;
//! nothing sleeps as synchronisation.
#![allow(dead_code)]

pub mod fake;
pub mod http;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A real dependency a test cannot do without is missing: that is a failure, never a skip. The
/// message says how to get it (`scripts/test.sh` installs and points at all of them).
#[track_caller]
pub fn missing(what: &str) -> ! {
    panic!("{what} is missing: run the suite with scripts/test.sh, which installs it and sets the environment")
}

/// Root is a real dependency of the tests that switch users or create them.
#[track_caller]
pub fn require_root(why: &str) {
    if !nix::unistd::geteuid().is_root() {
        missing(&format!("root ({why})"));
    }
}

/// A TCP port on loopback that nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Voluntary + involuntary context switches of every thread of `pid`.
pub fn switches(pid: i32) -> u64 {
    let mut total = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
        for l in status.lines() {
            if l.contains("ctxt_switches:") {
                total += l.split_whitespace().last().unwrap().parse::<u64>().unwrap();
            }
        }
    }
    total
}

/// The context switches `pid` makes in `window` once it has settled (no switch across a 100 ms look,
/// waited for up to `settle`). The window is a measurement, not synchronisation.
pub fn idle_wakeups(pid: i32, settle: Duration, window: Duration) -> u64 {
    let deadline = Instant::now() + settle;
    let mut before = switches(pid);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = switches(pid);
        if now == before {
            break;
        }
        assert!(Instant::now() < deadline, "pid {pid} never went idle");
        before = now;
    }
    std::thread::sleep(window);
    switches(pid) - before
}

/// Runs `cmd` with `input` on its stdin (then closed) and waits for it; what it printed is in the
/// result for the streams `cmd` pipes.
pub fn output_with_input(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = cmd.stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_steward"))
}

/// A fresh temporary directory, removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("steward-test-")
        .tempdir()
        .expect("tempdir")
}

/// Write `text` to `dir/name` and return the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    p
}

/// Run `steward ARGS` to completion.
pub fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run steward")
}

/// Poll `f` every 10 ms until it returns `Some`, or panic with `what` after `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Poll until `path` exists and contains `needle`; returns the file's text.
pub fn wait_for_text(path: &Path, needle: &str, timeout: Duration) -> String {
    wait_for(
        timeout,
        &format!("{needle:?} in {}", path.display()),
        || {
            // Lossy: a program's output may be any bytes, and the needle must still be found.
            let t = String::from_utf8_lossy(&std::fs::read(path).ok()?).into_owned();
            t.contains(needle).then_some(t)
        },
    )
}

/// Direct children of `pid` (all its threads'), from /proc.
pub fn children(pid: i32) -> Vec<i32> {
    let mut out = vec![];
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        let path = t.path().join("children");
        if let Ok(text) = std::fs::read_to_string(path) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            );
        }
    }
    out
}

/// Every descendant of `pid` (not `pid` itself).
pub fn descendants(pid: i32) -> Vec<i32> {
    let mut all = vec![];
    let mut todo = children(pid);
    while let Some(p) = todo.pop() {
        all.push(p);
        todo.extend(children(p));
    }
    all
}

/// The state letter of a process (`R`, `S`, `Z`…), `None` once it is gone.
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: the state follows the last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The command name of a process (`/proc/PID/comm` without the newline).
pub fn comm(pid: i32) -> Option<String> {
    let c = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(c.trim_end().to_string())
}

/// Peak resident memory (`VmHWM`) of a process, in kB.
pub fn vm_hwm_kb(pid: i32) -> u64 {
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    st.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

/// `steward ctl status` against the socket exits 0.
pub fn answers_status(sock: &Path) {
    let out = run(&["ctl", "-s", &format!("unix://{}", sock.display()), "status"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

/// utime + stime of a process in clock ticks.
pub fn cpu_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command: state is field 3, utime 14, stime 15 (1-based over the whole line).
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// How many times `needle` occurs in `hay`.
pub fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// Byte offset of the first occurrence of `needle` in `hay`, panicking with the log if missing.
pub fn pos(hay: &str, needle: &str) -> usize {
    hay.find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in log:\n{hay}"))
}

/// Milliseconds since midnight of each log line containing `needle` (supervisord's
/// `YYYY-MM-DD HH:MM:SS,mmm` prefix), in order.
pub fn times_of(hay: &str, needle: &str) -> Vec<i64> {
    hay.lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| {
            let t = l.get(11..23)?;
            let h: i64 = t.get(0..2)?.parse().ok()?;
            let m: i64 = t.get(3..5)?.parse().ok()?;
            let s: i64 = t.get(6..8)?.parse().ok()?;
            let ms: i64 = t.get(9..12)?.parse().ok()?;
            Some(((h * 60 + m) * 60 + s) * 1000 + ms)
        })
        .collect()
}

/// A supervisord.conf for tests: `[supervisord]` with everything inside `dir`, then `programs`.
/// `{dir}` in `programs` is replaced by the directory.
pub fn conf(dir: &Path, programs: &str) -> PathBuf {
    conf_with(dir, "", programs)
}

/// [`conf`] with more `[supervisord]` lines (`key=value\n…`, `{dir}` replaced too); later keys win.
pub fn conf_with(dir: &Path, supervisord: &str, programs: &str) -> PathBuf {
    let d = dir.display().to_string();
    let text = format!(
        "[supervisord]\nnodaemon=true\nlogfile={d}/steward.log\npidfile={d}/steward.pid\nchildlogdir={d}\n{}\n\n{}",
        supervisord.replace("{dir}", &d),
        programs.replace("{dir}", &d)
    );
    write(dir, "supervisord.conf", &text)
}

/// steward running as PID 1 of a new PID namespace: `unshare --pid --fork --mount-proc steward ARGS`.
/// `init_pid()` is steward's pid as seen from outside (the child of `unshare`). Killed on drop.
pub struct Pid1 {
    pub child: Child,
    pub stdout_path: PathBuf,
    pub stderr_path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Pid1 {
    pub fn start(args: &[&str]) -> Pid1 {
        Self::start_in(args, None)
    }

    /// Like [`Pid1::start`] with another binary path (e.g. a `supervisord` symlink to steward).
    pub fn start_bin(bin: &Path, args: &[&str]) -> Pid1 {
        Self::start_with(bin, args, None)
    }

    pub fn start_in(args: &[&str], cwd: Option<&Path>) -> Pid1 {
        Self::start_with(&bin(), args, cwd)
    }

    fn start_with(bin: &Path, args: &[&str], cwd: Option<&Path>) -> Pid1 {
        let dir = tempdir();
        let stdout_path = dir.path().join("stdout");
        let stderr_path = dir.path().join("stderr");
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .arg(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout_path).unwrap())
            .stderr(std::fs::File::create(&stderr_path).unwrap());
        if let Some(c) = cwd {
            cmd.current_dir(c);
        }
        let child = cmd.spawn().expect("spawn unshare");
        Pid1 {
            child,
            stdout_path,
            stderr_path,
            _dir: dir,
        }
    }

    /// The pid of steward (PID 1 inside), seen from outside.
    pub fn init_pid(&self) -> i32 {
        let unshare = self.child.id();
        wait_for(
            Duration::from_secs(5),
            "steward to start under unshare",
            || {
                let kids =
                    std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
                        .ok()?;
                kids.split_whitespace().next()?.parse().ok()
            },
        )
    }

    /// steward in a new PID namespace with a config built by [`conf`] in its own fresh directory
    /// (returned; also the working directory).
    pub fn with_conf(programs: &str) -> (Pid1, tempfile::TempDir) {
        Self::with_conf_sd("", programs)
    }

    /// [`Pid1::with_conf`] with more `[supervisord]` lines (see [`conf_with`]).
    pub fn with_conf_sd(supervisord: &str, programs: &str) -> (Pid1, tempfile::TempDir) {
        let dir = tempdir();
        Self::in_dir(dir, supervisord, programs)
    }

    /// [`Pid1::with_conf_sd`] in a directory the test prepared (files to clean up, say).
    pub fn in_dir(
        dir: tempfile::TempDir,
        supervisord: &str,
        programs: &str,
    ) -> (Pid1, tempfile::TempDir) {
        let path = conf_with(dir.path(), supervisord, programs);
        let p = Self::start_in(&["-c", path.to_str().unwrap()], Some(dir.path()));
        (p, dir)
    }

    /// Every process in the namespace except steward, as outside pids.
    pub fn namespace_pids(&self) -> Vec<i32> {
        descendants(self.init_pid())
    }

    /// Processes in the namespace that are zombies.
    pub fn zombies(&self) -> Vec<i32> {
        self.namespace_pids()
            .into_iter()
            .filter(|&p| proc_state(p) == Some('Z'))
            .collect()
    }

    /// Wait until `needle` occurs `n` times in steward's stdout; returns all of stdout.
    pub fn wait_count(&self, needle: &str, n: usize, timeout: Duration) -> String {
        wait_for(
            timeout,
            &format!("{n} x {needle:?} in steward's stdout"),
            || {
                let t = self.stdout();
                (count(&t, needle) >= n).then_some(t)
            },
        )
    }

    /// Send `sig` to steward (as `docker stop` does).
    pub fn signal(&self, sig: i32) {
        let pid = self.init_pid();
        // SAFETY: kill(2) with a pid we read from /proc; no memory is touched.
        unsafe {
            libc::kill(pid, sig);
        }
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.stdout_path).unwrap_or_default()).into_owned()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Wait for `needle` in steward's stdout (its log echo); returns all of stdout.
    pub fn wait_stdout(&self, needle: &str, timeout: Duration) -> String {
        wait_for_text(&self.stdout_path, needle, timeout)
    }

    /// Wait for steward (and so the namespace) to end; returns unshare's exit status code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let child = &mut self.child;
        wait_for(timeout, "steward to exit", || {
            child.try_wait().ok().flatten().map(|s| s.code())
        })
    }
}

impl Drop for Pid1 {
    fn drop(&mut self) {
        // --kill-child makes the whole namespace go with unshare.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
