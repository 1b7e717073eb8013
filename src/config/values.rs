//! Value types of supervisord's config (reference section 1.3). Each parser returns `Err(expected)`,
//! a short phrase saying what was expected, for the loader to wrap with file/line/section/key.
//!
//! Where supervisord accepts something by accident we say so next to the parser and either keep it
//! (when real configs may depend on it) or refuse it (when it can only be a mistake).

use crate::config::ini::py_strip;
use crate::config::model::{AutoRestart, LogLevel};

const EXPECTED_BOOL: &str = "expected a boolean (true/false, yes/no, on/off, 1/0)";
const EXPECTED_INT: &str = "expected an integer";

fn bool_word(lower: &str) -> Option<bool> {
    match lower {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// supervisord does not strip here (the INI reader already did), so ` true` is refused like it is.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    bool_word(&s.to_lowercase()).ok_or_else(|| EXPECTED_BOOL.to_string())
}

/// Digits of Python's integer literal grammar as `int()` accepts them: one `_` allowed between digits.
/// Only ASCII digits: Python would also take other Unicode decimal digits (`int('٣')`), which no config
/// written by a person relies on.
fn py_digits(s: &str, radix: u32) -> Option<u128> {
    if s.is_empty() || s.starts_with('_') || s.ends_with('_') || s.contains("__") {
        return None;
    }
    let mut n: u128 = 0;
    for c in s.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(radix)?;
        n = n.checked_mul(radix as u128)?.checked_add(d as u128)?;
    }
    Some(n)
}

/// Python's `int(s, base)` for base 10 and 8 (with the `0o` prefix base 8 allows): surrounding
/// whitespace, one sign, `_` separators. Returns (negative, magnitude).
fn py_int(s: &str, radix: u32) -> Option<(bool, u128)> {
    let t = py_strip(s);
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let body = if radix == 8 {
        match body.get(..2) {
            Some("0o") | Some("0O") => {
                // After a base prefix Python allows one leading `_` (`0o_17`).
                let rest = &body[2..];
                rest.strip_prefix('_').unwrap_or(rest)
            }
            _ => body,
        }
    } else {
        // Base 10: Python refuses leading zeros only in literals, `int('007')` is fine.
        body
    };
    py_digits(body, radix).map(|m| (neg, m))
}

