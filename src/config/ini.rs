//! supervisord's INI dialect: Python 3 `configparser.RawConfigParser(inline_comment_prefixes=(';', '#'),
//! strict=False)`, reproduced exactly (reference section 1.2).
//!
//! Lines are split the way supervisord sees them: it opens config files in Python's text mode, so
//! `\r\n`, a lone `\r` and `\n` all end a line (universal newlines). "Whitespace" everywhere below is
//! Python's `str.isspace()` set, not Rust's, because configparser strips and indents with that set.

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

/// `message` of the error configparser calls `MissingSectionHeaderError`: text before any `[section]`.
/// When it occurs it is the only error returned (configparser stops there).
pub const MSG_MISSING_SECTION_HEADER: &str = "text before the first [section] header";
/// `message` of a line that is neither a header, a `key = value`, a comment nor a continuation.
pub const MSG_NO_DELIMITER: &str =
    "expected `key = value` (or `key: value`), a [section] header or a comment";
/// `message` of a `= value` line (configparser reports it as a parsing error too).
pub const MSG_EMPTY_KEY: &str = "missing key name before the `=` or `:`";

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

/// Python's `str.isspace()`: what `strip()`, `\s` and `\S` use in configparser.
pub fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\x1c'..='\x1f'
            | ' '
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Python's `str.strip()` with no argument.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(is_py_space)
}

/// Lines as Python's text mode yields them (terminator removed), with their 1-based numbers.
fn universal_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                i += 1;
                start = i;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            _ => i += 1,
        }
    }
    if start < bytes.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Char index where an inline comment starts, by configparser's exact search: it looks at the first
/// `;` and the first `#`, then the second of each, and so on, and stops at the first round in which some
/// occurrence is at the start of the line or right after whitespace. So a valid `;` at column 40 can win
/// over a valid `#` at column 30 when more invalid `#`s precede it; we keep that quirk.
fn inline_comment_start(chars: &[char]) -> Option<usize> {
    let positions = |p: char| -> Vec<usize> {
        chars
            .iter()
            .enumerate()
            .filter(|(_, &c)| c == p)
            .map(|(i, _)| i)
            .collect()
    };
    let semi = positions(';');
    let hash = positions('#');
    let rounds = semi.len().max(hash.len());
    for k in 0..rounds {
        let found = [semi.get(k), hash.get(k)]
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| i == 0 || is_py_space(chars[i - 1]))
            .min();
        if found.is_some() {
            return found;
        }
    }
    None
}

struct RawEntry {
    key: String,
    pieces: Vec<String>,
    line: usize,
}

struct RawSection {
    name: String,
    line: usize,
    entries: Vec<RawEntry>,
}

#[derive(Clone, Copy)]
enum Cur {
    Default,
    Sect(usize),
}

fn upsert(entries: &mut Vec<RawEntry>, key: String, value: String, line: usize) -> usize {
    // A repeated key keeps its first position (Python dict semantics) but takes the new value.
    if let Some(i) = entries.iter().position(|e| e.key == key) {
        entries[i].pieces = vec![value];
        entries[i].line = line;
        i
    } else {
        entries.push(RawEntry {
            key,
            pieces: vec![value],
            line,
        });
        entries.len() - 1
    }
}

fn finish(entries: Vec<RawEntry>) -> Vec<Entry> {
    entries
        .into_iter()
        .map(|e| Entry {
            key: e.key,
            value: py_rstrip(&e.pieces.join("\n")).to_string(),
            line: e.line,
        })
        .collect()
}

