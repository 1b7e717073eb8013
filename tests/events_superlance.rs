//! Real listeners from PyPI (superlance, installed by scripts/test.sh into target/superlance-venv):
//! `crashmail` with a fake sendmail and `httpok` against a local server that answers 500, each run
//! under supervisord 4.3.0 and under steward as PID 1 with the same config; the mails they send must
//! be the same (pids and times normalised).

mod common;

use common::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

fn venvs() -> (PathBuf, PathBuf) {
    let (Some(sd), Some(sl)) = (
        std::env::var_os("SUPERVISORD"),
        std::env::var_os("STEWARD_SUPERLANCE_VENV"),
    ) else {
        missing("supervisord 4.3.0 and superlance (SUPERVISORD, STEWARD_SUPERLANCE_VENV)");
    };
    (sd.into(), sl.into())
}

/// `{dir}`-templated programs into a config with a control socket; and a fake sendmail that keeps
/// the mail in `{dir}/mail`.
fn setup(dir: &Path, programs: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let d = dir.display().to_string();
    let sendmail = write(
        dir,
        "sendmail.sh",
        &format!("#!/bin/sh\ncat > {d}/mail.tmp && mv {d}/mail.tmp {d}/mail\n"),
    );
    std::fs::set_permissions(&sendmail, std::fs::Permissions::from_mode(0o755)).unwrap();
    let text = format!(
        "[supervisord]\nnodaemon=true\nlogfile={d}/main.log\npidfile={d}/pid\nchildlogdir={d}\n\n\
         [unix_http_server]\nfile={d}/sock\n\n\
         [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n{}",
        programs.replace("{dir}", &d)
    );
    write(dir, "supervisord.conf", &text)
}

/// Runs `programs` under supervisord (in a thread) and steward (here), each until it mailed; returns
/// (supervisord's mail, steward's mail).
fn both(programs: &str) -> (String, String) {
    let (sd, _) = venvs();
    let theirs = {
        let programs = programs.to_string();
        std::thread::spawn(move || {
            let dir = tempdir();
            let conf = setup(dir.path(), &programs);
            let mut sv = Command::new(&sd)
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mail = wait_for(T, "supervisord's listener to mail", || {
                std::fs::read_to_string(dir.path().join("mail")).ok()
            });
            // SIGTERM, so supervisord stops its programs: a SIGKILL left them running.
            // SAFETY: kill(2) on our own child's pid; it is reaped just below.
            unsafe { libc::kill(sv.id() as libc::pid_t, libc::SIGTERM) };
            let ended = wait_for(T, "supervisord to stop its programs and exit", || {
                sv.try_wait().ok().flatten()
            });
            assert!(ended.success(), "supervisord: {ended:?}");
            mail
        })
    };
    let dir = tempdir();
    let conf = setup(dir.path(), programs);
    let mut p = Pid1::start_in(&["-c", conf.to_str().unwrap()], Some(dir.path()));
    let ours = wait_for(T, "steward's listener to mail", || {
        std::fs::read_to_string(dir.path().join("mail")).ok()
    });
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
    (theirs.join().expect("the supervisord run"), ours)
}

/// Digits after `pid ` and the time in a subject vary between runs.
fn normalise(mail: &str) -> String {
    mail.lines()
        .map(|l| {
            if let Some(at) = l.find(" crashed at ") {
                return format!("{} crashed at TIME", &l[..at]);
            }
            let mut out = String::new();
            let mut rest = l;
            while let Some(at) = rest.find("pid ") {
                out.push_str(&rest[..at + 4]);
                rest = rest[at + 4..].trim_start_matches(|c: char| c.is_ascii_digit());
                out.push('N');
            }
            out.push_str(rest);
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn crashmail_mails_the_same_crash() {
    let (_, sl) = venvs();
    let (theirs, ours) = both(&format!(
        "[program:app]\ncommand=sh -c 'sleep 1.5; exit 7'\nstartsecs=1\nautorestart=false\n\n\
         [eventlistener:crashmail]\ncommand={}/bin/crashmail -p app -m ops@example.com -s {{dir}}/sendmail.sh\n\
         events=PROCESS_STATE_EXITED\n",
        sl.display()
    ));
    assert!(
        ours.contains("Process app in group app exited unexpectedly (pid "),
        "{ours}"
    );
    assert_eq!(normalise(&ours), normalise(&theirs));
}

/// A server that answers every request with 500; returns its port.
fn failing_server() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let _ = c.write_all(
                b"HTTP/1.0 500 Internal Server Error\r\nContent-Length: 4\r\nConnection: close\r\n\r\nfail",
            );
        }
    });
    port
}

#[test]
fn httpok_restarts_the_program_the_same_way() {
    let (_, sl) = venvs();
    let port = failing_server();
    let (theirs, ours) = both(&format!(
        "[program:app]\ncommand=sleep 1000\nstartsecs=0\n\n\
         [eventlistener:httpok]\ncommand={}/bin/httpok -p app -t 2 -m ops@example.com -s {{dir}}/sendmail.sh http://127.0.0.1:{port}/\n\
         events=TICK_5\n",
        sl.display()
    ));
    assert!(
        ours.contains("app is in RUNNING state, restarting"),
        "{ours}"
    );
    assert_eq!(normalise(&ours), normalise(&theirs));
}