fn to_i64(neg: bool, m: u128) -> Option<i64> {
    if neg {
        if m <= i64::MAX as u128 + 1 {
            Some((m as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(m).ok()
    }
}

pub fn parse_int(s: &str) -> Result<i64, String> {
    py_int(s, 10)
        .and_then(|(neg, m)| to_i64(neg, m))
        .ok_or_else(|| EXPECTED_INT.to_string())
}

/// `10MB`, `10 mb`, `10kb`, `1024`. supervisord lower-cases, cuts a two-letter suffix and hands the rest
/// to `int()`, which is why `10 MB` works and `10M` does not. Negative sizes (which supervisord lets
/// through and then treats like 0) are refused: they can only be a mistake.
pub fn parse_byte_size(s: &str) -> Result<u64, String> {
    const EXPECTED: &str = "expected a byte size (an integer with an optional KB, MB or GB suffix)";
    let lower = s.to_lowercase();
    let (num, mult): (&str, u128) = if let Some(n) = lower.strip_suffix("kb") {
        (n, 1024)
    } else if let Some(n) = lower.strip_suffix("mb") {
        (n, 1024 * 1024)
    } else if let Some(n) = lower.strip_suffix("gb") {
        (n, 1024 * 1024 * 1024)
    } else {
        (&lower, 1)
    };
    match py_int(num, 10) {
        Some((neg, m)) if !neg || m == 0 => m
            .checked_mul(mult)
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| format!("{EXPECTED}, too large")),
        Some(_) => Err("expected a byte size that is not negative".to_string()),
        None => Err(EXPECTED.to_string()),
    }
}

/// Python's `int(s, 8)` (so `0o22` and `0_22` work too); negative numbers are refused.
pub fn parse_octal(s: &str) -> Result<u32, String> {
    const EXPECTED: &str = "expected an octal number (e.g. 022)";
    match py_int(s, 8) {
        Some((neg, m)) if !neg || m == 0 => u32::try_from(m).map_err(|_| EXPECTED.to_string()),
        _ => Err(EXPECTED.to_string()),
    }
}

/// Every `SIG*` name CPython 3.11's `signal` module has on Linux, without the prefix, and its number.
/// The first name of a number is the one `signal.Signals(n).name` gives.
const SIGNALS: &[(&str, i32)] = &[
    ("HUP", 1),
    ("INT", 2),
    ("QUIT", 3),
    ("ILL", 4),
    ("TRAP", 5),
    ("ABRT", 6),
    ("IOT", 6),
    ("BUS", 7),
    ("FPE", 8),
    ("KILL", 9),
    ("USR1", 10),
    ("SEGV", 11),
    ("USR2", 12),
    ("PIPE", 13),
    ("ALRM", 14),
    ("TERM", 15),
    ("STKFLT", 16),
    ("CHLD", 17),
    ("CLD", 17),
    ("CONT", 18),
    ("STOP", 19),
    ("TSTP", 20),
    ("TTIN", 21),
    ("TTOU", 22),
    ("URG", 23),
    ("XCPU", 24),
    ("XFSZ", 25),
    ("VTALRM", 26),
    ("PROF", 27),
    ("WINCH", 28),
    ("IO", 29),
    ("POLL", 29),
    ("PWR", 30),
    ("SYS", 31),
    ("RTMIN", 34),
    ("RTMAX", 64),
];

/// A name (any case, with or without `SIG`, blanks trimmed) or a number. Like supervisord, a number must
/// be one Python has a name for (so 35..=63 are refused). Deliberate differences: `0` and the
/// non-signal constants supervisord's name lookup happens to find (`_DFL`, `_IGN`, `_BLOCK`…) are
/// refused, since none of them names a signal that could stop a process.
pub fn parse_signal(s: &str) -> Result<i32, String> {
    const EXPECTED: &str =
        "expected a signal name (e.g. TERM, HUP, INT, QUIT, KILL, USR1, USR2) or number";
    if let Some((neg, m)) = py_int(s, 10) {
        return match to_i64(neg, m) {
            Some(n) if SIGNALS.iter().any(|&(_, v)| i64::from(v) == n) => Ok(n as i32),
            _ => Err(EXPECTED.to_string()),
        };
    }
    // Full Unicode upper-casing like Python's `str.upper()` (`ſigterm` is `SIGTERM` there too).
    let upper = py_strip(s).to_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    SIGNALS
        .iter()
        .find(|&&(n, _)| n == name)
        .map(|&(_, v)| v)
        .ok_or_else(|| EXPECTED.to_string())
}

/// `TERM` for 15: the name Python's `signal.Signals(n)` has, without `SIG`, for messages.
pub fn signal_name(n: i32) -> Option<&'static str> {
    SIGNALS
        .iter()
        .find(|&&(_, v)| v == n)
        .map(|&(name, _)| name)
}

/// Every signal name [`parse_signal`] accepts (without `SIG`), for completion.
pub fn signal_names() -> impl Iterator<Item = &'static str> {
    SIGNALS.iter().map(|&(name, _)| name)
}

/// `0,2, 3`. An empty value is an empty list, as in supervisord.
pub fn parse_exitcodes(s: &str) -> Result<Vec<i32>, String> {
    const EXPECTED: &str = "expected a comma-separated list of exit codes (0-255)";
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',')
        .map(|part| match py_int(part, 10) {
            Some((neg, m)) if m <= 255 && (!neg || m == 0) => Ok(m as i32),
            _ => Err(EXPECTED.to_string()),
        })
        .collect()
}

pub fn parse_autorestart(s: &str) -> Result<AutoRestart, String> {
    let lower = s.to_lowercase();
    match bool_word(&lower) {
        Some(true) => Ok(AutoRestart::Always),
        Some(false) => Ok(AutoRestart::Never),
        None if lower == "unexpected" => Ok(AutoRestart::Unexpected),
        None => Err("expected true, false or unexpected (or another boolean spelling)".to_string()),
    }
}

pub fn parse_loglevel(s: &str) -> Result<LogLevel, String> {
    match s.to_lowercase().as_str() {
        "critical" => Ok(LogLevel::Critical),
        "error" => Ok(LogLevel::Error),
        "warn" => Ok(LogLevel::Warn),
        "info" => Ok(LogLevel::Info),
        "debug" => Ok(LogLevel::Debug),
        "trace" => Ok(LogLevel::Trace),
        "blather" => Ok(LogLevel::Blather),
        _ => Err(
            "expected a log level (critical, error, warn, info, debug, trace, blather)".to_string(),
        ),
    }
}

