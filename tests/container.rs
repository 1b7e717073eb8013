//! steward in a real container: an OCI bundle whose rootfs holds the static steward and busybox, run by
//! runc, stopped with `runc kill TERM` exactly as `docker stop` does. scripts/test.sh builds the static
//! binary and installs runc and busybox-static; it passes the binary in STEWARD_STATIC_BIN.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

struct Container {
    id: String,
    bundle: tempfile::TempDir,
    child: std::process::Child,
    out: PathBuf,
}

impl Container {
    fn start(args: &[&str], files: &[(&str, &str)]) -> Container {
        let Ok(bin) = std::env::var("STEWARD_STATIC_BIN") else {
            common::missing("a static steward (STEWARD_STATIC_BIN)");
        };
        let busybox = Path::new("/bin/busybox");
        let busybox = if busybox.exists() {
            busybox
        } else {
            Path::new("/usr/bin/busybox")
        };
        let bundle = common::tempdir();
        let root = bundle.path().join("rootfs");
        for d in ["bin", "etc", "proc", "dev", "tmp", "sys"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
        for app in ["sh", "echo", "sleep", "cat", "true", "false", "ps", "kill"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(app)).unwrap();
        }
        std::fs::copy(&bin, root.join("bin/steward")).unwrap();
        common::write(
            &root,
            "etc/passwd",
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n",
        );
        common::write(&root, "etc/group", "root:x:0:\nnogroup:x:65534:\n");
        for (path, text) in files {
            common::write(&root, path, text);
        }
        let spec = serde_json::json!({
            "ociVersion": "1.0.2",
            "process": {
                "terminal": false,
                "user": {"uid": 0, "gid": 0},
                "args": args,
                "env": ["PATH=/bin", "HOME=/root"],
                "cwd": "/",
                "noNewPrivileges": true
            },
            "root": {"path": "rootfs", "readonly": false},
            "hostname": "steward-test",
            "mounts": [
                {"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
                {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}
            ],
            "linux": {
                "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
                "maskedPaths": ["/proc/kcore"],
                "readonlyPaths": ["/proc/sys"]
            }
        });
        std::fs::write(bundle.path().join("config.json"), spec.to_string()).unwrap();
        let id = format!(
            "steward-test-{}-{}",
            std::process::id(),
            bundle.path().file_name().unwrap().to_string_lossy()
        );
        let out = bundle.path().join("out");
        let child = Command::new("runc")
            .args(["run", "--bundle"])
            .arg(bundle.path())
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::from(
                std::fs::File::create(bundle.path().join("err")).unwrap(),
            ))
            .spawn()
            .expect("runc (apt-get install runc)");
        Container {
            id,
            bundle,
            child,
            out,
        }
    }

    fn wait_output(&self, needle: &str) -> String {
        common::wait_for_text(&self.out, needle, Duration::from_secs(20))
    }

    fn kill(&self, sig: &str) {
        let st = Command::new("runc")
            .args(["kill", &self.id, sig])
            .status()
            .unwrap();
        assert!(st.success(), "runc kill {sig}");
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let child = &mut self.child;
        common::wait_for(timeout, "the container to exit", || {
            child.try_wait().ok().flatten().map(|s| s.code())
        })
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new("runc")
            .args(["delete", "--force", &self.id])
            .output();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.bundle;
    }
}

const CONF: &str = "[supervisord]\nnodaemon=true\nlogfile=/dev/null\nlogfile_maxbytes=0\npidfile=/tmp/s.pid\n\
[program:web]\ncommand=sh -c 'echo web up; exec sleep 1000'\npriority=10\nstartsecs=1\n\
stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n\
[program:worker]\ncommand=sh -c 'trap \"echo worker bye; exit 0\" TERM; echo worker up; while true; do sleep 1; done'\n\
priority=20\nstartsecs=1\nstdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\n";

#[test]
fn docker_stop_ends_a_multi_program_container_cleanly() {
    let mut c = Container::start(
        &["/bin/steward", "-c", "/etc/supervisord.conf"],
        &[("etc/supervisord.conf", CONF)],
    );
    c.wait_output("success: worker entered RUNNING state");
    let out = c.wait_output("worker up");
    assert!(out.contains("web up"), "{out}");
    c.kill("TERM");
    let code = c.wait_exit(Duration::from_secs(15));
    let out = std::fs::read_to_string(&c.out).unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("worker bye"), "{out}");
    // Reverse priority: worker (20) stops before web (10).
    let w = out.find("stopped: worker").expect("worker stopped");
    let s = out.find("stopped: web").expect("web stopped");
    assert!(w < s, "{out}");
}

#[test]
fn single_command_container_exits_with_the_programs_status() {
    let mut c = Container::start(
        &["/bin/steward", "--", "sh", "-c", "echo one-shot; exit 3"],
        &[],
    );
    assert_eq!(c.wait_exit(Duration::from_secs(15)), Some(3));
    assert!(std::fs::read_to_string(&c.out)
        .unwrap()
        .contains("one-shot"));
}
