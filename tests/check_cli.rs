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
