//! `GET /metrics` of steward as PID 1, parsed by the real `prometheus_client` parser (PyPI), and its
//! values checked against the process table after a crash, a restart and some output.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::http::{body_of, call, raw, status_of};
use common::Pid1;
use steward::control::xmlrpc::Value;

const T: Duration = Duration::from_secs(20);

/// A Python with prometheus_client: scripts/test.sh installs it into the supervisor venv.
fn python() -> PathBuf {
    let Some(venv) = std::env::var_os("STEWARD_SUPERVISOR_VENV") else {
        common::missing("the Python venv with prometheus_client (STEWARD_SUPERVISOR_VENV)");
    };
    let py = PathBuf::from(venv).join("bin/python3");
    let ok = Command::new(&py)
        .args(["-c", "import prometheus_client"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        common::missing(&format!("prometheus_client in {}", py.display()));
    }
    py
}

type Samples = HashMap<(String, Vec<(String, String)>), f64>;

/// Scrape and parse; every sample keyed by name and sorted labels.
fn scrape(sock: &Path, py: &Path) -> (String, Samples) {
    let resp = raw(
        sock,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&resp), 200);
    let text = String::from_utf8(body_of(&resp).to_vec()).unwrap();
    let mut cmd = Command::new(py);
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/metrics/parse.py"
    ))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let out = common::output_with_input(&mut cmd, text.as_bytes());
    assert!(
        out.status.success(),
        "prometheus_client refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut samples = Samples::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let mut labels: Vec<(String, String)> = v[1]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        labels.sort();
        samples.insert(
            (v[0].as_str().unwrap().to_string(), labels),
            v[2].as_f64().unwrap(),
        );
    }
    (text, samples)
}

fn of(s: &Samples, name: &str, process: &str, extra: &[(&str, &str)]) -> f64 {
    let mut labels: Vec<(String, String)> = [("group", process), ("process", process)]
        .iter()
        .chain(extra)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    labels.sort();
    *s.get(&(name.to_string(), labels.clone()))
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
}

fn info(sock: &Path, name: &str) -> Value {
    call(sock, "supervisor.getProcessInfo", &[Value::str(name)]).unwrap()
}

fn int(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_int).unwrap()
}

