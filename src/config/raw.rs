//! The format-neutral layer between the front ends (INI, TOML) and the model builder: sections of
//! keyed values that remember the file and line they came from.

use std::path::{Path, PathBuf};

use crate::config::ini::Ini;

/// A value as written. INI only ever produces `Str`; TOML keeps its native types.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<String>),
    Table(Vec<(String, String)>),
}

impl RawValue {
    /// How the value reads in a message.
    pub fn display(&self) -> String {
        match self {
            RawValue::Str(s) => s.clone(),
            RawValue::Int(i) => i.to_string(),
            RawValue::Bool(b) => b.to_string(),
            RawValue::List(l) => format!("{l:?}"),
            RawValue::Table(t) => t
                .iter()
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawEntry {
    pub key: String,
    pub value: RawValue,
    pub file: PathBuf,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawSection {
    pub name: String,
    pub file: PathBuf,
    pub line: usize,
    pub entries: Vec<RawEntry>,
}

impl RawSection {
    pub fn get(&self, key: &str) -> Option<&RawEntry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// Insert or replace (last wins), keeping the position of the first appearance.
    pub fn set(&mut self, entry: RawEntry) {
        match self.entries.iter_mut().find(|e| e.key == entry.key) {
            Some(slot) => *slot = entry,
            None => self.entries.push(entry),
        }
    }
}

/// Every section of every file read, merged the way configparser merges repeated sections.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawConfig {
    pub sections: Vec<RawSection>,
    pub defaults: Vec<RawEntry>,
}

impl RawConfig {
    pub fn section(&self, name: &str) -> Option<&RawSection> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Merge another file's sections in: later files add keys and override earlier values.
    pub fn merge(&mut self, other: RawConfig) {
        for d in other.defaults {
            match self.defaults.iter_mut().find(|e| e.key == d.key) {
                Some(slot) => *slot = d,
                None => self.defaults.push(d),
            }
        }
        for s in other.sections {
            match self.sections.iter_mut().find(|x| x.name == s.name) {
                Some(existing) => {
                    for e in s.entries {
                        existing.set(e);
                    }
                }
                None => self.sections.push(s),
            }
        }
    }

    /// A section's own value for `key`, else the `[DEFAULT]` one.
    pub fn lookup<'a>(&'a self, section: &'a RawSection, key: &str) -> Option<&'a RawEntry> {
        section
            .get(key)
            .or_else(|| self.defaults.iter().find(|e| e.key == key))
    }
}

/// Wrap a parsed INI file.
pub fn from_ini(ini: Ini, file: &Path) -> RawConfig {
    let entry = |e: crate::config::ini::Entry| RawEntry {
        key: e.key,
        value: RawValue::Str(e.value),
        file: file.to_path_buf(),
        line: e.line,
    };
    RawConfig {
        defaults: ini.defaults.into_iter().map(entry).collect(),
        sections: ini
            .sections
            .into_iter()
            .map(|s| RawSection {
                name: s.name,
                file: file.to_path_buf(),
                line: s.line,
                entries: s.entries.into_iter().map(entry).collect(),
            })
            .collect(),
    }
}
