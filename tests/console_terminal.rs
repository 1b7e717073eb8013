//! The console on a terminal, black-box: steward's stdout is a pseudo-terminal (or, for comparison, a
//! pipe). Prefixes get a colour per program (distinct for twelve, the same in the next run) and are
//! padded to the widest; `NO_COLOR` and a pipe turn colour off; `console_timestamps` / `--timestamps`
//! put the time before every line; one SIGINT says what the stop waits for, a second one ends
//! everything at once, even a program that ignores SIGTERM with `stopwaitsecs=60`.

mod common;

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

const T: Duration = Duration::from_secs(10);

/// Where steward's stdout goes.
#[derive(Clone, Copy, PartialEq)]
enum Out {
    Pty,
    Pipe,
}

/// steward with its stdout read into memory; every process of the run is ended on drop.
struct Steward {
    child: Child,
    /// Under `unshare` as PID 1 of a new namespace (else a plain child of the test, a subreaper).
    pid1: bool,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Steward {
    fn start(args: &[&str], out: Out, pid1: bool, env: &[(&str, Option<&str>)]) -> Steward {
        let (reader, writer): (OwnedFd, OwnedFd) = match out {
            Out::Pty => {
                let pty = nix::pty::openpty(None, None).expect("openpty");
                // Raw: the bytes steward writes arrive as they are (no \n -> \r\n).
                let mut t = nix::sys::termios::tcgetattr(&pty.slave).unwrap();
                nix::sys::termios::cfmakeraw(&mut t);
                nix::sys::termios::tcsetattr(&pty.slave, nix::sys::termios::SetArg::TCSANOW, &t)
                    .unwrap();
                (pty.master, pty.slave)
            }
            Out::Pipe => nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap(),
        };
        let mut cmd = if pid1 {
            let mut c = Command::new("unshare");
            c.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
                .arg(bin());
            c
        } else {
            Command::new(bin())
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::inherit())
            .env_remove("NO_COLOR");
        for (k, v) in env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let child = cmd.spawn().expect("spawn steward");
        // `cmd` holds our copy of the write end (the pty's slave): without dropping it, the reader
        // would never see the end.
        drop(cmd);
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::File::from(reader);
            let mut chunk = [0u8; 8192];
            // A pty's master reads EIO once no one holds the slave: that is the end, like 0.
            while let Ok(n @ 1..) = f.read(&mut chunk) {
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Steward {
            child,
            pid1,
            out: buf,
        }
    }

    /// steward's pid, seen from the test.
    fn pid(&self) -> i32 {
        if !self.pid1 {
            return self.child.id() as i32;
        }
        let unshare = self.child.id();
        wait_for(T, "steward to start under unshare", || {
            let kids =
                std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children")).ok()?;
            kids.split_whitespace().next()?.parse().ok()
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    fn wait_text(&self, what: &str, mut ok: impl FnMut(&str) -> bool) -> String {
        wait_for(T, what, || {
            let t = self.text();
            ok(&t).then_some(t)
        })
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) with a pid read from /proc or our own child's; no memory is touched.
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    /// Wait for steward to end; how long it took.
    fn wait_exit(&mut self, timeout: Duration) -> Duration {
        let t0 = Instant::now();
        let child = &mut self.child;
        wait_for(timeout, "steward to exit", || {
            child.try_wait().ok().flatten()
        });
        t0.elapsed()
    }
}

impl Drop for Steward {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // Not PID 1, steward's programs would outlive it: end them first.
            for p in descendants(self.child.id() as i32) {
                // SAFETY: kill(2) with integer arguments.
                unsafe {
                    libc::kill(p, libc::SIGKILL);
                }
            }
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A program that prints `lines` (each `NAME says N`) to steward's console and stays up.
fn program(name: &str, lines: usize) -> String {
    let prints: Vec<String> = (1..=lines)
        .map(|i| format!("echo {name} says {i}"))
        .collect();
    format!(
        "[program:{name}]\ncommand=sh -c '{}; exec sleep 600'\n\
         stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nstartsecs=0\n",
        prints.join("; ")
    )
}

/// The console line a program wrote ending in `body`, without its line end.
fn line_of<'a>(out: &'a str, body: &str) -> Option<&'a str> {
    out.lines()
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| l.ends_with(&format!(" {body}")) || *l == body)
}

/// `ESC[<code>m`, the text up to `ESC[0m`, and what follows: a coloured prefix taken apart.
fn coloured(line: &str) -> Option<(String, String, String)> {
    let rest = line.strip_prefix("\x1b[")?;
    let (code, rest) = rest.split_once('m')?;
    let (inside, after) = rest.split_once("\x1b[0m")?;
    code.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| (code.to_string(), inside.to_string(), after.to_string()))
}

const NAMES: [&str; 12] = [
    "a",
    "bb",
    "web",
    "worker",
    "scheduler",
    "db",
    "cache",
    "mail",
    "queue",
    "search",
    "metrics",
    "api-gateway",
];

fn twelve_programs(dir: &Path) -> String {
    let programs: Vec<String> = NAMES.iter().map(|n| program(n, 1)).collect();
    conf(dir, &programs.join("\n")).display().to_string()
}

/// Each program's colour code in one run under a pty, checking the line's shape on the way.
fn colours_of_a_run(conf: &str, env: &[(&str, Option<&str>)]) -> Vec<String> {
    let steward = Steward::start(&["-c", conf], Out::Pty, true, env);
    let out = steward.wait_text("a line from every program", |t| {
        NAMES
            .iter()
            .all(|n| line_of(t, &format!("{n} says 1")).is_some())
    });
    let width = NAMES.iter().map(|n| n.len()).max().unwrap();
    NAMES
        .iter()
        .map(|n| {
            let line = line_of(&out, &format!("{n} says 1")).unwrap();
            let (code, inside, after) =
                coloured(line).unwrap_or_else(|| panic!("not coloured: {line:?}\n{out}"));
            // The name, blanks up to the widest name, then the separator.
            assert_eq!(
                inside,
                format!("{n}{} |", " ".repeat(width - n.len())),
                "{line:?}"
            );
            assert_eq!(after, format!(" {n} says 1"), "{line:?}");
            code
        })
        .collect()
}

#[test]
fn on_a_terminal_each_program_has_its_own_colour_the_same_in_the_next_run() {
    let dir = tempdir();
    let conf = twelve_programs(dir.path());
    let first = colours_of_a_run(&conf, &[]);
    let mut distinct = first.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), NAMES.len(), "colours {first:?}");
    // An empty NO_COLOR is no request (no-color.org): still coloured, and the same colours.
    let second = colours_of_a_run(&conf, &[("NO_COLOR", Some(""))]);
    assert_eq!(first, second);
}

