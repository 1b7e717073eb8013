//! `GET /metrics`: the Prometheus text exposition format (version 0.0.4).
//!
//! Everything is gathered when scraped: the engine's counters (one request), then `/proc` for the CPU
//! and memory of each running child and of steward itself. Nothing runs between scrapes. Names follow
//! Prometheus' conventions: `_total` counters, `_seconds` and `_bytes` units, `group`/`process`
//! labels; steward's own figures use the standard `process_*` names exporters give themselves.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::api::{Metrics, ProcessCounters, ProcessInfo, ProcessState};

/// One per-process gauge or counter, read off the snapshot and the counters.
type PerProcess = fn(&ProcessInfo, &ProcessCounters) -> i64;

/// A child of the process exists: spawned and not yet reaped (STARTING, RUNNING or STOPPING).
fn up(p: &ProcessInfo) -> i64 {
    let live = matches!(
        p.state,
        ProcessState::Starting | ProcessState::Running | ProcessState::Stopping
    );
    i64::from(live && p.pid > 0)
}

/// RUNNING: past startsecs, or its ready_check passed.
fn ready(p: &ProcessInfo) -> i64 {
    i64::from(p.state == ProcessState::Running)
}

/// HTTP requests served by the control servers (both), counted as they arrive.
pub static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// A label value with `\`, `"` and newlines escaped, as the format requires.
fn label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// CPU seconds (user + system) and resident bytes of a process, from `/proc`; `None` when it is gone.
fn usage(pid: &str) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: the fields start after the last `)`.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    // utime and stime are fields 14 and 15 of stat(5); `fields` starts at field 3.
    let cpu = (ticks(11)? + ticks(12)?) as f64 / clock_ticks();
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split(' ').nth(1)?.parse().ok()?;
    Some((cpu, pages * page_size()))
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf reads a constant of the system.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf reads a constant of the system.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p).unwrap_or(4096)
}

/// One metric family: `# HELP`, `# TYPE`, then its samples.
struct Family<'a> {
    out: &'a mut String,
}

