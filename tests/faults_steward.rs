//! Faults aimed at steward itself, black box, steward as PID 1: a burst of 1,000 SIGHUP and
//! SIGUSR2, the config file deleted or half-written while a reload is under way, the log directory
//! removed and re-created under a running program. Each test ends with steward answering and the
//! programs running.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::http::{call, shutdown, table, try_table};
use common::*;
use steward::control::xmlrpc::Value;

const T: Duration = Duration::from_secs(15);

const HEAD: &str = "[unix_http_server]\nfile={dir}/sock\n\n\
[program:bystander]\ncommand=/bin/sleep 1000\nstartsecs=0\npriority=1\n\n";

fn all_running(sock: &Path, names: &[&str]) -> Vec<(String, String, i64)> {
    wait_for(T, &format!("{names:?} RUNNING"), || {
        if !sock.exists() {
            return None;
        }
        let state = call(sock, "supervisor.getState", &[]).ok()?;
        if state.get("statename") != Some(&Value::str("RUNNING")) {
            return None;
        }
        let t = try_table(sock)?;
        let mut got: Vec<&str> = t.iter().map(|r| r.0.as_str()).collect();
        got.sort_unstable();
        let mut want = names.to_vec();
        want.sort_unstable();
        (got == want && t.iter().all(|r| r.1 == "RUNNING")).then_some(t)
    })
}

fn burst(p: &Pid1, sig: i32, n: usize) {
    let pid = p.init_pid();
    for _ in 0..n {
        // SAFETY: kill(2) on steward's pid.
        unsafe { libc::kill(pid, sig) };
    }
}

#[test]
fn a_burst_of_1000_sigusr2_then_1000_sighup_is_absorbed() {
    let (p, dir) = Pid1::with_conf(&format!(
        "{HEAD}[program:worker]\ncommand=/bin/sleep 1000\nstartsecs=0\nstopwaitsecs=2\n"
    ));
    let sock = dir.path().join("sock");
    let before = all_running(&sock, &["bystander", "worker"]);
    burst(&p, libc::SIGUSR2, 1000);
    p.wait_stdout("received SIGUSR2 indicating log reopen request", T);
    // Reopening the logs leaves the programs alone.
    assert_eq!(all_running(&sock, &["bystander", "worker"]), before);
    answers_status(&sock);
    let t0 = Instant::now();
    burst(&p, libc::SIGHUP, 1000);
    p.wait_stdout("received SIGHUP indicating restart request", T);
    let after = wait_for(T, "a new table after the reload", || {
        let t = all_running(&sock, &["bystander", "worker"]);
        t.iter().all(|r| !before.contains(r)).then_some(t)
    });
    // Signals that arrive while a reload is under way are absorbed by it: a handful of reloads
    // at most, not a thousand queued ones.
    let settle = Instant::now() + Duration::from_secs(1);
    wait_for(T, "a second without a new reload", || {
        (Instant::now() >= settle).then_some(())
    });
    let reloads = count(&p.stdout(), "received SIGHUP indicating restart request");
    eprintln!("1000 SIGHUP: {reloads} reloads in {:?}", t0.elapsed());
    assert!(reloads <= 5, "{reloads} reloads");
    assert_eq!(all_running(&sock, &["bystander", "worker"]), after);
    assert_eq!(p.namespace_pids().len(), 2, "one process per program");
    assert!(p.zombies().is_empty());
    answers_status(&sock);
    shutdown(&sock, p);
}

/// A program whose stop takes about a second, so the test can act while the reload is under way.
const SLOW_STOP: &str = "[program:slow]\ncommand=/bin/sh -c 'trap \"sleep 1; exit 0\" TERM; \
while :; do sleep 0.1; done'\nstartsecs=0\nstopwaitsecs=5\n";

