//! Real children writing through the log pump: lossless rotation, whole prefixed console lines.

use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use steward::config::*;
use steward::logs::{Console, Logs, Stream};

fn log_spec(target: LogTarget, maxbytes: u64, backups: u32) -> LogSpec {
    LogSpec {
        maxbytes,
        backups,
        ..LogSpec::new(target)
    }
}

fn process(name: &str, stdout: LogSpec) -> ProcessSpec {
    ProcessSpec {
        stdout,
        stderr: LogSpec::new(LogTarget::None),
        ..ProcessSpec::new(name, &[])
    }
}

fn config(dir: &Path, procs: Vec<ProcessSpec>) -> Config {
    Config::of_processes(
        SupervisordSpec {
            logfile: LogTarget::None,
            pidfile: None,
            silent: true,
            nocleanup: true,
            ..SupervisordSpec::new(dir, dir)
        },
        procs,
    )
}

fn pipe() -> (OwnedFd, OwnedFd) {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap()
}

/// Spawn `sh -c script` with stdout on a new pipe; returns the child and the read end.
fn child(script: &str) -> (std::process::Child, OwnedFd) {
    let (r, w) = pipe();
    let c = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdout(Stdio::from(w))
        .spawn()
        .unwrap();
    // The parent's copy of the write end went into Stdio and was closed by spawn: EOF comes at exit.
    (c, r)
}

#[test]
fn a_million_numbered_lines_survive_rotation_exactly_once_in_order() {
    const LINES: usize = 1_000_000;
    const MAX: u64 = 1024 * 1024; // supervisord's "1MB"
    const BACKUPS: u32 = 20;
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("seq.log");
    let spec = process("seq", log_spec(LogTarget::File(p.clone()), MAX, BACKUPS));
    let logs = Logs::new(&config(d.path(), vec![spec.clone()]));
    let (mut c, r) = child(&format!("seq 1 {LINES}"));
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
    assert!(c.wait().unwrap().success());

    let mut files = Vec::new();
    for i in (1..=BACKUPS).rev() {
        let b = PathBuf::from(format!("{}.{i}", p.display()));
        if b.exists() {
            files.push(b);
        }
    }
    files.push(p.clone());
    // 6,888,897 bytes at ≥1 MiB per rotation: six full backups and the rest in the live file.
    assert_eq!(files.len(), 7, "{files:?}");
    for (n, f) in files.iter().enumerate() {
        let len = std::fs::metadata(f).unwrap().len();
        if n + 1 < files.len() {
            // Rotated after the write that reached the limit: at most one read above it.
            assert!((MAX..MAX + (1 << 20)).contains(&len), "{f:?} {len}");
        } else {
            assert!(len < MAX);
        }
    }
    let mut all = Vec::new();
    for f in &files {
        all.extend_from_slice(&std::fs::read(f).unwrap());
    }
    let mut expect = 1usize;
    for line in all.split(|&b| b == b'\n') {
        if expect > LINES {
            assert!(line.is_empty(), "trailing data after the last line");
            break;
        }
        assert_eq!(
            line,
            expect.to_string().as_bytes(),
            "line {expect} missing, duplicated or out of order"
        );
        expect += 1;
    }
    assert_eq!(expect, LINES + 1);
}

#[test]
fn two_programs_at_full_speed_on_the_console_give_whole_prefixed_lines() {
    const LINES: usize = 200_000;
    let d = tempfile::tempdir().unwrap();
    let (cr, cw) = pipe();
    let (er, ew) = pipe();
    let stdout = Console::from_fd(cw);
    let stderr = Console::from_fd(ew);
    drop(er);
    let a = process("alpha", log_spec(LogTarget::Stdout, 0, 0));
    let b = process("beta", log_spec(LogTarget::Stdout, 0, 0));
    let logs = Logs::with_consoles(
        &config(d.path(), vec![a.clone(), b.clone()]),
        stdout,
        stderr,
    );
    // Long-ish lines so many straddle pipe reads.
    let script = format!("seq -f '%.0f xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' 1 {LINES}");
    let (mut ca, ra) = child(&script);
    let (mut cb, rb) = child(&script);
    let reader = std::thread::spawn(move || {
        let mut f = BufReader::new(std::fs::File::from(cr));
        let mut next = [1usize; 2];
        let mut line = String::new();
        for _ in 0..2 * LINES {
            line.clear();
            f.read_line(&mut line).unwrap();
            let (who, rest) = line
                .split_once(" | ")
                .unwrap_or_else(|| panic!("unprefixed line {line:?}"));
            let i = match who {
                "alpha" => 0,
                "beta" => 1,
                _ => panic!("bad prefix in {line:?}"),
            };
            let (n, tail) = rest
                .split_once(' ')
                .unwrap_or_else(|| panic!("torn line {line:?}"));
            assert_eq!(n.parse::<usize>().unwrap(), next[i], "{line:?}");
            assert_eq!(tail, format!("{}\n", "x".repeat(69)), "torn line {line:?}");
            next[i] += 1;
        }
        next
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let ha = logs.pump_tapped(&a, Stream::Stdout, ra, None).unwrap();
        let hb = logs.pump_tapped(&b, Stream::Stdout, rb, None).unwrap();
        ha.await.unwrap();
        hb.await.unwrap();
    });
    assert!(ca.wait().unwrap().success() && cb.wait().unwrap().success());
    assert!(logs.flush(Duration::from_secs(30)));
    assert_eq!(reader.join().unwrap(), [LINES + 1; 2]);
}
