//! `steward check` on good and broken configs: exit codes and messages that name file, line, key, value.

mod common;

use common::{run, tempdir, write};

const HEAD: &str = "[supervisord]\nlogfile=/dev/null\n";

/// (name, file name, text, the line the error must name, substrings the message must contain)
fn broken() -> Vec<(&'static str, &'static str, String, usize, Vec<&'static str>)> {
    vec![
        (
            "ini syntax",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\nno delimiter here\n"),
            5,
            vec!["no delimiter here"],
        ),
        (
            "line before any section",
            "a.conf",
            "command=x\n[supervisord]\n".into(),
            1,
            vec!["command=x"],
        ),
        (
            "boolean",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\nautostart=yess\n"),
            5,
            vec!["autostart", "\"yess\"", "boolean"],
        ),
        (
            "integer",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\nstartsecs=soon\n"),
            5,
            vec!["startsecs", "\"soon\""],
        ),
        (
            "byte size",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\nstdout_logfile_maxbytes=10M\n"),
            5,
            vec!["stdout_logfile_maxbytes", "\"10M\""],
        ),
        (
            "signal",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\nstopsignal=TERMINATE\n"),
            5,
            vec!["stopsignal", "\"TERMINATE\""],
        ),
        (
            "exit codes",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\nexitcodes=0,256\n"),
            5,
            vec!["exitcodes", "256"],
        ),
        (
            "autorestart",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\nautorestart=sometimes\n"),
            5,
            vec!["autorestart", "\"sometimes\""],
        ),
        (
            "unknown expansion",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=run %(ENV_NOPE_NOT_SET_X)s\n"),
            4,
            vec!["command", "ENV_NOPE_NOT_SET_X"],
        ),
        (
            "process_num outside its keys",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\npriority=%(process_num)d\n"),
            5,
            vec!["priority", "process_num"],
        ),
        (
            "bad format",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\nuser=%USER%\n"),
            5,
            vec!["user", "%USER%"],
        ),
        (
            "numprocs without process_num",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\nnumprocs=2\n"),
            3,
            vec!["process_name", "process_num"],
        ),
        (
            "stopasgroup without killasgroup",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\nstopasgroup=true\nkillasgroup=false\n"),
            6,
            vec!["killasgroup"],
        ),
        (
            "no command",
            "a.conf",
            format!("{HEAD}[program:a]\nautostart=true\n"),
            3,
            vec!["[program:a]", "command"],
        ),
        (
            "group of unknown program",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\n[group:g]\nprograms=a,b\n"),
            6,
            vec!["programs", "\"b\""],
        ),
        (
            "invalid process name",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\nprocess_name=a:b\n"),
            5,
            vec!["process_name", "a:b"],
        ),
        (
            "log directory missing",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\nstdout_logfile=/nonexistent/dir/a.log\n"),
            5,
            vec!["stdout_logfile", "/nonexistent/dir"],
        ),
        (
            "inet port",
            "a.conf",
            format!("{HEAD}[inet_http_server]\nport=127.0.0.1:__PORT__\n"),
            4,
            vec!["port", "__PORT__"],
        ),
        (
            "unix server without file",
            "a.conf",
            format!("{HEAD}[unix_http_server]\nchmod=0700\n"),
            3,
            vec!["unix_http_server", "file"],
        ),
        (
            "half credentials",
            "a.conf",
            format!("{HEAD}[inet_http_server]\nport=9001\nusername=u\n"),
            3,
            vec!["password"],
        ),
        (
            "environment",
            "a.conf",
            format!("{HEAD}[program:a]\ncommand=x\nenvironment=A=$HOME,B=1\n"),
            5,
            vec!["environment", "$HOME,B=1"],
        ),
        (
            "listener without events",
            "a.conf",
            format!("{HEAD}[eventlistener:l]\ncommand=x\n"),
            3,
            vec!["events"],
        ),
        (
            "unknown event",
            "a.conf",
            format!("{HEAD}[eventlistener:l]\ncommand=x\nevents=PROCESS_STATE,NOPE\n"),
            5,
            vec!["NOPE"],
        ),
        (
            "no [supervisord]",
            "a.conf",
            "[program:a]\ncommand=x\n".into(),
            0,
            vec!["[supervisord]"],
        ),
        (
            "toml syntax",
            "a.toml",
            "[supervisord]\nlogfile = \"/dev/null\n".into(),
            2,
            vec!["TOML"],
        ),
        (
            "toml type",
            "a.toml",
            "[supervisord]\n[program.a]\ncommand = 3.5\n".into(),
            3,
            vec!["command"],
        ),
        (
            "toml value",
            "a.toml",
            "[supervisord]\n[program.a]\ncommand = \"x\"\nautostart = \"maybe\"\n".into(),
            4,
            vec!["autostart", "\"maybe\""],
        ),
    ]
}