/// Parse a whole file. Every problem configparser would report is returned (it collects them all).
pub fn parse(text: &str) -> Result<Ini, Vec<ParseError>> {
    let mut sections: Vec<RawSection> = Vec::new();
    let mut defaults: Vec<RawEntry> = Vec::new();
    let mut cursect: Option<Cur> = None;
    // The option continuation lines and blank lines attach to; `None` also stands for configparser's
    // falsy option name (after a header, or after a `= value` line with an empty name).
    let mut curopt: Option<usize> = None;
    let mut indent_level: usize = 0;
    let mut errors: Vec<ParseError> = Vec::new();

    for (idx, line) in universal_lines(text).into_iter().enumerate() {
        let lineno = idx + 1;
        let chars: Vec<char> = line.chars().collect();
        let mut comment_start = inline_comment_start(&chars);
        let trimmed = py_strip(line);
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            comment_start = Some(0);
        }
        let kept: String = match comment_start {
            Some(cs) => chars[..cs].iter().collect(),
            None => line.to_string(),
        };
        let value = py_strip(&kept);

        if value.is_empty() {
            // A blank line belongs to the value being read, unless the line held a comment.
            if comment_start.is_none() {
                if let (Some(cur), Some(opt)) = (cursect, curopt) {
                    entries_mut(&mut sections, &mut defaults, cur)[opt]
                        .pieces
                        .push(String::new());
                }
            }
            continue;
        }

        let cur_indent = chars.iter().position(|&c| !is_py_space(c)).unwrap_or(0);
        if let (Some(cur), Some(opt)) = (cursect, curopt) {
            if cur_indent > indent_level {
                entries_mut(&mut sections, &mut defaults, cur)[opt]
                    .pieces
                    .push(value.to_string());
                continue;
            }
        }
        indent_level = cur_indent;

        if let Some(name) = section_header(value) {
            if name == "DEFAULT" {
                cursect = Some(Cur::Default);
            } else if let Some(i) = sections.iter().position(|s| s.name == name) {
                cursect = Some(Cur::Sect(i));
            } else {
                sections.push(RawSection {
                    name: name.to_string(),
                    line: lineno,
                    entries: Vec::new(),
                });
                cursect = Some(Cur::Sect(sections.len() - 1));
            }
            curopt = None;
            continue;
        }

        let Some(cur) = cursect else {
            // configparser raises at once here, dropping nothing (no error can precede this one).
            return Err(vec![ParseError {
                line: lineno,
                text: line.to_string(),
                message: MSG_MISSING_SECTION_HEADER.to_string(),
            }]);
        };

        match value.find(['=', ':']) {
            Some(pos) => {
                let key = py_rstrip(&value[..pos]);
                let val = py_strip(&value[pos + 1..]);
                if key.is_empty() {
                    errors.push(ParseError {
                        line: lineno,
                        text: line.to_string(),
                        message: MSG_EMPTY_KEY.to_string(),
                    });
                    // configparser goes on with an empty (falsy) option name: no continuation lines.
                    curopt = None;
                } else {
                    let entries = entries_mut(&mut sections, &mut defaults, cur);
                    curopt = Some(upsert(entries, key.to_lowercase(), val.to_string(), lineno));
                }
            }
            None => errors.push(ParseError {
                line: lineno,
                text: line.to_string(),
                message: MSG_NO_DELIMITER.to_string(),
            }),
        }
    }

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Ini {
        sections: sections
            .into_iter()
            .map(|s| Section {
                name: s.name,
                line: s.line,
                entries: finish(s.entries),
            })
            .collect(),
        defaults: finish(defaults),
    })
}

fn entries_mut<'a>(
    sections: &'a mut [RawSection],
    defaults: &'a mut Vec<RawEntry>,
    cur: Cur,
) -> &'a mut Vec<RawEntry> {
    match cur {
        Cur::Default => defaults,
        Cur::Sect(i) => &mut sections[i].entries,
    }
}

/// configparser's `\[(?P<header>.+)\]` matched at the start of the stripped line: greedy, so the
/// name runs to the last `]` (`[a]]` is `a]`) and anything after it is ignored (`[a] x` is `a`).
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    if close == 0 {
        return None;
    }
    Some(&rest[..close])
}
