//! Faults from the programs and the machine's limits, black box, steward as PID 1: fork/exec failing
//! with EAGAIN, steward out of file descriptors, a stopped program at shutdown, a program closing its
//! stdout, one writing a gigabyte without a newline, one whose 10,000 children exit at once. Each test
//! ends with steward still answering and the bystander program untouched (same pid, RUNNING).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::http::{call, shutdown};
use common::*;
use steward::control::xmlrpc::Value;

const T: Duration = Duration::from_secs(15);

const HEAD: &str = "[unix_http_server]\nfile={dir}/sock\n\n\
[program:bystander]\ncommand=/bin/sleep 1000\nstartsecs=0\npriority=1\n\n";

/// (name, statename, pid, spawnerr) of every process.
fn table(sock: &Path) -> Vec<(String, String, i64, String)> {
    let Ok(Value::Array(all)) = call(sock, "supervisor.getAllProcessInfo", &[]) else {
        panic!("getAllProcessInfo failed");
    };
    all.iter()
        .map(|p| {
            let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let pid = p.get("pid").and_then(Value::as_int).unwrap_or(0);
            (s("name"), s("statename"), pid, s("spawnerr"))
        })
        .collect()
}

fn row(sock: &Path, name: &str) -> (String, String, i64, String) {
    table(sock)
        .into_iter()
        .find(|r| r.0 == name)
        .unwrap_or_else(|| panic!("no process {name}"))
}

fn wait_state(sock: &Path, name: &str, state: &str) -> (String, String, i64, String) {
    wait_for(T, &format!("{name} in {state}"), || {
        if !sock.exists() {
            return None;
        }
        let r = row(sock, name);
        (r.1 == state).then_some(r)
    })
}

/// steward answers `getState` (RUNNING) and `steward ctl status`, and the bystander still runs
/// with the pid it had.
fn still_answering(sock: &Path, bystander: i64) {
    let s = call(sock, "supervisor.getState", &[]).expect("getState");
    assert_eq!(s.get("statename"), Some(&Value::str("RUNNING")));
    let out = run(&[
        "ctl",
        "-s",
        &format!("unix://{}", sock.display()),
        "status",
        "bystander",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("RUNNING"), "{out:?}");
    let b = row(sock, "bystander");
    assert_eq!(
        (b.1.as_str(), b.2),
        ("RUNNING", bystander),
        "the bystander was disturbed"
    );
}

/// Set the soft limit `what` (`nproc`, `nofile`) of `pid`; `None` puts it back to the hard limit.
/// Soft only: raising a hard limit needs CAP_SYS_RESOURCE, which a container may not have.
fn soft_limit(pid: i32, what: &str, soft: Option<u64>) {
    let soft = match soft {
        Some(n) => n.to_string(),
        None => {
            let out = Command::new("prlimit")
                .arg(format!("--pid={pid}"))
                .arg(format!("--{what}"))
                .args(["--output=HARD", "--noheadings"])
                .output()
                .expect("prlimit (util-linux)");
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        }
    };
    let st = Command::new("prlimit")
        .arg(format!("--pid={pid}"))
        .arg(format!("--{what}={soft}:"))
        .status()
        .expect("prlimit (util-linux)");
    assert!(st.success(), "prlimit --{what}={soft}:");
}

/// A user of our own, so nothing else on the machine counts against its RLIMIT_NPROC.
const NPROC_USER: &str = "steward-fault-nproc";

fn ensure_user(name: &str) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    if passwd.lines().any(|l| l.starts_with(&format!("{name}:"))) {
        return;
    }
    let o = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ])
        .output()
        .expect("useradd (passwd package)");
    // A concurrent run may have created it between our look and useradd (exit 9: exists).
    assert!(o.status.success() || o.status.code() == Some(9), "{o:?}");
}

