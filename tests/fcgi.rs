//! `[fcgi-program:x]` with steward as PID 1: steward makes the socket and every process of the pool
//! accepts on it as fd 0; a unix socket gets its mode and owner, a socket its listen backlog; the
//! socket is closed when steward exits or `update` removes the group.

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

/// The listen backlog of the socket bound to `local` (`127.0.0.1:port`, or a unix socket's path):
/// `ss` shows it as Send-Q of a listening socket, the column just before the local address.
fn listen_backlog(local: &str) -> Option<u32> {
    let out = match std::process::Command::new("ss").args(["-Hlntx"]).output() {
        Ok(o) => o,
        Err(_) => missing("ss (Debian package iproute2)"),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find_map(|l| {
        let t: Vec<&str> = l.split_whitespace().collect();
        let at = t.iter().position(|w| *w == local)?;
        t.get(at.checked_sub(1)?)?.parse().ok()
    })
}

#[test]
fn socket_owner_and_socket_backlog() {
    require_root("socket_owner chowns the socket file");
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let nogroup = nix::unistd::Group::from_name("nogroup").unwrap().unwrap();
    let dir = tempdir();
    write(dir.path(), "server.py", SERVER);
    let port = free_port();
    let (mut p, dir) = Pid1::in_dir(
        dir,
        "",
        &format!(
            "[fcgi-program:owned]\ncommand={py} {{dir}}/server.py\nsocket=unix://{{dir}}/owned.sock\n\
             socket_owner=nobody:nogroup\nsocket_backlog=7\nstartsecs=0\n\n\
             [fcgi-program:mine]\ncommand={py} {{dir}}/server.py\nsocket=unix://{{dir}}/mine.sock\nstartsecs=0\n\n\
             [fcgi-program:tcp]\ncommand={py} {{dir}}/server.py\nsocket=tcp://127.0.0.1:{port}\nsocket_backlog=5\nstartsecs=0\n",
            py = python()
        ),
    );
    for name in ["owned", "mine", "tcp"] {
        p.wait_stdout(&format!("success: {name} entered RUNNING state"), T);
    }
    use std::os::unix::fs::MetadataExt;
    let owned = dir.path().join("owned.sock");
    let m = std::fs::metadata(&owned).unwrap();
    assert_eq!(
        (m.uid(), m.gid()),
        (nobody.uid.as_raw(), nogroup.gid.as_raw())
    );
    // Without socket_owner: steward's own user, root.
    let m = std::fs::metadata(dir.path().join("mine.sock")).unwrap();
    assert_eq!((m.uid(), m.gid()), (0, 0));
    assert_eq!(listen_backlog(owned.to_str().unwrap()), Some(7));
    assert_eq!(listen_backlog(&format!("127.0.0.1:{port}")), Some(5));
    // Without socket_backlog: SOMAXCONN (the kernel caps it at net.core.somaxconn).
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mine = dir.path().join("mine.sock");
    assert_eq!(
        listen_backlog(mine.to_str().unwrap()),
        Some(somaxconn.min(libc::SOMAXCONN as u32))
    );
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}

/// `update` after the sections are gone from the config removes the groups and closes their sockets:
/// a tcp connection is refused, a unix socket's file is gone.
#[test]
fn removing_the_section_closes_the_socket() {
    let dir = tempdir();
    write(dir.path(), "server.py", SERVER);
    let port = free_port();
    let d = dir.path().display().to_string();
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    let extra = write(
        &dir.path().join("conf.d"),
        "fcgi.conf",
        &format!(
            "[fcgi-program:tcp]\ncommand={py} {d}/server.py\nsocket=tcp://127.0.0.1:{port}\nstartsecs=0\n\n\
             [fcgi-program:local]\ncommand={py} {d}/server.py\nsocket=unix://{d}/local.sock\nstartsecs=0\n",
            py = python()
        ),
    );
    let (mut p, dir) = Pid1::in_dir(
        dir,
        "",
        "[unix_http_server]\nfile={dir}/ctl.sock\n\
         [rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\
         [include]\nfiles=conf.d/*.conf\n",
    );
    p.wait_stdout("success: tcp entered RUNNING state", T);
    p.wait_stdout("success: local entered RUNNING state", T);
    let sock = dir.path().join("local.sock");
    let answer = |c: &mut dyn Read| {
        let mut name = String::new();
        c.read_to_string(&mut name).unwrap();
        name
    };
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert_eq!(answer(&mut c), "tcp");
    let mut c = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    assert_eq!(answer(&mut c), "local");

    std::fs::remove_file(extra).unwrap();
    let url = format!("unix://{}/ctl.sock", dir.path().display());
    wait_for(T, "the control socket", || {
        dir.path().join("ctl.sock").exists().then_some(())
    });
    let out = run(&["ctl", "-s", &url, "update"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tcp: removed process group"), "{text}");
    assert!(text.contains("local: removed process group"), "{text}");
    let e = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    assert!(!sock.exists(), "the unix socket file outlived its group");
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit(T), Some(0));
}