/// Python's non-POSIX `shlex.shlex(s)` token stream with supervisord 4.3.0's extra word characters.
/// Non-POSIX mode keeps quotes in the tokens, has no escapes, and a `#` comment runs to the end of the
/// line without ending the word it interrupts.
fn shlex_nonposix(s: &str) -> Result<Vec<String>, String> {
    fn is_word(c: char) -> bool {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '/' | '.' | '+' | '-' | '(' | ')' | ':')
    }
    fn is_ws(c: char) -> bool {
        matches!(c, ' ' | '\t' | '\r' | '\n')
    }
    #[derive(PartialEq)]
    enum St {
        Space,
        Word,
        Quote(char),
    }
    let chars: Vec<char> = s.chars().collect();
    let mut tokens = Vec::new();
    let mut token = String::new();
    let mut state = St::Space;
    let mut i = 0;
    // Skip to just after the next `\n` (shlex's `readline()` on a comment).
    let skip_line = |i: &mut usize| {
        while *i < chars.len() {
            *i += 1;
            if chars[*i - 1] == '\n' {
                break;
            }
        }
    };
    loop {
        let c = chars.get(i).copied();
        i += 1;
        match state {
            St::Space => match c {
                None => break,
                Some(c) if is_ws(c) => {}
                Some('#') => skip_line(&mut i),
                Some(c) if is_word(c) => {
                    token.push(c);
                    state = St::Word;
                }
                Some(c @ ('\'' | '"')) => {
                    token.push(c);
                    state = St::Quote(c);
                }
                Some(c) => tokens.push(c.to_string()),
            },
            St::Quote(q) => match c {
                None => return Err("No closing quotation".to_string()),
                Some(c) => {
                    token.push(c);
                    if c == q {
                        tokens.push(std::mem::take(&mut token));
                        state = St::Space;
                    }
                }
            },
            St::Word => match c {
                None => {
                    tokens.push(std::mem::take(&mut token));
                    break;
                }
                Some(c) if is_ws(c) => {
                    tokens.push(std::mem::take(&mut token));
                    state = St::Space;
                }
                Some('#') => skip_line(&mut i),
                Some(c) if is_word(c) || c == '\'' || c == '"' => token.push(c),
                Some(c) => {
                    // shlex pushes the character back and hands it out on its own next.
                    tokens.push(std::mem::take(&mut token));
                    tokens.push(c.to_string());
                    state = St::Space;
                }
            },
        }
    }
    Ok(tokens)
}

/// `environment=` exactly as supervisord 4.3.0 reads it (reference 1.5): tokens in groups of four,
/// `KEY` `=` `VALUE` and an unchecked separator, quotes stripped from the value's ends. That is why
/// `A=hello world` quietly means `A=hello` and `A=$HOME` is refused; we accept and refuse the same
/// strings. A repeated key keeps its first position and its last value (a Python dict).
pub fn parse_environment(s: &str) -> Result<Vec<(String, String)>, String> {
    let tokens = shlex_nonposix(s)?;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        match tokens.get(i..i + 3) {
            Some([k, eq, v]) if eq == "=" => {
                let v = v.trim_matches(['\'', '"']).to_string();
                match out.iter_mut().find(|(key, _)| key == k) {
                    Some(slot) => slot.1 = v,
                    None => out.push((k.clone(), v)),
                }
            }
            _ => return Err(format!("Unexpected end of key/value pairs in value '{s}'")),
        }
        i += 4;
    }
    Ok(out)
}

