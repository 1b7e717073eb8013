//! A Procfile run (`steward -f Procfile`) as foreman and honcho define it, built into the same
//! [`Config`] a supervisord.conf gives, so the engine, logs and control servers are the same.
//!
//! Each `name: command` line becomes a `[program:name]` running `/bin/sh -c command` in the root
//! directory, its output on the console with the name as prefix. `PORT` is foreman's: the base (`-p`,
//! else `PORT` from the env files, else steward's own `PORT`, else 5000) plus 100 per Procfile entry
//! plus 1 per copy. By default every program is `critical` and not restarted, so the first one to end
//! stops the rest and gives steward its exit status (foreman's rule); `keep_running` restarts instead.
//! The control socket needs no config: see [`socket_path`].

use std::path::{Path, PathBuf};

use crate::config::build::Builder;
use crate::config::model::{Config, Diagnostic, LogTarget, UnixServerSpec};
use crate::config::raw::{RawConfig, RawEntry, RawSection, RawValue};
use crate::config::{LoadError, LoadOptions};

/// What the command line of a Procfile run says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcfileOptions {
    /// The Procfile, as given (relative to the current directory).
    pub procfile: PathBuf,
    /// `-d`: where the programs run and the default `.env` is; the Procfile's directory by default.
    pub root: Option<PathBuf>,
    /// `-e`: env files (relative to the current directory); `<root>/.env` when it exists by default.
    pub env_files: Option<Vec<PathBuf>>,
    /// `-p`: the base port.
    pub port: Option<u16>,
    /// `-m`: `name=N,…,all=N`.
    pub formation: Option<String>,
    /// Restart a program that ends instead of stopping everything.
    pub keep_running: bool,
    /// Seconds between the stop signal and SIGKILL.
    pub timeout: u64,
}

/// Seconds between the stop signal and SIGKILL when `-t` does not say (foreman's default).
pub const DEFAULT_TIMEOUT: u64 = 5;

impl ProcfileOptions {
    /// A run of `procfile` without any flag.
    pub fn new(procfile: PathBuf) -> ProcfileOptions {
        ProcfileOptions {
            procfile,
            root: None,
            env_files: None,
            port: None,
            formation: None,
            keep_running: false,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// One `name: command` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub command: String,
    pub line: usize,
}

/// foreman's default base port.
pub const DEFAULT_PORT: u32 = 5000;

/// The entries of a Procfile: blank lines and `#` comments are skipped, every other line must be
/// `name: command` with a name of letters, digits, `_` and `-` (foreman's and honcho's pattern, which
/// silently skip what does not match; here that is an error naming the line), each name once.
pub fn parse(text: &str) -> Result<Vec<Entry>, Vec<(usize, String)>> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim_end_matches('\r');
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let name_len = l
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(l.len());
        let (name, rest) = l.split_at(name_len);
        let Some(command) = rest.strip_prefix(':').map(str::trim) else {
            errors.push((
                line,
                format!(
                    "{t:?} is not `name: command` (a name of letters, digits, _ and -, then a colon)"
                ),
            ));
            continue;
        };
        if name.is_empty() {
            errors.push((line, format!("{t:?} has no process name before the colon")));
        } else if command.is_empty() {
            errors.push((line, format!("{name:?} has no command")));
        } else if let Some(first) = entries.iter().find(|e| e.name == name) {
            errors.push((
                line,
                format!("{name:?} is defined twice (first on line {})", first.line),
            ));
        } else {
            entries.push(Entry {
                name: name.to_string(),
                command: command.to_string(),
                line,
            });
        }
    }
    if errors.is_empty() {
        Ok(entries)
    } else {
        Err(errors)
    }
}

