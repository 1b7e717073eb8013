//! Everything from bytes on disk to a validated, expanded [`model::Config`].
//!
//! Front ends ([`ini`], [`toml`]) turn files into [`raw::RawConfig`]; [`build`] turns that into the model.

pub mod build;
pub mod dotenv;
pub mod expand;
pub mod ini;
pub mod lifecycle;
pub mod model;
pub mod passwd;
pub mod procfile;
pub mod raw;
pub mod toml;
pub mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use model::*;

use crate::config::expand::Var;
use crate::config::raw::{RawConfig, RawValue};

/// What the loader may consult besides the files themselves.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The environment `%(ENV_X)s` sees (steward's own environment at start).
    pub env: BTreeMap<String, String>,
    /// Root for /etc/passwd and /etc/group lookups (`/` normally; a temp dir in tests).
    pub root: PathBuf,
    /// Check what depends on this machine, as supervisord does at parse time: that log files' parent
    /// directories and `childlogdir`/`directory` exist, that `chown` users exist; and warn about
    /// unknown `user=` names. Off for checking a config meant for another machine (the corpus test).
    pub host_checks: bool,
    /// `%(host_node_name)s`.
    pub host_node_name: String,
    /// Also warn about what will fail when a process is spawned on this machine: a command not found on
    /// the PATH it will be looked up in, or not executable, a `directory=` that does not exist
    /// (`steward check`; a running steward reports these as spawn errors instead).
    pub spawn_checks: bool,
}

impl LoadOptions {
    /// The real environment, `/`, host checks on.
    pub fn from_process() -> LoadOptions {
        let env = std::env::vars_os()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let host_node_name = nix::sys::utsname::uname()
            .map(|u| u.nodename().to_string_lossy().into_owned())
            .unwrap_or_default();
        LoadOptions {
            env,
            root: PathBuf::from("/"),
            host_checks: true,
            host_node_name,
            spawn_checks: false,
        }
    }
}

/// A config that cannot be loaded: every error found, each naming file, line, section, key and value.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub errors: Vec<Diagnostic>,
    /// Warnings found on the way (shown with the errors).
    pub warnings: Vec<Diagnostic>,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

fn file_error(file: &Path, line: usize, message: String) -> Diagnostic {
    Diagnostic {
        file: file.to_path_buf(),
        line,
        section: None,
        key: None,
        message,
    }
}

/// The two file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ini,
    Toml,
}

/// By extension; otherwise TOML when the text parses as TOML with a known top-level table.
pub fn detect_format(path: &Path, text: &str) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => Format::Toml,
        Some("conf" | "ini" | "cfg") => Format::Ini,
        _ if toml::looks_like_toml(text) => Format::Toml,
        _ => Format::Ini,
    }
}

/// Read and parse one file into raw sections.
fn read_one(path: &Path, errors: &mut Vec<Diagnostic>) -> Option<RawConfig> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            errors.push(file_error(path, 0, format!("cannot read the file: {e}")));
            return None;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let upto = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
            errors.push(file_error(
                path,
                line,
                "the file is not valid UTF-8".to_string(),
            ));
            return None;
        }
    };
    match detect_format(path, &text) {
        Format::Toml => match toml::parse(&text, path) {
            Ok(raw) => Some(raw),
            Err(es) => {
                errors.extend(es);
                None
            }
        },
        Format::Ini => match ini::parse(&text) {
            Ok(ini) => Some(raw::from_ini(ini, path)),
            Err(es) => {
                for e in es {
                    errors.push(file_error(
                        path,
                        e.line,
                        format!("{}: {:?}", e.message, e.text.trim_end()),
                    ));
                }
                None
            }
        },
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    }
}

