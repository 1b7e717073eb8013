//! From [`RawConfig`] (either front end) to the validated [`Config`]: defaults, `%` expansion with exactly
//! the names each key allows (reference 1.4), value types (1.3), numprocs unrolling, cross-checks.
//! Every error is collected, so one run of `steward check` shows them all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::expand::{self, Var, Vars};
use crate::config::model::*;
use crate::config::passwd;
use crate::config::raw::{RawConfig, RawEntry, RawSection, RawValue};
use crate::config::values;
use crate::config::LoadOptions;
use crate::engine::spawn::{self, SpawnError};

const SUPERVISORD_KEYS: &[&str] = &[
    "logfile",
    "logfile_maxbytes",
    "logfile_backups",
    "loglevel",
    "pidfile",
    "umask",
    "nodaemon",
    "silent",
    "minfds",
    "minprocs",
    "nocleanup",
    "childlogdir",
    "user",
    "directory",
    "strip_ansi",
    "environment",
    // steward extension: `.env` files read before `environment=` (which wins).
    "env_file",
    "identifier",
    // steward extension: the default `console_prefix` of every program.
    "console_prefix",
    // steward extension: SIGTERM -> SIGKILL grace for processes left behind at exit.
    "shutdown_grace",
    // steward extension: a local time before each line programs write to the console.
    "console_timestamps",
];

const PROGRAM_KEYS: &[&str] = &[
    "command",
    "process_name",
    "numprocs",
    "numprocs_start",
    "priority",
    "autostart",
    "startsecs",
    "startretries",
    "autorestart",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "user",
    "redirect_stderr",
    "stdout_logfile",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stdout_capture_maxbytes",
    "stdout_events_enabled",
    "stdout_syslog",
    "stderr_logfile",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "stderr_capture_maxbytes",
    "stderr_events_enabled",
    "stderr_syslog",
    "environment",
    "env_file",
    "directory",
    "umask",
    "serverurl",
    // steward extensions; supervisord ignores unknown keys, so a shared config stays valid.
    "console_prefix",
    "stdout_logfile_also",
    "stderr_logfile_also",
    // steward extensions for container lifecycles.
    "critical",
    "depends_on",
    "ready_check",
    "ready_timeout",
    "health_check",
    "health_interval",
    "health_timeout",
    "health_retries",
    "pidfile",
];

const LISTENER_KEYS: &[&str] = &["events", "buffer_size", "result_handler"];
const FCGI_KEYS: &[&str] = &["socket", "socket_backlog", "socket_owner", "socket_mode"];
const UNIX_SERVER_KEYS: &[&str] = &["file", "chmod", "chown", "username", "password"];
const INET_SERVER_KEYS: &[&str] = &["port", "username", "password"];
const CTL_KEYS: &[&str] = &[
    "serverurl",
    "username",
    "password",
    "prompt",
    "history_file",
];
const GROUP_KEYS: &[&str] = &["programs", "priority"];
const INCLUDE_KEYS: &[&str] = &["files"];

/// Sections that stand alone, and the kinds of `[kind:name]` sections (reference 1.2).
const SECTION_SINGLES: &[&str] = &[
    "supervisord",
    "unix_http_server",
    "inet_http_server",
    "supervisorctl",
    "include",
];
const SECTION_KINDS: &[&str] = &[
    "program",
    "group",
    "eventlistener",
    "fcgi-program",
    "rpcinterface",
    "ctlplugin",
];

/// Every key each kind of section knows (steward's additions included), for tools and tests.
pub const ALL_KEYS: &[&[&str]] = &[
    SUPERVISORD_KEYS,
    PROGRAM_KEYS,
    LISTENER_KEYS,
    FCGI_KEYS,
    UNIX_SERVER_KEYS,
    INET_SERVER_KEYS,
    CTL_KEYS,
    GROUP_KEYS,
    INCLUDE_KEYS,
];

/// Event type names a listener may subscribe to (reference 4).
pub const EVENT_TYPES: &[&str] = &[
    "EVENT",
    "PROCESS_STATE",
    "PROCESS_STATE_STOPPED",
    "PROCESS_STATE_EXITED",
    "PROCESS_STATE_STARTING",
    "PROCESS_STATE_STOPPING",
    "PROCESS_STATE_BACKOFF",
    "PROCESS_STATE_FATAL",
    "PROCESS_STATE_RUNNING",
    "PROCESS_STATE_UNKNOWN",
    "PROCESS_LOG",
    "PROCESS_LOG_STDOUT",
    "PROCESS_LOG_STDERR",
    "PROCESS_COMMUNICATION",
    "PROCESS_COMMUNICATION_STDOUT",
    "PROCESS_COMMUNICATION_STDERR",
    "REMOTE_COMMUNICATION",
    "SUPERVISOR_STATE_CHANGE",
    "SUPERVISOR_STATE_CHANGE_RUNNING",
    "SUPERVISOR_STATE_CHANGE_STOPPING",
    "TICK",
    "TICK_5",
    "TICK_60",
    "TICK_3600",
    "PROCESS_GROUP",
    "PROCESS_GROUP_ADDED",
    "PROCESS_GROUP_REMOVED",
];

/// A command on `path` that is `program` with a version after it (Debian's `php-fpm8.2` for `php-fpm`,
/// `python3.11` for `python3`): the first, in PATH order, that is an executable file.
fn versioned_command(program: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    for dir in std::env::split_paths(path) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| {
                let name = e.file_name();
                let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(program)) else {
                    return false;
                };
                let rest = rest.strip_prefix('-').unwrap_or(rest);
                rest.starts_with(|c: char| c.is_ascii_digit())
                    && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
            })
            .map(|e| e.path())
            .filter(|p| {
                std::fs::metadata(p)
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            })
            .collect();
        found.sort();
        if let Some(f) = found.pop() {
            return Some(f);
        }
    }
    None
}

/// The known key a misspelt one most likely meant, if it is near enough to be a typo rather than
/// another word.
fn closest_key<'k>(key: &str, known: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    let key = key.to_ascii_lowercase();
    let limit = (key.chars().count() / 3).clamp(1, 3);
    crate::suggest::nearest(&key, known, limit)
}

/// The default console prefix: `web | `.
pub const DEFAULT_CONSOLE_PREFIX: &str = "%(process_name)s | ";

pub struct Builder<'a> {
    raw: &'a RawConfig,
    opts: &'a LoadOptions,
    main_file: &'a Path,
    pub errors: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    /// `[supervisord] console_prefix`, the default for programs without their own.
    console_prefix_default: Option<(&'a RawSection, &'a RawEntry)>,
}

/// Where a value came from, for messages.
struct At<'s> {
    section: &'s RawSection,
}

