//! A real full disk: a 256 KiB tmpfs mounted in a private mount namespace (`unshare -m`, root only).
//! The test re-runs itself inside the namespace; where that is impossible it fails.

mod common;

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use steward::config::*;
use steward::logs::{Logs, Stream};

const INNER: &str = "STEWARD_TEST_TINYFS";

fn log_spec(target: LogTarget) -> LogSpec {
    LogSpec::new(target)
}

fn process(path: &Path) -> ProcessSpec {
    ProcessSpec {
        stdout: log_spec(LogTarget::File(path.to_path_buf())),
        stderr: log_spec(LogTarget::None),
        console_prefix: ConsolePrefix::Off,
        ..ProcessSpec::new("full", &[])
    }
}

fn config(dir: &Path, p: ProcessSpec) -> Config {
    Config::of_processes(
        SupervisordSpec {
            logfile: LogTarget::None,
            pidfile: None,
            silent: true,
            nocleanup: true,
            ..SupervisordSpec::new(dir, dir)
        },
        vec![p],
    )
}

/// Bytes waiting in the pipe.
fn pending(fd: &OwnedFd) -> i32 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which is valid for the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) };
    if rc < 0 {
        -1
    } else {
        n
    }
}

fn stream_bytes() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..20_000 {
        v.extend_from_slice(format!("{i:06} before the disk filled up\n").as_bytes());
    }
    v
}

#[test]
fn full_disk_loses_only_what_did_not_fit_and_recovers() {
    let Some(dir) = std::env::var_os(INNER).map(PathBuf::from) else {
        return outer();
    };
    // Inside the namespace, `dir` is a 256 KiB tmpfs. Fill most of it.
    let filler = dir.join("filler");
    std::fs::write(&filler, vec![0u8; 192 << 10]).unwrap();
    let log = dir.join("full.log");
    let spec = process(&log);
    let logs = Logs::new(&config(&dir, spec.clone()));
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let before = stream_bytes();
    let expect_prefix = before[..4096].to_vec();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::File::from(w.try_clone().unwrap());
        // ~660 KB into ~64 KiB of space: the child must never block on the full disk.
        f.write_all(&before).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while pending(&w) != 0 {
            assert!(
                Instant::now() < deadline,
                "the pump stopped draining on a full disk"
            );
            std::thread::yield_now();
        }
        // Space comes back.
        std::fs::remove_file(&filler).unwrap();
        // Whatever of the chunk in flight was lost is lost; what comes next must land.
        f.write_all(b"after the disk had space again\n").unwrap();
        drop(w);
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        logs.pump_tapped(&spec, Stream::Stdout, r, None)
            .unwrap()
            .await
            .unwrap()
    });
    writer.join().unwrap();
    let got = std::fs::read(&log).unwrap();
    assert!(
        got.starts_with(&expect_prefix),
        "the start of the output is missing"
    );
    assert!(
        got.ends_with(b"after the disk had space again\n"),
        "writing did not recover"
    );
    assert!(
        got.len() < stream_bytes().len(),
        "nothing was lost on a full disk?"
    );
}

/// Re-run this test as root in a private mount namespace with a tiny tmpfs.
fn outer() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let script = format!(
        "mount -t tmpfs -o size=256k tmpfs '{d}' || exit 77; exec '{exe}' --exact full_disk_loses_only_what_did_not_fit_and_recovers --nocapture",
        d = dir.path().display(),
        exe = exe.display()
    );
    let out = Command::new("unshare")
        .arg("-m")
        .arg("sh")
        .arg("-c")
        .arg(&script)
        .env(INNER, dir.path())
        .output();
    match out {
        Ok(o)
            if o.status.code() == Some(77)
                || (!o.status.success() && o.status.code() == Some(1) && o.stdout.is_empty()) =>
        {
            common::missing("a tmpfs mountable in a private mount namespace");
        }
        Ok(o) => assert!(
            o.status.success(),
            "inner run failed:\n{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => common::missing(&format!("unshare ({e})")),
    }
}