#[test]
fn no_color_keeps_the_padding_and_drops_the_colour() {
    let dir = tempdir();
    let conf = conf(
        dir.path(),
        &format!("{}\n{}", program("web", 1), program("scheduler", 1)),
    );
    let conf = conf.to_str().unwrap();
    let steward = Steward::start(&["-c", conf], Out::Pty, true, &[("NO_COLOR", Some("1"))]);
    let out = steward.wait_text("both programs' lines", |t| {
        line_of(t, "web says 1").is_some() && line_of(t, "scheduler says 1").is_some()
    });
    assert!(!out.contains('\x1b'), "an escape with NO_COLOR: {out:?}");
    assert_eq!(line_of(&out, "web says 1"), Some("web       | web says 1"));
    assert_eq!(
        line_of(&out, "scheduler says 1"),
        Some("scheduler | scheduler says 1")
    );
}

#[test]
fn a_pipe_gets_the_lines_as_they_always_were() {
    let dir = tempdir();
    let conf = conf(
        dir.path(),
        &format!("{}\n{}", program("web", 2), program("scheduler", 1)),
    );
    let conf = conf.to_str().unwrap();
    let steward = Steward::start(&["-c", conf], Out::Pipe, true, &[]);
    let out = steward.wait_text("every line", |t| {
        line_of(t, "web says 2").is_some() && line_of(t, "scheduler says 1").is_some()
    });
    assert!(!out.contains('\x1b'), "an escape on a pipe: {out:?}");
    // Byte for byte the default prefix: no padding either.
    assert_eq!(line_of(&out, "web says 1"), Some("web | web says 1"));
    assert_eq!(line_of(&out, "web says 2"), Some("web | web says 2"));
    assert_eq!(
        line_of(&out, "scheduler says 1"),
        Some("scheduler | scheduler says 1")
    );
}

/// `HH:MM:SS ` at the start of `s`; the rest.
fn after_time(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let ok = b.len() >= 9
        && b[..8].iter().enumerate().all(|(i, c)| match i {
            2 | 5 => *c == b':',
            _ => c.is_ascii_digit(),
        })
        && b[8] == b' ';
    ok.then(|| &s[9..])
}