impl<'a> Builder<'a> {
    pub fn new(raw: &'a RawConfig, opts: &'a LoadOptions, main_file: &'a Path) -> Builder<'a> {
        Builder {
            raw,
            opts,
            main_file,
            errors: Vec::new(),
            warnings: Vec::new(),
            console_prefix_default: None,
        }
    }

    fn diag(&self, at: &At, entry: Option<&RawEntry>, message: String) -> Diagnostic {
        Diagnostic {
            file: entry.map_or_else(|| at.section.file.clone(), |e| e.file.clone()),
            line: entry.map_or(at.section.line, |e| e.line),
            section: Some(at.section.name.clone()),
            key: entry.map(|e| e.key.clone()),
            message,
        }
    }

    fn error(&mut self, at: &At, entry: Option<&RawEntry>, message: String) {
        let d = self.diag(at, entry, message);
        // A shared default (`[supervisord] console_prefix`) is checked once per program: say it once.
        if !self.errors.contains(&d) {
            self.errors.push(d);
        }
    }

    fn warn(&mut self, at: &At, entry: Option<&RawEntry>, message: String) {
        let d = self.diag(at, entry, message);
        self.warnings.push(d);
    }

    /// `ENV_X` for steward's environment, plus `extra` pairs (e.g. `[supervisord] environment`).
    fn env_vars(&self, extra: &[(String, String)]) -> Vars {
        let mut v = Vars::new();
        for (k, val) in &self.opts.env {
            v.insert(format!("ENV_{k}"), Var::Str(val.clone()));
        }
        for (k, val) in extra {
            v.insert(format!("ENV_{k}"), Var::Str(val.clone()));
        }
        v
    }

    /// Expand one string value; `here` is the directory of the file the entry came from.
    fn expand(&mut self, at: &At, entry: &RawEntry, text: &str, vars: &Vars) -> Option<String> {
        let mut vars = vars.clone();
        let here = entry.file.parent().unwrap_or(Path::new("/"));
        vars.insert("here".into(), Var::Str(here.to_string_lossy().into_owned()));
        match expand::expand(text, &vars) {
            Ok(s) => Some(s),
            Err(e) => {
                let avail: Vec<&str> = vars
                    .keys()
                    .map(String::as_str)
                    .filter(|k| !k.starts_with("ENV_"))
                    .collect();
                self.error(at, Some(entry), e.explain(text, &avail));
                None
            }
        }
    }

    fn lookup(&self, at: &At<'a>, key: &str) -> Option<&'a RawEntry> {
        self.raw.lookup(at.section, key)
    }

    /// A string value, expanded. `Ok(None)` when absent; `Err(())` after recording an error.
    fn string(&mut self, at: &At<'a>, key: &str, vars: &Vars) -> Result<Option<String>, ()> {
        let Some(entry) = self.lookup(at, key) else {
            return Ok(None);
        };
        match &entry.value {
            RawValue::Str(s) => self.expand(at, entry, s, vars).map(Some).ok_or(()),
            RawValue::Int(i) => Ok(Some(i.to_string())),
            RawValue::Bool(b) => Ok(Some(b.to_string())),
            other => {
                self.error(
                    at,
                    Some(entry),
                    format!("invalid value {}: expected a string", other.display()),
                );
                Err(())
            }
        }
    }

    /// A typed scalar: native TOML ints/bools are taken as they are, strings go through `parse`.
    fn typed<T>(
        &mut self,
        at: &At<'a>,
        key: &str,
        vars: &Vars,
        default: T,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> T {
        let Some(entry) = self.lookup(at, key) else {
            return default;
        };
        let text = match &entry.value {
            RawValue::Str(s) => match self.expand(at, entry, s, vars) {
                Some(t) => t,
                None => return default,
            },
            RawValue::Int(i) => i.to_string(),
            RawValue::Bool(b) => b.to_string(),
            RawValue::List(items) if key == "exitcodes" || key == "events" || key == "programs" => {
                items.join(",")
            }
            other => {
                self.error(
                    at,
                    Some(entry),
                    format!("invalid value {}: expected a single value", other.display()),
                );
                return default;
            }
        };
        match parse(&text) {
            Ok(v) => v,
            Err(expected) => {
                self.error(
                    at,
                    Some(entry),
                    format!("invalid value {text:?}: {expected}"),
                );
                default
            }
        }
    }

    fn int(&mut self, at: &At<'a>, key: &str, vars: &Vars, default: i64) -> i64 {
        self.typed(at, key, vars, default, values::parse_int)
    }

    fn nonneg(&mut self, at: &At<'a>, key: &str, vars: &Vars, default: u64) -> u64 {
        self.typed(at, key, vars, default, |s| {
            let v = values::parse_int(s)?;
            u64::try_from(v).map_err(|_| "expected a non-negative integer".to_string())
        })
    }

    fn small(&mut self, at: &At<'a>, key: &str, vars: &Vars, default: u32) -> u32 {
        self.typed(at, key, vars, default, |s| {
            let v = values::parse_int(s)?;
            u32::try_from(v).map_err(|_| "expected a non-negative integer".to_string())
        })
    }

    fn boolean(&mut self, at: &At<'a>, key: &str, vars: &Vars, default: bool) -> bool {
        self.typed(at, key, vars, default, values::parse_bool)
    }

    fn bytes(&mut self, at: &At<'a>, key: &str, vars: &Vars, default: u64) -> u64 {
        self.typed(at, key, vars, default, values::parse_byte_size)
    }

    /// An `environment=` value: a KEY=val string (supervisord's syntax) or a TOML table.
    fn environment(&mut self, at: &At<'a>, vars: &Vars) -> Vec<(String, String)> {
        let Some(entry) = self.lookup(at, "environment") else {
            return Vec::new();
        };
        match &entry.value {
            RawValue::Table(pairs) => {
                let mut out = Vec::new();
                for (k, v) in pairs {
                    if let Some(v) = self.expand(at, entry, v, vars) {
                        out.push((k.clone(), v));
                    }
                }
                out
            }
            RawValue::Str(s) => {
                let Some(text) = self.expand(at, entry, s, vars) else {
                    return Vec::new();
                };
                match values::parse_environment(&text) {
                    Ok(pairs) => pairs,
                    Err(expected) => {
                        self.error(
                            at,
                            Some(entry),
                            format!("invalid value {text:?}: {expected}"),
                        );
                        Vec::new()
                    }
                }
            }
            other => {
                self.error(
                    at,
                    Some(entry),
                    format!(
                        "invalid value {}: expected KEY=value pairs or a table",
                        other.display()
                    ),
                );
                Vec::new()
            }
        }
    }

    /// `env_file=PATH[, PATH]` (TOML: also an array): the pairs of each `.env` file in order, a later
    /// file's key winning, for `environment=` to override. A relative path is taken from the directory
    /// of the config file that names it, as docker compose does. A missing file or a bad line is an
    /// error; a bad line's names the `.env` file and its line.
    fn env_files(&mut self, at: &At<'a>, vars: &Vars) -> Vec<(String, String)> {
        let Some(entry) = self.lookup(at, "env_file") else {
            return Vec::new();
        };
        let paths = match &entry.value {
            RawValue::Str(s) => match self.expand(at, entry, s, vars) {
                Some(t) => split_list(&t),
                None => return Vec::new(),
            },
            RawValue::List(items) => {
                let mut out = Vec::new();
                for it in items {
                    out.extend(self.expand(at, entry, it, vars));
                }
                out
            }
            other => {
                self.error(
                    at,
                    Some(entry),
                    format!("invalid value {}: expected file paths", other.display()),
                );
                return Vec::new();
            }
        };
        let here = entry.file.parent().unwrap_or(Path::new("/"));
        let mut pairs: Vec<(String, String)> = Vec::new();
        for p in paths {
            let path = here.join(expand_user(&p, &self.opts.env));
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    self.error(
                        at,
                        Some(entry),
                        format!("cannot read the env file {}: {e}", path.display()),
                    );
                    continue;
                }
            };
            // Earlier files, then what `%(ENV_X)s` sees here (steward's environment and, for a
            // program, `[supervisord]`'s).
            let outer = |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .or_else(|| match vars.get(&format!("ENV_{name}")) {
                        Some(Var::Str(v)) => Some(v.clone()),
                        _ => None,
                    })
            };
            match crate::config::dotenv::parse(&text, &outer) {
                Ok(found) => overlay(&mut pairs, found),
                Err(e) => {
                    let d = Diagnostic {
                        file: path,
                        line: e.line,
                        section: None,
                        key: None,
                        message: e.message,
                    };
                    if !self.errors.contains(&d) {
                        self.errors.push(d);
                    }
                }
            }
        }
        pairs
    }

