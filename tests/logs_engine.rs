//! Child output through the real binary, as PID 1 of a new PID namespace: rotation without loss, whole
//! prefixed console lines, AUTO files, USR2, steward's own log, a log directory that goes away.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{count, wait_for, wait_for_text, Pid1};

const LONG: Duration = Duration::from_secs(60);
const SHORT: Duration = Duration::from_secs(10);

/// `x.log.N` … `x.log.1`, `x.log` concatenated: a rotated stream in the order it was written.
fn rotated(dir: &Path, name: &str) -> Vec<u8> {
    let mut n = 1;
    while dir.join(format!("{name}.{n}")).exists() {
        n += 1;
    }
    let mut all = Vec::new();
    for i in (1..n).rev() {
        all.extend(std::fs::read(dir.join(format!("{name}.{i}"))).unwrap());
    }
    all.extend(std::fs::read(dir.join(name)).unwrap_or_default());
    all
}

/// What `seq -f FORMAT 1 n` prints, for the `%06g` formats used here (`%%` in the config).
fn seq_lines(prefix: &str, suffix: &str, n: u32) -> String {
    (1..=n)
        .map(|i| format!("{prefix}{i:06}{suffix}\n"))
        .collect()
}

/// TERM steward and wait until it exited; its children's last output must be written by then.
fn stop(p: &mut Pid1) {
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(LONG), Some(0), "stderr: {}", p.stderr());
}

/// A main-log line: `YYYY-MM-DD HH:MM:SS,mmm LEVL …`.
fn is_log_line(l: &str) -> bool {
    let b = l.as_bytes();
    b.len() >= 24 && b[4] == b'-' && b[10] == b' ' && b[19] == b',' && b[23] == b' '
}

#[test]
fn million_lines_rotate_every_megabyte_without_loss() {
    let (mut p, dir) = Pid1::with_conf(
        "[program:x]\ncommand=seq 1 1000000\nautorestart=false\nstartsecs=0\n\
         stdout_logfile={dir}/x.log\nstdout_logfile_maxbytes=1MB\nstdout_logfile_backups=20\n",
    );
    p.wait_stdout("exited: x (exit status 0; expected)", LONG);
    stop(&mut p);
    let all = rotated(dir.path(), "x.log");
    let expected: String = (1..=1_000_000).map(|i| format!("{i}\n")).collect();
    assert_eq!(all.len(), expected.len(), "bytes across the rotated files");
    assert!(all == expected.as_bytes(), "every line once, in order");
    // 6.9 MB in 1 MiB files: the backups really were used, and none was dropped.
    assert!(dir.path().join("x.log.6").exists());
    assert!(!dir.path().join("x.log.8").exists());
    let size = std::fs::metadata(dir.path().join("x.log.1")).unwrap().len();
    assert!((1 << 20..(1 << 20) + (1 << 20)).contains(&size), "{size}");
}

#[test]
fn console_lines_stay_whole_and_prefixed_at_full_speed() {
    const N: u32 = 100_000;
    const BODY: &str = "-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // Default stdout_logfile_maxbytes (50MB) with /dev/stdout: must not rotate or seek.
    let (mut p, dir) = Pid1::with_conf(&format!(
        "[program:a]\ncommand=seq -f 'a-%%06g{BODY}' 1 {N}\nautorestart=false\nstartsecs=0\n\
         stdout_logfile=/dev/stdout\n\n\
         [program:b]\ncommand=seq -f 'b-%%06g{BODY}' 1 {N}\nautorestart=false\nstartsecs=0\n\
         stdout_logfile=/dev/stdout\n"
    ));
    p.wait_stdout("exited: a (exit status 0; expected)", LONG);
    p.wait_stdout("exited: b (exit status 0; expected)", LONG);
    stop(&mut p);
    let out = p.stdout();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for l in out.lines() {
        if let Some(rest) = l.strip_prefix("a | ") {
            a.push(rest);
        } else if let Some(rest) = l.strip_prefix("b | ") {
            b.push(rest);
        } else {
            assert!(is_log_line(l), "torn or unprefixed console line: {l:?}");
        }
    }
    for (name, got) in [("a", a), ("b", b)] {
        let want = seq_lines(&format!("{name}-"), BODY, N);
        let want: Vec<&str> = want.lines().collect();
        assert_eq!(got.len(), want.len(), "lines of {name}");
        assert!(got == want, "{name}: every line whole, once, in order");
    }
    let log = std::fs::read_to_string(dir.path().join("steward.log")).unwrap();
    assert!(!log.contains("log file") && !log.contains("seek"), "{log}");
}

