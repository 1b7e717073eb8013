//! `[fcgi-program:x]` with steward as PID 1: steward makes the socket and every process of the pool
//! accepts on it as fd 0; a unix socket gets its mode and goes when steward does.

mod common;

use common::*;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

/// A server that accepts on fd 0 and answers each connection with its process name.
const SERVER: &str = r#"import os, socket
s = socket.socket(fileno=0)
while True:
    c, _ = s.accept()
    c.sendall(os.environ['SUPERVISOR_PROCESS_NAME'].encode())
    c.close()
"#;

fn python() -> String {
    match std::env::var("STEWARD_SUPERVISOR_VENV") {
        Ok(v) => format!("{v}/bin/python3"),
        Err(_) => "python3".into(),
    }
}

#[test]
fn a_pool_serves_on_the_socket_steward_made() {
    let dir = tempdir();
    write(dir.path(), "server.py", SERVER);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (mut p, dir) = Pid1::in_dir(
        dir,
        "",
        &format!(
            "[fcgi-program:web]\ncommand={py} {{dir}}/server.py\nsocket=tcp://127.0.0.1:{port}\n\
             process_name=%(program_name)s_%(process_num)s\nnumprocs=2\nstartsecs=0\n\n\
             [fcgi-program:local]\ncommand={py} {{dir}}/server.py\nsocket=unix://{{dir}}/local.sock\nsocket_mode=0660\nstartsecs=0\n",
            py = python()
        ),
    );
    p.wait_stdout("success: web_1 entered RUNNING state", T);
    p.wait_stdout("success: local entered RUNNING state", T);
    let mut seen = std::collections::BTreeSet::new();
    wait_for(T, "both processes of the pool to answer", || {
        let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let mut name = String::new();
        c.read_to_string(&mut name).ok()?;
        seen.insert(name);
        (seen.len() == 2).then_some(())
    });
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["web_0".to_string(), "web_1".to_string()]
    );
    let sock = dir.path().join("local.sock");
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o660);
    let mut c = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    let mut name = String::new();
    c.read_to_string(&mut name).unwrap();
    assert_eq!(name, "local");
    let _ = c.write_all(b"");
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
    assert!(!sock.exists(), "the unix socket outlived steward");
}