    fn warn_unknown_keys(&mut self, at: &At<'a>, known: &[&[&str]]) {
        for e in &at.section.entries {
            if !known.iter().any(|set| set.contains(&e.key.as_str())) {
                let hint = closest_key(&e.key, known.iter().flat_map(|set| set.iter().copied()))
                    .map(|k| format!("; did you mean `{k}`?"))
                    .unwrap_or_default();
                self.warn(
                    at,
                    Some(e),
                    format!(
                        "unknown key `{}` ignored (supervisord ignores it too){hint}",
                        e.key
                    ),
                );
            }
        }
    }

    /// A path made absolute against the current directory, `~` expanded.
    fn abs_path(&self, p: &str) -> PathBuf {
        let p = expand_user(p, &self.opts.env);
        if p.is_absolute() {
            p
        } else {
            std::env::current_dir()
                .unwrap_or_else(|_| PathBuf::from("/"))
                .join(p)
        }
    }

    fn check_parent_dir(&mut self, at: &At<'a>, key: &str, path: &Path) {
        if !self.opts.host_checks {
            return;
        }
        let parent = path.parent().unwrap_or(Path::new("/"));
        if !parent.as_os_str().is_empty() && !parent.is_dir() {
            let entry = self.lookup(at, key);
            self.error(
                at,
                entry,
                format!(
                    "the directory {} named in the path {} does not exist",
                    parent.display(),
                    path.display()
                ),
            );
        }
    }

    fn log_target(&mut self, at: &At<'a>, key: &str, text: &str) -> LogTarget {
        let t = text.trim();
        match t.to_ascii_uppercase().as_str() {
            "NONE" | "OFF" => return LogTarget::None,
            "AUTO" => return LogTarget::Auto,
            "SYSLOG" => return LogTarget::Syslog,
            _ => {}
        }
        match t {
            "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1" => LogTarget::Stdout,
            "/dev/stderr" | "/dev/fd/2" | "/proc/self/fd/2" => LogTarget::Stderr,
            _ => {
                let p = self.abs_path(t);
                self.check_parent_dir(at, key, &p);
                LogTarget::File(p)
            }
        }
    }

    /// Build everything.
    pub fn build(mut self) -> (Option<Config>, Vec<Diagnostic>, Vec<Diagnostic>) {
        let raw = self.raw;
        // Sections supervisord does not know are ignored silently by it; we say so.
        for s in &raw.sections {
            let known = SECTION_SINGLES.contains(&s.name.as_str())
                || s.name
                    .split_once(':')
                    .is_some_and(|(k, _)| SECTION_KINDS.contains(&k));
            if !known {
                let at = At { section: s };
                // `[progam:web]` → `[program:web]`, `[Supervisord]` → `[supervisord]`.
                let hint = match s.name.split_once(':') {
                    Some((kind, name)) => closest_key(kind, SECTION_KINDS.iter().copied())
                        .map(|k| format!("; did you mean [{k}:{name}]?")),
                    None => closest_key(&s.name, SECTION_SINGLES.iter().copied())
                        .map(|k| format!("; did you mean [{k}]?")),
                }
                .unwrap_or_default();
                self.warn(
                    &at,
                    None,
                    format!(
                        "unknown section [{}] ignored (section names are case-sensitive){hint}",
                        s.name
                    ),
                );
            }
        }

        let supervisord = match raw.section("supervisord") {
            Some(s) => self.supervisord(s),
            None => {
                self.errors.push(Diagnostic {
                    file: self.main_file.to_path_buf(),
                    line: 0,
                    section: None,
                    key: None,
                    message:
                        "the configuration has no [supervisord] section (supervisord requires one)"
                            .into(),
                });
                None
            }
        };
        let global_env = supervisord
            .as_ref()
            .map(|s| s.environment.clone())
            .unwrap_or_default();
        let groups = self.groups(&global_env);
        for e in crate::config::lifecycle::check_graph(&groups) {
            let section = ["program:", "fcgi-program:", "eventlistener:"]
                .iter()
                .find_map(|k| raw.section(&format!("{k}{}", e.program)));
            if let Some(section) = section {
                let at = At { section };
                let entry = self.lookup(&at, "depends_on");
                self.error(&at, entry, e.message);
            }
        }
        let unix = raw
            .section("unix_http_server")
            .and_then(|s| self.unix_server(s));
        let inet = raw
            .section("inet_http_server")
            .and_then(|s| self.inet_server(s));
        let ctl = raw.section("supervisorctl").map(|s| self.ctl(s));
        if let Some(s) = raw.section("include") {
            let at = At { section: s };
            self.warn_unknown_keys(&at, &[INCLUDE_KEYS]);
        }

        if !self.errors.is_empty() {
            return (None, self.errors, self.warnings);
        }
        let Some(supervisord) = supervisord else {
            return (None, self.errors, self.warnings);
        };
        let config = Config {
            source: self.main_file.to_path_buf(),
            files: Vec::new(),
            supervisord,
            groups,
            unix_http_server: unix,
            inet_http_server: inet,
            supervisorctl: ctl,
            warnings: Vec::new(),
        };
        (Some(config), self.errors, self.warnings)
    }