#[test]
fn each_kind_of_error_exits_2_naming_file_and_line() {
    let dir = tempdir();
    let mut failures = Vec::new();
    for (what, fname, text, line, needles) in broken() {
        let path = write(
            dir.path(),
            &format!("{}/{fname}", what.replace(' ', "_")),
            &text,
        );
        let out = run(&["check", "-c", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let located = if line > 0 {
            format!("{}:{line}", path.display())
        } else {
            path.display().to_string()
        };
        if out.status.code() != Some(2) {
            failures.push(format!(
                "{what}: exit {:?}, stderr {stderr}",
                out.status.code()
            ));
        } else if !stderr.contains("Error: ") || !stderr.contains(&located) {
            failures.push(format!("{what}: message should name {located}: {stderr}"));
        } else if let Some(n) = needles.iter().find(|n| !stderr.contains(*n)) {
            failures.push(format!("{what}: message should contain {n:?}: {stderr}"));
        } else if !out.stdout.is_empty() {
            failures.push(format!("{what}: nothing should be printed on stdout"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn missing_file_and_invalid_utf8_exit_2() {
    let dir = tempdir();
    let out = run(&[
        "check",
        "-c",
        dir.path().join("nope.conf").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.conf"));

    let p = dir.path().join("bin.conf");
    std::fs::write(&p, b"[supervisord]\n\xff\xfe=1\n").unwrap();
    let out = run(&["check", "-c", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{}:2", p.display())));
}

#[test]
fn every_example_checks_and_prints_its_processes() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        // examples/ also holds files that are not steward configs (kubernetes.yaml).
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("conf" | "toml")
        ) {
            continue;
        }
        let out = run(&["check", "-c", path.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(": OK, "), "{stdout}");
        assert!(stdout.contains("argv:"), "{stdout}");
        n += 1;
    }
    assert!(n >= 5);
}

#[test]
fn ini_and_toml_twins_resolve_to_the_same_processes() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for stem in ["web", "workers", "lifecycle"] {
        let json = |ext: &str| {
            let p = examples.join(format!("{stem}.{ext}"));
            let out = run(&["check", "--json", "-c", p.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(0));
            let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            // Provenance differs by construction; everything else must be equal.
            strip_provenance(&mut v);
            v
        };
        assert_eq!(
            json("conf"),
            json("toml"),
            "{stem}.conf and {stem}.toml differ"
        );
    }
}

fn strip_provenance(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for k in ["source", "files", "file", "line", "warnings"] {
                m.remove(k);
            }
            m.values_mut().for_each(strip_provenance);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_provenance),
        _ => {}
    }
}

#[test]
fn unknown_keys_warn_with_file_and_line_and_still_load() {
    let dir = tempdir();
    let p = write(
        dir.path(),
        "w.conf",
        &format!("{HEAD}[program:a]\ncommand=x\nrestart_delay=b\n[Program:b]\ncommand=y\n"),
    );
    let out = run(&["check", "-c", p.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("warning: {}:5", p.display())),
        "{stderr}"
    );
    assert!(stderr.contains("restart_delay"), "{stderr}");
    assert!(stderr.contains("[Program:b]"), "{stderr}");
}

#[test]
fn no_config_found_is_a_usage_error() {
    let dir = tempdir();
    let out = std::process::Command::new(common::bin())
        .arg("check")
        .current_dir(dir.path())
        .output()
        .unwrap();
    // /etc/supervisord.conf may exist on a developer machine; only assert when nothing is there.
    if !std::path::Path::new("/etc/supervisord.conf").exists()
        && !std::path::Path::new("/etc/supervisor/supervisord.conf").exists()
        && !std::path::Path::new("/etc/steward.toml").exists()
    {
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("-c FILE"));
    }
}

/// `steward check ARGS` with `PATH` set to `path` and `env_remove` removed from its environment.
fn check_with(args: &[&str], path: &str, env_remove: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(common::bin());
    cmd.arg("check").args(args).env("PATH", path);
    for k in env_remove {
        cmd.env_remove(k);
    }
    cmd.output().unwrap()
}

#[test]
fn a_missing_environment_variable_is_named_with_how_to_set_it() {
    let dir = tempdir();
    let var = "STEWARD_TEST_SURELY_NOT_SET";
    let p = write(
        dir.path(),
        "env.conf",
        &format!("{HEAD}[program:a]\ncommand=/bin/echo %(ENV_{var})s\n"),
    );
    let out = check_with(&["-c", p.to_str().unwrap()], "/usr/bin:/bin", &[var]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}:4", p.display())), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the environment variable {var}, which is not set in steward's environment"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("docker run -e {var}=value")),
        "{stderr}"
    );
    // The form that failed is not offered as an alternative.
    assert!(!stderr.contains("ENV_<VAR>"), "{stderr}");

    // Set, the same file is fine: the message was about the variable, not the syntax.
    let out = std::process::Command::new(common::bin())
        .args(["check", "-c", p.to_str().unwrap()])
        .env(var, "hello")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"hello\""));

    // Another unknown name in the same value keeps the list of names that do exist.
    let p = write(
        dir.path(),
        "mixed.conf",
        &format!("{HEAD}[program:a]\ncommand=/bin/echo %(ENV_{var})s %(nope)s\n"),
    );
    let out = check_with(&["-c", p.to_str().unwrap()], "/usr/bin:/bin", &[var]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("variable {var},")), "{stderr}");
    assert!(
        stderr.contains("'nope', which cannot be expanded here; available names: group_name"),
        "{stderr}"
    );
}

#[test]
fn unknown_keys_suggest_the_closest_known_key_in_ini_and_toml() {
    let dir = tempdir();
    let ini = write(
        dir.path(),
        "typo.conf",
        &format!(
            "{HEAD}[program:a]\ncommand=/bin/true\npriorty=3\nautostrat=false\nwants_coffee=b\n\
             [unix_http_server]\nfile={}/s.sock\nchmdo=0700\n[progam:c]\ncommand=/bin/true\n",
            dir.path().display()
        ),
    );
    let toml = write(
        dir.path(),
        "typo.toml",
        "[supervisord]\nlogfile = \"/dev/null\"\n\n[program.a]\ncommand = \"/bin/true\"\n\
         priorty = 3\nautostrat = false\nwants_coffee = \"b\"\n",
    );
    for (p, lines) in [(&ini, [5, 6, 7]), (&toml, [6, 7, 8])] {
        let out = run(&["check", "-c", p.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let f = p.display();
        for (line, text) in [
            (
                lines[0],
                "unknown key `priorty` ignored (supervisord ignores it too); did you mean `priority`?",
            ),
            (lines[1], "unknown key `autostrat` ignored (supervisord ignores it too); did you mean `autostart`?"),
        ] {
            assert!(
                stderr.contains(&format!("warning: {f}:{line}: [program:a] ")) && stderr.contains(text),
                "{f}:{line} {text}\n{stderr}"
            );
        }
        // Nothing known is near enough: no guess.
        let dep = stderr
            .lines()
            .find(|l| l.contains("wants_coffee"))
            .unwrap_or_else(|| panic!("{stderr}"));
        assert!(dep.contains(&format!("{f}:{}", lines[2])), "{dep}");
        assert!(!dep.contains("did you mean"), "{dep}");
    }
    // Other sections suggest from their own keys.
    let out = run(&["check", "-c", ini.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:10: [unix_http_server] chmdo: unknown key `chmdo` ignored (supervisord ignores it too); did you mean `chmod`?", ini.display())),
        "{stderr}"
    );
    // And a misspelt section name, the one known section it is near.
    assert!(
        stderr.contains(&format!(
            "{}:11: [progam:c]: unknown section [progam:c] ignored (section names are case-sensitive); did you mean [program:c]?",
            ini.display()
        )),
        "{stderr}"
    );
}

#[test]
fn check_warns_about_what_will_fail_at_spawn_and_strict_makes_it_fail() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let d = dir.path().display().to_string();
    // steward's PATH: a directory with only Debian's versioned php-fpm, and a tool only a program's
    // own PATH has.
    let bin = dir.path().join("bin");
    let own = dir.path().join("own");
    for (f, exec) in [
        (bin.join("php-fpm8.2"), true),
        (own.join("mytool"), true),
        (dir.path().join("plain.sh"), false),
    ] {
        write(
            f.parent().unwrap(),
            f.file_name().unwrap().to_str().unwrap(),
            "#!/bin/sh\n",
        );
        let mode = if exec { 0o755 } else { 0o644 };
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let p = write(
        dir.path(),
        "spawn.conf",
        &format!(
            "{HEAD}\
             [program:php]\ncommand=php-fpm -F\n\
             [program:own]\ncommand=mytool --serve\nenvironment=PATH=\"{d}/own\"\n\
             [program:lost]\ncommand=php-fpm8.2 -F\nenvironment=PATH=\"{d}/own\"\n\
             [program:plain]\ncommand={d}/plain.sh\n\
             [program:dir]\ncommand={d}/own/mytool\ndirectory={d}/nowhere\n\
             [program:who]\ncommand=mytool\nenvironment=PATH=\"{d}/own\"\nuser=no-such-user-here\n\
             [program:fine]\ncommand=php-fpm8.2 -F\ndirectory={d}\n"
        ),
    );
    let path = bin.display().to_string();
    let out = check_with(&["-c", p.to_str().unwrap()], &path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Still a valid config (supervisord loads it): exit 0, the report printed.
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains(": OK, 7 processes"), "{stdout}");
    let f = p.display();
    let expected = [
        format!("warning: {f}:4: [program:php] command: can't find command 'php-fpm' in {path} (steward's PATH); the process will fail to spawn; did you mean {path}/php-fpm8.2?"),
        format!("warning: {f}:9: [program:lost] command: can't find command 'php-fpm8.2' in {d}/own (the program's environment= PATH); the process will fail to spawn"),
        format!("warning: {f}:12: [program:plain] command: command at '{d}/plain.sh' is not executable; the process will fail to spawn"),
        format!("warning: {f}:15: [program:dir] directory: the directory {d}/nowhere does not exist; the process will fail to spawn"),
        format!("warning: {f}:19: [program:who] user: user \"no-such-user-here\" is not in /etc/passwd; the process will fail to spawn"),
    ];
    for e in &expected {
        assert!(stderr.lines().any(|l| l == e), "missing {e}\nin:\n{stderr}");
    }
    // `own` finds its tool on its own PATH, `fine` on steward's: nothing else is reported.
    assert_eq!(stderr.lines().count(), expected.len(), "{stderr}");

    // --strict: the same findings are errors, nothing on stdout, exit 2.
    let out = check_with(&["--strict", "-c", p.to_str().unwrap()], &path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    for e in &expected {
        let as_error = e.replacen("warning: ", "Error: ", 1);
        assert!(
            stderr.lines().any(|l| l == as_error),
            "missing {as_error}\nin:\n{stderr}"
        );
    }
    // --strict on a config without findings passes.
    let clean = write(
        dir.path(),
        "clean.conf",
        &format!("{HEAD}[program:fine]\ncommand=php-fpm8.2 -F\n"),
    );
    let out = check_with(&["--strict", "-c", clean.to_str().unwrap()], &path, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_warns_about_a_daemon_started_without_its_foreground_flag_and_strict_fails() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let d = dir.path().display().to_string();
    // Present and executable, so the only finding is the daemon's.
    for name in ["nginx", "php-fpm83"] {
        let f = write(&dir.path().join("bin"), name, "#!/bin/sh\n");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let p = write(
        dir.path(),
        "d.conf",
        &format!(
            "{HEAD}[program:web]\ncommand=sh -c 'mkdir -p /tmp && exec {d}/bin/nginx'\n\
             [program:php]\ncommand={d}/bin/php-fpm83\n\
             [program:fine]\ncommand={d}/bin/php-fpm83 -F\n"
        ),
    );
    let f = p.display();
    let expected = [
        format!("warning: {f}:4: [program:web] command: nginx runs in the background unless told otherwise, and steward would restart it forever; start it in the foreground: nginx -g 'daemon off;' (or daemon off; in nginx.conf) (or, if it cannot, set pidfile= to follow it)"),
        format!("warning: {f}:6: [program:php] command: php-fpm83 runs in the background unless told otherwise, and steward would restart it forever; start it in the foreground: php-fpm -F (or, if it cannot, set pidfile= to follow it)"),
    ];
    let out = run(&["check", "-c", p.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for e in &expected {
        assert!(stderr.lines().any(|l| l == e), "missing {e}\nin:\n{stderr}");
    }
    assert_eq!(stderr.lines().count(), expected.len(), "{stderr}");
    let out = run(&["check", "--strict", "-c", p.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for e in &expected {
        let as_error = e.replacen("warning: ", "Error: ", 1);
        assert!(
            stderr.lines().any(|l| l == as_error),
            "missing {as_error}\nin:\n{stderr}"
        );
    }
}