#[test]
fn fork_or_exec_failing_with_eagain_backs_off_then_goes_fatal_with_the_reason_without_spinning() {
    common::require_root("add a user");
    ensure_user(NPROC_USER);
    let (p, dir) = Pid1::with_conf(&format!(
        "{HEAD}[program:first]\ncommand=/bin/sleep 1000\nuser={NPROC_USER}\nstartsecs=0\n\n\
         [program:second]\ncommand=/bin/sleep 1000\nuser={NPROC_USER}\nautostart=false\n\
         startsecs=0\nstartretries=2\n"
    ));
    let sock = dir.path().join("sock");
    let by = wait_state(&sock, "bystander", "RUNNING").2;
    wait_state(&sock, "first", "RUNNING");
    // From now on a process of that user may not exec while the user has more than 0 processes
    // (root, steward itself, is exempt): `second` fails in its child, after setuid, with EAGAIN.
    let init = p.init_pid();
    soft_limit(init, "nproc", Some(0));
    let t0 = Instant::now();
    let ticks0 = cpu_ticks(init).unwrap();
    let _ = call(
        &sock,
        "supervisor.startProcess",
        &[Value::str("second"), Value::Bool(false)],
    );
    let fatal = wait_state(&sock, "second", "FATAL");
    let took = t0.elapsed();
    assert!(fatal.3.contains("EAGAIN"), "spawnerr says why: {fatal:?}");
    // The log reaches stdout through a queue: FATAL can be seen before the last lines arrive.
    let gave_up = "gave up: second entered FATAL state, too many start retries too quickly";
    let log = p.wait_count(gave_up, 1, T);
    // startretries=2: three tries with the 1 s, 2 s back-off between them, not a tight loop.
    assert_eq!(
        count(&log, "spawnerr: couldn't exec /bin/sleep: EAGAIN"),
        3,
        "{log}"
    );
    assert!(
        took >= Duration::from_secs(3),
        "retried without back-off: {took:?}"
    );
    let ticks = cpu_ticks(init).unwrap() - ticks0;
    assert!(
        ticks < 50,
        "steward used {ticks} ticks of CPU while backing off"
    );
    // The limit lifted, the same program starts.
    soft_limit(init, "nproc", None);
    call(
        &sock,
        "supervisor.startProcess",
        &[Value::str("second"), Value::Bool(true)],
    )
    .unwrap();
    assert_eq!(row(&sock, "first").1, "RUNNING");
    still_answering(&sock, by);
    shutdown(&sock, p);
}

/// The lowest fd number `pid` does not use: with its limit there, it has no fd left to open.
fn lowest_free_fd(pid: i32) -> u64 {
    let used: std::collections::BTreeSet<u64> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    (0..).find(|n| !used.contains(n)).unwrap()
}

