//! Micro-benchmark of the log pump alone: a child writes N MiB of log lines to a pipe, steward's pump
//! writes them to a rotated file (supervisord's defaults: 50 MB, 10 backups) — beside the same command
//! writing straight to a file (the limit) and the pump feeding the prefixed console (to /dev/null).
//!
//! `cargo bench --bench logs [-- MIB [DIR]]` (default 256 MiB in /tmp). Prints MiB/s; asserts nothing.
//!
//! `cargo bench --bench logs -- --e2e [MIB [DIR]]` (what `bench/logs.sh` runs) is the end-to-end figure:
//! one `[program:bench] command=dd if=SRC bs=128K status=none` with a rotated `stdout_logfile` (50MB, 10 backups), run by
//! `$STEWARD -c CONF` and by `$SUPERVISORD -c CONF` on the same config, timed from the main log's
//! `spawned:` line to the moment every byte is in the log files, beside the same `dd` writing straight to a file.
//!
//! The writer is `dd`, not `cat`: with a file on both sides `cat` uses copy_file_range(2), a copy inside
//! the kernel that no program producing its own output can use, so it would not be "the same command".

use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// The writer's block size: `BENCH_BS` (dd syntax), 128K by default. 4K is what a stdio-buffered
/// program writes.
fn bs() -> String {
    std::env::var("BENCH_BS").unwrap_or_else(|_| "128K".into())
}

/// `dd if=SRC bs=128K` (read + write, like a program emitting its own output).
fn dd(src: &Path) -> Command {
    let mut c = Command::new("dd");
    c.arg(format!("if={}", src.display()))
        .arg(format!("bs={}", bs()))
        .arg("status=none");
    c
}

fn direct(src: &Path, dir: &Path) -> Duration {
    clean(dir);
    let out = std::fs::File::create(dir.join("out.log")).unwrap();
    let t = Instant::now();
    let st = dd(src).stdout(Stdio::from(out)).status().unwrap();
    assert!(st.success());
    t.elapsed()
}

/// `dd | cat > file`: the same pipe hop with the simplest possible reader, no supervisor at all.
fn piped_cat(src: &Path, dir: &Path) -> Duration {
    clean(dir);
    let out = std::fs::File::create(dir.join("out.log")).unwrap();
    let t = Instant::now();
    let mut w = dd(src).stdout(Stdio::piped()).spawn().unwrap();
    let stdin = Stdio::from(w.stdout.take().unwrap());
    let st = Command::new("cat")
        .stdin(stdin)
        .stdout(Stdio::from(out))
        .status()
        .unwrap();
    assert!(st.success() && w.wait().unwrap().success());
    t.elapsed()
}

fn cpu_self() -> Duration {
    use nix::sys::resource::{getrusage, UsageWho};
    let u = getrusage(UsageWho::RUSAGE_SELF).unwrap();
    let tv =
        |t: nix::sys::time::TimeVal| Duration::new(t.tv_sec() as u64, t.tv_usec() as u32 * 1000);
    tv(u.user_time()) + tv(u.system_time())
}

/// Wall time of the whole transfer, and the CPU time steward's side (pump and console thread) used.
fn pumped(
    src: &Path,
    dir: &Path,
    target: LogTarget,
    console: Option<Console>,
) -> (Duration, Duration) {
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
    let cpu = cpu_self();
    let t = Instant::now();
    let mut child = dd(src).stdout(Stdio::from(w)).spawn().unwrap();
    rt.block_on(async {
        logs.pump_tapped(&spec, Stream::Stdout, r, None)
            .unwrap()
            .await
            .unwrap()
    });
    assert!(logs.flush(Duration::from_secs(60)));
    let el = t.elapsed();
    let cpu = cpu_self().saturating_sub(cpu);
    assert!(child.wait().unwrap().success());
    (el, cpu)
}

fn best(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    (0..runs).map(|_| f()).min().unwrap_or_default()
}

/// `2026-11-22 17:40:09,802` (local time) → seconds since the epoch.
fn parse_log_time(s: &str) -> Option<f64> {
    let (date, rest) = s.split_once(' ')?;
    let (hms, ms) = rest.get(..12)?.split_once(',')?;
    let d: Vec<i32> = date
        .split('-')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    let t: Vec<i32> = hms
        .split(':')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if d.len() != 3 || t.len() != 3 {
        return None;
    }
    // SAFETY: all-zero bytes are a valid `tm`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_year = d[0] - 1900;
    tm.tm_mon = d[1] - 1;
    tm.tm_mday = d[2];
    tm.tm_hour = t[0];
    tm.tm_min = t[1];
    tm.tm_sec = t[2];
    tm.tm_isdst = -1;
    // SAFETY: mktime reads and normalises the `tm` we own.
    let secs = unsafe { libc::mktime(&mut tm) };
    Some(secs as f64 + ms.parse::<f64>().ok()? / 1000.0)
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Run a supervisor on the bench config; seconds from `spawned:` until every byte is logged.
fn supervised(bin: &Path, src: &Path, dir: &Path, total: u64) -> Result<f64, String> {
    let out = dir.join("out");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let main_log = dir.join("main.log");
    let _ = std::fs::remove_file(&main_log);
    let conf = dir.join("bench.conf");
    std::fs::write(
        &conf,
        format!(
            "[supervisord]\nnodaemon=true\nlogfile={main}\npidfile={dir}/bench.pid\nchildlogdir={dir}\n\
             [program:bench]\ncommand=dd if={src} bs={bs} status=none\nstdout_logfile={out}/out.log\n\
             stdout_logfile_maxbytes=50MB\nstdout_logfile_backups=10\nstartsecs=0\nautorestart=false\n",
            main = main_log.display(),
            dir = dir.display(),
            src = src.display(),
            out = out.display(),
            bs = bs()
        ),
    )
    .unwrap();
    let mut child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let deadline = Instant::now() + Duration::from_secs(600);
    let result = loop {
        if dir_bytes(&out) >= total {
            break Ok(now());
        }
        if let Ok(Some(st)) = child.try_wait() {
            break Err(format!("{} exited early ({st})", bin.display()));
        }
        if Instant::now() > deadline {
            break Err("timed out".into());
        }
        std::thread::sleep(Duration::from_micros(500));
    };
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGTERM,
    );
    let _ = child.wait();
    let end = result?;
    let text = std::fs::read_to_string(&main_log).unwrap_or_default();
    let start = text
        .lines()
        .find(|l| l.contains("spawned: 'bench'"))
        .and_then(parse_log_time)
        .ok_or("no `spawned: 'bench'` line with a timestamp in the main log")?;
    Ok(end - start)
}