/// Load a config file (INI or TOML, by extension or by sniffing) with its includes.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Config, LoadError> {
    let main = absolute(path);
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let Some(mut raw) = read_one(&main, &mut errors) else {
        return Err(LoadError { errors, warnings });
    };
    let mut files = vec![main.clone()];

    // [include] is honoured in the main file only (as supervisord: no recursion).
    if let Some(inc) = raw.section("include").cloned() {
        let here = main.parent().unwrap_or(Path::new("/")).to_path_buf();
        match inc.get("files") {
            None => errors.push(Diagnostic {
                file: inc.file.clone(),
                line: inc.line,
                section: Some("include".into()),
                key: None,
                message: "the [include] section has no files= line".into(),
            }),
            Some(entry) => {
                let patterns: Vec<String> = match &entry.value {
                    RawValue::List(l) => l.clone(),
                    RawValue::Str(s) => {
                        let mut vars = expand::Vars::new();
                        for (k, v) in &opts.env {
                            vars.insert(format!("ENV_{k}"), Var::Str(v.clone()));
                        }
                        vars.insert("here".into(), Var::Str(here.to_string_lossy().into_owned()));
                        vars.insert(
                            "host_node_name".into(),
                            Var::Str(opts.host_node_name.clone()),
                        );
                        match expand::expand(s, &vars) {
                            Ok(t) => t.split_whitespace().map(String::from).collect(),
                            Err(e) => {
                                errors.push(Diagnostic {
                                    file: entry.file.clone(),
                                    line: entry.line,
                                    section: Some("include".into()),
                                    key: Some("files".into()),
                                    message: e.explain(s, &["here", "host_node_name"]),
                                });
                                Vec::new()
                            }
                        }
                    }
                    other => {
                        errors.push(Diagnostic {
                            file: entry.file.clone(),
                            line: entry.line,
                            section: Some("include".into()),
                            key: Some("files".into()),
                            message: format!(
                                "invalid value {}: expected glob patterns",
                                other.display()
                            ),
                        });
                        Vec::new()
                    }
                };
                for pat in patterns {
                    let full = if Path::new(&pat).is_absolute() {
                        PathBuf::from(&pat)
                    } else {
                        here.join(&pat)
                    };
                    let mut matches: Vec<PathBuf> = match glob::glob(&full.to_string_lossy()) {
                        Ok(paths) => paths
                            .filter_map(Result::ok)
                            .filter(|p| p.is_file())
                            .collect(),
                        Err(e) => {
                            errors.push(Diagnostic {
                                file: entry.file.clone(),
                                line: entry.line,
                                section: Some("include".into()),
                                key: Some("files".into()),
                                message: format!("invalid glob {pat:?}: {e}"),
                            });
                            continue;
                        }
                    };
                    matches.sort();
                    if matches.is_empty() {
                        warnings.push(Diagnostic {
                            file: entry.file.clone(),
                            line: entry.line,
                            section: Some("include".into()),
                            key: Some("files".into()),
                            message: format!("no file matches {}", full.display()),
                        });
                    }
                    for m in matches {
                        if let Some(mut r) = read_one(&m, &mut errors) {
                            // Includes inside included files are ignored, as supervisord does.
                            r.sections.retain(|s| s.name != "include");
                            raw.merge(r);
                            files.push(m);
                        }
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(LoadError { errors, warnings });
    }

    let (config, errs, warns) = build::Builder::new(&raw, opts, &main).build();
    // numprocs repeats a section's findings once per process; say each once.
    for w in warns {
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
    match config {
        Some(mut c) if errs.is_empty() => {
            c.files = files;
            c.warnings = warnings;
            Ok(c)
        }
        _ => Err(LoadError {
            errors: errs,
            warnings,
        }),
    }
}

/// supervisord's search list when `-c` is not given (reference 1.1), with `steward.toml` tried first
/// in each place.
pub fn locate(argv0: &Path) -> Option<PathBuf> {
    candidates(argv0).into_iter().find(|p| p.is_file())
}

/// The places [`locate`] looks, in order. `<exe>/..` is taken by name, as supervisord's
/// `dirname(dirname(argv[0]))` is, not through symlinks.
pub fn candidates(argv0: &Path) -> Vec<PathBuf> {
    let dirs = [
        beside_exe(argv0, "../etc"),
        beside_exe(argv0, ".."),
        PathBuf::from("."),
        PathBuf::from("./etc"),
        PathBuf::from("/etc"),
        PathBuf::from("/etc/supervisor"),
    ];
    let mut out = Vec::new();
    for d in &dirs {
        out.push(d.join("steward.toml"));
        out.push(d.join("supervisord.conf"));
    }
    out
}

/// `rel` from the directory of the executable `argv0`, absolute, its `..` resolved by name (as
/// supervisord and supervisorctl build `<exe>/../etc/…` from `argv[0]`).
pub fn beside_exe(argv0: &Path, rel: &str) -> PathBuf {
    let exe_dir = argv0
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(absolute)
        .unwrap_or_else(|| absolute(Path::new(".")));
    lexical(&exe_dir.join(rel))
}

/// An absolute path with its `.` and `..` resolved by name.
fn lexical(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// What run mode and `steward check` say when there is no `-c` and no config where [`locate`]
/// looks: every place, one a line.
pub fn not_found_message(argv0: &Path) -> String {
    let mut text = String::from("Error: No config file found; looked for:\n");
    for p in candidates(argv0) {
        text.push_str(&format!("  {}\n", p.display()));
    }
    text.push_str("Use -c FILE for a config file elsewhere, or -f FILE for a Procfile.");
    text
}
