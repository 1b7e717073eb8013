//! Single-command mode, black-box: tests/single/cases.py drives the real binary, as `steward` and under
//! the names `tini` and `dumb-init`, through every forwardable signal, rewrites, group and single-child
//! modes, exit-code remaps, a parent that ignores SIGCHLD or blocks and ignores signals, the
//! parent-death signal, and job control under `bash -i` on a pseudo-terminal. The same cases run against
//! the real tini and dumb-init in bench/single_compare.sh.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// steward under another name: a symlink in its own directory, as an image would have it.
fn alias(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::os::unix::fs::symlink(common::bin(), &p).unwrap();
    p
}

/// Run one case; returns the exit status (0 holds, 1 does not, 3 no such option) and its JSON line.
fn run_case(case: &str, flavour: &str, env: &[(&str, &str)], pid1: bool) -> (i32, String) {
    let dir = common::tempdir();
    let binary = match flavour {
        "steward" => common::bin(),
        name => alias(dir.path(), name),
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/single/cases.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).args([case, flavour]).arg(&binary);
    if pid1 {
        cmd.arg("--pid1");
    }
    let out = cmd
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("python3 (scripts/test.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), format!("{text}{stderr}"))
}

fn holds(case: &str, flavour: &str) {
    let (code, out) = run_case(case, flavour, &[], false);
    assert_eq!(code, 0, "{case} as {flavour}: {out}");
}

/// As PID 1 of a new PID namespace, a container's usual case.
fn holds_as_pid1(case: &str, flavour: &str) {
    let (code, out) = run_case(case, flavour, &[], true);
    assert_eq!(code, 0, "{case} as {flavour}, PID 1: {out}");
}

#[test]
fn every_signal_reaches_the_child() {
    holds("signals", "steward");
}

#[test]
fn every_signal_reaches_the_child_as_pid1() {
    holds_as_pid1("signals", "steward");
}

#[test]
fn every_signal_reaches_the_child_as_tini_pid1() {
    holds_as_pid1("signals", "tini");
}

#[test]
fn every_signal_reaches_the_child_as_dumb_init_pid1() {
    holds_as_pid1("signals", "dumb-init");
}

#[test]
fn every_signal_reaches_the_child_as_tini() {
    holds("signals", "tini");
}

#[test]
fn every_signal_reaches_the_child_as_dumb_init() {
    holds("signals", "dumb-init");
}

#[test]
fn rewrite_swaps_maps_and_drops() {
    holds("rewrite", "steward");
    holds("rewrite", "dumb-init");
}

#[test]
fn rewrite_as_pid1() {
    holds_as_pid1("rewrite", "steward");
    holds_as_pid1("rewrite", "dumb-init");
}

#[test]
fn a_dropped_or_rewritten_stop_signal_does_not_stop_us() {
    holds("stop-rewritten", "steward");
    // dumb-init stops itself whatever it forwarded, and so does its personality.
    holds("stop-rewritten", "dumb-init");
}

#[test]
fn group_mode_kills_the_pipeline() {
    holds("group", "steward");
    holds("group", "tini");
    holds("group", "dumb-init");
    holds_as_pid1("group", "steward");
    holds_as_pid1("group", "tini");
    holds_as_pid1("group", "dumb-init");
}

#[test]
fn single_child_mode_spares_the_grandchildren() {
    holds("single-child", "steward");
    holds("single-child", "tini");
    holds("single-child", "dumb-init");
}

#[test]
fn group_and_setsid_come_from_the_environment_too() {
    let no_flags = ("CASE_NO_FLAGS", "1");
    let (code, out) = run_case(
        "group",
        "tini",
        &[no_flags, ("TINI_KILL_PROCESS_GROUP", "1")],
        false,
    );
    assert_eq!(code, 0, "TINI_KILL_PROCESS_GROUP: {out}");
    // dumb-init's default is its setsid (group) mode; DUMB_INIT_SETSID=0 turns it off.
    let (code, out) = run_case("group", "dumb-init", &[no_flags], false);
    assert_eq!(code, 0, "dumb-init default: {out}");
    let (code, out) = run_case(
        "single-child",
        "dumb-init",
        &[no_flags, ("DUMB_INIT_SETSID", "0")],
        false,
    );
    assert_eq!(code, 0, "DUMB_INIT_SETSID=0: {out}");
}

#[test]
fn exit_codes_remap_over_0_to_255() {
    holds("remap", "steward");
}

#[test]
fn exit_codes_remap_as_tini() {
    holds("remap", "tini");
}

#[test]
fn a_parent_ignoring_sigchld_does_not_hang_us() {
    holds("chld-ignored", "steward");
    holds("chld-ignored", "tini");
    holds("chld-ignored", "dumb-init");
    holds_as_pid1("chld-ignored", "steward");
    holds_as_pid1("chld-ignored", "tini");
    holds_as_pid1("chld-ignored", "dumb-init");
}

#[test]
fn the_child_inherits_the_blocked_and_ignored_signals() {
    holds("sigsets", "steward");
    holds("sigsets", "tini");
    holds_as_pid1("sigsets", "steward");
    holds_as_pid1("sigsets", "tini");
}

#[test]
fn as_dumb_init_the_child_starts_with_clean_signal_state() {
    // dumb-init unblocks everything and resets every disposition for its child; so do we under its name.
    let (code, out) = run_case("sigsets", "dumb-init", &[], false);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("child ['0000000000000000', '0000000000000000']"),
        "{out}"
    );
}

#[test]
fn parent_death_signal_is_forwarded() {
    holds("pdeathsig", "steward");
    holds("pdeathsig", "tini");
}

#[test]
fn ctrl_z_and_fg_under_an_interactive_shell() {
    holds("ctrl-z", "steward");
}

#[test]
fn ctrl_z_and_fg_as_tini_and_dumb_init() {
    holds("ctrl-z", "tini");
    holds("ctrl-z", "dumb-init");
}

#[test]
fn ctrl_z_stops_the_whole_job_when_a_script_runs_us() {
    holds("ctrl-z-nested", "steward");
    holds("ctrl-z-nested", "tini");
    holds("ctrl-z-nested", "dumb-init");
}

#[test]
fn a_background_job_leaves_the_terminal_to_the_shell() {
    holds("background", "steward");
    holds("background", "tini");
    holds("background", "dumb-init");
}

#[test]
fn the_terminal_is_given_back_at_exit() {
    holds("give-back", "steward");
    holds("give-back", "tini");
    holds("give-back", "dumb-init");
}
