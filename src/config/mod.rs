//! Everything from bytes on disk to a validated, expanded [`model::Config`].

pub mod expand;
pub mod ini;
pub mod model;
pub mod passwd;
pub mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use model::*;

/// What the loader may consult besides the files themselves.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The environment `%(ENV_X)s` sees (steward's own environment at start).
    pub env: BTreeMap<String, String>,
    /// Root for /etc/passwd and /etc/group lookups (`/` normally; a temp dir in tests).
    pub root: PathBuf,
    /// Check that log files' parent directories exist (supervisord does, at parse time).
    pub check_paths: bool,
    /// `%(host_node_name)s`.
    pub host_node_name: String,
}

impl LoadOptions {
    /// The real environment, `/`, path checks on.
    pub fn from_process() -> LoadOptions {
        todo!()
    }
}

/// A config that cannot be loaded: every error found, each naming file, line, section, key and value.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadError {
    pub errors: Vec<Diagnostic>,
}

/// Load a config file (INI or TOML, by extension or by sniffing) with its includes.
pub fn load(_path: &Path, _opts: &LoadOptions) -> Result<Config, LoadError> {
    todo!()
}

/// supervisord's search list when `-c` is not given (reference 1.1), with `steward.toml` tried first.
pub fn locate(_argv0: &Path) -> Option<PathBuf> {
    todo!()
}
