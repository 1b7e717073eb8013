//! The command line explains itself, black-box: `--help` shows every mode with an example,
//! `steward help [TOPIC]`, a misspelt subcommand gets "did you mean" and exit 2 while a real program of
//! that name still runs, and run mode without a config says every path it tried.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn steward(args: &[&str], cwd: &Path, path_env: Option<&str>) -> Output {
    let mut c = Command::new(common::bin());
    c.args(args).current_dir(cwd);
    if let Some(p) = path_env {
        c.env("PATH", p);
    }
    c.output().expect("run steward")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_shows_every_mode_with_an_example() {
    let dir = common::tempdir();
    for flag in ["--help", "-h"] {
        let o = steward(&[flag], dir.path(), None);
        assert_eq!(o.status.code(), Some(0));
        let t = text(&o.stdout);
        for want in [
            "steward [-c FILE] [OPTIONS]",
            "steward -c /etc/supervisord.conf",
            "steward [OPTIONS] -- CMD [ARGS...]",
            "steward -g -r TERM:QUIT -- nginx",
            "steward check [-c FILE]",
            "steward check --strict -c",
            "steward ctl [OPTIONS] [COMMAND...]",
            "steward ctl status",
            "steward help [run|single|check|ctl",
            "steward help ctl",
            "steward -f Procfile [OPTIONS]",
            "steward -f Procfile -m web=2 -p 8000",
            "supervisord, supervisorctl, tini and dumb-init",
            "--configuration",
            // The single-command flags stay attached.
            "Single-command mode",
            "--remap-exit",
            "--rewrite",
        ] {
            assert!(t.contains(want), "{flag}: no {want:?} in\n{t}");
        }
    }
    // `steward help` alone is the same overview.
    let o = steward(&["help"], dir.path(), None);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        text(&o.stdout),
        text(&steward(&["--help"], dir.path(), None).stdout)
    );
}

#[test]
fn help_topics() {
    let dir = common::tempdir();
    for (topic, want) in [
        ("run", "--nodaemon"),
        ("supervisord", "--nodaemon"),
        ("single", "--pdeathsig"),
        ("tini", "--pdeathsig"),
        ("check", "--strict"),
        ("procfile", "--keep-running"),
        ("foreman", "--formation"),
        ("ctl", "--history_file"),
        ("supervisorctl", "--serverurl"),
        ("tail", "tail -f <name>"),
        ("status", "status <gname>:*"),
    ] {
        let o = steward(&["help", topic], dir.path(), None);
        assert_eq!(o.status.code(), Some(0), "help {topic}");
        assert!(
            text(&o.stdout).contains(want),
            "help {topic}: no {want:?} in\n{}",
            text(&o.stdout)
        );
    }
    let o = steward(&["help", "chek"], dir.path(), None);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("did you mean `check`?"),
        "{}",
        text(&o.stderr)
    );
    let o = steward(&["help", "zzzzzz"], dir.path(), None);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no help topic `zzzzzz`"));
}

#[test]
fn help_pages_fit_in_100_columns() {
    let dir = common::tempdir();
    let mut pages = vec![
        vec!["--help"],
        vec!["-f", "Procfile", "--help"],
        vec!["ctl", "--help"],
    ];
    for topic in ["run", "single", "check", "ctl", "procfile"] {
        pages.push(vec!["help", topic]);
    }
    let commands = [
        "add", "avail", "clear", "fg", "health", "maintail", "pid", "reload", "remove", "reread",
        "restart", "shutdown", "signal", "start", "status", "stop", "tail", "update", "version",
    ];
    for c in commands {
        pages.push(vec!["help", c]);
    }
    for args in &pages {
        let o = steward(args, dir.path(), None);
        assert_eq!(o.status.code(), Some(0), "{args:?}");
        let t = text(&o.stdout);
        for line in t.lines() {
            assert!(
                line.chars().count() <= 100,
                "{args:?}: {} columns: {line}",
                line.chars().count()
            );
        }
    }
    // A ctl command's page writes each way to call it as a steward command line.
    for c in commands {
        let o = steward(&["help", c], dir.path(), None);
        let t = text(&o.stdout);
        assert!(t.starts_with(&format!("steward ctl {c}")), "help {c}: {t}");
        assert!(
            !t.lines().any(|l| l == c || l.starts_with(&format!("{c} "))),
            "help {c}: {t}"
        );
        assert!(!t.contains('\t'), "help {c}: {t:?}");
    }
}

