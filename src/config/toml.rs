//! The TOML front end: the same sections and key names as supervisord's INI, with native types.
//!
//! `[program.web]` is `[program:web]`; likewise `group`, `eventlistener`, `fcgi-program`. `command` may be a
//! string or an argv array, `environment` a table, `exitcodes`/`events`/`programs`/`files` arrays.

use std::path::Path;

use ::toml::de::{DeTable, DeValue};
use ::toml::Spanned;

use crate::config::model::Diagnostic;
use crate::config::raw::{RawConfig, RawEntry, RawSection, RawValue};

/// Tables whose children are named sections (`[program.web]` → `program:web`).
const FAMILIES: &[&str] = &["program", "group", "eventlistener", "fcgi-program"];
/// Tables that are sections of their own.
const SINGLES: &[&str] = &[
    "supervisord",
    "unix_http_server",
    "inet_http_server",
    "supervisorctl",
    "include",
];

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// True when `text` is TOML that uses at least one of our top-level tables (used to sniff files with an
/// unknown extension: an INI file with `[program:x]` is not valid TOML).
pub fn looks_like_toml(text: &str) -> bool {
    match DeTable::parse(text) {
        Ok(t) => t.get_ref().keys().any(|k| {
            FAMILIES.contains(&k.get_ref().as_ref()) || SINGLES.contains(&k.get_ref().as_ref())
        }),
        Err(_) => false,
    }
}

fn integer(v: &::toml::de::DeInteger) -> Option<i64> {
    let s: String = v.as_str().chars().filter(|c| *c != '_').collect();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let digits = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0o"))
        .or_else(|| digits.strip_prefix("0b"))
        .unwrap_or(digits);
    let n = i64::from_str_radix(digits, v.radix()).ok()?;
    Some(if neg { -n } else { n })
}

/// A scalar as text, for list items and table values.
fn scalar_text(v: &DeValue) -> Option<String> {
    match v {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => integer(i).map(|n| n.to_string()),
        DeValue::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

struct Ctx<'t> {
    text: &'t str,
    file: &'t Path,
    errors: Vec<Diagnostic>,
}

impl Ctx<'_> {
    fn err(&mut self, offset: usize, section: Option<&str>, key: Option<&str>, message: String) {
        self.errors.push(Diagnostic {
            file: self.file.to_path_buf(),
            line: line_of(self.text, offset),
            section: section.map(String::from),
            key: key.map(String::from),
            message,
        });
    }

    fn value(&mut self, section: &str, key: &str, v: &Spanned<DeValue>) -> Option<RawValue> {
        let at = v.span().start;
        match v.get_ref() {
            DeValue::String(s) => Some(RawValue::Str(s.to_string())),
            DeValue::Boolean(b) => Some(RawValue::Bool(*b)),
            DeValue::Integer(i) => match integer(i) {
                Some(n) => Some(RawValue::Int(n)),
                None => {
                    self.err(
                        at,
                        Some(section),
                        Some(key),
                        format!("invalid integer {}", i.as_str()),
                    );
                    None
                }
            },
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items.iter() {
                    match scalar_text(item.get_ref()) {
                        Some(s) => out.push(s),
                        None => {
                            self.err(
                                item.span().start,
                                Some(section),
                                Some(key),
                                format!(
                                    "invalid array item (a {}): expected strings or integers",
                                    item.get_ref().type_str()
                                ),
                            );
                            return None;
                        }
                    }
                }
                Some(RawValue::List(out))
            }
            DeValue::Table(t) => {
                let mut out = Vec::new();
                for (k, item) in t.iter() {
                    match scalar_text(item.get_ref()) {
                        Some(s) => out.push((k.get_ref().to_string(), s)),
                        None => {
                            self.err(
                                item.span().start,
                                Some(section),
                                Some(key),
                                format!(
                                    "invalid value for {:?} (a {}): expected a string",
                                    k.get_ref(),
                                    item.get_ref().type_str()
                                ),
                            );
                            return None;
                        }
                    }
                }
                Some(RawValue::Table(out))
            }
            other => {
                self.err(
                    at,
                    Some(section),
                    Some(key),
                    format!(
                        "invalid value (a {}): expected a string, integer, boolean, array or table",
                        other.type_str()
                    ),
                );
                None
            }
        }
    }

    fn section(&mut self, name: String, header_offset: usize, table: &DeTable) -> RawSection {
        let mut sec = RawSection {
            name: name.clone(),
            file: self.file.to_path_buf(),
            line: line_of(self.text, header_offset),
            entries: Vec::new(),
        };
        for (k, v) in table.iter() {
            // Keys are case-insensitive in the INI dialect; keep TOML the same.
            let key = k.get_ref().to_ascii_lowercase();
            if let Some(value) = self.value(&name, &key, v) {
                sec.set(RawEntry {
                    key,
                    value,
                    file: self.file.to_path_buf(),
                    line: line_of(self.text, k.span().start),
                });
            }
        }
        sec
    }
}

/// Parse a TOML config file into raw sections.
pub fn parse(text: &str, file: &Path) -> Result<RawConfig, Vec<Diagnostic>> {
    let mut cx = Ctx {
        text,
        file,
        errors: Vec::new(),
    };
    let doc = match DeTable::parse(text) {
        Ok(d) => d,
        Err(e) => {
            let off = e.span().map_or(0, |s| s.start);
            cx.err(off, None, None, format!("invalid TOML: {}", e.message()));
            return Err(cx.errors);
        }
    };
    let mut raw = RawConfig::default();
    for (k, v) in doc.get_ref().iter() {
        let top = k.get_ref().as_ref();
        let top = if top == "fcgi_program" {
            "fcgi-program"
        } else {
            top
        };
        let Some(table) = v.get_ref().as_table() else {
            cx.err(
                k.span().start,
                None,
                Some(top),
                format!("top-level key {top:?} must be a table, like [{top}]"),
            );
            continue;
        };
        if FAMILIES.contains(&top) {
            for (name, body) in table.iter() {
                match body.get_ref().as_table() {
                    Some(t) => {
                        let sec =
                            cx.section(format!("{top}:{}", name.get_ref()), name.span().start, t);
                        raw.sections.push(sec);
                    }
                    None => cx.err(
                        name.span().start,
                        Some(top),
                        Some(name.get_ref()),
                        format!(
                            "expected a table [{top}.{}] with the {top}'s keys",
                            name.get_ref()
                        ),
                    ),
                }
            }
        } else {
            let sec = cx.section(top.to_string(), k.span().start, table);
            raw.sections.push(sec);
        }
    }
    if cx.errors.is_empty() {
        Ok(raw)
    } else {
        Err(cx.errors)
    }
}
