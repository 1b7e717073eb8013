//! The fuzz corpora (fuzz/corpus/, grown by cargo-fuzz runs) replayed on the stable toolchain, with
//! the same checks as the fuzz targets: CI cannot fetch the nightly toolchain cargo-fuzz needs, but
//! every input a fuzzer once found interesting (and every crash it found, once fixed) is run here.
//! The HTTP target's corpus is replayed by `fuzz/` only: it needs the in-memory engine's server.

use std::path::PathBuf;

use steward::config::expand::{expand, Var, Vars};
use steward::control::xmlrpc::{decode_call, decode_response, encode_call};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut all: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    all.sort();
    assert!(!all.is_empty(), "empty corpus {}", dir.display());
    all
}

#[test]
fn ini_corpus() {
    for (_, data) in corpus("ini") {
        if let Ok(text) = std::str::from_utf8(&data) {
            if let Err(errors) = steward::config::ini::parse(text) {
                assert!(!errors.is_empty());
            }
        }
    }
}

#[test]
fn expand_corpus() {
    let mut vars = Vars::new();
    vars.insert("program_name".into(), Var::Str("web".into()));
    vars.insert("process_num".into(), Var::Int(7));
    vars.insert("numprocs".into(), Var::Int(-3));
    vars.insert("here".into(), Var::Str("/etc/%(x)s".into()));
    vars.insert("ENV_HOME".into(), Var::Str("/root".into()));
    vars.insert("big".into(), Var::Int(i64::MIN));
    for (path, data) in corpus("expand") {
        if let Ok(template) = std::str::from_utf8(&data) {
            let r = expand(template, &vars);
            if !template.contains('%') {
                assert_eq!(r.as_deref(), Ok(template), "{}", path.display());
            }
        }
    }
}

#[test]
fn xmlrpc_corpus() {
    for (path, data) in corpus("xmlrpc") {
        if let Ok(call) = decode_call(&data) {
            let again = encode_call(&call.name, &call.params);
            let back = decode_call(again.as_bytes())
                .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
            assert_eq!(back.name, call.name);
            assert_eq!(back.params.len(), call.params.len());
        }
        let _ = decode_response(&data);
    }
}
