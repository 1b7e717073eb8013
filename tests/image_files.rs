//! Dockerfile.example, .dockerignore and examples/kubernetes.yaml, checked as far as a machine without a
//! container engine or a cluster can: every file the image copies is in the repository and in the build
//! context, the build stage has what cargo needs, the copied config passes `steward check`, the target
//! follows the build platform, and the probes are steward commands that answer for a healthy and an
//! unhealthy steward.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dockerfile() -> String {
    std::fs::read_to_string(repo().join("Dockerfile.example")).unwrap()
}

/// Instructions with their continuation lines joined.
fn instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if cur.is_empty() && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(head) => {
                cur.push_str(head);
                cur.push(' ');
            }
            None => {
                cur.push_str(t);
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    out
}

/// `.dockerignore` as Docker applies it: patterns relative to the context root, a pattern that matches
/// a directory excludes what is inside, `!` re-includes, the last match wins.
struct DockerIgnore(Vec<(bool, glob::Pattern)>);

impl DockerIgnore {
    fn load() -> DockerIgnore {
        let text = std::fs::read_to_string(repo().join(".dockerignore")).expect(".dockerignore");
        let pats = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| match l.strip_prefix('!') {
                Some(p) => (false, p),
                None => (true, l),
            })
            .map(|(ex, p)| (ex, glob::Pattern::new(p.trim_matches('/')).unwrap()))
            .collect();
        DockerIgnore(pats)
    }

    fn excluded(&self, rel: &Path) -> bool {
        let opts = glob::MatchOptions {
            require_literal_separator: true,
            ..Default::default()
        };
        let mut excluded = false;
        for (ex, pat) in &self.0 {
            if rel.ancestors().any(|a| pat.matches_path_with(a, opts)) {
                excluded = *ex;
            }
        }
        excluded
    }
}

fn files_under(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let p = root.join(rel);
    if p.is_dir() {
        for e in std::fs::read_dir(&p).unwrap() {
            files_under(root, &rel.join(e.unwrap().file_name()), out);
        }
    } else {
        out.push(rel.to_path_buf());
    }
}

/// (sources, destination) of each `COPY` from the build context.
fn context_copies() -> Vec<(Vec<String>, String)> {
    instructions(&dockerfile())
        .iter()
        .filter_map(|i| i.strip_prefix("COPY "))
        .filter(|args| !args.contains("--from="))
        .map(|args| {
            let mut words: Vec<String> = args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .map(String::from)
                .collect();
            let dest = words.pop().unwrap();
            (words, dest)
        })
        .collect()
}

#[test]
fn every_copied_file_is_in_the_repository_and_the_build_context() {
    let ignore = DockerIgnore::load();
    let copies = context_copies();
    assert!(copies.len() >= 3, "{copies:?}");
    let ctx = tempdir();
    for (sources, dest) in &copies {
        for src in sources {
            assert!(!src.contains('*'), "{src}: list files explicitly");
            let rel = Path::new(src.trim_start_matches("./"));
            assert!(
                repo().join(rel).exists(),
                "COPY {src}: not in the repository"
            );
            let mut files = Vec::new();
            files_under(&repo(), rel, &mut files);
            assert!(!files.is_empty(), "COPY {src}: empty");
            for f in files {
                assert!(
                    !ignore.excluded(&f),
                    "COPY {src}: {} is in .dockerignore",
                    f.display()
                );
                // Rebuild the build stage's view of the context (destinations relative to WORKDIR).
                if !dest.starts_with('/') {
                    let to = ctx.path().join(f.strip_prefix(".").unwrap_or(&f));
                    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                    std::fs::copy(repo().join(&f), to).unwrap();
                }
            }
        }
    }
    // The big and local things stay out of the context.
    for p in [
        "target/debug/steward",
        ".git/HEAD",
        // A tree that ran the fuzzer or the benches: gigabytes the image never reads.
        "fuzz/target/release/config",
        "fuzz/corpus/config/0a1b",
        "fuzz/Cargo.toml",
        "bench/logs.rs",
        "tests/metrics.rs",
        // Any cargo output directory, wherever a build ran.
        "examples/target/debug/steward",
    ] {
        assert!(
            ignore.excluded(Path::new(p)),
            "{p} would be sent as build context"
        );
    }

    // What the build stage copied is a package cargo can read, with the lockfile, and every binary
    // and library target's source.
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--locked",
            "--format-version",
            "1",
        ])
        .arg("--manifest-path")
        .arg(ctx.path().join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets = meta["packages"][0]["targets"].as_array().unwrap();
    let mut built = 0;
    for t in targets {
        let kinds = t["kind"].as_array().unwrap();
        if kinds.iter().any(|k| k == "bin" || k == "lib") {
            let src = t["src_path"].as_str().unwrap();
            assert!(Path::new(src).exists(), "{src} is not in the build context");
            built += 1;
        }
    }
    assert_eq!(built, 2);
}

