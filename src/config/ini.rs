//! supervisord's INI dialect: Python 3 `configparser.RawConfigParser(inline_comment_prefixes=(';', '#'),
//! strict=False)`, reproduced exactly (reference section 1.2).

/// One `key = value` entry. `key` is lower-cased; `value` has continuation lines joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: String,
    /// 1-based line of the key (the last occurrence when a key is repeated).
    pub line: usize,
}

/// A section; repeated sections are merged into the first, repeated keys keep the last value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Case-sensitive name between the brackets.
    pub name: String,
    /// 1-based line of the first header.
    pub line: usize,
    /// In order of first appearance.
    pub entries: Vec<Entry>,
}

/// A parsed file. `[DEFAULT]` is kept apart in `defaults` and is not in `sections`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ini {
    pub sections: Vec<Section>,
    pub defaults: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    /// The offending line as written.
    pub text: String,
    pub message: String,
}

impl Ini {
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
}

impl Section {
    /// This section's own entry for `key` (lower-case), without `[DEFAULT]`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// Parse a whole file. Every problem configparser would report is returned (it collects them all).
pub fn parse(_text: &str) -> Result<Ini, Vec<ParseError>> {
    todo!("ini::parse")
}