impl<'a> Family<'a> {
    fn new(out: &'a mut String, name: &str, kind: &str, help: &str) -> Family<'a> {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        Family { out }
    }

    fn sample(&mut self, name: &str, labels: &str, value: impl std::fmt::Display) {
        if labels.is_empty() {
            let _ = writeln!(self.out, "{name} {value}");
        } else {
            let _ = writeln!(self.out, "{name}{{{labels}}} {value}");
        }
    }
}

/// The whole exposition for `m`, with `now` (epoch seconds) for steward's uptime.
pub fn render(m: &Metrics, now: i64) -> String {
    let mut out = String::with_capacity(256 + m.processes.len() * 1500);
    let labels: Vec<String> = m
        .processes
        .iter()
        .map(|(p, _)| {
            format!(
                "group=\"{}\",process=\"{}\"",
                label(&p.group),
                label(&p.name)
            )
        })
        .collect();
    let usages: Vec<Option<(f64, u64)>> = m
        .processes
        .iter()
        .map(|(p, _)| (p.pid > 0).then(|| usage(&p.pid.to_string())).flatten())
        .collect();

    let n = "steward_process_state";
    let mut f = Family::new(
        &mut out,
        n,
        "gauge",
        "1 for the state the process is in, 0 for the others.",
    );
    for ((p, _), l) in m.processes.iter().zip(&labels) {
        for s in ProcessState::ALL {
            f.sample(
                n,
                &format!("{l},state=\"{}\"", s.name()),
                u8::from(p.state == s),
            );
        }
    }
    let per_process: [(&str, &str, &str, PerProcess); 9] = [
        (
            "steward_process_up",
            "gauge",
            "1 while a child of the process exists (STARTING, RUNNING or STOPPING, with a pid).",
            |p, _| up(p),
        ),
        (
            "steward_process_ready",
            "gauge",
            "1 while the process is RUNNING: startsecs passed, or its ready_check did.",
            |p, _| ready(p),
        ),
        (
            "steward_process_unhealthy",
            "gauge",
            "1 while its liveness check (health_check) is failing.",
            |p, _| i64::from(p.unhealthy.is_some()),
        ),
        (
            "steward_process_starts_total",
            "counter",
            "Spawns attempted (entries into STARTING).",
            |_, c| c.counts.starts as i64,
        ),
        (
            "steward_process_restarts_total",
            "counter",
            "Automatic starts: autorestarts after an exit and retries after a failed start.",
            |_, c| c.counts.restarts as i64,
        ),
        (
            "steward_process_exits_total",
            "counter",
            "Times a child of the process ended.",
            |_, c| c.counts.exits as i64,
        ),
        (
            "steward_process_last_exit_status",
            "gauge",
            "Exit code of the last exit; -1 for a death by signal; 0 before any.",
            |p, _| p.exitstatus,
        ),
        (
            "steward_process_start_time_seconds",
            "gauge",
            "Unix time of the last spawn; 0 if never started.",
            |p, _| p.start,
        ),
        (
            "steward_process_pid",
            "gauge",
            "The pid of the running child; 0 when there is none.",
            |p, _| i64::from(p.pid),
        ),
    ];
    for (name, kind, help, value) in per_process {
        let mut f = Family::new(&mut out, name, kind, help);
        for ((p, c), l) in m.processes.iter().zip(&labels) {
            f.sample(name, l, value(p, c));
        }
    }
    let n = "steward_process_cpu_seconds_total";
    let mut f = Family::new(
        &mut out,
        n,
        "counter",
        "User and system CPU of the running child (not of its own children).",
    );
    for (l, u) in labels.iter().zip(&usages) {
        if let Some((cpu, _)) = u {
            f.sample(n, l, cpu);
        }
    }
    let n = "steward_process_resident_memory_bytes";
    let mut f = Family::new(
        &mut out,
        n,
        "gauge",
        "Resident memory of the running child.",
    );
    for (l, u) in labels.iter().zip(&usages) {
        if let Some((_, rss)) = u {
            f.sample(n, l, rss);
        }
    }
    for (name, help, dropped) in [
        ("steward_process_log_bytes_total", "Bytes the process wrote to its stdout/stderr, as steward read them (since the last reload).", false),
        ("steward_process_log_dropped_bytes_total", "Bytes its log files could not take (full disk, missing directory), since the last reload.", true),
    ] {
        let mut f = Family::new(&mut out, name, "counter", help);
        for ((_, c), l) in m.processes.iter().zip(&labels) {
            for (stream, s) in [("stdout", c.stdout), ("stderr", c.stderr)] {
                let v = if dropped { s.dropped } else { s.bytes };
                f.sample(name, &format!("{l},stream=\"{stream}\""), v);
            }
        }
    }

    let own = usage("self");
    let fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count()).ok();
    let mut own_metric = |name: &str, kind: &str, help: &str, v: Option<String>| {
        if let Some(v) = v {
            Family::new(&mut out, name, kind, help).sample(name, "", v);
        }
    };
    own_metric(
        "process_cpu_seconds_total",
        "counter",
        "steward's own user and system CPU.",
        own.map(|u| u.0.to_string()),
    );
    own_metric(
        "process_resident_memory_bytes",
        "gauge",
        "steward's own resident memory.",
        own.map(|u| u.1.to_string()),
    );
    own_metric(
        "process_open_fds",
        "gauge",
        "steward's open file descriptors.",
        fds.map(|n| n.to_string()),
    );
    own_metric(
        "process_start_time_seconds",
        "gauge",
        "Unix time steward started.",
        Some(m.started.to_string()),
    );
    own_metric(
        "steward_uptime_seconds",
        "gauge",
        "Seconds since steward started.",
        Some((now - m.started).max(0).to_string()),
    );
    own_metric(
        "steward_config_reloads_total",
        "counter",
        "Reloads that brought a new configuration into force.",
        Some(m.reloads.to_string()),
    );
    own_metric(
        "steward_http_requests_total",
        "counter",
        "Requests served by the control servers.",
        Some(REQUESTS.load(Ordering::Relaxed).to_string()),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::api::ProcessId;

    fn info(state: ProcessState, pid: u32) -> ProcessInfo {
        ProcessInfo {
            id: ProcessId(1),
            name: "p".into(),
            group: "p".into(),
            state,
            start: 100,
            stop: 0,
            now: 200,
            spawnerr: String::new(),
            exitstatus: 0,
            stdout_logfile: None,
            stderr_logfile: None,
            pid,
            note: String::new(),
            unhealthy: None,
        }
    }

    #[test]
    fn up_is_a_child_existing_and_ready_is_running() {
        use ProcessState::*;
        for (state, pid, want_up, want_ready) in [
            (Starting, 7, 1, 0),
            (Running, 7, 1, 1),
            (Stopping, 7, 1, 0),
            (Stopped, 0, 0, 0),
            (Backoff, 0, 0, 0),
            (Exited, 0, 0, 0),
            (Fatal, 0, 0, 0),
            (Unknown, 0, 0, 0),
        ] {
            let m = Metrics {
                processes: vec![(info(state, pid), ProcessCounters::default())],
                reloads: 0,
                started: 50,
            };
            let text = render(&m, 80);
            let l = "{group=\"p\",process=\"p\"}";
            assert!(
                text.contains(&format!("steward_process_up{l} {want_up}\n")),
                "{state:?}: {text}"
            );
            assert!(
                text.contains(&format!("steward_process_ready{l} {want_ready}\n")),
                "{state:?}: {text}"
            );
        }
    }

    #[test]
    fn labels_are_escaped_and_every_family_is_typed() {
        let p = ProcessInfo {
            name: "we\"b\\x\ny".into(),
            group: "g".into(),
            ..info(ProcessState::Running, std::process::id())
        };
        let m = Metrics {
            processes: vec![(p, ProcessCounters::default())],
            reloads: 2,
            started: 50,
        };
        let text = render(&m, 80);
        assert!(text.contains(r#"process="we\"b\\x\ny""#), "{text}");
        assert!(text.contains("steward_config_reloads_total 2\n"));
        assert!(text.contains("steward_uptime_seconds 30\n"));
        // A live pid (ours) has CPU and memory figures.
        assert!(text.contains("steward_process_resident_memory_bytes{group=\"g\""));
        // Every sample belongs to a family announced just before it.
        let mut family = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                family = rest.split(' ').next().unwrap().to_string();
            } else if !line.starts_with('#') {
                assert!(line.starts_with(&family), "{line} outside {family}");
            }
        }
    }
}