    fn supervisord(&mut self, s: &'a RawSection) -> Option<SupervisordSpec> {
        let at = At { section: s };
        self.warn_unknown_keys(&at, &[SUPERVISORD_KEYS]);
        let vars = self.env_vars(&[]);
        let before = self.errors.len();
        let cwd = self.abs_path(".");
        let tmp = PathBuf::from(self.opts.env.get("TMPDIR").map_or("/tmp", |s| s.as_str()));
        let d = SupervisordSpec::new(&cwd, &tmp);

        let logfile = match self.string(&at, "logfile", &vars) {
            Ok(Some(v)) => self.log_target(&at, "logfile", &v),
            Ok(None) => d.logfile.clone(),
            Err(()) => LogTarget::None,
        };
        if matches!(logfile, LogTarget::Auto) {
            let e = self.lookup(&at, "logfile");
            self.error(
                &at,
                e,
                "invalid value \"AUTO\": expected a file path, NONE or syslog".into(),
            );
        }
        let logfile_maxbytes = self.bytes(&at, "logfile_maxbytes", &vars, d.logfile_maxbytes);
        let logfile_backups = self.small(&at, "logfile_backups", &vars, d.logfile_backups);
        let loglevel = self.typed(&at, "loglevel", &vars, d.loglevel, values::parse_loglevel);
        let pidfile = match self.string(&at, "pidfile", &vars) {
            Ok(Some(v)) => {
                let p = self.abs_path(v.trim());
                self.check_parent_dir(&at, "pidfile", &p);
                Some(p)
            }
            Ok(None) => d.pidfile.clone(),
            Err(()) => None,
        };
        let umask = self.typed(&at, "umask", &vars, d.umask, values::parse_octal);
        let nodaemon = self.boolean(&at, "nodaemon", &vars, d.nodaemon);
        let silent = self.boolean(&at, "silent", &vars, d.silent);
        let minfds = self.nonneg(&at, "minfds", &vars, d.minfds);
        let minprocs = self.nonneg(&at, "minprocs", &vars, d.minprocs);
        let nocleanup = self.boolean(&at, "nocleanup", &vars, d.nocleanup);
        let childlogdir = match self.string(&at, "childlogdir", &vars) {
            Ok(Some(v)) => {
                let p = self.abs_path(v.trim());
                if self.opts.host_checks && !p.is_dir() {
                    let e = self.lookup(&at, "childlogdir");
                    self.error(
                        &at,
                        e,
                        format!("{} is not an existing directory", p.display()),
                    );
                }
                p
            }
            _ => d.childlogdir.clone(),
        };
        let user = self.string(&at, "user", &vars).ok().flatten();
        let directory = match self.string(&at, "directory", &vars) {
            Ok(Some(v)) => {
                let p = self.abs_path(v.trim());
                if self.opts.host_checks && !p.is_dir() {
                    let e = self.lookup(&at, "directory");
                    self.error(
                        &at,
                        e,
                        format!("{} is not an existing directory", p.display()),
                    );
                }
                Some(p)
            }
            _ => None,
        };
        let strip_ansi = self.boolean(&at, "strip_ansi", &vars, d.strip_ansi);
        let shutdown_grace = self.nonneg(&at, "shutdown_grace", &vars, d.shutdown_grace);
        let console_timestamps =
            self.boolean(&at, "console_timestamps", &vars, d.console_timestamps);
        let mut environment = self.env_files(&at, &vars);
        let own = self.environment(&at, &vars);
        overlay(&mut environment, own);
        if let Some(e) = self.lookup(&at, "console_prefix") {
            match &e.value {
                RawValue::Bool(_) | RawValue::Str(_) => self.console_prefix_default = Some((s, e)),
                other => self.error(
                    &at,
                    Some(e),
                    format!(
                        "invalid value {}: expected a prefix format or false",
                        other.display()
                    ),
                ),
            }
        }
        let identifier = self
            .string(&at, "identifier", &vars)
            .ok()
            .flatten()
            .unwrap_or(d.identifier);
        if self.errors.len() > before {
            return None;
        }
        Some(SupervisordSpec {
            logfile,
            logfile_maxbytes,
            logfile_backups,
            loglevel,
            pidfile,
            umask,
            nodaemon,
            silent,
            minfds,
            minprocs,
            nocleanup,
            childlogdir,
            user,
            directory,
            strip_ansi,
            environment,
            identifier,
            shutdown_grace,
            console_timestamps,
        })
    }

    fn name_check(&mut self, at: &At<'a>, entry: Option<&RawEntry>, name: &str) -> bool {
        if let Some(c) = name.chars().find(|c| [' ', ':', '/'].contains(c)) {
            self.error(
                at,
                entry,
                format!("invalid name {name:?}: it may not contain {c:?} (nor space, ':' or '/')"),
            );
            return false;
        }
        if name.is_empty() {
            self.error(at, entry, "invalid name: it is empty".into());
            return false;
        }
        true
    }

    fn groups(&mut self, global_env: &[(String, String)]) -> Vec<GroupSpec> {
        let raw = self.raw;
        let mut groups = Vec::new();
        let mut in_group: Vec<String> = Vec::new();
        let section_names: Vec<&str> = raw.sections.iter().map(|s| s.name.as_str()).collect();

        for s in raw.sections.iter().filter(|s| s.name.starts_with("group:")) {
            let at = At { section: s };
            self.warn_unknown_keys(&at, &[GROUP_KEYS]);
            let name = s.name["group:".len()..].trim().to_string();
            if !self.name_check(&at, None, &name) {
                continue;
            }
            let vars = self.env_vars(global_env);
            let priority = self.int(&at, "priority", &vars, 999);
            let programs: Vec<String> = match self.lookup(&at, "programs").map(|e| &e.value) {
                Some(RawValue::List(l)) => l.clone(),
                Some(_) => match self.string(&at, "programs", &vars) {
                    Ok(Some(v)) => split_list(&v),
                    _ => Vec::new(),
                },
                None => Vec::new(),
            };
            let mut processes = Vec::new();
            for p in &programs {
                let prog = format!("program:{p}");
                let fcgi = format!("fcgi-program:{p}");
                let has_prog = section_names.contains(&prog.as_str());
                let has_fcgi = section_names.contains(&fcgi.as_str());
                let entry = self.lookup(&at, "programs");
                if !has_prog && !has_fcgi {
                    self.error(
                        &at,
                        entry,
                        format!("names unknown program or fcgi-program {p:?}"),
                    );
                    continue;
                }
                if has_prog && has_fcgi {
                    self.error(
                        &at,
                        entry,
                        format!("name {p:?} is ambiguous (exists as program and fcgi-program)"),
                    );
                    continue;
                }
                let sec_name = if has_prog { prog } else { fcgi };
                if let Some(ps) = raw.section(&sec_name) {
                    if let Some((_, procs)) = self.program(ps, &name, global_env) {
                        processes.extend(procs);
                    }
                    in_group.push(sec_name);
                }
            }
            sort_processes(&mut processes);
            groups.push(GroupSpec {
                name,
                priority,
                kind: GroupKind::Group { programs },
                processes,
            });
        }

        for s in &raw.sections {
            let is_prog = s.name.starts_with("program:");
            let is_fcgi = s.name.starts_with("fcgi-program:");
            let is_listener = s.name.starts_with("eventlistener:");
            if !(is_prog || is_fcgi || is_listener) || in_group.contains(&s.name) {
                continue;
            }
            let name = s
                .name
                .split_once(':')
                .map_or("", |(_, n)| n)
                .trim()
                .to_string();
            let at = At { section: s };
            if !is_listener && !self.name_check(&at, None, &name) {
                continue;
            }
            let Some((priority, mut processes)) = self.program(s, &name, global_env) else {
                continue;
            };
            sort_processes(&mut processes);
            let kind = if is_listener {
                match self.listener(s, global_env) {
                    Some(l) => GroupKind::EventListener(l),
                    None => continue,
                }
            } else if is_fcgi {
                match self.fcgi(s, &name, global_env) {
                    Some(f) => GroupKind::FcgiProgram(f),
                    None => continue,
                }
            } else {
                GroupKind::Program
            };
            groups.push(GroupSpec {
                name,
                priority,
                kind,
                processes,
            });
        }
        groups.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        groups
    }

