//! The engine as PID 1 with a supervisord.conf: ordering, shutdown, the state machine's transitions as
//! seen in steward's log, bad input at run time, reload. Every test ends the namespace it starts.

mod common;

use common::*;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(10);

#[test]
fn start_in_priority_order_stop_in_reverse_and_exit_0() {
    let (mut p, _dir) = Pid1::with_conf(
        "[program:third]\ncommand=sleep 1000\npriority=30\nstartsecs=0\nstopwaitsecs=2\n\
         [program:first]\ncommand=sleep 1000\npriority=10\nstartsecs=0\nstopwaitsecs=2\n\
         [program:second]\ncommand=sleep 1000\npriority=20\nstartsecs=0\nstopwaitsecs=2\n",
    );
    let log = p.wait_stdout("success: third", T);
    assert!(pos(&log, "spawned: 'first'") < pos(&log, "spawned: 'second'"));
    assert!(pos(&log, "spawned: 'second'") < pos(&log, "spawned: 'third'"));
    let programs = p.namespace_pids();
    assert_eq!(programs.len(), 3);
    let asked = Instant::now();
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
    for pid in programs {
        assert_eq!(proc_state(pid), None, "pid {pid} outlived the namespace");
    }
    assert!(
        asked.elapsed() < Duration::from_secs(2 + 2),
        "{:?}",
        asked.elapsed()
    );
    let log = p.stdout();
    assert!(
        log.contains("WARN received SIGTERM indicating exit request"),
        "{log}"
    );
    assert!(pos(&log, "stopped: third (terminated by SIGTERM)") < pos(&log, "stopped: second"));
    assert!(pos(&log, "stopped: second") < pos(&log, "stopped: first"));
    // The main log file gets the same lines.
    let file = std::fs::read_to_string(_dir.path().join("steward.log")).unwrap();
    assert!(file.contains("stopped: first"), "{file}");
}

#[test]
fn stubborn_program_is_killed_with_its_group_and_second_term_does_not_abort() {
    // `trap ''` is inherited by the background sleep, so both ignore TERM; only SIGKILL to the group
    // ends them. `keeper` stops after it, keeping steward alive while we look for leftovers.
    let (mut p, dir) = Pid1::with_conf(
        "[program:stubborn]\ncommand=sh -c 'trap \"\" TERM; sleep 1000 & echo $! > {dir}/gc; wait; wait'\n\
         priority=20\nstartsecs=0\nstopwaitsecs=1\nkillasgroup=true\n\
         [program:keeper]\ncommand=sh -c 'trap \"\" TERM; echo keeper up; while :; do sleep 0.1; done'\n\
         priority=10\nstartsecs=0\nstopwaitsecs=2\n",
    );
    p.wait_stdout("success: keeper", T);
    wait_for(T, "grandchild pid file", || {
        std::fs::read_to_string(dir.path().join("gc"))
            .ok()
            .filter(|s| !s.is_empty())
    });
    // Outside pids of stubborn's sleep: the only `sleep 1000` in the namespace.
    let gc = wait_for(T, "the grandchild", || {
        p.namespace_pids().into_iter().find(|&c| {
            std::fs::read_to_string(format!("/proc/{c}/cmdline"))
                .is_ok_and(|c| c == "sleep\x001000\x00")
        })
    });
    let asked = Instant::now();
    p.signal(libc::SIGTERM);
    p.wait_stdout("waiting for keeper, stubborn to die", T);
    p.signal(libc::SIGTERM);
    let log = p.wait_stdout("killing 'stubborn'", T);
    assert!(log.contains("with SIGKILL"), "{log}");
    p.wait_stdout("stopped: stubborn (terminated by SIGKILL)", T);
    wait_for(T, "stubborn's grandchild to be gone", || {
        (proc_state(gc).is_none()).then_some(())
    });
    assert_eq!(p.wait_exit(T), Some(0));
    let log = p.stdout();
    assert!(
        log.contains("stopped: keeper (terminated by SIGKILL)"),
        "{log}"
    );
    assert_eq!(count(&log, "indicating exit request"), 1, "{log}");
    // stopwaitsecs 1 + 2, plus a margin.
    assert!(
        asked.elapsed() < Duration::from_secs(6),
        "{:?}",
        asked.elapsed()
    );
}

