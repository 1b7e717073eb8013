//! Rotation compared with the real supervisord 4.3.0 on the same config: same file names, same backup
//! count, every rotated file at least `maxbytes` and at most one read above it, same bytes overall.
//!
//! Needs `SUPERVISORD=/path/to/venv/bin/supervisord` (scripts/test.sh sets it); without it the test
//! fails.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use steward::config::*;
use steward::logs::{Logs, Stream};

mod common;

const MAX: u64 = 1024 * 1024;
const SCRIPT: &str = "seq 1 1000000";

fn log_spec(target: LogTarget, maxbytes: u64, backups: u32) -> LogSpec {
    LogSpec {
        maxbytes,
        backups,
        ..LogSpec::new(target)
    }
}

fn process(stdout: LogSpec) -> ProcessSpec {
    ProcessSpec {
        command_line: SCRIPT.into(),
        autorestart: AutoRestart::Never,
        stdout,
        stderr: LogSpec::new(LogTarget::None),
        console_prefix: ConsolePrefix::Off,
        ..ProcessSpec::new("seq", &[])
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

/// `(name, size)` of every file in `dir`, sorted. While a writer rotates, a file may be renamed between
/// the directory read and the stat: it is skipped here and seen by the next poll.
fn listing(dir: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let len = e.metadata().ok()?.len();
            Some((e.file_name().to_string_lossy().into_owned(), len))
        })
        .collect();
    v.sort();
    v
}

fn concat(dir: &Path, backups: u32) -> Vec<u8> {
    let mut all = Vec::new();
    for i in (1..=backups).rev() {
        all.extend(std::fs::read(dir.join(format!("seq.log.{i}"))).unwrap_or_default());
    }
    all.extend(std::fs::read(dir.join("seq.log")).unwrap_or_default());
    all
}

fn run_supervisord(sv: &Path, work: &Path, backups: u32) -> PathBuf {
    let logs = work.join("supervisord-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let conf = work.join("sv.conf");
    let mainlog = work.join("supervisord.log");
    std::fs::write(
        &conf,
        format!(
            "[supervisord]\nnodaemon=true\nlogfile={}\npidfile={}\nchildlogdir={}\n\
             [program:seq]\ncommand={SCRIPT}\nstdout_logfile={}\nstdout_logfile_maxbytes=1MB\n\
             stdout_logfile_backups={backups}\nautorestart=false\nstartsecs=0\n",
            mainlog.display(),
            work.join("supervisord.pid").display(),
            work.display(),
            logs.join("seq.log").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(sv)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let expected: u64 = (1..=1_000_000u64)
        .map(|i| i.to_string().len() as u64 + 1)
        .sum();
    // Done when the program exited and, with enough backups, every byte is on disk.
    common::wait_for(
        Duration::from_secs(60),
        "supervisord to log all output",
        || {
            let exited = std::fs::read_to_string(&mainlog)
                .unwrap_or_default()
                .contains("exited: seq");
            let on_disk: u64 = listing(&logs).iter().map(|(_, s)| s).sum();
            (exited && (on_disk == expected || backups < 10)).then_some(())
        },
    );
    // SIGTERM and wait: supervisord drains and closes its logs on the way out.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGTERM,
    )
    .unwrap();
    child.wait().unwrap();
    logs
}

fn run_steward(work: &Path, backups: u32) -> PathBuf {
    let logs = work.join("steward-logs");
    std::fs::create_dir_all(&logs).unwrap();
    let spec = process(log_spec(
        LogTarget::File(logs.join("seq.log")),
        MAX,
        backups,
    ));
    let l = Logs::new(&config(work, spec.clone()));
    let (r, w): (OwnedFd, OwnedFd) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let mut c = Command::new("sh")
        .arg("-c")
        .arg(SCRIPT)
        .stdout(Stdio::from(w))
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        l.pump_tapped(&spec, Stream::Stdout, r, None)
            .unwrap()
            .await
            .unwrap()
    });
    c.wait().unwrap();
    logs
}

fn compare(sv: &Path, backups: u32) {
    let work = tempfile::tempdir().unwrap();
    let a = run_supervisord(sv, work.path(), backups);
    let b = run_steward(work.path(), backups);
    let (la, lb) = (listing(&a), listing(&b));
    eprintln!("backups={backups}\n  supervisord: {la:?}\n  steward:     {lb:?}");
    let names = |l: &[(String, u64)]| l.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&la), names(&lb), "file names differ");
    for (n, s) in la.iter().chain(lb.iter()) {
        if n != "seq.log" {
            assert!(
                (MAX..MAX + (128 << 10)).contains(s),
                "{n}: {s} bytes is not within one read above maxbytes"
            );
        }
    }
    if backups >= 10 {
        assert!(
            concat(&a, backups) == concat(&b, backups),
            "the two logs hold different bytes"
        );
    }
}

#[test]
fn rotation_matches_supervisord() {
    let Some(sv) = std::env::var_os("SUPERVISORD").map(PathBuf::from) else {
        common::missing("the real supervisord (SUPERVISORD)");
    };
    compare(&sv, 3);
    compare(&sv, 20);
}