fn e2e(mib: usize, dir: &Path) {
    let src = dir.join("source.txt");
    make_source(&src, mib);
    let _ = Command::new("cat").arg(&src).stdout(Stdio::null()).status();
    let total = (mib << 20) as u64;
    let runs = 3;
    let d_direct = best(runs, || direct(&src, dir)).as_secs_f64();
    println!(
        "end-to-end: {mib} MiB of ~80-byte lines from `dd bs={}` into a rotated log (50MB x 10), best of {runs}",
        bs()
    );
    println!(
        "  direct: dd > file           {:8.0} MiB/s  (the limit)",
        mib as f64 / d_direct
    );
    let steward = std::env::var_os("STEWARD")
        .map(PathBuf::from)
        .unwrap_or_else(|| "target/release/steward".into());
    let supervisord = std::env::var_os("SUPERVISORD").map(PathBuf::from);
    for (name, bin) in [
        ("steward", Some(steward)),
        ("supervisord 4.3.0", supervisord),
    ] {
        let Some(bin) = bin else {
            println!("  {name:<27} n/a (set SUPERVISORD)");
            continue;
        };
        let mut times = Vec::new();
        let mut err = None;
        for _ in 0..runs {
            match supervised(&bin, &src, dir, total) {
                Ok(t) => times.push(t),
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        match (times.iter().cloned().reduce(f64::min), err) {
            (Some(t), None) => println!(
                "  {name:<27} {:8.0} MiB/s  ({:.0}% of direct)",
                mib as f64 / t,
                100.0 * d_direct / t
            ),
            (_, e) => println!("  {name:<27} n/a ({})", e.unwrap_or_default()),
        }
    }
}

fn main() {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<String> = all
        .iter()
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .collect();
    if all.iter().any(|a| a == "--e2e") {
        let mib: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(256);
        let dir = PathBuf::from(
            args.get(1)
                .cloned()
                .unwrap_or_else(|| "/tmp/steward-bench-logs-e2e".into()),
        );
        std::fs::create_dir_all(&dir).unwrap();
        return e2e(mib, &dir);
    }
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
    // Interleaved runs, best of each: the machine is shared, so load drifts during the benchmark.
    let runs = 7;
    let devnull = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/null")
        .unwrap();
    let null_console = Console::from_fd(OwnedFd::from(devnull));
    let (mut d_direct, mut d_file, mut d_console) = (Duration::MAX, Duration::MAX, Duration::MAX);
    let (mut c_file, mut c_console) = (Duration::MAX, Duration::MAX);
    let mut d_cat = Duration::MAX;
    for _ in 0..runs {
        d_direct = d_direct.min(direct(&src, &dir));
        d_cat = d_cat.min(piped_cat(&src, &dir));
        let (w, c) = pumped(&src, &dir, LogTarget::File(dir.join("out.log")), None);
        (d_file, c_file) = (d_file.min(w), c_file.min(c));
        let (w, c) = pumped(&src, &dir, LogTarget::Stdout, Some(null_console.clone()));
        (d_console, c_console) = (d_console.min(w), c_console.min(c));
    }
    clean(&dir);
    println!(
        "log pump micro-benchmark: {mib} MiB of ~80-byte lines from `dd bs={}`, best of {runs}, in {}",
        bs(),
        dir.display()
    );
    println!(
        "  direct: dd > file                          {:8.0} MiB/s  (the limit)",
        rate(d_direct)
    );
    let per_gib = |c: Duration| c.as_secs_f64() * 1024.0 / mib as f64;
    println!(
        "  no supervisor: dd | cat > file             {:8.0} MiB/s  ({:.0}% of direct: the cost of any pipe hop)",
        rate(d_cat),
        100.0 * d_direct.as_secs_f64() / d_cat.as_secs_f64()
    );
    println!(
        "  steward pump: pipe -> rotated file         {:8.0} MiB/s  ({:.0}% of direct; steward CPU {:.2} s/GiB)",
        rate(d_file),
        100.0 * d_direct.as_secs_f64() / d_file.as_secs_f64(),
        per_gib(c_file)
    );
    println!(
        "  steward pump: pipe -> prefixed console     {:8.0} MiB/s  (console = /dev/null; steward CPU {:.2} s/GiB)",
        rate(d_console),
        per_gib(c_console)
    );
}
