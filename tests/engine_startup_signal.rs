//! A TERM that arrives while steward is still starting (loading its config, before any handler exists)
//! is held and honoured once the handlers are in place: an orderly exit 0, not death by the signal
//! (or, as PID 1, a signal the kernel silently drops).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn term_during_config_load_is_held_then_honoured() {
    let dir = common::tempdir();
    let fifo = dir.path().join("steward.conf");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut child = Command::new(common::bin())
        .arg("-c")
        .arg(&fifo)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let mut stdout = child.stdout.take().unwrap();
    // Owns steward so it ends even if an assertion fails first; std knows whether it was reaped, so a
    // recycled pid is never hit.
    struct Guard(std::process::Child);
    impl Drop for Guard {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut child = Guard(child);
    // steward blocks opening the FIFO until a writer comes: that is the start-up window.
    common::wait_for(
        Duration::from_secs(10),
        "steward to wait on its config",
        || {
            let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).ok()?;
            // `wait_for_partner` is the kernel waiting in fifo_open.
            (wchan.contains("partner") || wchan.contains("fifo") || wchan.contains("pipe"))
                .then_some(())
        },
    );
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGTERM).unwrap();
    let conf = format!(
        "[supervisord]\nlogfile={}\npidfile={}\n[program:s]\ncommand=sleep 100\nstartsecs=0\n",
        dir.path().join("log").display(),
        dir.path().join("pid").display()
    );
    std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .unwrap()
        .write_all(conf.as_bytes())
        .unwrap();
    let status = common::wait_for(Duration::from_secs(15), "steward to exit", || {
        child.0.try_wait().ok().flatten()
    });
    let mut log = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut log).unwrap();
    assert_eq!(status.code(), Some(0), "status {status:?}, log:\n{log}");
    assert!(log.contains("received SIGTERM"), "{log}");
}