#[test]
fn a_misspelt_subcommand_is_not_run() {
    let dir = common::tempdir();
    let path = std::env::var("PATH").unwrap_or_default();
    for (typo, meant) in [
        ("chek", "check"),
        ("chekc", "check"),
        ("Check", "check"),
        ("clt", "ctl"),
        ("ctrl", "ctl"),
        ("hlep", "help"),
        ("status", "ctl status"),
    ] {
        let o = steward(&[typo, "-c", "x.conf"], dir.path(), Some(&path));
        assert_eq!(o.status.code(), Some(2), "{typo}");
        let err = text(&o.stderr);
        assert!(
            err.contains(&format!(
                "`{typo}` is not a program on PATH; did you mean `steward {meant}`?"
            )),
            "{typo}: {err}"
        );
        assert!(o.stdout.is_empty());
    }
    // Far from every subcommand: run as a command, which does not exist (no suggestion).
    let o = steward(&["zzqxv-no-such-program"], dir.path(), Some(&path));
    assert_ne!(o.status.code(), Some(0));
    assert!(
        !text(&o.stderr).contains("did you mean"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_real_program_named_like_a_typo_still_runs() {
    let dir = common::tempdir();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // Written by a shell of its own: a file this process held open for writing could be inherited by
    // another test thread's fork and make the exec fail with ETXTBSY.
    for name in ["chek", "clt", "status"] {
        let ok = Command::new("sh")
            .arg("-c")
            .arg("printf '#!/bin/sh\\necho \"ran %s $*\"\\nexit 7\\n' \"$2\" > \"$1/$2\" && chmod 755 \"$1/$2\"")
            .args(["sh", bin.to_str().unwrap(), name])
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for name in ["chek", "clt", "status"] {
        let o = steward(&[name, "a", "b"], dir.path(), Some(&path));
        assert_eq!(
            text(&o.stdout),
            format!("ran {name} a b\n"),
            "{}",
            text(&o.stderr)
        );
        assert_eq!(
            o.status.code(),
            Some(7),
            "steward exits with the program's status"
        );
    }
    // A path is always a program, never a typo.
    let o = steward(&["bin/chek", "x"], dir.path(), Some("/usr/bin:/bin"));
    assert_eq!(text(&o.stdout), "ran chek x\n");
    // Not executable is not a program: still a typo.
    std::fs::set_permissions(bin.join("chek"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = steward(&["chek"], dir.path(), Some(&path));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("did you mean `steward check`?"));
}

#[test]
fn no_config_lists_every_path_tried() {
    let dir = common::tempdir();
    // The binary (a symlink) in its own tree, so `<exe>/../etc/` is a place we know has nothing.
    let tree = common::tempdir();
    std::fs::create_dir(tree.path().join("bin")).unwrap();
    let exe = tree.path().join("bin/steward");
    std::os::unix::fs::symlink(common::bin(), &exe).unwrap();
    // `<exe>/..` by name: the tree's root, written without `..`.
    let root = tree.path().display().to_string();
    let want: Vec<String> = [
        format!("{root}/etc"),
        root.clone(),
        ".".into(),
        "./etc".into(),
        "/etc".into(),
        "/etc/supervisor".into(),
    ]
    .iter()
    .flat_map(|d| [format!("{d}/steward.toml"), format!("{d}/supervisord.conf")])
    .collect();
    let mut bodies = Vec::new();
    for args in [&[][..], &["check"]] {
        let o = Command::new(&exe)
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = text(&o.stderr);
        let mut lines = err.lines();
        assert_eq!(
            lines.next(),
            Some("Error: No config file found; looked for:"),
            "{args:?}: {err}"
        );
        let looked: Vec<&str> = lines
            .by_ref()
            .take_while(|l| l.starts_with("  "))
            .map(str::trim_start)
            .collect();
        assert_eq!(looked, want, "{args:?}: {err}");
        assert!(!err.contains(".."), "{args:?}: {err}");
        // The same text from run mode and check, up to the line that says where help is.
        bodies.push(err[..err.find("For help, use").unwrap()].to_string());
    }
    assert_eq!(bodies[0], bodies[1]);
    assert!(bodies[0].contains("-c FILE") && bodies[0].contains("-f FILE"));
}

#[test]
fn a_bad_option_is_a_usage_error_that_says_what_is_wrong() {
    let dir = common::tempdir();
    for (args, want) in [
        (
            &["--confguration", "x.conf"][..],
            "did you mean '--configuration'?",
        ),
        (&["check", "--strct"], "did you mean '--strict'?"),
        (
            &["ctl", "--srverurl=unix:///x", "status"],
            "did you mean '--serverurl'?",
        ),
        (
            &["-f", "Procfile", "-p", "http"],
            "invalid value 'http' for '--port <PORT>'",
        ),
        (
            &["-c"],
            "a value is required for '--configuration <CONFIGURATION>'",
        ),
    ] {
        let o = steward(args, dir.path(), None);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = text(&o.stderr);
        assert!(
            err.starts_with("error: ") && err.contains(want),
            "{args:?}: {err}"
        );
        assert!(err.contains("\nUsage: steward"), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}