#[test]
fn console_prefix_off_and_a_rotated_file_beside_the_console() {
    const N: u32 = 20_000;
    let (mut p, dir) = Pid1::with_conf(&format!(
        "[program:c]\ncommand=seq -f 'c-%%06g' 1 {N}\nautorestart=false\nstartsecs=0\n\
         stdout_logfile=/dev/stdout\nconsole_prefix=false\n\n\
         [program:d]\ncommand=seq -f 'd-%%06g-0123456789' 1 {N}\nautorestart=false\nstartsecs=0\n\
         stdout_logfile={{dir}}/d.log\nstdout_logfile_maxbytes=64KB\nstdout_logfile_backups=50\n\
         stdout_logfile_also=/dev/stdout\n"
    ));
    p.wait_stdout("exited: c (exit status 0; expected)", LONG);
    p.wait_stdout("exited: d (exit status 0; expected)", LONG);
    stop(&mut p);
    let out = p.stdout();
    let c: Vec<&str> = out.lines().filter(|l| l.starts_with("c-")).collect();
    let want_c = seq_lines("c-", "", N);
    assert!(c == want_c.lines().collect::<Vec<_>>(), "bare c lines");
    let d: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("d | ")).collect();
    let want_d = seq_lines("d-", "-0123456789", N);
    assert!(d == want_d.lines().collect::<Vec<_>>(), "prefixed d lines");
    assert!(dir.path().join("d.log.3").exists(), "d.log rotated");
    assert!(
        rotated(dir.path(), "d.log") == want_d.as_bytes(),
        "the same bytes in the files"
    );
}

#[test]
fn usr2_reopens_child_and_main_logs() {
    let (p, dir) = Pid1::with_conf(
        "[program:t]\ncommand=sh -c 'i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.02; done'\n\
         stdout_logfile={dir}/t.log\n",
    );
    let d = dir.path();
    wait_for_text(&d.join("t.log"), "tick 3\n", SHORT);
    std::fs::rename(d.join("t.log"), d.join("t.log.moved")).unwrap();
    std::fs::rename(d.join("steward.log"), d.join("steward.log.moved")).unwrap();
    p.signal(libc::SIGUSR2);
    wait_for_text(
        &d.join("steward.log"),
        "received SIGUSR2 indicating log reopen request",
        SHORT,
    );
    let fresh = wait_for_text(&d.join("t.log"), "tick", SHORT);
    let first: u32 = fresh.lines().next().unwrap()[5..].parse().unwrap();
    let old = std::fs::read_to_string(d.join("t.log.moved")).unwrap();
    let last_old: u32 = old.lines().last().unwrap()[5..].parse().unwrap();
    assert_eq!(first, last_old + 1, "every tick in one file or the other");
    assert!(std::fs::read_to_string(d.join("steward.log.moved"))
        .unwrap()
        .contains("spawned: 't'"));
}

