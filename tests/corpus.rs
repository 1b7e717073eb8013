//! Every real-world config in ../shared/corpus/supervisord loads, or fails with supervisord 4.3.0's own
//! verdict (INDEX.md). Loaded the way INDEX.md's supervisord check did: fragments get a `[supervisord]`
//! header, `%(ENV_X)s` gets placeholder values, machine-dependent checks (paths, users) are off.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use steward::config::{self, GroupKind, LoadOptions};

/// A git worktree sits one level deeper (`wt/<name>`), so the nearest ancestor holding it is used
/// (as in `ini_differential.rs`).
fn corpus_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/corpus/supervisord"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| manifest.join("../shared/corpus/supervisord"))
}

/// Files supervisord rejects, with the key (or line) our error must name.
fn expected_rejections() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("020", "numprocs"), // `${CELERY_GEVENT_EXECUTORS}` is not an integer
        ("021", "port"),     // `127.0.0.1:__QUEUECTL_PORT__` is not a port
        ("027", "user"),     // `%USER%`: a lone % is a bad format string
        ("028", "line 42"),  // Jinja `{% endif %}` lines have no delimiter
    ])
}

/// Values an image's environment would provide; anything else gets a neutral placeholder.
fn placeholder_env(text: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut rest = text;
    while let Some(i) = rest.find("%(ENV_") {
        rest = &rest[i + 6..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let value = if name.contains("LOG_LEVEL") {
            "info"
        } else if name == "SE_VIDEO_INTERNAL_UPLOAD" {
            "true"
        } else {
            "placeholder"
        };
        env.insert(name, value.to_string());
    }
    env
}

/// INDEX.md's "programs:" line of each file: the program and event listener names it defines.
fn index_programs() -> BTreeMap<String, BTreeSet<String>> {
    let index = std::fs::read_to_string(corpus_dir().join("INDEX.md")).expect("INDEX.md");
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in index.lines() {
        if let Some(rest) = line.strip_prefix("- `") {
            current = rest.get(..3).map(String::from);
        } else if let (Some(body), Some(num)) = (line.strip_prefix("  - programs: "), &current) {
            let mut names = BTreeSet::new();
            for part in body.split(" | ") {
                let list = if let Some(l) = part.strip_prefix("eventlistener: ") {
                    l
                } else if let Some(l) = part.strip_prefix("fcgi-program: ") {
                    l
                } else if part.starts_with("groups: ")
                    || part.starts_with("no [program:x]")
                    || part.starts_with("none ")
                {
                    continue;
                } else {
                    part.strip_prefix("fcgi-program: ").unwrap_or(part)
                };
                for n in list.split(", ") {
                    names.insert(n.trim().to_string());
                }
            }
            out.insert(num.clone(), names);
        }
    }
    out
}

#[test]
fn corpus_verdicts_match_supervisord() {
    let dir = corpus_dir();
    let tmp = tempfile::tempdir().unwrap();
    let rejections = expected_rejections();
    let programs = index_programs();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the corpus at ../shared/corpus/supervisord")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 60, "the corpus has 60 files");
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let num = &name[..3];
        let text = String::from_utf8(std::fs::read(path).unwrap()).unwrap();
        let has_header = text.lines().any(|l| l.trim_end() == "[supervisord]");
        let shifted = if has_header {
            text.clone()
        } else {
            format!("[supervisord]\n{text}")
        };
        // One directory per file, so a relative `[include] files=*.conf` sees no other corpus file.
        let copy = tmp.path().join(num).join(&name);
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::write(&copy, &shifted).unwrap();
        let opts = LoadOptions {
            env: placeholder_env(&text),
            root: PathBuf::from("/nonexistent-root"),
            host_checks: false,
            spawn_checks: false,
            host_node_name: "testhost".into(),
        };
        let result = config::load(&copy, &opts);
        match (rejections.get(num), result) {
            (None, Ok(c)) => {
                let ours: BTreeSet<String> = c
                    .groups
                    .iter()
                    .flat_map(|g| match &g.kind {
                        GroupKind::EventListener(_) => vec![g.name.clone()],
                        _ => g.processes.iter().map(|p| p.program.clone()).collect(),
                    })
                    .collect();
                if let Some(theirs) = programs.get(num) {
                    if &ours != theirs {
                        failures.push(format!("{name}: programs {ours:?}, INDEX says {theirs:?}"));
                    }
                }
            }
            (None, Err(e)) => failures.push(format!("{name}: should load, got: {e}")),
            (Some(what), Ok(_)) => failures.push(format!("{name}: should be rejected ({what})")),
            (Some(what), Err(e)) => {
                let line_off = usize::from(!has_header);
                let named = e.errors.iter().any(|d| {
                    d.file == copy
                        && match what.strip_prefix("line ") {
                            Some(l) => d.line - line_off == l.parse::<usize>().unwrap(),
                            None => d.key.as_deref() == Some(*what) && d.line > 0,
                        }
                });
                if !named {
                    failures.push(format!("{name}: error should name {what}: {e}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
