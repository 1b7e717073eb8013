//! Micro-benchmark of the log pump alone: a child writes N MiB of log lines to a pipe, steward's pump
//! writes them to a rotated file (supervisord's defaults: 50 MB, 10 backups) — beside the same command
//! writing straight to a file (the limit) and the pump feeding the prefixed console (to /dev/null).
//!
//! `cargo bench --bench logs [-- MIB [DIR]]` (default 256 MiB in /tmp). Prints MiB/s; asserts nothing.

use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use steward::config::*;
use steward::logs::{Console, Logs, Stream};

fn log_spec(target: LogTarget, maxbytes: u64, backups: u32) -> LogSpec {
    LogSpec {
        target,
        also: Vec::new(),
        maxbytes,
        backups,
        capture_maxbytes: 0,
        events_enabled: false,
        syslog: false,
    }
}

fn process(name: &str, stdout: LogSpec) -> ProcessSpec {
    ProcessSpec {
        name: name.into(),
        group: name.into(),
        program: name.into(),
        command_line: String::new(),
        argv: Vec::new(),
        argv_error: None,
        process_num: 0,
        numprocs: 1,
        priority: 999,
        autostart: true,
        startsecs: 1,
        startretries: 3,
        autorestart: AutoRestart::Unexpected,
        exitcodes: vec![0],
        stopsignal: 15,
        stopwaitsecs: 10,
        stopasgroup: false,
        killasgroup: false,
        user: None,
        redirect_stderr: false,
        stdout,
        stderr: log_spec(LogTarget::None, 0, 0),
        environment: Vec::new(),
        directory: None,
        umask: None,
        serverurl: None,
        console_prefix: ConsolePrefix::Text(format!("{name} | ")),
        file: PathBuf::from("bench"),
        line: 0,
    }
}

fn config(dir: &Path, p: ProcessSpec) -> Config {
    Config {
        source: PathBuf::from("bench"),
        files: Vec::new(),
        supervisord: SupervisordSpec {
            logfile: LogTarget::None,
            logfile_maxbytes: 0,
            logfile_backups: 0,
            loglevel: LogLevel::Info,
            pidfile: None,
            umask: 0o22,
            nodaemon: true,
            silent: true,
            minfds: 1024,
            minprocs: 200,
            nocleanup: true,
            childlogdir: dir.to_path_buf(),
            user: None,
            directory: None,
            strip_ansi: false,
            environment: Vec::new(),
            identifier: "supervisor".into(),
        },
        groups: vec![GroupSpec {
            name: p.group.clone(),
            priority: 999,
            kind: GroupKind::Program,
            processes: vec![p],
        }],
        unix_http_server: None,
        inet_http_server: None,
        supervisorctl: None,
        warnings: Vec::new(),
    }
}

fn make_source(path: &Path, mib: usize) {
    if std::fs::metadata(path)
        .map(|m| m.len() == (mib << 20) as u64)
        .unwrap_or(false)
    {
        return;
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut written = 0;
    let mut i = 0u64;
    let target = mib << 20;
    while written < target {
        let line = format!(
            "2026-01-01T00:00:00Z INFO request {i:010} GET /api/v1/items?page=3 200 1.234ms\n"
        );
        let take = line.len().min(target - written);
        f.write_all(&line.as_bytes()[..take]).unwrap();
        written += take;
        i += 1;
    }
}

fn clean(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("out.log") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn direct(src: &Path, dir: &Path) -> Duration {
    clean(dir);
    let out = std::fs::File::create(dir.join("out.log")).unwrap();
    let t = Instant::now();
    let st = Command::new("cat")
        .arg(src)
        .stdout(Stdio::from(out))
        .status()
        .unwrap();
    assert!(st.success());
    t.elapsed()
}

fn pumped(src: &Path, dir: &Path, target: LogTarget, console: Option<Console>) -> Duration {
    clean(dir);
    let spec = process("bench", log_spec(target, 50_000_000, 10));
    let cfg = config(dir, spec.clone());
    let logs = match console {
        Some(c) => Logs::with_consoles(&cfg, c.clone(), c),
        None => Logs::new(&cfg),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (r, w): (OwnedFd, OwnedFd) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let t = Instant::now();
    let mut child = Command::new("cat")
        .arg(src)
        .stdout(Stdio::from(w))
        .spawn()
        .unwrap();
    rt.block_on(async { logs.pump(&spec, Stream::Stdout, r).unwrap().await.unwrap() });
    assert!(logs.flush(Duration::from_secs(60)));
    let el = t.elapsed();
    assert!(child.wait().unwrap().success());
    el
}

fn best(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..runs).map(|_| f()).min().unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let mib: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(256);
    let dir = PathBuf::from(
        args.get(1)
            .cloned()
            .unwrap_or_else(|| "/tmp/steward-bench-logs".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("source.txt");
    make_source(&src, mib);
    let _ = Command::new("cat").arg(&src).stdout(Stdio::null()).status();
    let rate = |d: Duration| mib as f64 / d.as_secs_f64();
    let runs = 5;
    let d_direct = best(runs, || direct(&src, &dir));
    let d_file = best(runs, || {
        pumped(&src, &dir, LogTarget::File(dir.join("out.log")), None)
    });
    let devnull = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .unwrap();
    let null_console = Console::from_fd(OwnedFd::from(devnull));
    let d_console = best(runs, || {
        pumped(&src, &dir, LogTarget::Stdout, Some(null_console.clone()))
    });
    clean(&dir);
    println!(
        "log pump micro-benchmark: {mib} MiB of ~80-byte lines from `cat`, best of {runs}, in {}",
        dir.display()
    );
    println!(
        "  direct: cat > file                         {:8.0} MiB/s  (the limit)",
        rate(d_direct)
    );
    println!(
        "  steward pump: pipe -> rotated file         {:8.0} MiB/s  ({:.0}% of direct)",
        rate(d_file),
        100.0 * d_direct.as_secs_f64() / d_file.as_secs_f64()
    );
    println!(
        "  steward pump: pipe -> prefixed console     {:8.0} MiB/s  (console = /dev/null)",
        rate(d_console)
    );
}