#[test]
fn auto_logs_use_supervisord_names_and_old_ones_are_cleaned() {
    for nocleanup in [false, true] {
        let dir = common::tempdir();
        let logs = dir.path().join("childlogs");
        std::fs::create_dir(&logs).unwrap();
        let stale = logs.join("old-stdout---supervisor-abcd1234.log");
        std::fs::write(&stale, "old\n").unwrap();
        std::fs::write(logs.join("keep.txt"), "mine\n").unwrap();
        let sd = format!("childlogdir={{dir}}/childlogs\nnocleanup={nocleanup}");
        let (mut p, dir) = Pid1::in_dir(
            dir,
            &sd,
            "[program:w]\ncommand=sh -c 'echo out; echo err >&2'\nautorestart=false\nstartsecs=0\n",
        );
        p.wait_stdout("exited: w (exit status 0; expected)", SHORT);
        stop(&mut p);
        assert_eq!(stale.exists(), nocleanup);
        assert!(dir.path().join("childlogs/keep.txt").exists());
        let names: Vec<String> = std::fs::read_dir(&logs)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        for (stream, text) in [("stdout", "out\n"), ("stderr", "err\n")] {
            let prefix = format!("w-{stream}---supervisor-");
            let mine: Vec<&String> = names.iter().filter(|n| n.starts_with(&prefix)).collect();
            assert_eq!(mine.len(), 1, "{names:?}");
            let random = &mine[0][prefix.len()..mine[0].len() - 4];
            assert!(mine[0].ends_with(".log") && random.len() == 8, "{mine:?}");
            assert_eq!(std::fs::read_to_string(logs.join(mine[0])).unwrap(), text);
        }
    }
}

#[test]
fn main_log_rotates_and_debug_copies_child_output() {
    let (mut p, dir) = Pid1::with_conf_sd(
        "loglevel=debug\nlogfile_maxbytes=4KB\nlogfile_backups=2",
        "[program:v]\ncommand=seq -f 'verbose-%%06g' 1 30000\nautorestart=false\nstartsecs=0\n\
         stdout_logfile=NONE\n",
    );
    p.wait_stdout("exited: v (exit status 0; expected)", LONG);
    stop(&mut p);
    let d = dir.path();
    assert!(d.join("steward.log.2").exists());
    assert!(!d.join("steward.log.3").exists());
    for f in ["steward.log.2", "steward.log.1"] {
        let size = std::fs::metadata(d.join(f)).unwrap().len();
        assert!(size >= 4096, "{f}: {size}");
    }
    // The copy in the main log is complete: the chunks in the console echo add up to the output.
    let out = p.stdout();
    let mut copied = String::new();
    for record in out.split("DEBG 'v' stdout output:\n").skip(1) {
        // The chunk ends where the next main-log line starts (the format adds one newline).
        let end = record
            .match_indices('\n')
            .map(|(i, _)| i)
            .find(|&i| is_log_line(record[i + 1..].lines().next().unwrap_or("")))
            .unwrap_or(record.len());
        copied.push_str(&record[..end]);
    }
    assert!(copied == seq_lines("verbose-", "", 30000), "{out}");
    assert!(std::fs::read_to_string(d.join("steward.log"))
        .unwrap()
        .contains("steward exiting"));
}

#[test]
fn last_output_before_exit_is_never_lost() {
    // Each program prints a burst and its last words, then exits at once; the last one has no newline.
    let (mut p, dir) = Pid1::with_conf(
        "[program:f]\ncommand=sh -c 'seq 1 50000; echo LAST-F'\nautorestart=false\nstartsecs=0\n\
         stdout_logfile={dir}/f.log\n\n\
         [program:g]\ncommand=sh -c 'seq 1 50000 >/dev/null; printf LAST-G'\nautorestart=false\n\
         startsecs=0\nstdout_logfile=/dev/stdout\n",
    );
    p.wait_stdout("exited: f (exit status 0; expected)", LONG);
    p.wait_stdout("exited: g (exit status 0; expected)", LONG);
    stop(&mut p);
    let f = std::fs::read_to_string(dir.path().join("f.log")).unwrap();
    assert!(f.ends_with("50000\nLAST-F\n"), "{}", &f[f.len() - 40..]);
    assert!(p.stdout().contains("g | LAST-G\n"), "{}", p.stdout());
}