/// Python's `shlex.split(s)`: POSIX rules, no comments. Errors use Python's words.
pub fn split_command(s: &str) -> Result<Vec<String>, String> {
    // shlex's whitespace is exactly these four, not Unicode's (a form feed is part of a word).
    fn is_ws(c: char) -> bool {
        matches!(c, ' ' | '\t' | '\r' | '\n')
    }
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        Space,
        Word,
        Single,
        Double,
    }
    let mut words = Vec::new();
    let mut token = String::new();
    // A word exists once it has a character or an (even empty) quoted part: `''` is an empty word.
    let mut in_word = false;
    let mut state = St::Space;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match state {
            St::Space | St::Word => {
                if is_ws(c) {
                    if in_word {
                        words.push(std::mem::take(&mut token));
                        in_word = false;
                    }
                    state = St::Space;
                    continue;
                }
                in_word = true;
                state = St::Word;
                match c {
                    '\'' => state = St::Single,
                    '"' => state = St::Double,
                    '\\' => match chars.next() {
                        Some(n) => token.push(n),
                        None => return Err("No escaped character".to_string()),
                    },
                    c => token.push(c),
                }
            }
            St::Single => {
                if c == '\'' {
                    state = St::Word;
                } else {
                    token.push(c);
                }
            }
            St::Double => match c {
                '"' => state = St::Word,
                '\\' => match chars.next() {
                    // Inside double quotes only `"` and `\` are escapable; otherwise the `\` stays.
                    Some(n) => {
                        if n != '"' && n != '\\' {
                            token.push('\\');
                        }
                        token.push(n);
                    }
                    None => return Err("No escaped character".to_string()),
                },
                c => token.push(c),
            },
        }
    }
    match state {
        St::Single | St::Double => Err("No closing quotation".to_string()),
        _ => {
            if in_word {
                words.push(token);
            }
            Ok(words)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for s in ["true", "TRUE", "Yes", "on", "1"] {
            assert_eq!(parse_bool(s), Ok(true), "{s}");
        }
        for s in ["false", "No", "OFF", "0"] {
            assert_eq!(parse_bool(s), Ok(false), "{s}");
        }
        for s in ["", "y", "t", "2", " true", "truee", "nope"] {
            assert_eq!(parse_bool(s), Err(EXPECTED_BOOL.to_string()), "{s:?}");
        }
    }

    #[test]
    fn integers() {
        assert_eq!(parse_int("42"), Ok(42));
        assert_eq!(parse_int(" -7 "), Ok(-7));
        assert_eq!(parse_int("+1_000"), Ok(1000));
        assert_eq!(parse_int("007"), Ok(7));
        assert_eq!(parse_int("\t5\u{a0}"), Ok(5));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        for s in [
            "",
            " ",
            "1__0",
            "_1",
            "1_",
            "1.5",
            "0x10",
            "- 1",
            "++1",
            "9223372036854775808",
            "١",
        ] {
            assert!(parse_int(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_byte_size("0"), Ok(0));
        assert_eq!(parse_byte_size("1024"), Ok(1024));
        assert_eq!(parse_byte_size("10KB"), Ok(10 * 1024));
        assert_eq!(parse_byte_size("10mb"), Ok(10 << 20));
        assert_eq!(parse_byte_size("10 MB"), Ok(10 << 20));
        assert_eq!(parse_byte_size("1GB"), Ok(1 << 30));
        assert_eq!(parse_byte_size("1_0Kb"), Ok(10 * 1024));
        assert_eq!(parse_byte_size("-0"), Ok(0));
        // U+212A KELVIN SIGN lower-cases to `k`, in Python as here.
        assert_eq!(parse_byte_size("1\u{212a}B"), Ok(1024));
        for s in [
            "",
            "MB",
            " mb",
            "10M",
            "1.5MB",
            "100B",
            "10 MB ",
            "-1",
            "-1KB",
            "99999999999GB",
        ] {
            assert!(parse_byte_size(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn octals() {
        assert_eq!(parse_octal("022"), Ok(0o22));
        assert_eq!(parse_octal("0700"), Ok(0o700));
        assert_eq!(parse_octal("0o17"), Ok(0o17));
        assert_eq!(parse_octal("0O_17"), Ok(0o17));
        assert_eq!(parse_octal(" 7 "), Ok(7));
        for s in ["", "8", "09", "-1", "0x1", "0o", "abc", "77777777777777"] {
            assert!(parse_octal(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn signals() {
        assert_eq!(parse_signal("TERM"), Ok(15));
        assert_eq!(parse_signal("sigterm"), Ok(15));
        assert_eq!(parse_signal(" HUP "), Ok(1));
        assert_eq!(parse_signal("SigKill"), Ok(9));
        assert_eq!(parse_signal("winch"), Ok(28));
        assert_eq!(parse_signal("RTMIN"), Ok(34));
        assert_eq!(parse_signal("SIGRTMAX"), Ok(64));
        assert_eq!(parse_signal("cld"), Ok(17));
        assert_eq!(parse_signal("15"), Ok(15));
        assert_eq!(parse_signal(" 9 "), Ok(9));
        assert_eq!(parse_signal("64"), Ok(64));
        // Python's upper() maps the long s to S.
        assert_eq!(parse_signal("\u{17f}igterm"), Ok(15));
        for s in [
            "", "0", "32", "35", "63", "65", "-15", "SIG", "TERMX", "SIG_IGN", "_DFL", "RTMIN+1",
            "1.0",
        ] {
            assert!(parse_signal(s).is_err(), "{s:?}");
        }
        assert_eq!(signal_name(15), Some("TERM"));
        assert_eq!(signal_name(6), Some("ABRT"));
        assert_eq!(signal_name(17), Some("CHLD"));
        assert_eq!(signal_name(29), Some("IO"));
        assert_eq!(signal_name(0), None);
        assert_eq!(signal_name(40), None);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(parse_exitcodes("0"), Ok(vec![0]));
        assert_eq!(parse_exitcodes("0,2, 3"), Ok(vec![0, 2, 3]));
        assert_eq!(parse_exitcodes("255,1,1"), Ok(vec![255, 1, 1]));
        assert_eq!(parse_exitcodes(""), Ok(vec![]));
        for s in ["256", "-1", "0,", ",0", "a", "0;1", " "] {
            assert!(parse_exitcodes(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn autorestart_and_loglevel() {
        assert_eq!(parse_autorestart("true"), Ok(AutoRestart::Always));
        assert_eq!(parse_autorestart("ON"), Ok(AutoRestart::Always));
        assert_eq!(parse_autorestart("0"), Ok(AutoRestart::Never));
        assert_eq!(parse_autorestart("Unexpected"), Ok(AutoRestart::Unexpected));
        assert!(parse_autorestart("always").is_err());
        assert_eq!(parse_loglevel("WARN"), Ok(LogLevel::Warn));
        assert_eq!(parse_loglevel("blather"), Ok(LogLevel::Blather));
        assert_eq!(parse_loglevel("Critical"), Ok(LogLevel::Critical));
        for s in ["warning", "crit", "", "debg"] {
            assert!(parse_loglevel(s).is_err(), "{s:?}");
        }
    }

    fn env(s: &str) -> Result<Vec<(String, String)>, String> {
        parse_environment(s)
    }

    fn pairs(p: &[(&str, &str)]) -> Result<Vec<(String, String)>, String> {
        Ok(p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }

    #[test]
    fn environment_430() {
        assert_eq!(env(""), pairs(&[]));
        assert_eq!(
            env("A=\"x,y\",B=z, C='q r'"),
            pairs(&[("A", "x,y"), ("B", "z"), ("C", "q r")])
        );
        assert_eq!(env("A=\"\""), pairs(&[("A", "")]));
        assert_eq!(
            env("PATH=/usr/bin:/bin,X=1.5"),
            pairs(&[("PATH", "/usr/bin:/bin"), ("X", "1.5")])
        );
        // The fourth token is eaten unchecked.
        assert_eq!(env("A=hello world"), pairs(&[("A", "hello")]));
        // Repeated keys: first position, last value.
        assert_eq!(env("A=1,B=2,A=3"), pairs(&[("A", "3"), ("B", "2")]));
        // A comment ends the token stream; inside a word it is cut out up to the end of the line.
        assert_eq!(env("A=1 # B=2"), pairs(&[("A", "1")]));
        assert_eq!(env("A=ab#c\nd"), pairs(&[("A", "abd")]));
        let unexpected = |s: &str| Err(format!("Unexpected end of key/value pairs in value '{s}'"));
        // Alone, `$HOME` is the value `$` plus an eaten separator; with a pair after it, it fails
        // (the reference's "A=$HOME is an error" holds for the usual multi-pair case).
        assert_eq!(env("A=$HOME"), pairs(&[("A", "$")]));
        for s in ["A=$HOME,B=x", "B=a=b", "A=user@host", "A", "A=", "=", "A B"] {
            assert_eq!(env(s), unexpected(s), "{s:?}");
        }
        assert_eq!(env("A='x"), Err("No closing quotation".to_string()));
    }

    fn split(s: &str) -> Result<Vec<String>, String> {
        split_command(s)
    }

    fn words(w: &[&str]) -> Result<Vec<String>, String> {
        Ok(w.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn split_like_shlex() {
        assert_eq!(split(""), words(&[]));
        assert_eq!(split(" \t\n "), words(&[]));
        assert_eq!(
            split("nginx -g 'daemon off;'"),
            words(&["nginx", "-g", "daemon off;"])
        );
        assert_eq!(split("a\"b c\"d"), words(&["ab cd"]));
        assert_eq!(split("'' \"\""), words(&["", ""]));
        assert_eq!(
            split(r#"a\ b "x\"y\z" 'p\q'"#),
            words(&["a b", "x\"y\\z", "p\\q"])
        );
        assert_eq!(split("echo a\nb # c"), words(&["echo", "a", "b", "#", "c"]));
        // Only space, tab, CR and LF separate words.
        assert_eq!(split("a\x0cb\u{a0}c"), words(&["a\x0cb\u{a0}c"]));
        assert_eq!(split("bash -c 'a"), Err("No closing quotation".to_string()));
        assert_eq!(split("a\\"), Err("No escaped character".to_string()));
        assert_eq!(split("\"a\\"), Err("No escaped character".to_string()));
    }
}
