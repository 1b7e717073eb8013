//! Procfile runs (`steward -f Procfile`), `.env` files and `env_file=`, black-box on the real binary,
//! and the same Procfile under the real honcho (PyPI) for comparison. Each steward runs as PID 1 of its
//! own PID namespace (`unshare --kill-child`), so nothing it starts outlives the test.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::*;

const T: Duration = Duration::from_secs(15);

/// A program that writes what it sees (`PORT|PLAIN|DQ|SQ|ESC|HASH|EXP`) to `out/<PORT>` at once
/// (written whole, then renamed), then stays up.
fn printer(name: &str) -> String {
    format!(
        "{name}: echo \"$PORT|$PLAIN|$DQ|$SQ|$ESC|$HASH|$EXP\" > out/.$PORT && mv out/.$PORT out/$PORT; exec sleep 60\n"
    )
}

/// The `.env` forms foreman, honcho and docker compose all read the same way.
const DOTENV: &str = "# settings for development\n\nPLAIN=plain\nDQ=\"two words\"\nSQ='single $HOME quoted'\nESC=\"tab\\there\"\nHASH=value # a comment\nEXP=exported\n";

/// What a printer sees with [`DOTENV`] and `port`.
fn seen(port: u16) -> String {
    format!("{port}|plain|two words|single $HOME quoted|tab\there|value|exported")
}

/// A directory with a Procfile of three printers and [`DOTENV`].
fn project() -> tempfile::TempDir {
    let dir = tempdir();
    let procfile = format!(
        "# three\n{}\n{}{}",
        printer("web"),
        printer("worker"),
        printer("clock")
    );
    write(dir.path(), "Procfile", &procfile);
    write(dir.path(), ".env", DOTENV);
    std::fs::create_dir(dir.path().join("out")).unwrap();
    dir
}

/// A process run as PID 1 of a new PID namespace, output to files; the namespace goes with it.
struct Ns {
    child: Child,
    stdout: PathBuf,
    _logs: tempfile::TempDir,
}

impl Ns {
    fn start(program: &Path, args: &[&str], dir: &Path, runtime: Option<&Path>) -> Ns {
        require_root("unshare --pid");
        let logs = tempdir();
        let stdout = logs.path().join("stdout");
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .arg(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(logs.path().join("stderr")).unwrap());
        ctl_env(&mut cmd, runtime);
        Ns {
            child: cmd.spawn().expect("spawn unshare"),
            stdout,
            _logs: logs,
        }
    }

    fn steward(args: &[&str], dir: &Path) -> Ns {
        Ns::start(&bin(), args, dir, None)
    }

    fn output(&self) -> String {
        let mut t =
            String::from_utf8_lossy(&std::fs::read(&self.stdout).unwrap_or_default()).into_owned();
        t.push_str(&std::fs::read_to_string(self._logs.path().join("stderr")).unwrap_or_default());
        t
    }

