//! The HTTP front on arbitrary bytes: first our request reader alone (`checks::http`: heads and
//! bodies as the server reads them, every accepted head written out again reads back the same),
//! then the real control server (the reader, auth, limits, routes, the XML-RPC methods) over a unix
//! socket, serving the in-memory engine of the tests. Each input is one connection: written,
//! half-closed, read to the end. The server must answer or close, never
//! panic (libFuzzer aborts on a panic in any thread), and keep accepting. /logtail streams until
//! the client goes, so a read that times out after a second is not a failure.
#![no_main]
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../tests/common/fake.rs"]
mod fake;

#[allow(dead_code)]
mod checks {
    include!("../checks.rs");
}

struct Served {
    _server: fake::TestServer,
    socket: std::path::PathBuf,
}

fn server() -> &'static Served {
    static S: OnceLock<Served> = OnceLock::new();
    S.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("steward-fuzz-http-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let socket = dir.join("ctl.sock");
        let limits = steward::control::server::Limits {
            // Short, so that an input which leaves a body unfinished costs little.
            header_timeout: Duration::from_millis(200),
            body_timeout: Duration::from_millis(200),
            max_body: 64 * 1024,
            ..Default::default()
        };
        let log = dir.clone();
        let server = fake::TestServer::start(socket.clone(), None, limits, move || {
            fake::FakeEngine::new(vec![
                fake::FakeProcess::new("web", "web", Some(&log)),
                fake::FakeProcess::new("workers", "w_00", None),
            ])
        })
        .expect("start the control server");
        Served {
            _server: server,
            socket,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    if let Err(e) = checks::http(data) {
        panic!("{e}");
    }
    let s = server();
    let mut c = UnixStream::connect(&s.socket).expect("the server keeps accepting");
    c.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let _ = c.write_all(data);
    let _ = c.shutdown(std::net::Shutdown::Write);
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    if !out.is_empty() {
        // An HTTP/1.0 request is answered in HTTP/1.0.
        assert!(
            out.starts_with(b"HTTP/1.1 ") || out.starts_with(b"HTTP/1.0 "),
            "not an HTTP answer: {out:?}"
        );
    }
});