/// A reload reads and checks the file when it is asked for, before anything stops: what happens to
/// the file while the programs stop cannot matter, and a file that does not load stops nothing.
#[test]
fn the_config_deleted_during_a_reload_changes_nothing_and_a_reload_without_it_stops_nothing() {
    let (p, dir) = Pid1::with_conf(&format!("{HEAD}{SLOW_STOP}"));
    let sock = dir.path().join("sock");
    let first = all_running(&sock, &["bystander", "slow"]);
    let conf = dir.path().join("supervisord.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    p.signal(libc::SIGHUP);
    p.wait_stdout("received SIGHUP indicating restart request", T);
    // `slow` takes a second to stop: the file is gone before the programs start again.
    std::fs::remove_file(&conf).unwrap();
    let reloaded = wait_for(T, "the reload to start new children", || {
        let t = all_running(&sock, &["bystander", "slow"]);
        (t != first).then_some(t)
    });
    answers_status(&sock);
    // Without the file, a reload is refused before anything stops.
    p.signal(libc::SIGHUP);
    let log = p.wait_stdout("could not reload the configuration, nothing was stopped", T);
    assert!(
        log.contains("supervisord.conf"),
        "the error names the file: {log}"
    );
    assert_eq!(table(&sock), reloaded, "a refused reload changed something");
    answers_status(&sock);
    // The file back, a reload reads it again.
    std::fs::write(&conf, text.replace("[program:slow]", "[program:slow2]")).unwrap();
    p.signal(libc::SIGHUP);
    all_running(&sock, &["bystander", "slow2"]);
    shutdown(&sock, p);
}

#[test]
fn a_half_written_config_is_refused_by_reread_and_by_a_reload() {
    let (p, dir) = Pid1::with_conf(&format!(
        "{HEAD}[program:worker]\ncommand=/bin/sleep 1000\nstartsecs=0\n\n{SLOW_STOP}"
    ));
    let sock = dir.path().join("sock");
    let before = all_running(&sock, &["bystander", "worker", "slow"]);
    let conf = dir.path().join("supervisord.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    // The writer was cut off in the middle of a new section's first line.
    let full = format!("{text}\n[program:added]\ncommand=/bin/sleep 1000\n");
    let cut = full.len() - "mand=/bin/sleep 1000\n".len();
    std::fs::write(&conf, &full[..cut]).unwrap();
    // reread (supervisorctl reread / update): a fault, and nothing changes.
    match call(&sock, "supervisor.reloadConfig", &[]) {
        Err(f) => {
            assert_eq!(f.code, 92, "{f:?}");
            assert!(f.string.contains("supervisord.conf"), "{f:?}");
        }
        Ok(v) => panic!("a half-written file was accepted: {v:?}"),
    }
    assert_eq!(table(&sock), before, "a refused reread changed something");
    answers_status(&sock);
    // A full reload (SIGHUP) of the half-written file: refused, nothing stopped.
    p.signal(libc::SIGHUP);
    p.wait_stdout("could not reload the configuration, nothing was stopped", T);
    assert_eq!(table(&sock), before, "a refused reload changed something");
    // Over XML-RPC the same reload is a fault that carries the error.
    match call(&sock, "supervisor.restart", &[]) {
        Err(f) => assert_eq!(f.code, 92, "{f:?}"),
        Ok(v) => panic!("a half-written file was accepted: {v:?}"),
    }
    assert_eq!(table(&sock), before, "a refused restart changed something");
    answers_status(&sock);
    shutdown(&sock, p);
}

#[test]
fn the_log_directory_removed_and_recreated_does_not_stop_anything() {
    let dir = tempdir();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let (p, dir) = Pid1::in_dir(
        dir,
        "logfile={dir}/logs/steward.log\n",
        &format!(
            "{HEAD}[program:talker]\ncommand=/bin/sh -c 'i=0; while :; do i=$((i+1)); \
             echo line $i; sleep 0.01; done'\nstartsecs=0\nstdout_logfile={{dir}}/logs/talker.out\n\
             stdout_logfile_maxbytes=2KB\nstdout_logfile_backups=2\n"
        ),
    );
    let sock = dir.path().join("sock");
    let before = all_running(&sock, &["bystander", "talker"]);
    let out = logs.join("talker.out");
    wait_for_text(&out, "line 5\n", T);
    std::fs::remove_dir_all(&logs).unwrap();
    // Rotations come every ~2 KB (a fraction of a second here) and find no directory.
    let init = p.init_pid();
    let t0 = cpu_ticks(init).unwrap();
    let until = Instant::now() + Duration::from_millis(800);
    wait_for(T, "800 ms without the directory", || {
        (Instant::now() >= until).then_some(())
    });
    let ticks = cpu_ticks(init).unwrap() - t0;
    assert!(
        ticks < 40,
        "steward spent {ticks} ticks without its log directory"
    );
    assert_eq!(table(&sock), before, "a program was disturbed");
    answers_status(&sock);
    std::fs::create_dir(&logs).unwrap();
    // The program's log comes back by itself (its writes are retried); no signal needed.
    let text = wait_for_text(&out, "line ", T);
    let first: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("line ")?.parse().ok())
        .unwrap();
    assert!(first > 5, "new lines, not old ones: {text}");
    // steward's own log comes back with SIGUSR2 (supervisorctl's logreopen signal).
    p.signal(libc::SIGUSR2);
    wait_for_text(&logs.join("steward.log"), "log reopen request", T);
    assert_eq!(table(&sock), before, "a program was disturbed");
    answers_status(&sock);
    shutdown(&sock, p);
}
