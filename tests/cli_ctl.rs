//! `steward ctl` without flags, black-box: it finds the steward running in its PID namespace, a config
//! in the places supervisorctl looks still comes first, and when there is neither it says where it
//! looked. The interactive shell under a pseudo-terminal (tests/cli/shell.py): TAB completes commands
//! and process names, up-arrow recalls lines, history goes to the history file and comes back, and the
//! terminal is as it was after every way out (quit, Ctrl-D, Ctrl-C, SIGTERM, SIGHUP).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::Pid1;

const PROGRAMS: &str = "[unix_http_server]\nfile={dir}/sock\n\n\
    [program:web]\ncommand=sleep 1000\nstartsecs=0\n\n\
    [program:worker]\ncommand=sleep 1000\nstartsecs=0\nnumprocs=2\nprocess_name=%(program_name)s_%(process_num)d\n";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// steward as PID 1 with `web` and `worker:worker_0/1` running; returns it, its directory and socket.
fn running() -> (Pid1, tempfile::TempDir, std::path::PathBuf) {
    let (p, dir) = Pid1::with_conf(PROGRAMS);
    let sock = dir.path().join("sock");
    let url = format!("unix://{}", sock.display());
    common::wait_for(Duration::from_secs(10), "three programs RUNNING", || {
        let o = common::run(&["ctl", "-s", &url, "status"]);
        (common::count(&text(&o.stdout), "RUNNING") == 3).then_some(())
    });
    (p, dir, sock)
}

/// `steward ctl ARGS` inside steward's PID and mount namespaces (its /proc), from `cwd`.
fn ctl_inside(p: &Pid1, cwd: &Path, args: &[&str]) -> Output {
    let pid = p.init_pid().to_string();
    // Joining a mount namespace moves to its root: --wd sets the directory again.
    Command::new("nsenter")
        .args(["-t", &pid, "-p", "-m"])
        .arg(format!("--wd={}", cwd.display()))
        .arg("--")
        .arg(common::bin())
        .arg("ctl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|_| common::missing("nsenter (util-linux)"))
}

#[test]
fn ctl_without_flags_finds_the_running_steward() {
    let (p, _dir, _sock) = running();
    let empty = common::tempdir();
    let o = ctl_inside(&p, empty.path(), &["status"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}{}", text(&o.stderr));
    for name in ["web ", "worker:worker_0 ", "worker:worker_1 "] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(name) && l.contains("RUNNING")),
            "{name}: {out}"
        );
    }
    assert!(o.stderr.is_empty(), "{}", text(&o.stderr));
    // A config where supervisorctl looks still comes first, as for supervisorctl.
    common::write(
        empty.path(),
        "supervisord.conf",
        "[supervisorctl]\nserverurl=unix:///nonexistent/steward-test.sock\n",
    );
    let o = ctl_inside(&p, empty.path(), &["status"]);
    assert_eq!(
        text(&o.stdout),
        "unix:///nonexistent/steward-test.sock no such file\n"
    );
}

#[test]
fn ctl_with_nothing_to_find_says_where_it_looked() {
    let empty = common::tempdir();
    // A namespace with no steward and no network: nothing at localhost:9001 either.
    let o = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--net", "--"])
        .arg(common::bin())
        .args(["ctl", "status"])
        .current_dir(empty.path())
        .stdin(Stdio::null())
        .output()
        .expect("unshare");
    assert_ne!(o.status.code(), Some(0));
    let err = text(&o.stderr);
    // `<exe>/..` by name, one path a line, as run mode and `check` say it.
    let up = common::bin()
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .display()
        .to_string();
    for want in [
        format!("no config file found; looked for:\n  {up}/etc/supervisord.conf\n  {up}/supervisord.conf\n  supervisord.conf\n  etc/supervisord.conf\n  /etc/supervisord.conf\n  /etc/supervisor/supervisord.conf\n"),
        "no steward or supervisord with a unix socket runs in this PID namespace".to_string(),
        "http://localhost:9001 was tried".to_string(),
    ] {
        assert!(err.contains(&want), "no {want:?} in\n{err}");
    }
}

#[test]
fn interactive_shell_edits_completes_and_keeps_history() {
    let (_p, dir, sock) = running();
    let history = dir.path().join("history");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/shell.py");
    let o = Command::new("python3")
        .arg(script)
        .arg(common::bin())
        .arg(&sock)
        .arg(&history)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|_| common::missing("python3"));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
}

#[test]
fn a_missing_environment_variable_in_supervisorctl_is_named() {
    let dir = common::tempdir();
    let conf = common::write(
        dir.path(),
        "supervisord.conf",
        "[supervisorctl]\nserverurl=unix://%(ENV_STEWARD_NOPE_CTL_X)s/sock\n",
    );
    let o = Command::new(common::bin())
        .arg("ctl")
        .arg("-c")
        .arg(&conf)
        .arg("status")
        .env_remove("STEWARD_NOPE_CTL_X")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = text(&o.stderr);
    // The supervisor's loader's explanation: the variable, that it is unset, and how to set it.
    for want in [
        "supervisorctl.serverurl",
        "uses the environment variable STEWARD_NOPE_CTL_X, which is not set",
        "`STEWARD_NOPE_CTL_X=value steward ...`",
    ] {
        assert!(err.contains(want), "no {want:?} in\n{err}");
    }
}