/// How many copies of each entry `-m name=N,…,all=N` asks for (`all` is the default for the others;
/// without it, one each). An unknown name is an error.
pub fn formation(spec: Option<&str>, entries: &[Entry]) -> Result<Vec<u32>, String> {
    let mut all = 1;
    let mut counts: Vec<Option<u32>> = vec![None; entries.len()];
    for item in spec.unwrap_or("").split(',').map(str::trim) {
        if item.is_empty() {
            continue;
        }
        let (name, n) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not NAME=COUNT"))?;
        let (name, n) = (name.trim(), n.trim());
        let n: u32 = n
            .parse()
            .ok()
            .filter(|n| *n <= 1000)
            .ok_or_else(|| format!("{n:?} in {item:?} is not a count (0 to 1000)"))?;
        if name == "all" {
            all = n;
        } else {
            let i = entries.iter().position(|e| e.name == name).ok_or_else(|| {
                let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
                format!(
                    "{name:?} is no process type of the Procfile (it has {})",
                    names.join(", ")
                )
            })?;
            counts[i] = Some(n);
        }
    }
    Ok(counts.into_iter().map(|c| c.unwrap_or(all)).collect())
}

/// FNV-1a: a stable name for a directory's socket, the same in every build.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The longest socket path bind(2) takes, less room for the `.PID` suffix of the temporary name.
const SOCKET_PATH_MAX: usize = 107 - 8;

/// Where the control socket of a Procfile run in `dir` (the Procfile's directory, canonical) is:
/// `$XDG_RUNTIME_DIR/steward/<hash of dir>.sock` when `runtime_dir` is set, else `dir/.steward.sock`,
/// else (a path too long for a socket) `$TMPDIR/steward-<uid>/<hash>.sock`. `steward ctl` computes
/// the same from where it runs.
pub fn socket_path(dir: &Path, runtime_dir: Option<&Path>) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let hashed = format!("{:016x}.sock", fnv1a(dir.as_os_str().as_bytes()));
    if let Some(r) = runtime_dir.filter(|r| r.is_absolute()) {
        let p = r.join("steward").join(&hashed);
        if p.as_os_str().len() <= SOCKET_PATH_MAX {
            return p;
        }
    }
    let p = dir.join(".steward.sock");
    if p.as_os_str().len() <= SOCKET_PATH_MAX {
        return p;
    }
    std::env::temp_dir()
        .join(format!("steward-{}", nix::unistd::geteuid()))
        .join(hashed)
}

/// `$XDG_RUNTIME_DIR` from an environment.
pub fn runtime_dir(env: &std::collections::BTreeMap<String, String>) -> Option<PathBuf> {
    env.get("XDG_RUNTIME_DIR")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
}