#[test]
fn the_image_config_checks_and_is_the_one_the_entrypoint_runs() {
    let copies = context_copies();
    let (src, dest) = copies
        .iter()
        .find(|(_, d)| d.ends_with(".conf"))
        .expect("a COPY of the config");
    let out = run(&["check", "-c", repo().join(&src[0]).to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entry = instructions(&dockerfile())
        .into_iter()
        .find(|i| i.starts_with("ENTRYPOINT"))
        .unwrap();
    assert!(entry.contains(&format!("\"{dest}\"")), "{entry}");
}

#[test]
fn the_build_target_follows_the_build_platform() {
    let text = dockerfile();
    assert!(!text.contains("x86_64"), "a hard-coded target");
    let run_line = instructions(&text)
        .into_iter()
        .find(|i| i.contains("cargo build"))
        .unwrap();
    // musl: static by default; the image's toolchain has to add the target first.
    assert!(run_line.contains("--release") && run_line.contains("rustup target add"));
    // The same expression on this machine names a target rustc knows.
    let expr = "$(uname -m)-unknown-linux-musl";
    assert!(run_line.contains(expr), "{run_line}");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("echo {expr}"))
        .output()
        .unwrap();
    let target = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let list = Command::new("rustc")
        .args(["--print", "target-list"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&list.stdout)
            .lines()
            .any(|l| l == target),
        "{target}"
    );
}

/// The `command: [...]` of the manifest's readiness and liveness probes, read as the JSON arrays they
/// are written as.
fn probe_commands(yaml: &str) -> (Vec<String>, Vec<String>) {
    let mut probe = "";
    let (mut readiness, mut liveness) = (None, None);
    for line in yaml.lines().map(str::trim) {
        if line.ends_with("Probe:") {
            probe = line;
        }
        if let Some(c) = line.strip_prefix("command:") {
            let argv: Vec<String> =
                serde_json::from_str(c.trim()).expect("a probe command as a flow list");
            match probe {
                "readinessProbe:" => assert!(readiness.replace(argv).is_none(), "two readiness"),
                "livenessProbe:" => assert!(liveness.replace(argv).is_none(), "two liveness"),
                other => panic!("a command outside a probe ({other:?})"),
            }
        }
    }
    (
        readiness.expect("a readinessProbe command"),
        liveness.expect("a livenessProbe command"),
    )
}

/// Runs a probe's command with its config path pointed at `conf`; true when it passes.
fn probe_passes(argv: &[String], conf: &Path) -> bool {
    assert_eq!(argv[0], "steward", "{argv:?}");
    let args: Vec<String> = argv[1..]
        .iter()
        .map(|a| {
            if a == "/etc/supervisord.conf" {
                conf.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect();
    Command::new(bin())
        .args(&args)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn kubernetes_probes_are_steward_health_checks_within_the_grace_period() {
    let yaml = std::fs::read_to_string(repo().join("examples/kubernetes.yaml")).unwrap();
    let (readiness, liveness) = probe_commands(&yaml);

    // The grace period covers every program's stop, one after the other.
    let grace: u64 = yaml
        .lines()
        .find_map(|l| l.trim().strip_prefix("terminationGracePeriodSeconds:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let out = run(&[
        "check",
        "--json",
        "-c",
        repo().join("examples/supervisord.conf").to_str().unwrap(),
    ]);
    let cfg: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stops: u64 = cfg["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["processes"].as_array().unwrap())
        .map(|p| p["stopwaitsecs"].as_u64().unwrap())
        .sum();
    assert!(
        grace > stops,
        "terminationGracePeriodSeconds {grace} <= stop time {stops}"
    );

    // Each probe, pointed at a test config instead of /etc/supervisord.conf: readiness passes only
    // while the program is RUNNING; liveness passes whenever steward answers (a program that cannot
    // start or that an operator stopped must not get the pod restarted) and fails once it does not.
    for (program, starts) in [("sleep 600", true), ("/nonexistent/binary", false)] {
        let dir = tempdir();
        let sock = dir.path().join("s.sock");
        let programs = format!(
            "[unix_http_server]\nfile={sock}\n\n[supervisorctl]\nserverurl=unix://{sock}\n\n\
             [program:app]\ncommand={program}\nstartsecs=0\nstartretries=0\n",
            sock = sock.display()
        );
        let (mut steward, dir) = Pid1::in_dir(dir, "", &programs);
        let conf = dir.path().join("supervisord.conf");
        let settled = if starts {
            "entered RUNNING"
        } else {
            "entered FATAL"
        };
        steward.wait_stdout(settled, Duration::from_secs(10));
        let what = format!("with `{program}`");
        assert_eq!(probe_passes(&readiness, &conf), starts, "readiness {what}");
        assert!(probe_passes(&liveness, &conf), "liveness {what}");
        if starts {
            let out = run(&["ctl", "-c", conf.to_str().unwrap(), "stop", "app"]);
            assert!(out.status.success(), "{out:?}");
            assert!(!probe_passes(&readiness, &conf), "readiness, app stopped");
            assert!(probe_passes(&liveness, &conf), "liveness, app stopped");
            steward.signal(libc::SIGTERM);
            steward.wait_exit(Duration::from_secs(10));
            assert!(!probe_passes(&liveness, &conf), "liveness, steward gone");
        }
    }
}