/// The fds steward holds, from /proc.
fn fd_count(pid: i32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Rewrite the config with `[program:many]` of `n` processes (stdout and stderr each in an AUTO
/// log file: two fds apiece as long as the group exists), then reread and add the group.
fn add_many(sock: &Path, conf: &Path, n: usize) {
    let text = std::fs::read_to_string(conf).unwrap();
    let base = text.split("[program:many]").next().unwrap().to_string();
    let many = format!(
        "[program:many]\ncommand=/bin/sleep 1000\nnumprocs={n}\n\
         process_name=%(program_name)s_%(process_num)03d\nstartsecs=0\nstartretries=0\n"
    );
    std::fs::write(conf, format!("{base}{many}")).unwrap();
    call(sock, "supervisor.reloadConfig", &[]).expect("reloadConfig");
    call(sock, "supervisor.addProcessGroup", &[Value::str("many")]).expect("addProcessGroup");
}

#[test]
fn out_of_file_descriptors_each_program_says_so_the_socket_answers_and_it_recovers() {
    // steward gets 256 fds (soft and hard: it cannot raise them to minfds); prlimit execs steward,
    // which stays PID 1. A group of 200 programs then needs 400 pipes (their AUTO log files only
    // once they write).
    let dir = tempdir();
    let conf = conf(dir.path(), HEAD);
    let prlimit = std::path::PathBuf::from("/usr/bin/prlimit");
    let steward = bin();
    let p = Pid1::start_bin(
        &prlimit,
        &[
            "--nofile=256:256",
            steward.to_str().unwrap(),
            "-c",
            conf.to_str().unwrap(),
        ],
    );
    let sock = dir.path().join("sock");
    let by = wait_state(&sock, "bystander", "RUNNING").2;
    let init = p.init_pid();
    add_many(&sock, &conf, 200);
    let settled = wait_for(T, "every program RUNNING or FATAL", || {
        let t = table(&sock);
        (t.len() == 201 && t.iter().all(|r| r.1 == "RUNNING" || r.1 == "FATAL")).then_some(t)
    });
    let fatal: Vec<_> = settled.iter().filter(|r| r.1 == "FATAL").collect();
    eprintln!(
        "256 fds, 200 programs added: {} FATAL, steward holds {} fds",
        fatal.len(),
        fd_count(init)
    );
    assert!(fatal.len() > 100, "{} fatal", fatal.len());
    for r in &fatal {
        assert!(r.3.contains("EMFILE"), "spawnerr should say why: {r:?}");
    }
    // A spawn needs several fds at once (its pipes), so the one that failed may leave a few free;
    // the soft limit then takes those too. Exactly at the limit (no fd left at all, as when the
    // exhaustion comes with no client connected) the control socket must still answer, more than once.
    let held = fd_count(init);
    assert!(held >= 240, "{held} fds");
    soft_limit(init, "nofile", Some(lowest_free_fd(init)));
    still_answering(&sock, by);
    still_answering(&sock, by);
    soft_limit(init, "nofile", None);
    // fds free up (the group goes), and a smaller one starts in full.
    let _ = call(
        &sock,
        "supervisor.stopProcessGroup",
        &[Value::str("many"), Value::Bool(true)],
    );
    call(
        &sock,
        "supervisor.removeProcessGroup",
        &[Value::str("many")],
    )
    .expect("removeProcessGroup");
    add_many(&sock, &conf, 20);
    wait_for(T, "the 20 RUNNING", || {
        let t = table(&sock);
        (t.len() == 21 && t.iter().all(|r| r.1 == "RUNNING")).then_some(())
    });
    still_answering(&sock, by);
    shutdown(&sock, p);
}

#[test]
fn a_stopped_program_at_shutdown_gets_sigcont_then_sigkill_after_stopwaitsecs() {
    // `graceful` handles TERM (it can, once continued); `stuck` ignores it and must be killed.
    let (mut p, dir) = Pid1::with_conf(&format!(
        "{HEAD}[program:graceful]\ncommand=/bin/sh -c 'trap \"echo graceful; exit 0\" TERM; \
         while :; do sleep 0.1; done'\nstartsecs=0\nstopwaitsecs=5\n\
         stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n\n\
         [program:stuck]\ncommand=/bin/sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'\n\
         startsecs=0\nstopwaitsecs=1\n"
    ));
    let sock = dir.path().join("sock");
    let by = wait_state(&sock, "bystander", "RUNNING").2;
    let g = wait_state(&sock, "graceful", "RUNNING").2 as i32;
    let s = wait_state(&sock, "stuck", "RUNNING").2 as i32;
    // Pids in the table are the namespace's; find ours by comm and the namespace's view.
    let outside = |inner: i32| -> i32 {
        p.namespace_pids()
            .into_iter()
            .find(|&o| {
                std::fs::read_to_string(format!("/proc/{o}/status"))
                    .ok()
                    .and_then(|st| {
                        st.lines()
                            .find(|l| l.starts_with("NSpid:"))
                            .map(|l| l.split_whitespace().last() == Some(&inner.to_string()))
                    })
                    .unwrap_or(false)
            })
            .unwrap_or_else(|| panic!("pid {inner} not in the namespace"))
    };
    let (go, so) = (outside(g), outside(s));
    for pid in [go, so] {
        // SAFETY: kill(2) on a pid we just found in the namespace.
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        wait_for(T, "stopped", || {
            (proc_state(pid) == Some('T')).then_some(())
        });
    }
    still_answering(&sock, by);
    let asked = Instant::now();
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
    let took = asked.elapsed();
    let log = p.stdout();
    assert!(
        log.contains("graceful\n"),
        "TERM reached the stopped program: {log}"
    );
    assert!(log.contains("stopped: graceful (exit status 0)"), "{log}");
    assert!(log.contains("killing 'stuck'"), "{log}");
    assert!(
        log.contains("stopped: stuck (terminated by SIGKILL)"),
        "{log}"
    );
    assert!(
        log.contains("stopped: bystander (terminated by SIGTERM)"),
        "{log}"
    );
    // stuck's stopwaitsecs (1 s) and not graceful's 5 s: graceful went at once.
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[test]
fn a_program_that_closes_its_stdout_keeps_running_and_costs_no_cpu() {
    let (p, dir) = Pid1::with_conf(&format!(
        "{HEAD}[program:closer]\ncommand=/bin/sh -c 'echo before; exec 1>&-; echo after >&2; \
         exec /bin/sleep 1000'\nstartsecs=0\nstdout_logfile={{dir}}/closer.out\n\
         stderr_logfile={{dir}}/closer.err\n"
    ));
    let sock = dir.path().join("sock");
    let by = wait_state(&sock, "bystander", "RUNNING").2;
    let pid = wait_state(&sock, "closer", "RUNNING").2;
    wait_for_text(&dir.path().join("closer.out"), "before\n", T);
    wait_for_text(&dir.path().join("closer.err"), "after\n", T);
    let init = p.init_pid();
    let t0 = cpu_ticks(init).unwrap();
    // Half a second of watching (a deadline, not synchronisation): an EOF spin would burn it all.
    let until = Instant::now() + Duration::from_millis(500);
    wait_for(T, "half a second", || {
        (Instant::now() >= until).then_some(())
    });
    assert!(
        cpu_ticks(init).unwrap() - t0 <= 5,
        "steward spins on a closed pipe"
    );
    assert_eq!(row(&sock, "closer").2, pid);
    still_answering(&sock, by);
    shutdown(&sock, p);
}

#[test]
fn a_gigabyte_without_a_newline_goes_through_with_bounded_memory() {
    const SIZE: u64 = 1 << 30;
    let (p, dir) = Pid1::with_conf(&format!(
        "{HEAD}[program:flood]\ncommand=/bin/sh -c 'head -c {SIZE} /dev/zero; echo; echo done'\n\
         startsecs=0\nautorestart=false\nstdout_logfile={{dir}}/flood.out\n\
         stdout_logfile_maxbytes=8MB\nstdout_logfile_backups=1\n"
    ));
    let sock = dir.path().join("sock");
    let by = wait_state(&sock, "bystander", "RUNNING").2;
    let t0 = Instant::now();
    wait_for(Duration::from_secs(30), "flood to finish", || {
        (row(&sock, "flood").1 == "EXITED").then_some(())
    });
    wait_for_text(&dir.path().join("flood.out"), "done\n", T);
    let took = t0.elapsed();
    let hwm = vm_hwm_kb(p.init_pid());
    eprintln!("1 GiB without a newline: {took:?}, steward VmHWM {hwm} kB");
    assert!(hwm < 32 * 1024, "steward's peak RSS {hwm} kB");
    // Rotation kept the files bounded although the line never ended. As in supervisord, a file may end
    // up to one read (128 KiB) past maxbytes: a chunk is written whole before the size is checked.
    let size = |n: &str| {
        std::fs::metadata(dir.path().join(n))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    let bound = (8 << 20) + 128 * 1024;
    for f in ["flood.out", "flood.out.1"] {
        assert!(size(f) <= bound, "{f} is {} bytes, above {bound}", size(f));
    }
    assert!(
        size("flood.out.1") >= 8 << 20,
        "flood.out.1 was rotated early"
    );
    still_answering(&sock, by);
    shutdown(&sock, p);
}

/// Forks 10,000 children blocked on a pipe and exits: they become steward's, and the parent's exit
/// closes the pipe's last write end, so they all exit at the same moment. C, because Python takes
/// a minute to fork that many here.
const FORKER: &str = r#"
#include <stdio.h>
#include <unistd.h>
int main(void) {
    int p[2];
    if (pipe(p) != 0) return 1;
    for (int i = 0; i < 10000; i++) {
        pid_t c = fork();
        if (c < 0) { perror("fork"); return 1; }
        if (c == 0) { char b; close(p[1]); if (read(p[0], &b, 1) < 0) _exit(1); _exit(0); }
    }
    printf("forked\n");
    return 0;
}
"#;

#[test]
fn ten_thousand_children_exiting_at_once_are_all_reaped() {
    let dir = tempdir();
    let src = write(dir.path(), "forker.c", FORKER);
    let built = Command::new("cc")
        .arg("-O2")
        .arg("-o")
        .arg(dir.path().join("forker"))
        .arg(&src)
        .status()
        .unwrap_or_else(|_| missing("a C compiler (cc)"));
    assert!(built.success());
    let (p, dir) = Pid1::in_dir(
        dir,
        "",
        &format!(
            "{HEAD}[program:forker]\ncommand={{dir}}/forker\nstartsecs=0\nautorestart=false\n\
             stdout_logfile={{dir}}/forker.out\n"
        ),
    );
    let sock = dir.path().join("sock");
    let by = wait_state(&sock, "bystander", "RUNNING").2;
    let t0 = Instant::now();
    wait_for_text(&dir.path().join("forker.out"), "forked\n", T);
    wait_for(T, "only the bystander left", || {
        (p.namespace_pids().len() == 1).then_some(())
    });
    eprintln!("10,000 children forked and reaped in {:?}", t0.elapsed());
    // A reaped batch is logged after the batch: wait for the lines, they need not be there yet.
    let log = p.wait_count("reaped unknown pid", 10_000, T);
    assert_eq!(count(&log, "reaped unknown pid"), 10_000);
    assert_eq!(row(&sock, "forker").1, "EXITED");
    assert!(p.zombies().is_empty());
    still_answering(&sock, by);
    shutdown(&sock, p);
}
