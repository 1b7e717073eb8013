//! `steward ctl` (the binary) against steward's control server with the FakeEngine: the steward-only
//! commands (`status --json`, `health`), exit codes, and the interactive loop. No venv needed.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::fake::{FakeEngine, FakeProcess, TestServer};
use steward::control::server::Limits;
use steward::engine::api::EngineError;

fn server(dir: &Path) -> TestServer {
    TestServer::start(dir.join("sock"), None, Limits::default(), || {
        let b = FakeEngine::new(vec![
            FakeProcess::new("web", "web", None),
            FakeProcess::new("multi", "multi_00", None),
            FakeProcess::new("failfast", "failfast", None).failing(EngineError::SpawnFailed),
            FakeProcess::new("manual", "manual", None).autostart(false),
        ]);
        b.run("web", "web");
        b
    })
    .unwrap()
}

fn ctl(srv: &TestServer, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(["ctl", "-s", &format!("unix://{}", srv.socket.display())])
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn status_json_and_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path());
    let o = ctl(&srv, &["status", "--json"]);
    assert_eq!(o.status.code(), Some(3), "some processes are stopped");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 4);
    let web = list.iter().find(|p| p["name"] == "web").unwrap();
    assert_eq!(web["statename"], "RUNNING");
    assert_eq!(web["namespec"], "web");
    assert!(web["pid"].as_i64().unwrap() > 0);
    let m = list.iter().find(|p| p["name"] == "multi_00").unwrap();
    assert_eq!(m["namespec"], "multi:multi_00");

    let o = ctl(&srv, &["status", "--json", "web"]);
    assert_eq!(o.status.code(), Some(0));
    let o = ctl(&srv, &["status", "nosuch"]);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(stdout(&o), "nosuch: ERROR (no such process)\n");
    let o = ctl(&srv, &["start"]);
    assert_eq!(o.status.code(), Some(2));
    let o = ctl(&srv, &["start", "failfast"]);
    assert_eq!(o.status.code(), Some(7));
    assert_eq!(stdout(&o), "failfast: ERROR (spawn error)\n");
    let o = ctl(&srv, &["pid", "manual"]);
    assert_eq!((o.status.code(), stdout(&o)), (Some(7), "0\n".to_string()));
    let o = ctl(&srv, &["frobnicate"]);
    assert_eq!(
        (o.status.code(), stdout(&o)),
        (Some(1), "*** Unknown syntax: frobnicate\n".to_string())
    );
}

#[test]
fn health_follows_autostart_processes() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path());
    let o = ctl(&srv, &["health"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(stdout(&o).contains("unhealthy: multi:multi_00 STOPPED"));
    assert!(!stdout(&o).contains("manual"));
    srv.with(|b| {
        b.run("multi", "multi_00");
        b.run("failfast", "failfast");
    });
    let o = ctl(&srv, &["health"]);
    assert_eq!(
        (o.status.code(), stdout(&o)),
        (Some(0), "healthy\n".to_string())
    );
    // Nobody listening: the same "unreachable" code as status.
    drop(srv);
    let o = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args([
            "ctl",
            "-s",
            &format!("unix://{}/sock", dir.path().display()),
            "health",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(4));
}

#[test]
fn interactive_loop_runs_status_first_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    cmd.args(["ctl", "-s", &format!("unix://{}", srv.socket.display())])
        .stdout(Stdio::piped());
    let o = common::output_with_input(&mut cmd, b"start manual\nbogus\nquit\n");
    let t = stdout(&o);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        t.contains("web                              RUNNING"),
        "{t}"
    );
    assert!(t.contains("supervisor> manual: started\n"), "{t}");
    assert!(t.contains("*** Unknown syntax: bogus"), "{t}");
}