    fn listener(
        &mut self,
        s: &'a RawSection,
        global_env: &[(String, String)],
    ) -> Option<ListenerSpec> {
        let at = At { section: s };
        let vars = self.env_vars(global_env);
        let before = self.errors.len();
        let events: Vec<String> = match self.lookup(&at, "events").map(|e| &e.value) {
            Some(RawValue::List(l)) => l.clone(),
            Some(_) => match self.string(&at, "events", &vars) {
                Ok(Some(v)) => split_list(&v),
                _ => Vec::new(),
            },
            None => {
                self.error(
                    &at,
                    None,
                    "an [eventlistener:x] section requires an events= line".into(),
                );
                return None;
            }
        };
        let entry = self.lookup(&at, "events");
        let mut upper = Vec::new();
        for ev in &events {
            let u = ev.to_ascii_uppercase();
            if !EVENT_TYPES.contains(&u.as_str()) {
                self.error(
                    &at,
                    entry,
                    format!(
                        "unknown event type {ev:?}; expected one of {}",
                        EVENT_TYPES.join(", ")
                    ),
                );
            }
            // supervisord makes a set of the names: `x,X` subscribes once.
            if !upper.contains(&u) {
                upper.push(u);
            }
        }
        let buffer_size = self.typed(&at, "buffer_size", &vars, 10u32, |s| {
            let v = values::parse_int(s)?;
            u32::try_from(v)
                .ok()
                .filter(|v| *v >= 1)
                .ok_or_else(|| "expected an integer of at least 1".to_string())
        });
        let result_handler = self
            .string(&at, "result_handler", &vars)
            .ok()
            .flatten()
            .unwrap_or_else(|| "supervisor.dispatchers:default_handler".into());
        // supervisor_stdout's handler is emulated; any other import cannot run.
        if result_handler != "supervisor.dispatchers:default_handler"
            && result_handler != "supervisor_stdout:event_handler"
        {
            let e = self.lookup(&at, "result_handler");
            self.warn(
                &at,
                e,
                format!("{result_handler:?} is a Python import steward cannot run; steward uses supervisord's default handler instead (RESULT OK accepts the event, anything else rejects it and it is sent again)"),
            );
        }
        if self.boolean(&at, "redirect_stderr", &vars, false) {
            let e = self.lookup(&at, "redirect_stderr");
            self.error(
                &at,
                e,
                "redirect_stderr=true is not allowed in an event listener".into(),
            );
        }
        (self.errors.len() == before).then_some(ListenerSpec {
            events: upper,
            buffer_size,
            result_handler,
        })
    }

    fn fcgi(
        &mut self,
        s: &'a RawSection,
        name: &str,
        global_env: &[(String, String)],
    ) -> Option<FcgiSpec> {
        let at = At { section: s };
        let mut vars = self.env_vars(global_env);
        vars.insert("program_name".into(), Var::Str(name.to_string()));
        let before = self.errors.len();
        let socket = match self.string(&at, "socket", &vars) {
            Ok(Some(v)) => v.trim().to_string(),
            Ok(None) => {
                self.error(
                    &at,
                    None,
                    "an [fcgi-program:x] section requires a socket= line".into(),
                );
                return None;
            }
            Err(()) => return None,
        };
        let ok = match socket.strip_prefix("unix://") {
            Some(path) => path.starts_with('/'),
            None => socket
                .strip_prefix("tcp://")
                .and_then(|hp| hp.rsplit_once(':'))
                .is_some_and(|(_, port)| port.parse::<u16>().is_ok_and(|p| p > 0)),
        };
        if !ok {
            let e = self.lookup(&at, "socket");
            self.error(
                &at,
                e,
                format!(
                    "invalid value {socket:?}: expected unix:///absolute/path or tcp://host:port"
                ),
            );
        }
        let socket_backlog = self
            .lookup(&at, "socket_backlog")
            .is_some()
            .then(|| self.small(&at, "socket_backlog", &vars, 0));
        let socket_owner = self.string(&at, "socket_owner", &vars).ok().flatten();
        let socket_mode = self.typed(&at, "socket_mode", &vars, 0o700, values::parse_octal);
        (self.errors.len() == before).then_some(FcgiSpec {
            socket,
            socket_backlog,
            socket_owner,
            socket_mode,
        })
    }