#[test]
fn a_vanished_log_directory_is_reported_once_and_the_program_keeps_running() {
    let dir = common::tempdir();
    std::fs::create_dir(dir.path().join("logs")).unwrap();
    // Lines of ~60 bytes every 10 ms: the 1 KB file rotates (and so reopens) several times a second.
    let (mut p, dir) = Pid1::in_dir(
        dir,
        "",
        "[program:k]\ncommand=sh -c 'i=0; while :; do i=$((i+1)); \
         echo k$i-0123456789012345678901234567890123456789012345678901234567890; sleep 0.01; done'\n\
         stdout_logfile={dir}/logs/k.log\nstdout_logfile_maxbytes=1KB\nstdout_logfile_backups=1\n\
         stdout_logfile_also=/dev/stdout\n",
    );
    let d = dir.path().to_path_buf();
    wait_for_text(&d.join("logs/k.log"), "k", SHORT);
    std::fs::remove_dir_all(d.join("logs")).unwrap();
    let reason = "k.log: cannot open";
    p.wait_stdout(reason, SHORT);
    // The program goes on (its console copy keeps coming) and the failure is not repeated.
    let seen = count(&p.stdout(), "k | k");
    p.wait_count("k | k", seen + 200, SHORT);
    std::fs::create_dir(d.join("logs")).unwrap();
    p.wait_stdout("k.log: writable again", SHORT);
    wait_for(SHORT, "new output in the recreated directory", || {
        std::fs::metadata(d.join("logs/k.log"))
            .ok()
            .filter(|m| m.len() > 0)
    });
    let out = p.stdout();
    assert!(!out.contains("exited: k"), "{out}");
    let log = std::fs::read_to_string(d.join("steward.log")).unwrap();
    assert_eq!(count(&log, reason), 1, "{log}");
    stop(&mut p);
}

#[test]
fn invalid_utf8_nul_bytes_and_a_megabyte_line_pass_through_byte_for_byte() {
    // One script writes the same bytes to a rotated file and to the console (no prefix, so the
    // console copy can be compared too): invalid UTF-8, a NUL, and a 1 MiB line without a newline.
    // steward's own log stays off the console (silent): the program is its only writer, so nothing
    // may come between the pieces of the long line.
    let script = "printf 'ok\\n\\377\\376 not utf-8\\n\\000nul\\n'; head -c 1048576 /dev/zero | tr '\\\\000' a";
    let (mut p, dir) = Pid1::with_conf_sd(
        "silent=true",
        &format!(
            "[program:f]\ncommand=sh -c \"{script}\"\nautorestart=false\nstartsecs=0\n\
             stdout_logfile={{dir}}/f.log\nstdout_logfile_maxbytes=0\n\
             [program:c]\ncommand=sh -c \"{script}\"\nautorestart=false\nstartsecs=0\n\
             stdout_logfile=/dev/stdout\nconsole_prefix=false\n"
        ),
    );
    let log = dir.path().join("steward.log");
    common::wait_for_text(&log, "exited: f (exit status 0; expected)", LONG);
    common::wait_for_text(&log, "exited: c (exit status 0; expected)", LONG);
    stop(&mut p);
    let mut expected = b"ok\n\xff\xfe not utf-8\n\x00nul\n".to_vec();
    expected.extend(std::iter::repeat_n(b'a', 1 << 20));
    let file = std::fs::read(dir.path().join("f.log")).unwrap();
    assert!(
        file == expected,
        "file: {} bytes, expected {}",
        file.len(),
        expected.len()
    );
    // On the console the program's bytes arrive whole (a newline ends the unterminated line at EOF).
    let console = std::fs::read(&p.stdout_path).unwrap();
    let same = console.strip_suffix(b"\n").unwrap_or(&console) == expected.as_slice();
    assert!(
        same,
        "the console copy is not byte-identical: {} bytes, expected {}",
        console.len(),
        expected.len()
    );
}
