//! supervisord's and supervisorctl's command-line habits: `-?` is `-h`; under the name supervisord
//! the start-up line is supervisord's; an exit during startsecs is a WARN line, as in supervisord.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn question_mark_is_help_for_both_names() {
    for args in [&["-?"][..], &["-h"], &["ctl", "-?"], &["ctl", "-h"]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage:"), "{args:?}: {text}");
    }
}

#[test]
fn as_supervisord_it_starts_with_supervisords_line() {
    let dir = tempdir();
    let link = dir.path().join("supervisord");
    std::os::unix::fs::symlink(bin(), &link).unwrap();
    let conf = conf(
        dir.path(),
        "[program:quick]\ncommand=sh -c 'exit 4'\nstartsecs=1\nstartretries=0\n",
    );
    let mut p = Pid1::start_bin(&link, &["-c", conf.to_str().unwrap()]);
    let log = p.wait_stdout("gave up: quick", Duration::from_secs(10));
    assert!(
        log.contains("INFO supervisord started with pid 1\n"),
        "{log}"
    );
    assert!(
        log.contains("WARN exited: quick (exit status 4; not expected)"),
        "{log}"
    );
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(Duration::from_secs(10)), Some(0));
}

/// A reload (SIGHUP or `reload`) reads the config first: an invalid one stops nothing, is logged,
/// and `reload` fails with the loader's error.
#[test]
fn an_invalid_config_on_reload_stops_nothing() {
    let (p, dir) = Pid1::with_conf(
        "[unix_http_server]\nfile={dir}/sock\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
         [program:web]\ncommand=sleep 1000\nstartsecs=0\n",
    );
    let t = Duration::from_secs(10);
    p.wait_stdout("success: web entered RUNNING state", t);
    let web = p.namespace_pids();
    let conf = dir.path().join("supervisord.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("startsecs=0", "startsecs=soon")).unwrap();
    p.signal(libc::SIGHUP);
    let log = p.wait_stdout("could not reload the configuration, nothing was stopped", t);
    assert!(log.contains("startsecs"), "{log}");
    let url = format!("unix://{}/sock", dir.path().display());
    let out = run(&["ctl", "-s", &url, "reload"]);
    assert!(!out.status.success(), "{out:?}");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("startsecs"), "{said}");
    assert_eq!(p.namespace_pids(), web, "a program was restarted");
    assert!(!p.stdout().contains("stopped: web"), "{}", p.stdout());
}