#[test]
fn metrics_parse_and_follow_crashes_restarts_and_output() {
    let py = python();
    let (p, dir) = Pid1::with_conf(
        "[unix_http_server]\nfile={dir}/sock\n\n\
         [program:crash]\ncommand=sh -c 'echo boom; exit 3'\nstartsecs=0\nautorestart=true\nstdout_logfile={dir}/crash.log\n\n\
         [program:calm]\ncommand=sh -c 'echo hello; exec sleep 1000'\nstartsecs=0\nstdout_logfile={dir}/calm.log\n\n\
         [program:\"odd\"]\ncommand=sleep 1000\nautostart=false\n\n\
         [program:slow]\ncommand=sleep 1000\nstartsecs=600\n",
    );
    let sock = dir.path().join("sock");
    common::wait_for(T, "the control socket", || sock.exists().then_some(()));

    // The crash loop restarts crash about once a second: wait for two automatic restarts.
    let s = common::wait_for(T, "two restarts of crash", || {
        let (_, s) = scrape(&sock, &py);
        (of(&s, "steward_process_restarts_total", "crash", &[]) >= 2.0).then_some(s)
    });
    let starts = of(&s, "steward_process_starts_total", "crash", &[]);
    let restarts = of(&s, "steward_process_restarts_total", "crash", &[]);
    let exits = of(&s, "steward_process_exits_total", "crash", &[]);
    assert_eq!(
        restarts,
        starts - 1.0,
        "all but the first start are automatic"
    );
    assert!(exits >= starts - 1.0 && exits <= starts);
    assert_eq!(
        of(&s, "steward_process_last_exit_status", "crash", &[]),
        3.0
    );
    // Each run wrote "boom\n".
    let bytes = of(
        &s,
        "steward_process_log_bytes_total",
        "crash",
        &[("stream", "stdout")],
    );
    assert!(bytes >= 5.0 * exits, "{bytes} bytes for {exits} runs");
    assert_eq!(
        of(
            &s,
            "steward_process_log_dropped_bytes_total",
            "crash",
            &[("stream", "stdout")]
        ),
        0.0
    );

    // calm: RUNNING, one start, its pid and start time as getProcessInfo says.
    let i = info(&sock, "calm");
    assert_eq!(of(&s, "steward_process_up", "calm", &[]), 1.0);
    assert_eq!(
        of(&s, "steward_process_state", "calm", &[("state", "RUNNING")]),
        1.0
    );
    assert_eq!(
        of(&s, "steward_process_state", "calm", &[("state", "STOPPED")]),
        0.0
    );
    assert_eq!(
        of(&s, "steward_process_pid", "calm", &[]),
        int(&i, "pid") as f64
    );
    assert_eq!(
        of(&s, "steward_process_start_time_seconds", "calm", &[]),
        int(&i, "start") as f64
    );
    assert!(of(&s, "steward_process_resident_memory_bytes", "calm", &[]) > 0.0);
    assert_eq!(of(&s, "steward_process_starts_total", "calm", &[]), 1.0);

    assert_eq!(of(&s, "steward_process_ready", "calm", &[]), 1.0);

    // slow has a child but is not past its startsecs: up, not ready.
    assert_eq!(
        of(
            &s,
            "steward_process_state",
            "slow",
            &[("state", "STARTING")]
        ),
        1.0
    );
    assert!(of(&s, "steward_process_pid", "slow", &[]) > 0.0);
    assert_eq!(of(&s, "steward_process_up", "slow", &[]), 1.0);
    assert_eq!(of(&s, "steward_process_ready", "slow", &[]), 0.0);

    // A restart by request is a start, not an automatic restart.
    call(&sock, "supervisor.stopProcess", &[Value::str("calm")]).unwrap();
    call(&sock, "supervisor.startProcess", &[Value::str("calm")]).unwrap();
    let s = common::wait_for(T, "calm's second output", || {
        let (_, s) = scrape(&sock, &py);
        (of(
            &s,
            "steward_process_log_bytes_total",
            "calm",
            &[("stream", "stdout")],
        ) >= 12.0)
            .then_some(s)
    });
    assert_eq!(of(&s, "steward_process_starts_total", "calm", &[]), 2.0);
    assert_eq!(of(&s, "steward_process_restarts_total", "calm", &[]), 0.0);
    assert_eq!(of(&s, "steward_process_exits_total", "calm", &[]), 1.0);
    assert_eq!(
        of(&s, "steward_process_pid", "calm", &[]),
        int(&info(&sock, "calm"), "pid") as f64
    );

    // Never started: neither up nor ready. A name with a quote is escaped and parses back to itself;
    // no CPU figure without a child.
    assert_eq!(of(&s, "steward_process_up", "\"odd\"", &[]), 0.0);
    assert_eq!(of(&s, "steward_process_ready", "\"odd\"", &[]), 0.0);
    assert_eq!(
        of(
            &s,
            "steward_process_state",
            "\"odd\"",
            &[("state", "STOPPED")]
        ),
        1.0
    );
    assert!(!s
        .keys()
        .any(|(n, l)| n == "steward_process_cpu_seconds_total"
            && l.iter().any(|(_, v)| v == "\"odd\"")));

    // steward itself.
    let key = |n: &str| (n.to_string(), Vec::new());
    assert!(s[&key("process_resident_memory_bytes")] > 0.0);
    assert!(s[&key("process_open_fds")] > 0.0);
    assert!(s[&key("steward_http_requests_total")] >= 3.0);
    assert_eq!(s[&key("steward_config_reloads_total")], 0.0);

    // SIGHUP reloads the configuration (supervisord's restart of everything): counted once it is in force.
    p.signal(libc::SIGHUP);
    common::wait_for(T, "steward_config_reloads_total 1", || {
        let (_, s) = scrape(&sock, &py);
        (s[&key("steward_config_reloads_total")] == 1.0).then_some(())
    });
    p.signal(libc::SIGTERM);
    let mut p = p;
    assert_eq!(p.wait_exit(T), Some(0));
}
