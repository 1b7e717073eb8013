//! The whole loader never panics: config-shaped text built from real section and key names with hostile
//! values, and arbitrary bytes, through `config::load` (INI and TOML), must give Ok or a located error.

use std::collections::BTreeMap;
use std::path::PathBuf;

use proptest::prelude::*;
use steward::config::{self, LoadOptions};

const SECTIONS: &[&str] = &[
    "supervisord",
    "program:a",
    "program:b",
    "group:g",
    "eventlistener:l",
    "fcgi-program:f",
    "unix_http_server",
    "inet_http_server",
    "supervisorctl",
    "include",
    "DEFAULT",
    "Program:x",
];
/// Every key the loader knows, in any section: a key added there is fuzzed here too.
fn keys() -> Vec<&'static str> {
    let mut keys = steward::config::build::ALL_KEYS.concat();
    keys.sort_unstable();
    keys.dedup();
    keys
}
const VALUES: &[&str] = &[
    "",
    "0",
    "1",
    "-1",
    "99999999999999999999",
    "true",
    "off",
    "yess",
    "10MB",
    "1.5GB",
    "TERM",
    "SIGRTMIN",
    "0,256",
    "%(program_name)s",
    "%(process_num)02d",
    "%(ENV_HOME)s",
    "%(nope)s",
    "%",
    "%%",
    "%(x",
    "%s",
    "AUTO",
    "NONE",
    "/dev/stdout",
    "/tmp/x.log",
    "/no/such/dir/x.log",
    "a=b,c='d e'",
    "A=\"x,y\"",
    "sh -c 'echo \"hi\"'",
    "'unclosed",
    "\\",
    "*:9001",
    "127.0.0.1:x",
    "unix:///tmp/s",
    "tcp://h:1",
    "a,b",
    "PROCESS_STATE",
    "0777",
    "089",
    "root",
    "nobody:nogroup",
    "~/x",
    "é✓",
    "\t \t",
];

fn options() -> LoadOptions {
    LoadOptions {
        env: BTreeMap::from([("HOME".to_string(), "/root".to_string())]),
        root: PathBuf::from("/"),
        host_checks: true,
        spawn_checks: false,
        host_node_name: "h".into(),
    }
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (prop::sample::select(keys()), prop::sample::select(&["=", ":", " = "][..]), prop::sample::select(VALUES))
            .prop_map(|(k, d, v)| format!("{k}{d}{v}")),
        1 => prop::sample::select(SECTIONS).prop_map(|s| format!("[{s}]")),
        1 => prop::sample::select(VALUES).prop_map(|v| format!("  {v}")),
        1 => "[ -~]{0,20}",
    ]
}

fn run(ext: &str, bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(format!("f.{ext}"));
    std::fs::write(&p, bytes).unwrap();
    match config::load(&p, &options()) {
        Ok(_) => {}
        Err(e) => assert!(!e.errors.is_empty(), "an Err must carry at least one error"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn config_shaped_ini_never_panics(lines in prop::collection::vec(line(), 0..30)) {
        let text = format!("[supervisord]\n{}", lines.join("\n"));
        run("conf", text.as_bytes());
    }

    #[test]
    fn config_shaped_toml_never_panics(lines in prop::collection::vec(line(), 0..30)) {
        let text = lines.iter().map(|l| l.replace("[program:", "[program.")).collect::<Vec<_>>().join("\n");
        run("toml", text.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        run("conf", &bytes);
        run("toml", &bytes);
    }
}