/// Make the private directory a socket outside the project goes in (mode 0700, ours), or refuse one
/// that someone else could write to.
pub fn prepare_socket_dir(socket: &Path, project_dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let Some(dir) = socket.parent() else {
        return Ok(());
    };
    if dir == project_dir {
        return Ok(());
    }
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let m = std::fs::symlink_metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !m.is_dir() || m.uid() != nix::unistd::geteuid().as_raw() || m.mode() & 0o077 != 0 {
        return Err(format!(
            "{} must be a directory of this user with mode 0700 (it holds the control socket)",
            dir.display()
        ));
    }
    Ok(())
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `%` is literal in a Procfile; the builder expands `%(name)s`.
fn literal(s: &str) -> String {
    s.replace('%', "%%")
}

fn error(file: &Path, line: usize, message: String) -> LoadError {
    LoadError {
        errors: vec![Diagnostic {
            file: file.to_path_buf(),
            line,
            section: None,
            key: None,
            message,
        }],
        warnings: Vec::new(),
    }
}

/// The Procfile and env files of `o` as a [`Config`]: errors name the file and line.
pub fn load(o: &ProcfileOptions, opts: &LoadOptions) -> Result<Config, LoadError> {
    let procfile = absolute(&o.procfile);
    let text = std::fs::read_to_string(&procfile)
        .map_err(|e| error(&procfile, 0, format!("cannot read the Procfile: {e}")))?;
    let entries = parse(&text).map_err(|es| LoadError {
        errors: es
            .into_iter()
            .map(|(line, message)| Diagnostic {
                file: procfile.clone(),
                line,
                section: None,
                key: None,
                message,
            })
            .collect(),
        warnings: Vec::new(),
    })?;
    if entries.is_empty() {
        return Err(error(&procfile, 0, "the Procfile names no process".into()));
    }
    let counts = formation(o.formation.as_deref(), &entries)
        .map_err(|e| error(&procfile, 0, format!("-m/--formation: {e}")))?;
    let dir = procfile.parent().unwrap_or(Path::new("/")).to_path_buf();
    let root = absolute(o.root.as_deref().unwrap_or(&dir));
    if !root.is_dir() {
        return Err(error(
            &procfile,
            0,
            format!("-d: {} is not a directory", root.display()),
        ));
    }
    let env_files: Vec<PathBuf> = match &o.env_files {
        Some(files) => {
            let files: Vec<PathBuf> = files.iter().map(|f| absolute(f)).collect();
            if let Some((f, e)) = files
                .iter()
                .find_map(|f| std::fs::File::open(f).err().map(|e| (f, e)))
            {
                return Err(error(f, 0, format!("-e: cannot read the env file: {e}")));
            }
            files
        }
        None => Some(root.join(".env"))
            .filter(|p| p.is_file())
            .into_iter()
            .collect(),
    };

    let entry = |key: &str, value: RawValue, line: usize| RawEntry {
        key: key.into(),
        value,
        file: procfile.clone(),
        line,
    };
    let s = |v: &str| RawValue::Str(v.to_string());
    let mut supervisord = RawSection {
        name: "supervisord".into(),
        file: procfile.clone(),
        line: 0,
        entries: vec![],
    };
    if !env_files.is_empty() {
        let list = env_files
            .iter()
            .map(|p| literal(&p.to_string_lossy()))
            .collect();
        supervisord.set(entry("env_file", RawValue::List(list), 0));
    }
    let mut sections = vec![supervisord];
    for (i, (e, &n)) in entries.iter().zip(&counts).enumerate() {
        if n == 0 {
            continue;
        }
        let at = e.line;
        let mut sec = RawSection {
            name: format!("program:{}", e.name),
            file: procfile.clone(),
            line: at,
            entries: vec![],
        };
        let argv = vec!["/bin/sh".into(), "-c".into(), literal(&e.command)];
        sec.set(entry("command", RawValue::List(argv), at));
        sec.set(entry("numprocs", RawValue::Int(n.into()), at));
        sec.set(entry("numprocs_start", RawValue::Int(1), at));
        if n > 1 {
            sec.set(entry(
                "process_name",
                s("%(program_name)s.%(process_num)d"),
                at,
            ));
        }
        // Start (and stop, in reverse) in the Procfile's order.
        sec.set(entry("priority", RawValue::Int(i as i64), at));
        sec.set(entry("directory", s(&literal(&root.to_string_lossy())), at));
        sec.set(entry("redirect_stderr", RawValue::Bool(true), at));
        sec.set(entry("stdout_logfile", s("/dev/stdout"), at));
        // `sh -c` and whatever it starts go together, as foreman signals the process group.
        sec.set(entry("stopasgroup", RawValue::Bool(true), at));
        sec.set(entry("killasgroup", RawValue::Bool(true), at));
        sec.set(entry("stopwaitsecs", RawValue::Int(o.timeout as i64), at));
        if o.keep_running {
            sec.set(entry("autorestart", s("true"), at));
        } else {
            sec.set(entry("startsecs", RawValue::Int(0), at));
            sec.set(entry("autorestart", s("false"), at));
            sec.set(entry("critical", RawValue::Bool(true), at));
        }
        sections.push(sec);
    }
    let raw = RawConfig {
        sections,
        defaults: vec![],
    };
    let (config, errors, warnings) = Builder::new(&raw, opts, &procfile).build();
    let mut config = match config {
        Some(c) if errors.is_empty() => c,
        _ => return Err(LoadError { errors, warnings }),
    };

    let base = match o.port {
        Some(p) => u32::from(p),
        None => {
            let from_files = config
                .supervisord
                .environment
                .iter()
                .find(|(k, _)| k == "PORT")
                .map(|(_, v)| v.clone());
            let (text, whence) = match from_files {
                Some(v) => (Some(v), "the env files"),
                None => (opts.env.get("PORT").cloned(), "steward's environment"),
            };
            match text {
                None => DEFAULT_PORT,
                Some(t) => t.trim().parse::<u16>().map(u32::from).map_err(|_| {
                    error(
                        &procfile,
                        0,
                        format!("PORT={t:?} from {whence} is not a port number (1-65535)"),
                    )
                })?,
            }
        }
    };
    for g in &mut config.groups {
        for p in &mut g.processes {
            let index = entries
                .iter()
                .position(|e| e.name == p.program)
                .unwrap_or(0) as u32;
            let port = base + index * 100 + (p.process_num.max(1) as u32 - 1);
            if port > u32::from(u16::MAX) {
                return Err(error(
                    &procfile,
                    p.line,
                    format!("{} would get PORT={port}, past 65535 (lower -p)", p.name),
                ));
            }
            p.environment.retain(|(k, _)| k != "PORT");
            p.environment.push(("PORT".into(), port.to_string()));
        }
    }
    let sd = &mut config.supervisord;
    sd.logfile = LogTarget::None;
    sd.pidfile = None;
    sd.nodaemon = true;
    let canonical = std::fs::canonicalize(&dir).unwrap_or(dir);
    config.unix_http_server = Some(UnixServerSpec {
        file: socket_path(&canonical, runtime_dir(&opts.env).as_deref()),
        chmod: 0o600,
        chown: None,
        auth: None,
    });
    config.files = std::iter::once(procfile).chain(env_files).collect();
    config.warnings = warnings;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procfile_lines() {
        let text = "# the app\n\nweb: python3 -m http.server $PORT\r\nworker:bundle exec sidekiq  \n  # indented comment\nclock-2_b: x: y\n";
        let e = parse(text).unwrap();
        let got: Vec<(&str, &str, usize)> = e
            .iter()
            .map(|e| (e.name.as_str(), e.command.as_str(), e.line))
            .collect();
        assert_eq!(
            got,
            [
                ("web", "python3 -m http.server $PORT", 3),
                ("worker", "bundle exec sidekiq", 4),
                ("clock-2_b", "x: y", 6)
            ]
        );
        for (text, line, what) in [
            ("web: a\nweb: b\n", 2, "defined twice (first on line 1)"),
            ("web: a\n\nno colon here\n", 3, "is not `name: command`"),
            ("we b: a\n", 1, "is not `name: command`"),
            ("web:\n", 1, "has no command"),
            (": cmd\n", 1, "no process name"),
            ("web.1: x\n", 1, "is not `name: command`"),
        ] {
            let errs = parse(text).unwrap_err();
            assert_eq!(errs[0].0, line, "{text:?}");
            assert!(errs[0].1.contains(what), "{text:?}: {errs:?}");
        }
    }

    #[test]
    fn formation_counts() {
        let e = parse("web: a\nworker: b\nclock: c\n").unwrap();
        assert_eq!(formation(None, &e).unwrap(), [1, 1, 1]);
        assert_eq!(formation(Some("web=2"), &e).unwrap(), [2, 1, 1]);
        assert_eq!(formation(Some("all=0, worker=3"), &e).unwrap(), [0, 3, 0]);
        assert!(formation(Some("db=1"), &e)
            .unwrap_err()
            .contains("\"db\" is no process type"));
        assert!(formation(Some("web"), &e).is_err());
        assert!(formation(Some("web=-1"), &e).is_err());
    }

    #[test]
    fn socket_names() {
        let d = Path::new("/home/ann/app");
        let a = socket_path(d, Some(Path::new("/run/user/1000")));
        assert!(a.starts_with("/run/user/1000/steward/"));
        assert_eq!(a, socket_path(d, Some(Path::new("/run/user/1000"))));
        assert_ne!(
            a,
            socket_path(
                Path::new("/home/ann/other"),
                Some(Path::new("/run/user/1000"))
            )
        );
        assert_eq!(
            socket_path(d, None),
            PathBuf::from("/home/ann/app/.steward.sock")
        );
        let long = PathBuf::from(format!("/{}", "x".repeat(120)));
        assert!(socket_path(&long, None).as_os_str().len() <= SOCKET_PATH_MAX);
    }
}