#[test]
fn timestamps_from_the_toml_key_on_a_pipe_and_from_the_flag_on_a_terminal() {
    let dir = tempdir();
    let d = dir.path().display();
    let toml = format!(
        "[supervisord]\nnodaemon = true\nlogfile = \"{d}/steward.log\"\npidfile = \"{d}/steward.pid\"\n\
         childlogdir = \"{d}\"\nconsole_timestamps = true\n\n\
         [program.web]\ncommand = \"sh -c 'echo web says 1; echo web says 2; exec sleep 600'\"\n\
         stdout_logfile = \"/dev/stdout\"\nstdout_logfile_maxbytes = 0\nstartsecs = 0\n"
    );
    let path = write(dir.path(), "steward.toml", &toml);
    let steward = Steward::start(&["-c", path.to_str().unwrap()], Out::Pipe, true, &[]);
    let out = steward.wait_text("both lines", |t| line_of(t, "web says 2").is_some());
    for n in [1, 2] {
        let line = line_of(&out, &format!("web says {n}")).unwrap();
        assert_eq!(
            after_time(line),
            Some(&*format!("web | web says {n}")),
            "{line:?}"
        );
    }
    drop(steward);

    let ini = conf(
        dir.path(),
        &format!("{}\n{}", program("web", 2), program("worker", 1)),
    );
    let steward = Steward::start(
        &["--timestamps", "-c", ini.to_str().unwrap()],
        Out::Pty,
        true,
        &[],
    );
    let out = steward.wait_text("every line", |t| {
        line_of(t, "web says 2").is_some() && line_of(t, "worker says 1").is_some()
    });
    for (name, body) in [
        ("web", "web says 1"),
        ("web", "web says 2"),
        ("worker", "worker says 1"),
    ] {
        let line = line_of(&out, body).unwrap();
        // The time is inside the program's colour, before the padded name.
        let (_, inside, after) = coloured(line).unwrap_or_else(|| panic!("{line:?}"));
        let pad = " ".repeat("worker".len() - name.len());
        assert_eq!(
            after_time(&inside),
            Some(&*format!("{name}{pad} |")),
            "{line:?}"
        );
        assert_eq!(after, format!(" {body}"));
    }
}

#[test]
fn a_bad_console_timestamps_value_is_a_config_error_with_its_line() {
    let dir = tempdir();
    let path = conf_with(dir.path(), "console_timestamps=maybe", &program("web", 1));
    let out = run(&["-c", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // conf_with: [supervisord] and four keys of its own come first.
    assert!(
        err.contains(&format!(
            "{}:6: [supervisord] console_timestamps",
            path.display()
        )),
        "{err}"
    );
}

/// One SIGINT: the stop begins and the console says what it waits for; the program ignores SIGTERM,
/// so it is still there. A second SIGINT: everything ends at once, long before `stopwaitsecs`.
fn ctrl_c_twice(pid1: bool) {
    let dir = tempdir();
    let programs = "[program:stubborn]\n\
         command=sh -c \"trap '' TERM; sleep 600 & echo stubborn up; wait\"\n\
         stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nstartsecs=0\nstopwaitsecs=60\n\n\
         [program:polite]\ncommand=sleep 600\nstartsecs=0\nstopwaitsecs=60\npriority=1000\n";
    let path = conf(dir.path(), programs);
    let mut steward = Steward::start(&["-c", path.to_str().unwrap()], Out::Pty, pid1, &[]);
    steward.wait_text("the programs to run", |t| {
        line_of(t, "stubborn up").is_some() && t.contains("success: polite entered RUNNING")
    });
    let programs = descendants(steward.pid());
    assert!(
        programs.len() >= 3,
        "sh, its sleep, and polite's sleep: {programs:?}"
    );

    steward.signal(libc::SIGINT);
    let out = steward.wait_text("the line saying what the stop waits for", |t| {
        t.lines()
            .any(|l| l.contains("press Ctrl-C again") && l.contains("stubborn"))
    });
    let line = out
        .lines()
        .find(|l| l.contains("press Ctrl-C again"))
        .unwrap();
    assert!(line.contains("waiting for"), "{line}");
    // polite (stopped first: higher priority) ends at SIGTERM; stubborn's two processes stay, and
    // the stop would wait up to 60 s for them.
    steward.wait_text("polite to stop", |t| t.contains("stopped: polite"));
    let alive = programs
        .iter()
        .filter(|&&p| matches!(proc_state(p), Some(s) if s != 'Z'))
        .count();
    assert_eq!(alive, 2, "{programs:?}");

    steward.signal(libc::SIGINT);
    let took = steward.wait_exit(T);
    assert!(
        took < Duration::from_secs(5),
        "steward took {took:?} after the second SIGINT"
    );
    let out = steward.text();
    assert!(out.contains("killing 'stubborn'"), "{out}");
    // Every process of the run is gone (reaped by whoever adopted it), not merely orphaned.
    for p in programs {
        wait_for(T, &format!("pid {p} to be gone"), || {
            (!matches!(proc_state(p), Some(s) if s != 'Z')).then_some(())
        });
    }
}

#[test]
fn ctrl_c_twice_ends_everything_at_once_as_pid_1() {
    ctrl_c_twice(true);
}

#[test]
fn ctrl_c_twice_ends_everything_at_once_as_a_plain_process() {
    ctrl_c_twice(false);
}