    /// A `[program:x]`-like section into (group priority, processes). `group_name` is the `[group:x]`
    /// name when the program belongs to one, else the program's own name.
    fn program(
        &mut self,
        s: &'a RawSection,
        group_name: &str,
        global_env: &[(String, String)],
    ) -> Option<(i64, Vec<ProcessSpec>)> {
        let at = At { section: s };
        let is_listener = s.name.starts_with("eventlistener:");
        let is_fcgi = s.name.starts_with("fcgi-program:");
        let mut known: Vec<&[&str]> = vec![PROGRAM_KEYS];
        if is_listener {
            known.push(LISTENER_KEYS);
        }
        if is_fcgi {
            known.push(FCGI_KEYS);
        }
        self.warn_unknown_keys(&at, &known);
        let program_name = s.name.split_once(':').map_or("", |(_, n)| n).to_string();
        let before = self.errors.len();

        let mut common = self.env_vars(global_env);
        common.insert("program_name".into(), Var::Str(program_name.clone()));
        common.insert("group_name".into(), Var::Str(group_name.to_string()));
        common.insert(
            "host_node_name".into(),
            Var::Str(self.opts.host_node_name.clone()),
        );

        let d = ProcessSpec::new(&program_name, &[]);
        let priority = self.int(&at, "priority", &common, d.priority);
        // supervisord starts listeners first: without priority=, a listener's group is -1 while its
        // processes keep 999 (what `avail` and getAllConfigInfo's process_prio show).
        let group_priority = if is_listener && self.lookup(&at, "priority").is_none() {
            -1
        } else {
            priority
        };
        let autostart = self.boolean(&at, "autostart", &common, d.autostart);
        let autorestart = self.typed(
            &at,
            "autorestart",
            &common,
            d.autorestart,
            values::parse_autorestart,
        );
        let startsecs = self.nonneg(&at, "startsecs", &common, d.startsecs);
        let startretries = self.small(&at, "startretries", &common, d.startretries);
        let stopsignal = self.typed(
            &at,
            "stopsignal",
            &common,
            d.stopsignal,
            values::parse_signal,
        );
        let stopwaitsecs = self.nonneg(&at, "stopwaitsecs", &common, d.stopwaitsecs);
        let stopasgroup = self.boolean(&at, "stopasgroup", &common, false);
        let killasgroup = self.boolean(&at, "killasgroup", &common, stopasgroup);
        let exitcodes = match self.lookup(&at, "exitcodes").map(|e| &e.value) {
            Some(RawValue::Int(i)) => match i32::try_from(*i) {
                Ok(c) if (0..=255).contains(&c) => vec![c],
                _ => {
                    let e = self.lookup(&at, "exitcodes");
                    self.error(
                        &at,
                        e,
                        format!("invalid value {i}: expected exit codes 0-255"),
                    );
                    vec![0]
                }
            },
            _ => self.typed(
                &at,
                "exitcodes",
                &common,
                d.exitcodes.clone(),
                values::parse_exitcodes,
            ),
        };
        let redirect_stderr = self.boolean(&at, "redirect_stderr", &common, false);
        let numprocs = self.int(&at, "numprocs", &common, 1);
        let numprocs_start = self.int(&at, "numprocs_start", &common, 0);
        let stdout_cmax = self.bytes(&at, "stdout_capture_maxbytes", &common, 0);
        let stdout_events = self.boolean(&at, "stdout_events_enabled", &common, false);
        let stderr_cmax = self.bytes(&at, "stderr_capture_maxbytes", &common, 0);
        let stderr_events = self.boolean(&at, "stderr_events_enabled", &common, false);
        let serverurl = match self.string(&at, "serverurl", &common) {
            Ok(Some(v)) if !v.trim().eq_ignore_ascii_case("AUTO") => Some(v.trim().to_string()),
            _ => None,
        };
        let user = match self.string(&at, "user", &common) {
            Ok(Some(u)) => Some(self.user(&at, u.trim())),
            _ => None,
        };
        let umask = self
            .lookup(&at, "umask")
            .is_some()
            .then(|| self.typed(&at, "umask", &common, 0o022, values::parse_octal));
        if stopasgroup && !killasgroup {
            let e = self.lookup(&at, "killasgroup");
            self.error(
                &at,
                e,
                "stopasgroup=true cannot be combined with killasgroup=false".into(),
            );
        }
        if numprocs < 1 {
            let e = self.lookup(&at, "numprocs");
            if self.errors.len() == before {
                self.error(
                    &at,
                    e,
                    format!("invalid value {numprocs}: expected at least 1 process"),
                );
            }
        }

        // process_name and environment are expanded per process, so read them raw here.
        let pn_entry = self.lookup(&at, "process_name");
        let process_name_tpl = match pn_entry.map(|e| &e.value) {
            Some(RawValue::Str(s)) => s.trim().to_string(),
            Some(other) => {
                self.error(
                    &at,
                    pn_entry,
                    format!("invalid value {}: expected a string", other.display()),
                );
                return None;
            }
            None => "%(program_name)s".to_string(),
        };
        if numprocs > 1 && !process_name_tpl.contains("%(process_num)") {
            self.error(
                &at,
                pn_entry,
                format!(
                    "invalid value {process_name_tpl:?}: process_name must contain %(process_num) when numprocs > 1"
                ),
            );
        }
        // The program's own key, else `[supervisord]`'s; errors point at whichever was used.
        let (cp_at, cp_entry) = match (
            self.lookup(&at, "console_prefix"),
            self.console_prefix_default,
        ) {
            (Some(e), _) => (At { section: s }, Some(e)),
            (None, Some((sec, e))) => (At { section: sec }, Some(e)),
            (None, None) => (At { section: s }, None),
        };
        let console_tpl = match cp_entry.map(|e| &e.value) {
            Some(RawValue::Bool(false)) => None,
            Some(RawValue::Bool(true)) | None => Some(DEFAULT_CONSOLE_PREFIX.to_string()),
            Some(RawValue::Str(s)) => match values::parse_bool(s) {
                Ok(false) => None,
                Ok(true) => Some(DEFAULT_CONSOLE_PREFIX.to_string()),
                Err(_) if s.trim().eq_ignore_ascii_case("none") => None,
                Err(_) => Some(s.clone()),
            },
            Some(other) => {
                self.error(
                    &cp_at,
                    cp_entry,
                    format!(
                        "invalid value {}: expected a prefix format or false",
                        other.display()
                    ),
                );
                None
            }
        };
        let lifecycle = self.lifecycle(&at, &common);
        // Read once for all the processes; visible to the keys expanded per process.
        let from_files = self.env_files(&at, &common);
        for (k, v) in &from_files {
            common.insert(format!("ENV_{k}"), Var::Str(v.clone()));
        }
        if self.errors.len() > before {
            return None;
        }

        let mut processes = Vec::new();
        for process_num in numprocs_start..numprocs_start.saturating_add(numprocs.max(0)) {
            let mut vars = common.clone();
            vars.insert("process_num".into(), Var::Int(process_num));
            vars.insert("numprocs".into(), Var::Int(numprocs));
            let mut environment = from_files.clone();
            let own = self.environment(&at, &vars);
            overlay(&mut environment, own);
            // The program's own environment is visible to the keys read after it.
            for (k, v) in &environment {
                vars.insert(format!("ENV_{k}"), Var::Str(v.clone()));
            }
            let name = match pn_entry {
                Some(e) => self.expand(&at, e, &process_name_tpl, &vars),
                None => Some(program_name.clone()),
            };
            let Some(name) = name.map(|n| n.trim().to_string()) else {
                continue;
            };
            if !self.name_check(&at, pn_entry, &name) {
                continue;
            }
            let directory = match self.string(&at, "directory", &vars) {
                Ok(Some(d)) => Some(expand_user(d.trim(), &self.opts.env)),
                _ => None,
            };
            let stdout = self.log_spec(&at, "stdout", &vars, stdout_cmax, stdout_events);
            let mut stderr = self.log_spec(&at, "stderr", &vars, stderr_cmax, stderr_events);
            if redirect_stderr {
                if let Some(e) = self.lookup(&at, "stderr_logfile") {
                    if !matches!(stderr.target, LogTarget::Auto | LogTarget::None) {
                        self.warn(
                            &at,
                            Some(e),
                            "redirect_stderr=true, so this stderr_logfile is not used".into(),
                        );
                    }
                }
                stderr.target = LogTarget::None;
                stderr.also.clear();
            }
            let (command_line, argv, argv_error) = match self.lookup(&at, "command") {
                None => {
                    self.error(
                        &at,
                        None,
                        "the section has no command= line (it is required)".into(),
                    );
                    continue;
                }
                Some(e) => match &e.value {
                    RawValue::List(items) => {
                        let mut argv = Vec::new();
                        for it in items {
                            if let Some(x) = self.expand(&at, e, it, &vars) {
                                argv.push(x);
                            }
                        }
                        if argv.is_empty() {
                            self.error(
                                &at,
                                Some(e),
                                "invalid value []: expected a non-empty argv".into(),
                            );
                            continue;
                        }
                        (shell_join(&argv), argv, None)
                    }
                    RawValue::Str(s) => {
                        let Some(line) = self.expand(&at, e, s, &vars) else {
                            continue;
                        };
                        match values::split_command(&line) {
                            Ok(argv) if !argv.is_empty() => (line, argv, None),
                            Ok(_) => {
                                self.error(
                                    &at,
                                    Some(e),
                                    format!("invalid value {line:?}: the command is empty"),
                                );
                                continue;
                            }
                            Err(why) => {
                                self.warn(
                                    &at,
                                    Some(e),
                                    format!("{line:?} cannot be split into arguments ({why}); the process will fail to spawn"),
                                );
                                (line, Vec::new(), Some(why))
                            }
                        }
                    }
                    other => {
                        self.error(
                            &at,
                            Some(e),
                            format!(
                                "invalid value {}: expected a command string or an argv array",
                                other.display()
                            ),
                        );
                        continue;
                    }
                },
            };
            if let Some(w) = crate::config::lifecycle::daemon_warning(&argv) {
                if lifecycle.pidfile.is_none() {
                    let e = self.lookup(&at, "command");
                    self.warn(&at, e, w);
                }
            }
            let console_prefix = match &console_tpl {
                None => ConsolePrefix::Off,
                Some(tpl) => {
                    let mut pv = vars.clone();
                    pv.insert("process_name".into(), Var::Str(name.clone()));
                    // Without the key, the stub lends `here` to the default template.
                    let entry = cp_entry.cloned().unwrap_or_else(|| s_entry_stub(s));
                    // INI strips trailing blanks, so `web |` means `web | `: one space is implied.
                    match self.expand(&cp_at, &entry, tpl, &pv) {
                        Some(p) if p.ends_with(char::is_whitespace) => ConsolePrefix::Text(p),
                        Some(p) => ConsolePrefix::Text(format!("{p} ")),
                        None => ConsolePrefix::Off,
                    }
                }
            };
            let spec = ProcessSpec {
                name,
                group: group_name.to_string(),
                program: program_name.clone(),
                command_line,
                argv,
                argv_error,
                process_num,
                numprocs,
                priority,
                autostart,
                startsecs,
                startretries,
                autorestart,
                exitcodes: exitcodes.clone(),
                stopsignal,
                stopwaitsecs,
                stopasgroup,
                killasgroup,
                user: user.clone(),
                redirect_stderr,
                stdout,
                stderr,
                environment,
                directory,
                umask,
                serverurl: serverurl.clone(),
                console_prefix,
                lifecycle: lifecycle.clone(),
                file: s.file.clone(),
                line: s.line,
            };
            if self.opts.spawn_checks {
                self.spawn_checks(&at, &spec);
            }
            processes.push(spec);
        }
        if self.errors.len() > before {
            return None;
        }
        Some((group_priority, processes))
    }