    /// The namespace's PID 1, seen from outside.
    fn init_pid(&self) -> i32 {
        let unshare = self.child.id();
        wait_for(T, "the process under unshare", || {
            std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
    }

    fn terminate(&self) {
        // SAFETY: kill(2) on a pid read from /proc; no memory is involved.
        unsafe {
            libc::kill(self.init_pid(), libc::SIGTERM);
        }
    }

    fn wait_exit(&mut self) -> Option<i32> {
        let child = &mut self.child;
        wait_for(T, "the run to end", || {
            child.try_wait().ok().flatten().map(|s| s.code())
        })
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The same `XDG_RUNTIME_DIR` (or none) for steward and `steward ctl`.
fn ctl_env(cmd: &mut Command, runtime: Option<&Path>) {
    match runtime {
        Some(r) => cmd.env("XDG_RUNTIME_DIR", r),
        None => cmd.env_remove("XDG_RUNTIME_DIR"),
    };
    cmd.env_remove("PORT");
}

fn ctl_in(dir: &Path, runtime: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("ctl").args(args).current_dir(dir);
    ctl_env(&mut cmd, runtime);
    cmd.output().expect("steward ctl")
}

fn ctl(dir: &Path, args: &[&str]) -> Output {
    ctl_in(dir, None, args)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The control socket next to the Procfile in `dir`, once it is there: before, `steward ctl` would
/// look for another steward.
fn wait_socket(dir: &Path) -> PathBuf {
    let sock = dir.join(".steward.sock");
    wait_for(T, "the control socket", || sock.exists().then_some(()));
    sock
}

/// `steward ctl pid NAME` from `dir`, once the process is running.
fn pid_of(dir: &Path, name: &str) -> i64 {
    wait_for(T, &format!("a pid for {name}"), || {
        let o = ctl(dir, &["pid", name]);
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .ok()
            .filter(|p| *p > 0)
    })
}

/// What the printers wrote, by port, once `ports` have all written.
fn wait_outputs(dir: &Path, ports: &[u16]) -> BTreeMap<u16, String> {
    wait_for(T, &format!("outputs for ports {ports:?}"), || {
        let mut got = BTreeMap::new();
        for p in ports {
            let t = std::fs::read_to_string(dir.join("out").join(p.to_string())).ok()?;
            got.insert(*p, t.trim_end_matches('\n').to_string());
        }
        Some(got)
    })
}

fn written_ports(dir: &Path) -> Vec<u16> {
    let mut v: Vec<u16> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    v.sort_unstable();
    v
}

/// Run steward on the [`project`] with `args`; the ports its printers got, and what they saw.
fn ports_under_steward(args: &[&str], expect: &[u16]) -> BTreeMap<u16, String> {
    let dir = project();
    let mut s = Ns::steward(args, dir.path());
    let got = wait_outputs(dir.path(), expect);
    s.terminate();
    assert_eq!(s.wait_exit(), Some(0), "{}", s.output());
    assert_eq!(written_ports(dir.path()), expect, "{}", s.output());
    got
}

#[test]
fn ports_as_foreman_assigns_them_and_env_values_reach_the_programs() {
    // Base 5000, +100 per Procfile entry, +1 per copy.
    let got = ports_under_steward(&[], &[5000, 5100, 5200]);
    for (port, line) in &got {
        assert_eq!(line, &seen(*port));
    }
    ports_under_steward(
        &["-f", "Procfile", "-m", "worker=2"],
        &[5000, 5100, 5101, 5200],
    );
    // `all` is the count of the others; 0 leaves a type out but keeps its place in the numbering.
    ports_under_steward(
        &["-f", "Procfile", "-m", "all=2,web=0", "-p", "7000"],
        &[7100, 7101, 7200, 7201],
    );
    ports_under_steward(
        &[
            "--procfile=Procfile",
            "--port",
            "6100",
            "--formation",
            "clock=3",
        ],
        &[6100, 6200, 6300, 6301, 6302],
    );
}

#[test]
fn dotenv_references_export_and_chosen_files() {
    let dir = project();
    write(
        dir.path(),
        "Procfile",
        "show: printf '%s|%s|%s|%s\\n' \"$REF\" \"$DFLT\" \"$ML\" \"$PORT\" > out/.x && mv out/.x out/show; exec sleep 60\n",
    );
    write(
        dir.path(),
        "dev.env",
        "BASE=one\nexport REF=\"${BASE} and $BASE\"\nDFLT=${MISSING:-fallback}/x # note\nML='a\nb'\nPORT=8100\n",
    );
    let mut s = Ns::steward(&["-f", "Procfile", "-e", "dev.env"], dir.path());
    let out = wait_for_text(&dir.path().join("out/show"), "\n", T);
    // PORT from the env file is the base port, as in foreman.
    assert_eq!(out, "one and one|fallback/x|a\nb|8100\n");
    s.terminate();
    assert_eq!(s.wait_exit(), Some(0));
}

#[test]
fn the_first_program_to_end_stops_the_rest_with_its_status() {
    let dir = tempdir();
    let port = free_port();
    write(
        dir.path(),
        "Procfile",
        "web: exec python3 -m http.server $PORT --bind 127.0.0.1\n\
         worker: echo $$ > worker.pid; exec sleep 60\n\
         quitter: while [ ! -e go ]; do sleep 0.05; done; echo leaving; exit 7\n",
    );
    let mut s = Ns::steward(
        &["-f", "Procfile", "-p", &port.to_string(), "--timestamps"],
        dir.path(),
    );
    // web answers HTTP on its PORT.
    let reply = wait_for(T, "web to answer HTTP", || {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        c.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
        let mut r = String::new();
        c.read_to_string(&mut r).ok()?;
        Some(r)
    });
    assert!(reply.starts_with("HTTP/1.0 200"), "{reply}");
    wait_for_text(&dir.path().join("worker.pid"), "\n", T);
    write(dir.path(), "go", "");
    assert_eq!(s.wait_exit(), Some(7), "{}", s.output());
    let out = s.output();
    // --timestamps: the program's line starts with the time.
    let line = out.lines().find(|l| l.ends_with("quitter | leaving"));
    let stamp = line.map(|l| l.as_bytes()[..9].to_vec()).unwrap_or_default();
    let digits = [0, 1, 3, 4, 6, 7].map(|i| stamp.get(i).is_some_and(u8::is_ascii_digit));
    assert!(
        line.is_some_and(|l| l.len() == 9 + "quitter | leaving".len())
            && digits.iter().all(|d| *d)
            && stamp[2] == b':'
            && stamp[5] == b':'
            && stamp[8] == b' ',
        "{out}"
    );
    assert!(out.contains("stopped: web"), "{out}");
    assert!(out.contains("stopped: worker"), "{out}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn keep_running_restarts_the_program_instead() {
    let dir = tempdir();
    write(
        dir.path(),
        "Procfile",
        "web: exec sleep 60\n\
         worker: exec sleep 60\n\
         quitter: echo x >> starts; while [ ! -e go ]; do sleep 0.05; done; rm go; exit 7\n",
    );
    let mut s = Ns::steward(&["-f", "Procfile", "--keep-running"], dir.path());
    wait_socket(dir.path());
    let web = pid_of(dir.path(), "web");
    let worker = pid_of(dir.path(), "worker");
    wait_for_text(&dir.path().join("starts"), "x\n", T);
    write(dir.path(), "go", "");
    wait_for(T, "quitter to be started again", || {
        let t = std::fs::read_to_string(dir.path().join("starts")).ok()?;
        (t.lines().count() >= 2).then_some(())
    });
    assert!(s.running(), "{}", s.output());
    assert_eq!(pid_of(dir.path(), "web"), web);
    assert_eq!(pid_of(dir.path(), "worker"), worker);
    assert!(s.output().contains("exited: quitter (exit status 7"));
    assert!(text(&ctl(dir.path(), &["shutdown"])).contains("Shut down"));
    assert_eq!(s.wait_exit(), Some(0));
}

#[test]
fn ctl_from_the_procfile_directory_restarts_stops_and_tails_one_program() {
    let dir = tempdir();
    write(
        dir.path(),
        "Procfile",
        "web: echo web up; exec sleep 60\nworker: exec sleep 60\nclock: exec sleep 60\n",
    );
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let mut s = Ns::steward(&["-f", "Procfile"], dir.path());
    let sock = wait_socket(dir.path());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let (web, worker, clock) = (
        pid_of(dir.path(), "web"),
        pid_of(dir.path(), "worker"),
        pid_of(dir.path(), "clock"),
    );
    let o = ctl(dir.path(), &["restart", "web"]);
    assert!(text(&o).contains("web: started"), "{}", text(&o));
    let web2 = pid_of(dir.path(), "web");
    assert_ne!(web2, web);
    // From a directory below, too.
    let sub = dir.path().join("sub");
    assert_eq!(pid_of(&sub, "worker"), worker);
    assert_eq!(pid_of(&sub, "clock"), clock);

    // Stopping one by hand is not a program ending: the rest keep running.
    assert!(text(&ctl(dir.path(), &["stop", "worker"])).contains("worker: stopped"));
    let status = text(&ctl(dir.path(), &["status"]));
    assert!(
        status.contains("worker") && status.contains("STOPPED"),
        "{status}"
    );
    assert_eq!(pid_of(dir.path(), "clock"), clock);
    assert!(s.running());

    // `tail -f web` follows web's console output.
    let tail_out = dir.path().join("tail.out");
    let mut tail = Command::new(bin());
    tail.args(["ctl", "tail", "-f", "web"])
        .current_dir(dir.path())
        .stdout(std::fs::File::create(&tail_out).unwrap());
    ctl_env(&mut tail, None);
    let mut tail = tail.spawn().unwrap();
    wait_for_text(&tail_out, "web up", T);
    let _ = tail.kill();
    let _ = tail.wait();

    assert!(text(&ctl(dir.path(), &["shutdown"])).contains("Shut down"));
    assert_eq!(s.wait_exit(), Some(0), "{}", s.output());
    assert!(!sock.exists(), "the socket is removed at exit");
}

#[test]
fn the_socket_goes_in_xdg_runtime_dir_when_there_is_one() {
    let dir = tempdir();
    let runtime = tempdir();
    write(dir.path(), "Procfile", "web: exec sleep 60\n");
    let mut s = Ns::start(
        &bin(),
        &["-f", "Procfile"],
        dir.path(),
        Some(runtime.path()),
    );
    let private = runtime.path().join("steward");
    wait_for(T, "the control socket", || {
        // The socket is bound as NAME.PID and linked to NAME.sock when it is ready.
        std::fs::read_dir(&private)
            .ok()?
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".sock"))
            .then_some(())
    });
    let pid = wait_for(T, "web's pid", || {
        let o = ctl_in(dir.path(), Some(runtime.path()), &["pid", "web"]);
        String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|p| *p > 0)
    });
    assert!(pid > 0);
    assert!(!dir.path().join(".steward.sock").exists());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&private).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let socks: Vec<_> = std::fs::read_dir(&private).unwrap().flatten().collect();
    assert_eq!(socks.len(), 1);
    assert!(text(&ctl_in(dir.path(), Some(runtime.path()), &["shutdown"])).contains("Shut down"));
    assert_eq!(s.wait_exit(), Some(0));
}

#[test]
fn env_file_in_supervisord_configs_ini_and_toml() {
    let dir = tempdir();
    let d = dir.path();
    write(
        d,
        "global.env",
        "G=global\nSHARED=from-global\nOVER=global\n",
    );
    write(
        d,
        "env/app.env",
        "A=\"app ${G}\"\nSHARED=from-app\nOVER=app-file\n",
    );
    let show = "sh -c 'echo \"$G|$SHARED|$A|$OVER\" > {dir}/out.$0.tmp && mv {dir}/out.$0.tmp {dir}/out.$0; exec sleep 60'";
    let ini = format!(
        "[supervisord]\nlogfile=NONE\npidfile={dir}/s.pid\nenv_file=global.env\nenvironment=SHARED=\"sd-env\"\n\n\
         [program:ini]\ncommand={cmd} ini\nenv_file=env/app.env\nenvironment=OVER=\"conf\"\n",
        dir = d.display(),
        cmd = show.replace("{dir}", &d.display().to_string()),
    );
    write(d, "s.conf", &ini);
    let toml = format!(
        "[supervisord]\nlogfile = \"NONE\"\npidfile = \"{dir}/t.pid\"\nenv_file = [\"global.env\"]\nenvironment = {{ SHARED = \"sd-env\" }}\n\n\
         [program.toml]\ncommand = \"{cmd} toml\"\nenv_file = \"env/app.env\"\nenvironment = {{ OVER = \"conf\" }}\n",
        dir = d.display(),
        cmd = show
            .replace("{dir}", &d.display().to_string())
            .replace('"', "\\\""),
    );
    write(d, "s.toml", &toml);
    for (conf, name) in [("s.conf", "ini"), ("s.toml", "toml")] {
        let mut s = Ns::steward(&["-c", conf], d);
        // The program's env file over [supervisord]'s (and its environment=); environment= over both.
        let out = wait_for_text(&d.join(format!("out.{name}")), "\n", T);
        assert_eq!(out, "global|from-app|app global|conf\n", "{conf}");
        s.terminate();
        assert_eq!(s.wait_exit(), Some(0));
    }
    // [supervisord]'s environment= over its env_file.
    write(d, "s2.conf", &ini.replace("env_file=env/app.env\n", ""));
    let o = Command::new(bin())
        .args(["check", "--json", "-c", "s2.conf"])
        .current_dir(d)
        .output()
        .unwrap();
    let t = text(&o);
    assert!(t.contains("\"sd-env\""), "{t}");
    assert!(!t.contains("from-global"), "{t}");
}

/// Run steward to completion with a deadline (these runs are refused before anything starts).
fn refused(args: &[&str], dir: &Path) -> (Option<i32>, String) {
    let mut s = Ns::steward(args, dir);
    let code = s.wait_exit();
    (code, s.output())
}

#[test]
fn bad_lines_name_file_and_line_and_exit_2() {
    let dir = tempdir();
    let d = dir.path();
    let procfile = d.join("Procfile").display().to_string();
    let dotenv = d.join(".env").display().to_string();

    write(
        d,
        "Procfile",
        "web: exec sleep 60\n# fine\nthis is not an entry\n",
    );
    let (code, out) = refused(&["-f", "Procfile"], d);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains(&format!("Error: {procfile}:3: ")), "{out}");

    write(d, "Procfile", "web: exec sleep 60\nweb: exec sleep 61\n");
    let (code, out) = refused(&["-f", "Procfile"], d);
    assert_eq!(code, Some(2));
    assert!(
        out.contains(&format!("{procfile}:2: \"web\" is defined twice")),
        "{out}"
    );

    write(d, "Procfile", "web: exec sleep 60\nworker: exec sleep 60\n");
    let (code, out) = refused(&["-f", "Procfile", "-m", "db=1"], d);
    assert_eq!(code, Some(2));
    assert!(out.contains("\"db\" is no process type"), "{out}");

    write(d, ".env", "A=1\n\nB=\"unclosed\n");
    let (code, out) = refused(&["-f", "Procfile"], d);
    assert_eq!(code, Some(2));
    assert!(
        out.contains(&format!("{dotenv}:3: unclosed double quote")),
        "{out}"
    );

    let (code, out) = refused(&["-f", "Procfile", "-e", "nope.env"], d);
    assert_eq!(code, Some(2));
    assert!(out.contains("nope.env"), "{out}");

    // The same .env through env_file= in a supervisord.conf.
    write(
        d,
        "s.conf",
        "[supervisord]\nlogfile=NONE\n[program:a]\ncommand=sleep 60\nenv_file=.env\n",
    );
    let (code, out) = refused(&["-c", "s.conf"], d);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!("{dotenv}:3: unclosed double quote")),
        "{out}"
    );
    let o = Command::new(bin())
        .args(["check", "-c", "s.conf"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains(&format!("{dotenv}:3:")), "{}", text(&o));
    // And `steward check -f Procfile` finds it before a run would, like `check -c` for a config.
    let check = |args: &[&str]| {
        Command::new(bin())
            .arg("check")
            .args(args)
            .current_dir(d)
            .output()
            .unwrap()
    };
    let o = check(&["-f", "Procfile"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{dotenv}:3: unclosed double quote")),
        "{}",
        text(&o)
    );
    write(
        d, ".env", "A=1
",
    );
    let o = check(&["-f", "Procfile"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let report = String::from_utf8_lossy(&o.stdout);
    assert!(
        report.contains("web") && report.contains("worker"),
        "{report}"
    );
    let o = check(&["--json", "-f", "Procfile"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let json = String::from_utf8_lossy(&o.stdout);
    assert!(
        json.contains("\"PORT\"") && json.contains("\"5100\""),
        "{json}"
    );
}

fn honcho() -> PathBuf {
    let venv = std::env::var_os("STEWARD_HONCHO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/honcho-venv"));
    let bin = venv.join("bin/honcho");
    if !bin.is_file() {
        missing("honcho (STEWARD_HONCHO_VENV)");
    }
    bin
}

#[test]
fn honcho_and_steward_give_the_same_ports_and_environment() {
    let honcho = honcho();
    for (args_honcho, args_steward, ports) in [
        (
            vec!["start"],
            vec!["-f", "Procfile"],
            vec![5000, 5100, 5200],
        ),
        (
            vec!["start", "-c", "worker=2", "-p", "9000"],
            vec!["-f", "Procfile", "-m", "worker=2", "-p", "9000"],
            vec![9000, 9100, 9101, 9200],
        ),
    ] {
        let mut seen_by = vec![];
        for (program, args) in [(&honcho, &args_honcho), (&bin(), &args_steward)] {
            let dir = project();
            let run = Ns::start(program, args, dir.path(), None);
            let got = wait_outputs(dir.path(), &ports);
            assert_eq!(written_ports(dir.path()), ports, "{}", run.output());
            seen_by.push(got);
            // Dropping the run ends its PID namespace and everything in it.
            drop(run);
        }
        assert_eq!(seen_by[0], seen_by[1], "honcho, then steward");
        assert_eq!(seen_by[1][&ports[0]], seen(ports[0]));
    }
}
