//! Shared harness for black-box tests of the steward binary. Waits poll for a condition with a deadline;
//! nothing sleeps as synchronisation.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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
            let t = std::fs::read_to_string(path).ok()?;
            t.contains(needle).then_some(t)
        },
    )
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

    pub fn start_in(args: &[&str], cwd: Option<&Path>) -> Pid1 {
        let dir = tempdir();
        let stdout_path = dir.path().join("stdout");
        let stderr_path = dir.path().join("stderr");
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .arg(bin())
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

    /// Send `sig` to steward (as `docker stop` does).
    pub fn signal(&self, sig: i32) {
        let pid = self.init_pid();
        // SAFETY: kill(2) with a pid we read from /proc; no memory is touched.
        unsafe {
            libc::kill(pid, sig);
        }
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout_path).unwrap_or_default()
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