    /// Warn about what the spawn of `spec` will refuse, with the spawn code's own command lookup; the
    /// config stays valid (supervisord only finds out at spawn time too).
    fn spawn_checks(&mut self, at: &At<'a>, spec: &ProcessSpec) {
        if let Some(program) = spec.argv.first() {
            let ctx = spawn::SpawnContext::from_process(Vec::new(), None);
            let path = ctx.search_path(spec);
            if let Err(e) = spawn::resolve_command(program, path) {
                let mut looked = String::new();
                let mut hint = String::new();
                if matches!(e, SpawnError::NoFile(_)) && !program.contains('/') {
                    let from = if spec.environment.iter().any(|(k, _)| k == "PATH") {
                        "the program's environment= PATH"
                    } else {
                        "steward's PATH"
                    };
                    looked = match path {
                        Some(p) => format!(" in {} ({from})", p.to_string_lossy()),
                        None => " in /bin:/usr/bin:/usr/local/bin (no PATH is set)".to_string(),
                    };
                    if let Some(f) = path.and_then(|p| versioned_command(program, p)) {
                        hint = format!("; did you mean {}?", f.display());
                    }
                }
                let entry = self.lookup(at, "command");
                self.warn(
                    at,
                    entry,
                    format!("{e}{looked}; the process will fail to spawn{hint}"),
                );
            }
        }
        if let Some(d) = &spec.directory {
            let problem = match std::fs::metadata(d) {
                Ok(m) if m.is_dir() => None,
                Ok(_) => Some("is not a directory"),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("does not exist"),
                Err(_) => Some("cannot be read"),
            };
            if let Some(p) = problem {
                let entry = self.lookup(at, "directory");
                self.warn(
                    at,
                    entry,
                    format!(
                        "the directory {} {p}; the process will fail to spawn",
                        d.display()
                    ),
                );
            }
        }
    }

    /// steward's lifecycle keys of one `[program:x]` (the same for each of its processes).
    fn lifecycle(&mut self, at: &At<'a>, vars: &Vars) -> Lifecycle {
        use crate::config::lifecycle::{parse_check, parse_depends_on};
        let d = Lifecycle::default();
        let critical = self.boolean(at, "critical", vars, d.critical);
        let depends_on = match self.lookup(at, "depends_on") {
            None => Vec::new(),
            Some(e) => {
                let items = match &e.value {
                    RawValue::List(l) => Some(l.clone()),
                    _ => self
                        .string(at, "depends_on", vars)
                        .ok()
                        .flatten()
                        .map(|v| split_list(&v)),
                };
                match items.map(|i| parse_depends_on(&i)) {
                    Some(Ok(d)) => d,
                    Some(Err(why)) => {
                        self.error(at, Some(e), format!("invalid value: {why}"));
                        Vec::new()
                    }
                    None => Vec::new(),
                }
            }
        };
        let check = |b: &mut Self, key: &str, readiness: bool| -> Option<Check> {
            let e = b.lookup(at, key)?;
            let text = b.string(at, key, vars).ok().flatten()?;
            match parse_check(&text, readiness) {
                Ok(c) => Some(c),
                Err(why) => {
                    b.error(at, Some(e), format!("invalid value {text:?}: {why}"));
                    None
                }
            }
        };
        let ready_check = check(self, "ready_check", true);
        let health_check = check(self, "health_check", false);
        let ready_timeout = self.nonneg(at, "ready_timeout", vars, d.ready_timeout);
        let health_interval = self.nonneg(at, "health_interval", vars, d.health_interval);
        let health_timeout = self.nonneg(at, "health_timeout", vars, d.health_timeout);
        let health_retries = self.small(at, "health_retries", vars, d.health_retries);
        // 0 would fail every start at once (ready_timeout), check without pause (health_interval),
        // never wait for an answer (health_timeout) or restart on no failure at all (health_retries).
        for (key, v) in [
            ("ready_timeout", ready_timeout),
            ("health_interval", health_interval),
            ("health_timeout", health_timeout),
            ("health_retries", u64::from(health_retries)),
        ] {
            if v == 0 {
                let e = self.lookup(at, key);
                self.error(at, e, "invalid value 0: expected at least 1".into());
            }
        }
        let pidfile = match self.string(at, "pidfile", vars) {
            // Empty would resolve to the working directory, which names no pid.
            Ok(Some(v)) if v.trim().is_empty() => {
                let e = self.lookup(at, "pidfile");
                self.error(at, e, "invalid value \"\": expected a file's path".into());
                None
            }
            Ok(Some(v)) => Some(self.abs_path(v.trim())),
            _ => None,
        };
        Lifecycle {
            critical,
            depends_on,
            ready_check,
            ready_timeout,
            health_check,
            health_interval,
            health_timeout,
            health_retries,
            pidfile,
        }
    }

