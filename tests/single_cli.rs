//! Single-command mode's command lines: steward's own flags, and the exact usage exit codes, messages
//! and environment variables of tini and dumb-init when the binary has their names.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;

const T: Duration = Duration::from_secs(10);

fn alias(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::os::unix::fs::symlink(bin(), &p).unwrap();
    p
}

fn run_as(binary: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(binary)
        .args(args)
        .env_remove("TINI_SUBREAPER")
        .env_remove("TINI_VERBOSITY")
        .env_remove("TINI_KILL_PROCESS_GROUP")
        .env_remove("DUMB_INIT_SETSID")
        .env_remove("DUMB_INIT_DEBUG")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn tini_usage_exit_codes() {
    let d = tempdir();
    let tini = alias(d.path(), "tini");
    for (args, code) in [
        (&[][..], 1),
        (&["-e", "256", "true"], 1),
        (&["-e", "x", "true"], 1),
        (&["-p", "KILL", "true"], 1),
        (&["-p", "9", "true"], 1),
        (&["-x", "true"], 1),
        (&["--version", "x"], 1),
        // Options after the program are tini's own unless `--` comes first.
        (&["echo", "-n"], 1),
        (&["-h"], 0),
        (&["--version"], 0),
        (&["-l"], 0),
        (&["/nonexistent/x"], 127),
        (&["/"], 126),
        (&["-s", "--", "sh", "-c", "exit 5"], 5),
    ] {
        let out = run_as(&tini, args, &[]);
        assert_eq!(out.status.code(), Some(code), "tini {args:?}: {out:?}");
    }
    // Help and version go to stdout, usage errors to stderr.
    let out = run_as(&tini, &["-h"], &[]);
    assert!(text(&out.stdout).contains("TINI_KILL_PROCESS_GROUP"));
    let out = run_as(&tini, &["--version"], &[]);
    assert!(text(&out.stdout).starts_with("tini version 0.19.0"));
    let out = run_as(&tini, &[], &[]);
    assert!(text(&out.stderr).contains("Usage:") && out.stdout.is_empty());
    let out = run_as(&tini, &["echo", "--", "hi", "-n"], &[]);
    assert_eq!(text(&out.stdout), "hi -n\n");
}

#[test]
fn tini_subreaper_warning_and_verbosity() {
    let d = tempdir();
    let tini = alias(d.path(), "tini");
    // Not PID 1, no -s: tini warns; we register as a subreaper anyway and say so.
    let out = run_as(&tini, &["true"], &[]);
    assert!(text(&out.stderr).contains("subreaper"), "{out:?}");
    for (args, env) in [
        (&["-s", "true"][..], &[][..]),
        (&["true"], &[("TINI_SUBREAPER", "")]),
        (&["true"], &[("TINI_VERBOSITY", "0")]),
    ] {
        let out = run_as(&tini, args, env);
        assert!(out.stderr.is_empty(), "{args:?} {env:?}: {out:?}");
        assert_eq!(out.status.code(), Some(0));
    }
    // -v (or TINI_VERBOSITY=2) reports the child's start and exit.
    let out = run_as(&tini, &["-s", "-v", "--", "sh", "-c", "exit 4"], &[]);
    assert!(
        text(&out.stderr).contains("exited with status 4"),
        "{out:?}"
    );
    let out = run_as(&tini, &["-s", "true"], &[("TINI_VERBOSITY", "2")]);
    assert!(text(&out.stderr).contains("spawned"), "{out:?}");
}

#[test]
fn dumb_init_usage_exit_codes() {
    let d = tempdir();
    let di = alias(d.path(), "dumb-init");
    for (args, code) in [
        (&[][..], 1),
        (&["-r", "15:32", "true"], 1),
        (&["-r", "0:1", "true"], 1),
        (&["-r", "TERM:0", "true"], 1),
        (&["--bogus", "true"], 1),
        (&["-x", "true"], 1),
        (&["-h"], 0),
        (&["--help"], 0),
        (&["-V"], 0),
        (&["--version"], 0),
        // dumb-init exits 2 when the command cannot be run at all.
        (&["/nonexistent/x"], 2),
        (&["/"], 2),
        (&["sh", "-c", "exit 6"], 6),
        (
            &["--single-child", "--rewrite=15:0", "sh", "-c", "exit 7"],
            7,
        ),
    ] {
        let out = run_as(&di, args, &[]);
        assert_eq!(out.status.code(), Some(code), "dumb-init {args:?}: {out:?}");
    }
    // dumb-init prints help and version on stderr; options stop at the program name.
    let out = run_as(&di, &["-V"], &[]);
    assert_eq!(text(&out.stderr), "dumb-init v1.2.5\n");
    assert!(out.stdout.is_empty());
    let out = run_as(&di, &["echo", "-n", "x"], &[]);
    assert_eq!(text(&out.stdout), "x");
    // Quiet unless -v or DUMB_INIT_DEBUG=1.
    assert!(run_as(&di, &["true"], &[]).stderr.is_empty());
    assert!(!run_as(&di, &["-v", "true"], &[]).stderr.is_empty());
    assert!(!run_as(&di, &["true"], &[("DUMB_INIT_DEBUG", "1")])
        .stderr
        .is_empty());
    assert!(run_as(&di, &["true"], &[("DUMB_INIT_DEBUG", "yes")])
        .stderr
        .is_empty());
}

#[test]
fn steward_flags_and_usage() {
    let b = bin();
    for (args, code) in [
        (&["--"][..], 2),
        (&["-e", "256", "--", "true"], 2),
        (&["-r", "TERM", "--", "true"], 2),
        (&["-r", "KILL:TERM", "--", "true"], 2),
        (&["-p", "NOPE", "--", "true"], 2),
        (&["--setsid", "-c", "--", "true"], 2),
        (&["--", "/nonexistent/x"], 127),
        (&["--", "/"], 126),
        (&["-e", "3", "--", "sh", "-c", "exit 3"], 0),
        (&["-e", "3", "sh", "-c", "exit 4"], 4),
        (&["-g", "sh", "-c", "kill -USR1 $$"], 138),
    ] {
        let out = run_as(&b, args, &[]);
        assert_eq!(out.status.code(), Some(code), "steward {args:?}: {out:?}");
    }
    // Not PID 1, steward becomes a subreaper without a word, and says so with -v.
    let quiet = run_as(&b, &["--", "true"], &[]);
    assert!(quiet.stderr.is_empty(), "{quiet:?}");
    let said = text(&run_as(&b, &["-v", "--", "true"], &[]).stderr);
    assert_eq!(
        said.lines().filter(|l| l.contains("subreaper")).count(),
        1,
        "{said}"
    );
    // `steward --help` documents the single-command flags.
    let help = text(&run_as(&b, &["--help"], &[]).stdout);
    for flag in [
        "--group",
        "--setsid",
        "--single-child",
        "--rewrite",
        "--remap-exit",
        "--pdeathsig",
        "--warn-reap",
        "--subreaper",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
}

#[test]
fn warn_reap_reports_each_orphan() {
    let d = tempdir();
    let err = d.path().join("stderr");
    let mut child = Command::new(bin())
        .args(["-w", "--", "sh", "-c", "(true &); exec sleep 100"])
        .stdin(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let shown = wait_for_text(&err, "reaped zombie process with pid=", T);
    // SAFETY: kill(2) on the child we started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = wait_for(T, "steward to exit", || child.try_wait().unwrap());
    assert_eq!(status.code(), Some(143), "{shown}");
}

#[test]
fn setsid_mode_starts_a_new_session() {
    // Field 6 of /proc/PID/stat is the session id: the child leads its own session only with --setsid.
    let leads = "test \"$(cut -d' ' -f6 /proc/$$/stat)\" = $$";
    let b = bin();
    let out = run_as(&b, &["--setsid", "--", "sh", "-c", leads], &[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = run_as(&b, &["-g", "--", "sh", "-c", leads], &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn real_time_signals_are_forwarded_too() {
    let d = tempdir();
    let ready = d.path().join("ready");
    let script = format!("touch {}; exec sleep 100", ready.display());
    let mut child = Command::new(bin())
        .args(["--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(T, "the child to start", || ready.exists().then_some(()));
    // SAFETY: kill(2) on the child we started; SIGRTMIN+6 kills a program that does not handle it.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGRTMIN() + 6);
    }
    let status = wait_for(T, "steward to exit", || child.try_wait().unwrap());
    assert_eq!(status.code(), Some(128 + libc::SIGRTMIN() + 6));
}

#[test]
fn dash_c_read_as_a_config_file_hints_at_single_child_mode() {
    let d = tempdir();
    let hint = "did you mean single-child mode? use `steward --single-child -- sh -c 'exit 3'`";
    // Run mode takes `-c sh -c 'exit 3'` whole: -c FILE twice, the last one a file that is not there.
    let out = Command::new(bin())
        .args(["-c", "sh", "-c", "exit 3"])
        .current_dir(d.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("cannot read the file"), "{err}");
    assert!(err.contains(hint), "{err}");
    // What the hint says works.
    let out = run_as(&bin(), &["--single-child", "--", "sh", "-c", "exit 3"], &[]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    // No hint for a config path, a lone program name, or a word that is no program.
    for args in [
        &["-c", "./sh", "-n"][..],
        &["-c", "sh"],
        &["-c", "no-such-program-x", "-n"],
    ] {
        let out = Command::new(bin())
            .args(args)
            .current_dir(d.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(
            !text(&out.stderr).contains("did you mean"),
            "{args:?}: {out:?}"
        );
    }
}
