//! The fuzz corpora (fuzz/corpus/, grown by cargo-fuzz runs) replayed on the stable toolchain, with
//! the same checks as the fuzz targets: CI cannot fetch the nightly toolchain cargo-fuzz needs, but
//! every input a fuzzer once found interesting (and every crash it found, once fixed) is run here.
//! The HTTP target's corpus goes through the request reader here; the fuzz target also sends it to a
//! whole server over a socket.

use std::path::PathBuf;

mod checks {
    include!("../fuzz/checks.rs");
}

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

/// Every input of `target`'s corpus passes that target's checks.
fn replay(target: &str, check: fn(&[u8]) -> Result<(), String>) {
    for (path, data) in corpus(target) {
        if let Err(e) = check(&data) {
            panic!("{}: {e}", path.display());
        }
    }
}

#[test]
fn ini_corpus() {
    replay("ini", checks::ini);
}

#[test]
fn expand_corpus() {
    replay("expand", checks::expand);
}

#[test]
fn xmlrpc_corpus() {
    replay("xmlrpc", checks::xmlrpc);
}

#[test]
fn http_corpus() {
    replay("http", checks::http);
}