    fn log_spec(
        &mut self,
        at: &At<'a>,
        stream: &str,
        vars: &Vars,
        capture_maxbytes: u64,
        events_enabled: bool,
    ) -> LogSpec {
        let key = format!("{stream}_logfile");
        let target = match self.string(at, &key, vars) {
            Ok(Some(v)) => self.log_target(at, &key, &v),
            _ => LogTarget::Auto,
        };
        let d = LogSpec::new(LogTarget::Auto);
        let maxbytes = self.bytes(at, &format!("{stream}_logfile_maxbytes"), vars, d.maxbytes);
        let backups = self.small(at, &format!("{stream}_logfile_backups"), vars, d.backups);
        let syslog = self.boolean(at, &format!("{stream}_syslog"), vars, false);
        if target == LogTarget::Auto && maxbytes == 0 {
            let e = self.lookup(at, &key);
            self.warn(
                at,
                e,
                "AUTO logging without rotation (maxbytes=0) may fill the disk; set maxbytes > 0"
                    .into(),
            );
        }
        let also_key = format!("{stream}_logfile_also");
        let also_items: Vec<String> = match self.lookup(at, &also_key).map(|e| &e.value) {
            Some(RawValue::List(l)) => l.clone(),
            Some(_) => match self.string(at, &also_key, vars) {
                Ok(Some(v)) => split_list(&v),
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        let mut also = Vec::new();
        for item in also_items {
            let t = self.log_target(at, &also_key, &item);
            if t != LogTarget::None && t != target && !also.contains(&t) {
                also.push(t);
            }
        }
        LogSpec {
            target,
            also,
            maxbytes,
            backups,
            capture_maxbytes,
            events_enabled,
            syslog,
        }
    }

    fn user(&mut self, at: &At<'a>, name: &str) -> UserSpec {
        let found = passwd::lookup_user(&self.opts.root, name);
        match found {
            Some(u) => UserSpec {
                name: name.to_string(),
                uid: Some(u.uid),
                gid: Some(u.gid),
                groups: passwd::groups_of(&self.opts.root, &u),
                login: Some(u.name.clone()),
                home: Some(u.home.clone()).filter(|h| !h.is_empty()),
                shell: Some(u.shell.clone()).filter(|s| !s.is_empty()),
            },
            None => {
                if self.opts.host_checks {
                    let e = self.lookup(at, "user");
                    self.warn(
                        at,
                        e,
                        format!(
                            "user {name:?} is not in /etc/passwd; the process will fail to spawn"
                        ),
                    );
                }
                UserSpec {
                    name: name.to_string(),
                    uid: None,
                    gid: None,
                    groups: Vec::new(),
                    login: None,
                    home: None,
                    shell: None,
                }
            }
        }
    }

    fn credentials(&mut self, at: &At<'a>, vars: &Vars) -> Option<Credentials> {
        let username = self.string(at, "username", vars).ok().flatten();
        let password = self.string(at, "password", vars).ok().flatten();
        match (username, password) {
            (Some(u), Some(p)) => Some(Credentials {
                username: u,
                password: p,
            }),
            (None, None) => None,
            (u, _) => {
                let key = if u.is_some() { "password" } else { "username" };
                self.error(
                    at,
                    None,
                    format!("incomplete authentication: {key} is missing (give both username and password, or neither)"),
                );
                None
            }
        }
    }

    fn unix_server(&mut self, s: &'a RawSection) -> Option<UnixServerSpec> {
        let at = At { section: s };
        self.warn_unknown_keys(&at, &[UNIX_SERVER_KEYS]);
        let vars = self.env_vars(&[]);
        let before = self.errors.len();
        let file = match self.string(&at, "file", &vars) {
            Ok(Some(f)) => self.abs_path(f.trim()),
            Ok(None) => {
                self.error(
                    &at,
                    None,
                    "the section has no file= line (it is required)".into(),
                );
                return None;
            }
            Err(()) => return None,
        };
        self.check_parent_dir(&at, "file", &file);
        let chmod = self.typed(&at, "chmod", &vars, 0o700, values::parse_octal);
        let chown = match self.string(&at, "chown", &vars) {
            Ok(Some(v)) => {
                let (u, g) = match v.trim().split_once(':') {
                    Some((u, g)) => (u.to_string(), Some(g.to_string())),
                    None => (v.trim().to_string(), None),
                };
                let e = self.lookup(&at, "chown");
                match passwd::lookup_user(&self.opts.root, &u) {
                    Some(user) => {
                        let gid = match g {
                            Some(g) => {
                                match passwd::lookup_group(&self.opts.root, &g) {
                                    Some(gid) => Some(gid),
                                    None => {
                                        if self.opts.host_checks {
                                            self.error(&at, e, format!("invalid value {v:?}: no group {g:?} in /etc/group"));
                                        }
                                        None
                                    }
                                }
                            }
                            None => None,
                        };
                        Some((user.uid, gid))
                    }
                    None => {
                        if self.opts.host_checks {
                            self.error(
                                &at,
                                e,
                                format!("invalid value {v:?}: no user {u:?} in /etc/passwd"),
                            );
                        }
                        None
                    }
                }
            }
            _ => None,
        };
        let auth = self.credentials(&at, &self.env_vars(&[]));
        (self.errors.len() == before).then_some(UnixServerSpec {
            file,
            chmod,
            chown,
            auth,
        })
    }

    fn inet_server(&mut self, s: &'a RawSection) -> Option<InetServerSpec> {
        let at = At { section: s };
        self.warn_unknown_keys(&at, &[INET_SERVER_KEYS]);
        let vars = self.env_vars(&[]);
        let before = self.errors.len();
        let port_entry = self.lookup(&at, "port");
        let text = match self.string(&at, "port", &vars) {
            Ok(Some(p)) => p.trim().to_string(),
            Ok(None) => {
                self.error(
                    &at,
                    None,
                    "the section has no port= line (it is required)".into(),
                );
                return None;
            }
            Err(()) => return None,
        };
        let (host, port_text) = match text.rsplit_once(':') {
            Some((h, p)) => (h.to_ascii_lowercase(), p.to_string()),
            None => (String::new(), text.clone()),
        };
        let host = if host == "*" { String::new() } else { host };
        let port = match port_text.trim().parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => {
                self.error(
                    &at,
                    port_entry,
                    format!("invalid value {text:?}: expected a port number 1-65535, as host:port, :port or port"),
                );
                0
            }
        };
        let auth = self.credentials(&at, &vars);
        (self.errors.len() == before).then_some(InetServerSpec { host, port, auth })
    }

    fn ctl(&mut self, s: &'a RawSection) -> CtlSpec {
        let at = At { section: s };
        self.warn_unknown_keys(&at, &[CTL_KEYS]);
        let vars = self.env_vars(&[]);
        let mut serverurl = self
            .string(&at, "serverurl", &vars)
            .ok()
            .flatten()
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "http://localhost:9001".into());
        if let Some(path) = serverurl.strip_prefix("unix://") {
            serverurl = format!("unix://{}", self.abs_path(path).display());
        }
        CtlSpec {
            serverurl,
            username: self.string(&at, "username", &vars).ok().flatten(),
            password: self.string(&at, "password", &vars).ok().flatten(),
            prompt: self
                .string(&at, "prompt", &vars)
                .ok()
                .flatten()
                .unwrap_or_else(|| "supervisor".into()),
            history_file: self
                .string(&at, "history_file", &vars)
                .ok()
                .flatten()
                .map(|h| self.abs_path(h.trim())),
        }
    }
}

/// An entry that only carries a section's file, to give `here` to a default template.
fn s_entry_stub(s: &RawSection) -> RawEntry {
    RawEntry {
        key: "console_prefix".into(),
        value: RawValue::Str(String::new()),
        file: s.file.clone(),
        line: s.line,
    }
}

fn sort_processes(p: &mut [ProcessSpec]) {
    p.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
}

/// `over` on top of `base`: a key of both keeps its place in `base` and takes the value from `over`.
fn overlay(base: &mut Vec<(String, String)>, over: Vec<(String, String)>) {
    for (k, v) in over {
        match base.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => base.push((k, v)),
        }
    }
}

/// supervisord's `list_of_strings`: comma-separated, items stripped, empties dropped.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// `~` and `~user` at the start of a path, like Python's `os.path.expanduser`.
pub fn expand_user(p: &str, env: &BTreeMap<String, String>) -> PathBuf {
    if p == "~" || p.starts_with("~/") {
        if let Some(home) = env.get("HOME") {
            return PathBuf::from(format!("{home}{}", &p[1..]));
        }
    }
    PathBuf::from(p)
}

/// Quote an argv for display, as a shell would read it back.
pub fn shell_join(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