#[test]
fn startsecs_startretries_backoff_then_fatal() {
    let (mut p, _dir) = Pid1::with_conf(
        "[program:flap]\ncommand=sh -c 'exit 1'\nstartsecs=1\nstartretries=2\n\
         [program:steady]\ncommand=sleep 1000\nstartsecs=0\n",
    );
    let log = p.wait_stdout(
        "gave up: flap entered FATAL state, too many start retries too quickly",
        T,
    );
    // startretries=2: three attempts, 1 s then 2 s apart.
    assert_eq!(count(&log, "spawned: 'flap'"), 3, "{log}");
    assert_eq!(
        count(&log, "exited: flap (exit status 1; not expected)"),
        3,
        "{log}"
    );
    let t = times_of(&log, "spawned: 'flap'");
    let gaps: Vec<i64> = t.windows(2).map(|w| w[1] - w[0]).collect();
    assert!((950..1600).contains(&gaps[0]), "{gaps:?}");
    assert!((1950..2600).contains(&gaps[1]), "{gaps:?}");
    // The others keep running; steward is still up.
    assert!(log.contains("success: steady"));
    assert!(p.child.try_wait().unwrap().is_none());
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn exit_code_zero_during_startsecs_is_still_a_failed_start() {
    let (mut p, _dir) =
        Pid1::with_conf("[program:quick]\ncommand=true\nstartsecs=1\nstartretries=0\n");
    let log = p.wait_stdout("gave up: quick", T);
    assert!(
        log.contains("exited: quick (exit status 0; not expected)"),
        "{log}"
    );
    assert!(!log.contains("success: quick"), "{log}");
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn autorestart_true_false_unexpected_with_exitcodes() {
    let (mut p, _dir) = Pid1::with_conf(
        "[program:never]\ncommand=sh -c 'exit 1'\nstartsecs=0\nautorestart=false\n\
         [program:expected]\ncommand=sh -c 'exit 3'\nstartsecs=0\nautorestart=unexpected\nexitcodes=0,3\n\
         [program:unexpected]\ncommand=sh -c 'exit 4'\nstartsecs=0\nautorestart=unexpected\nexitcodes=0,3\n\
         [program:always]\ncommand=sh -c 'exit 0'\nstartsecs=0\nautorestart=true\n",
    );
    // `always` restarting twice is our clock: the others had every chance to restart meanwhile.
    let log = p.wait_count("spawned: 'always'", 3, T);
    assert!(
        log.contains("WARN exited: never (exit status 1; not expected)"),
        "{log}"
    );
    assert_eq!(count(&log, "spawned: 'never'"), 1, "{log}");
    assert!(
        log.contains("INFO exited: expected (exit status 3; expected)"),
        "{log}"
    );
    assert_eq!(count(&log, "spawned: 'expected'"), 1, "{log}");
    assert!(
        log.contains("exited: unexpected (exit status 4; not expected)"),
        "{log}"
    );
    assert!(count(&log, "spawned: 'unexpected'") >= 2, "{log}");
    assert!(
        log.contains("exited: always (exit status 0; expected)"),
        "{log}"
    );
    // A crash loop is held to one start per second per process.
    for name in ["'always'", "'unexpected'"] {
        let t = times_of(&log, &format!("spawned: {name}"));
        assert!(t.windows(2).all(|w| w[1] - w[0] >= 990), "{name}: {t:?}");
    }
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn a_program_that_ran_a_while_is_restarted_at_once() {
    let (mut p, _dir) = Pid1::with_conf(
        "[program:long]\ncommand=sh -c 'sleep 1.2; exit 1'\nstartsecs=1\nautorestart=unexpected\n",
    );
    let log = p.wait_count("spawned: 'long'", 2, T);
    let exited = times_of(&log, "exited: long");
    let spawned = times_of(&log, "spawned: 'long'");
    assert!(
        spawned[1] - exited[0] < 500,
        "exit {exited:?}, spawns {spawned:?}"
    );
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn bad_input_goes_fatal_and_the_rest_keeps_running() {
    let (mut p, dir) = Pid1::with_conf(
        "[program:good]\ncommand=sleep 1000\nstartsecs=0\n\
         [program:nocmd]\ncommand=/nonexistent/thing\nstartretries=1\n\
         [program:noexec]\ncommand={dir}/plain.txt\nstartretries=0\n\
         [program:nouser]\ncommand=sleep 1000\nuser=no-such-user-here\nstartretries=0\n\
         [program:nodir]\ncommand=sleep 1000\ndirectory=/nonexistent-dir\nstartretries=0\n",
    );
    write(dir.path(), "plain.txt", "not a program\n");
    let mut log = String::new();
    for name in ["nocmd", "noexec", "nouser", "nodir"] {
        log = p.wait_stdout(&format!("gave up: {name} entered FATAL state"), T);
    }
    assert!(
        log.contains("spawnerr: can't find command '/nonexistent/thing'"),
        "{log}"
    );
    assert!(log.contains("plain.txt' is not executable"), "{log}");
    assert!(
        log.contains("spawnerr: couldn't setuid to no-such-user-here: no such user"),
        "{log}"
    );
    assert!(
        log.contains("spawnerr: couldn't chdir to /nonexistent-dir: ENOENT"),
        "{log}"
    );
    assert!(log.contains("success: good"));
    assert_eq!(p.namespace_pids().len(), 1, "only `good` runs");
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn child_environment_credentials_and_hygiene() {
    // `sig` and `fds` are exec'd by steward directly, so they show exactly what a program inherits.
    let (mut p, dir) = Pid1::with_conf(
        "[supervisord]\nenvironment=FROM_SUP=sup,BOTH=sup\n\
         [program:env]\ncommand=sh -c 'while ! [ -d {dir}/out ]; do sleep 0.05; done; echo \"$SUPERVISOR_ENABLED $SUPERVISOR_PROCESS_NAME $SUPERVISOR_GROUP_NAME $FROM_SUP $BOTH $(id -u):$(id -g) $(umask) $(pwd)\" > {dir}/out/env; exec sleep 1000'\n\
         startsecs=0\nuser=nobody\numask=027\ndirectory=/tmp\nenvironment=BOTH=prog\n\
         [program:sig]\ncommand=grep -E ^Sig(Blk|Ign) /proc/self/status\nstartsecs=0\nautorestart=false\n\
         stdout_logfile={dir}/sig\n\
         [program:fds]\ncommand=ls /proc/self/fd\nstartsecs=0\nautorestart=false\nstdout_logfile={dir}/fds\n\
         [program:cwd]\ncommand=pwd\ndirectory=/usr\nstartsecs=0\nautorestart=false\nstdout_logfile={dir}/cwd\n",
    );
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // `nobody` must be able to write there.
    std::fs::set_permissions(&out, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let env = wait_for_text(&out.join("env"), "\n", T);
    let nobody = "65534:65534";
    assert_eq!(env.trim(), format!("1 env env sup prog {nobody} 0027 /tmp"));
    let sig = wait_for_text(&dir.path().join("sig"), "SigIgn", T);
    assert!(sig.contains("SigBlk:\t0000000000000000"), "{sig}");
    assert!(sig.contains("SigIgn:\t0000000000000000"), "{sig}");
    // Without user= and umask the program is started by posix_spawn; directory= still applies.
    assert_eq!(wait_for_text(&dir.path().join("cwd"), "\n", T), "/usr\n");
    p.wait_stdout("exited: fds", T);
    // The exit can be logged before the pump has written ls's output to the file.
    let fds = wait_for(T, "ls's output in fds", || {
        std::fs::read_to_string(dir.path().join("fds"))
            .ok()
            .filter(|s| s.ends_with('\n'))
    });
    // 3 is the directory ls itself opened.
    assert_eq!(
        fds.split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2", "3"],
        "fds: {fds}"
    );
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn sighup_reloads_the_config() {
    let (mut p, dir) = Pid1::with_conf(
        "[program:p]\ncommand=sh -c 'echo v1 >> {dir}/runs; exec sleep 1000'\nstartsecs=0\n",
    );
    p.wait_stdout("success: p", T);
    // With startsecs=0, RUNNING comes at the spawn, before the shell has written its line.
    wait_for_text(&dir.path().join("runs"), "v1\n", T);
    let d = dir.path().display().to_string();
    conf(
        dir.path(),
        &format!(
            "[program:q]\ncommand=sh -c 'echo v2 >> {d}/runs; exec sleep 1000'\nstartsecs=0\n"
        ),
    );
    p.signal(libc::SIGHUP);
    let log = p.wait_stdout("success: q", T);
    assert!(
        log.contains("received SIGHUP indicating restart request"),
        "{log}"
    );
    assert!(pos(&log, "stopped: p") < pos(&log, "spawned: 'q'"));
    // q is RUNNING at its spawn (startsecs=0), maybe before its shell has written its line.
    let runs = wait_for_text(&dir.path().join("runs"), "v2\n", T);
    assert_eq!(runs, "v1\nv2\n");
    assert_eq!(p.namespace_pids().len(), 1);
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn child_output_goes_to_files_and_stdout() {
    let (mut p, dir) = Pid1::with_conf(
        "[program:talk]\ncommand=sh -c 'echo to-out; echo to-err >&2; exec sleep 1000'\nstartsecs=0\n\
         stdout_logfile={dir}/talk.out\nstderr_logfile=/dev/stdout\nstderr_logfile_maxbytes=0\n",
    );
    wait_for_text(&dir.path().join("talk.out"), "to-out", T);
    p.wait_stdout("to-err", T);
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn stopasgroup_takes_the_grandchildren_along() {
    let (mut p, _dir) = Pid1::with_conf(
        "[program:grp]\ncommand=sh -c 'sleep 1000 & wait'\nstartsecs=0\nstopasgroup=true\npriority=2\n\
         [program:keeper]\ncommand=sh -c 'trap \"\" TERM; while :; do sleep 0.1; done'\n\
         startsecs=0\nstopwaitsecs=2\npriority=1\n",
    );
    p.wait_stdout("success: grp", T);
    let gc = wait_for(T, "grp's sleep", || {
        p.namespace_pids().into_iter().find(|&c| {
            std::fs::read_to_string(format!("/proc/{c}/cmdline"))
                .is_ok_and(|c| c == "sleep\x001000\x00")
        })
    });
    p.signal(libc::SIGTERM);
    p.wait_stdout("stopped: grp (terminated by SIGTERM)", T);
    // keeper holds steward up for 2 s: the grandchild must already be gone (or reaped) by then.
    wait_for(T, "grp's grandchild to be gone", || {
        proc_state(gc).is_none().then_some(())
    });
    assert!(p.child.try_wait().unwrap().is_none(), "still shutting down");
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn sigusr2_reopens_the_main_log() {
    let (mut p, dir) = Pid1::with_conf("[program:s]\ncommand=sleep 1000\nstartsecs=0\n");
    let log = dir.path().join("steward.log");
    wait_for_text(&log, "success: s", T);
    std::fs::rename(&log, dir.path().join("steward.log.1")).unwrap();
    p.signal(libc::SIGUSR2);
    wait_for_text(&log, "received SIGUSR2 indicating log reopen request", T);
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn logfile_dev_stdout_is_written_once_to_fd_1() {
    let dir = tempdir();
    let conf = write(
        dir.path(),
        "s.conf",
        &format!(
            "[supervisord]\nlogfile=/dev/stdout\nlogfile_maxbytes=0\npidfile={}/pid\n\
             [program:s]\ncommand=sleep 1000\nstartsecs=0\n",
            dir.path().display()
        ),
    );
    // As supervisord: `supervisord -n -c FILE` through an argv[0] symlink.
    let link = dir.path().join("supervisord");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let mut p = Pid1::start_bin(&link, &["-n", "-c", conf.to_str().unwrap()]);
    let out = p.wait_stdout("success: s", T);
    assert_eq!(count(&out, "spawned: 's'"), 1, "{out}");
    p.signal(libc::SIGINT);
    assert_eq!(p.wait_exit(T), Some(0));
    assert!(p
        .stdout()
        .contains("received SIGINT indicating exit request"));
}

#[test]
fn supervisord_user_drops_privileges_after_start() {
    let (mut p, _dir) = Pid1::with_conf(
        "[supervisord]\nuser=nobody\n\
         [program:who]\ncommand=sh -c 'echo \"uid=$(id -u)\"; exec sleep 1000'\nstartsecs=0\n\
         stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n",
    );
    p.wait_stdout("uid=65534", T);
    let status = std::fs::read_to_string(format!("/proc/{}/status", p.init_pid())).unwrap();
    assert!(
        status.contains("\nUid:\t65534\t65534\t65534\t65534\n"),
        "{status}"
    );
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

#[test]
fn user_gives_the_program_its_home_user_logname_and_shell_unless_environment_sets_them() {
    common::require_root("run programs as another user");
    // What the test machine's passwd says about `nobody`, read independently of steward's reader.
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let fields: Vec<&str> = passwd
        .lines()
        .find(|l| l.starts_with("nobody:"))
        .expect("a `nobody` line in /etc/passwd")
        .split(':')
        .collect();
    let (home, shell) = (fields[5], fields[6]);
    assert!(!home.is_empty() && !shell.is_empty(), "{fields:?}");
    let show =
        "command=sh -c 'echo \"[$HOME|$USER|$LOGNAME|$SHELL]\"'\nstartsecs=0\nautorestart=false\n";
    let (mut p, dir) = Pid1::with_conf(&format!(
        "[program:plain]\n{show}user=nobody\nstdout_logfile={{dir}}/plain\n\
         [program:custom]\n{show}user=nobody\nenvironment=HOME=\"/srv/app\",SHELL=\"/bin/false\"\n\
         stdout_logfile={{dir}}/custom\n\
         [program:root]\n{show}stdout_logfile={{dir}}/root\n"
    ));
    for name in ["plain", "custom", "root"] {
        p.wait_stdout(&format!("exited: {name}"), T);
    }
    // The exit can be logged before the pump has written the last output to the file.
    let read = |name: &str| {
        wait_for_text(&dir.path().join(name), "]", T)
            .trim()
            .to_string()
    };
    assert_eq!(read("plain"), format!("[{home}|nobody|nobody|{shell}]"));
    assert_eq!(read("custom"), "[/srv/app|nobody|nobody|/bin/false]");
    // Without user= the program keeps steward's own environment, as under supervisord.
    let own = |k: &str| std::env::var(k).unwrap_or_default();
    assert_eq!(
        read("root"),
        format!(
            "[{}|{}|{}|{}]",
            own("HOME"),
            own("USER"),
            own("LOGNAME"),
            own("SHELL")
        )
    );
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}
