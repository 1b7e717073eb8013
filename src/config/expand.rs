//! `%(name)s` expansion (Python %-formatting against a mapping), reference section 1.4.
//!
//! Follows CPython 3.11's `str % mapping` for everything a config can sensibly use: `%(name)s`,
//! `%(name)r`, `%(name)d`/`i`/`u`, `o`/`x`/`X`, `c`, `f`/`F`, flags `-+ #0`, width, precision, the
//! ignored `h`/`l`/`L` length letters, and `%%`. Deliberate differences, each an error here:
//! * a bare `%s`/`%d` (no name): Python formats the whole mapping into the string;
//! * `%(x)e`/`E`/`g`/`G`: no config needs exponent notation, so we do not reproduce C's `%g`;
//! * Python reports only the first unknown name; we report all of them;
//! * widths/precisions above 100000 are "too big" (Python tries to allocate them).
//!
//! Error texts are Python's where Python has one.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    Str(String),
    Int(i64),
}

pub type Vars = BTreeMap<String, Var>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandError {
    /// Names used that are not in the mapping, in order of appearance, deduplicated.
    UnknownNames(Vec<String>),
    /// A malformed format string, with a message like Python's.
    BadFormat(String),
}

impl ExpandError {
    /// The message for `text` failing to expand; `available` lists the names other than `ENV_*` it
    /// could have used. A missing `ENV_X` is a variable missing from steward's environment, and is
    /// said so: listing `ENV_<VAR>` as an available name would only repeat the form that failed.
    pub fn explain(&self, text: &str, available: &[&str]) -> String {
        let names = match self {
            ExpandError::BadFormat(msg) => {
                return format!("{text:?} is a bad format string ({msg}); write a literal % as %%")
            }
            ExpandError::UnknownNames(names) => names,
        };
        let (env, other): (Vec<&String>, Vec<&String>) =
            names.iter().partition(|n| n.starts_with("ENV_"));
        let mut parts = Vec::new();
        if !env.is_empty() {
            let vars: Vec<&str> = env.iter().map(|n| &n[4..]).collect();
            let (noun, verb, them) = if vars.len() == 1 {
                ("variable", "is", "it")
            } else {
                ("variables", "are", "them")
            };
            let listed = vars.join(", ");
            let example = vars[0];
            parts.push(format!(
                "{text:?} uses the environment {noun} {listed}, which {verb} not set in steward's \
                 environment; set {them} where steward is started (`{example}=value steward ...`, \
                 `docker run -e {example}=value ...`, or ENV in the Dockerfile)"
            ));
        }
        if !other.is_empty() {
            let listed = other
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut avail = available.to_vec();
            avail.push("ENV_<VAR>");
            let subject = if parts.is_empty() {
                format!("{text:?} uses")
            } else {
                "it also uses".to_string()
            };
            parts.push(format!(
                "{subject} {listed}, which cannot be expanded here; available names: {}",
                avail.join(", ")
            ));
        }
        parts.join("; ")
    }
}

const MAX_WIDTH: usize = 100_000;

#[derive(Default)]
struct Spec {
    left: bool,
    plus: bool,
    space: bool,
    alt: bool,
    zero: bool,
    width: usize,
    prec: Option<usize>,
}

/// The argument a directive takes, as CPython tracks it: a bare directive gets the whole mapping
/// (once per string), a named one the value of its name (once per directive); `*` uses it up too.
#[derive(Clone, Copy)]
enum Arg<'a> {
    Mapping,
    Value(&'a Var),
    /// The name is not in the mapping; already recorded.
    Unknown,
}

struct Ctx<'a> {
    arg: Arg<'a>,
    used: bool,
}

impl<'a> Ctx<'a> {
    fn next_arg(&mut self) -> Result<Arg<'a>, String> {
        if self.used {
            return Err("not enough arguments for format string".to_string());
        }
        self.used = true;
        Ok(self.arg)
    }

    /// `*` for a width or precision: `Some(n)` from an int, `None` when the name was unknown.
    fn star(&mut self) -> Result<Option<i64>, String> {
        match self.next_arg()? {
            Arg::Value(Var::Int(n)) => Ok(Some(*n)),
            Arg::Unknown => Ok(None),
            _ => Err("* wants int".to_string()),
        }
    }
}

/// Expand `template`. The first problem met decides the kind of error, as in Python; once an unknown
/// name is met we keep scanning only to list the other unknown names.
pub fn expand(template: &str, vars: &Vars) -> Result<String, ExpandError> {
    let chars: Vec<char> = template.chars().collect();
    let mut out = String::with_capacity(template.len());
    let mut unknown: Vec<String> = Vec::new();
    let mut ctx = Ctx {
        arg: Arg::Mapping,
        used: false,
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        if c != '%' {
            out.push(c);
            continue;
        }
        match directive(&chars, &mut i, vars, &mut ctx, &mut unknown) {
            Ok(Some(s)) => out.push_str(&s),
            Ok(None) => {}
            Err(msg) => {
                if unknown.is_empty() {
                    return Err(ExpandError::BadFormat(msg));
                }
                break;
            }
        }
    }
    if unknown.is_empty() {
        Ok(out)
    } else {
        Err(ExpandError::UnknownNames(unknown))
    }
}

/// One directive, `i` just past its `%`. `Ok(None)`: an unknown name (recorded in `unknown`).
fn directive<'a>(
    chars: &[char],
    i: &mut usize,
    vars: &'a Vars,
    ctx: &mut Ctx<'a>,
    unknown: &mut Vec<String>,
) -> Result<Option<String>, String> {
    const INCOMPLETE: &str = "incomplete format";
    let next = |i: &mut usize| -> Result<char, String> {
        let c = chars
            .get(*i)
            .copied()
            .ok_or_else(|| INCOMPLETE.to_string())?;
        *i += 1;
        Ok(c)
    };
    let mut c = next(i)?;
    if c == '%' {
        return Ok(Some("%".to_string()));
    }
    if c == '(' {
        // Python allows nested parentheses inside the key: `%(a(b))s` names `a(b)`.
        let start = *i;
        let mut depth = 1;
        while depth > 0 {
            match chars.get(*i) {
                None => return Err("incomplete format key".to_string()),
                Some('(') => depth += 1,
                Some(')') => depth -= 1,
                Some(_) => {}
            }
            *i += 1;
        }
        let key: String = chars[start..*i - 1].iter().collect();
        // Python looks the key up before reading the rest of the directive.
        ctx.arg = match vars.get(&key) {
            Some(v) => Arg::Value(v),
            None => {
                if !unknown.contains(&key) {
                    unknown.push(key);
                }
                Arg::Unknown
            }
        };
        ctx.used = false;
        c = next(i)?;
    }
    let mut spec = Spec::default();
    loop {
        match c {
            '-' => spec.left = true,
            '+' => spec.plus = true,
            ' ' => spec.space = true,
            '#' => spec.alt = true,
            '0' => spec.zero = true,
            _ => break,
        }
        c = next(i)?;
    }
    if c == '*' {
        if let Some(n) = ctx.star()? {
            if n < 0 {
                spec.left = true;
            }
            spec.width = usize::try_from(n.unsigned_abs())
                .ok()
                .filter(|&w| w <= MAX_WIDTH)
                .ok_or_else(|| "width too big".to_string())?;
        }
        c = next(i)?;
    } else {
        let mut width = 0usize;
        while let Some(d) = c.to_digit(10) {
            width = width * 10 + d as usize;
            if width > MAX_WIDTH {
                return Err("width too big".to_string());
            }
            c = next(i)?;
        }
        spec.width = width;
    }
    if c == '.' {
        c = next(i)?;
        if c == '*' {
            let p = ctx.star()?.unwrap_or(0).max(0);
            spec.prec = Some(
                usize::try_from(p)
                    .ok()
                    .filter(|&p| p <= MAX_WIDTH)
                    .ok_or_else(|| "precision too big".to_string())?,
            );
            c = next(i)?;
        } else {
            let mut prec = 0usize;
            while let Some(d) = c.to_digit(10) {
                prec = prec * 10 + d as usize;
                if prec > MAX_WIDTH {
                    return Err("precision too big".to_string());
                }
                c = next(i)?;
            }
            spec.prec = Some(prec);
        }
    }
    if matches!(c, 'h' | 'l' | 'L') {
        c = next(i)?;
    }
    let conv_index = *i - 1;
    // Python takes the argument before it looks at the conversion character.
    let arg = ctx.next_arg()?;
    if !matches!(
        c,
        's' | 'r'
            | 'a'
            | 'd'
            | 'i'
            | 'u'
            | 'o'
            | 'x'
            | 'X'
            | 'c'
            | 'f'
            | 'F'
            | 'e'
            | 'E'
            | 'g'
            | 'G'
    ) {
        let shown = if (' '..='~').contains(&c) { c } else { '?' };
        return Err(format!(
            "unsupported format character '{shown}' (0x{:x}) at index {conv_index}",
            c as u32
        ));
    }
    match arg {
        Arg::Mapping => Err(format!(
            "format requires a mapping key: write %(name){c}, not a bare %{c}"
        )),
        Arg::Unknown => Ok(None),
        Arg::Value(v) => format_one(c, &spec, v).map(Some),
    }
}

fn format_one(conv: char, spec: &Spec, value: &Var) -> Result<String, String> {
    match conv {
        's' | 'r' | 'a' => {
            let mut s = match (conv, value) {
                (_, Var::Int(n)) => n.to_string(),
                ('s', Var::Str(s)) => s.clone(),
                (_, Var::Str(s)) => py_repr(s, conv == 'a'),
            };
            if let Some(p) = spec.prec {
                s = s.chars().take(p).collect();
            }
            Ok(pad_text(s, spec))
        }
        'c' => {
            let ch = match value {
                Var::Int(n) => u32::try_from(*n)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| "%c arg not in range(0x110000)".to_string())?,
                Var::Str(s) => {
                    let mut it = s.chars();
                    match (it.next(), it.next()) {
                        (Some(ch), None) => ch,
                        _ => return Err("%c requires int or char".to_string()),
                    }
                }
            };
            Ok(pad_text(ch.to_string(), spec))
        }
        'd' | 'i' | 'u' | 'o' | 'x' | 'X' => {
            let n = match value {
                Var::Int(n) => *n,
                Var::Str(_) => {
                    let what = if matches!(conv, 'd' | 'i' | 'u') {
                        "a real number"
                    } else {
                        "an integer"
                    };
                    return Err(format!("%{conv} format: {what} is required, not str"));
                }
            };
            let mag = n.unsigned_abs();
            let (mut digits, prefix) = match conv {
                'o' => (format!("{mag:o}"), "0o"),
                'x' => (format!("{mag:x}"), "0x"),
                'X' => (format!("{mag:X}"), "0X"),
                _ => (mag.to_string(), ""),
            };
            if let Some(p) = spec.prec {
                if p > digits.len() {
                    digits = "0".repeat(p - digits.len()) + &digits;
                }
            }
            let prefix = if spec.alt { prefix } else { "" };
            Ok(pad_number(n < 0, prefix, digits, spec))
        }
        'f' | 'F' => {
            let n = match value {
                Var::Int(n) => *n,
                Var::Str(_) => return Err("must be real number, not str".to_string()),
            };
            let prec = spec.prec.unwrap_or(6);
            let mut digits = format!("{:.prec$}", n.unsigned_abs() as f64);
            if spec.alt && prec == 0 {
                digits.push('.');
            }
            Ok(pad_number(n < 0, "", digits, spec))
        }
        _ => Err(format!(
            "%{conv} (exponent notation) is not supported in steward's configuration"
        )),
    }
}

fn pad_text(s: String, spec: &Spec) -> String {
    let len = s.chars().count();
    if len >= spec.width {
        return s;
    }
    let fill = " ".repeat(spec.width - len);
    if spec.left {
        s + &fill
    } else {
        fill + &s
    }
}

fn pad_number(negative: bool, prefix: &str, digits: String, spec: &Spec) -> String {
    let sign = if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let len = sign.len() + prefix.len() + digits.len();
    let fill = spec.width.saturating_sub(len);
    if spec.left {
        format!("{sign}{prefix}{digits}{}", " ".repeat(fill))
    } else if spec.zero {
        format!("{sign}{prefix}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{sign}{prefix}{digits}", " ".repeat(fill))
    }
}

/// Python's `repr()` of a str (`ascii()` when `ascii`). Printability of non-ASCII characters is
/// approximated by "not a control character", which covers what configs contain.
fn py_repr(s: &str, ascii: bool) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (c as u32) < 0x7f => out.push(c),
            c if !ascii && !c.is_control() && !c.is_whitespace() && !is_format_char(c) => {
                out.push(c)
            }
            c if (c as u32) <= 0xff => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// A few invisible format characters Python's repr escapes (zero-width spaces, BOM, bidi marks).
fn is_format_char(c: char) -> bool {
    matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::new();
        v.insert("here".into(), Var::Str("/etc".into()));
        v.insert("program_name".into(), Var::Str("web".into()));
        v.insert("q".into(), Var::Str("it's".into()));
        v.insert("process_num".into(), Var::Int(3));
        v.insert("neg".into(), Var::Int(-5));
        v
    }

    fn ex(t: &str) -> Result<String, ExpandError> {
        expand(t, &vars())
    }

    fn bad(t: &str) -> String {
        match ex(t) {
            Err(ExpandError::BadFormat(m)) => m,
            other => panic!("{t:?}: expected BadFormat, got {other:?}"),
        }
    }

    #[test]
    fn names_and_literals() {
        assert_eq!(ex("plain"), Ok("plain".into()));
        assert_eq!(ex(""), Ok("".into()));
        assert_eq!(
            ex("%(here)s/%(program_name)s.conf"),
            Ok("/etc/web.conf".into())
        );
        assert_eq!(ex("100%% %(process_num)s"), Ok("100% 3".into()));
        assert_eq!(
            ex("%(program_name)s_%(process_num)02d"),
            Ok("web_03".into())
        );
        assert_eq!(ex("é%(here)sé"), Ok("é/etcé".into()));
        assert_eq!(ex("%(here)ls"), Ok("/etc".into()));
    }

    #[test]
    fn number_formats() {
        assert_eq!(
            ex("%(process_num)d|%(process_num)i|%(process_num)u"),
            Ok("3|3|3".into())
        );
        assert_eq!(
            ex("%(process_num)5d|%(process_num)-5d|"),
            Ok("    3|3    |".into())
        );
        assert_eq!(
            ex("%(neg)05d %(neg)+d %(process_num)+d %(process_num) d"),
            Ok("-0005 -5 +3  3".into())
        );
        assert_eq!(
            ex("%(process_num).3d %(process_num)05.3d"),
            Ok("003 00003".into())
        );
        assert_eq!(
            ex("%(process_num)#x %(process_num)#o %(process_num)X"),
            Ok("0x3 0o3 3".into())
        );
        assert_eq!(ex("%(neg)#5x|%(neg)-#6x|"), Ok(" -0x5|-0x5  |".into()));
        assert_eq!(
            ex("%(process_num).2f %(process_num)f"),
            Ok("3.00 3.000000".into())
        );
        assert_eq!(ex("%(process_num)c"), Ok("\u{3}".into()));
        assert_eq!(
            ex("%(process_num)r %(q)r %(here)r"),
            Ok("3 \"it's\" '/etc'".into())
        );
        assert_eq!(
            ex("%(here)6s|%(here)-6s|%(here).2s|%(here)06s"),
            Ok("  /etc|/etc  |/e|  /etc".into())
        );
    }

    #[test]
    fn unknown_names_all_listed_once() {
        assert_eq!(
            ex("%(a)s %(here)s %(b)d %(a)s %(ENV_X)s"),
            Err(ExpandError::UnknownNames(vec![
                "a".into(),
                "b".into(),
                "ENV_X".into()
            ]))
        );
        // The name is looked up before the rest of the directive is read, as in Python.
        assert_eq!(
            ex("%(zz)"),
            Err(ExpandError::UnknownNames(vec!["zz".into()]))
        );
        // A malformed directive after an unknown name ends the listing, not the verdict.
        assert_eq!(
            ex("%(a)s %(b"),
            Err(ExpandError::UnknownNames(vec!["a".into()]))
        );
    }

    #[test]
    fn malformed() {
        assert_eq!(
            bad("%U"),
            "unsupported format character 'U' (0x55) at index 1"
        );
        assert_eq!(
            bad("ab%(here)é"),
            "unsupported format character '?' (0xe9) at index 9"
        );
        assert_eq!(
            bad("%(here)%"),
            "unsupported format character '%' (0x25) at index 7"
        );
        assert_eq!(bad("%"), "incomplete format");
        assert_eq!(bad("x %(here)"), "incomplete format");
        assert_eq!(bad("%(here)05"), "incomplete format");
        assert_eq!(bad("%(here"), "incomplete format key");
        assert_eq!(bad("%(a(b)s"), "incomplete format key");
        assert_eq!(
            bad("%(here)d"),
            "%d format: a real number is required, not str"
        );
        assert_eq!(
            bad("%(here)x"),
            "%x format: an integer is required, not str"
        );
        assert_eq!(bad("%(here)c"), "%c requires int or char");
        assert_eq!(bad("%(neg)c"), "%c arg not in range(0x110000)");
        assert_eq!(bad("%(here)*d"), "* wants int");
        assert_eq!(
            bad("%(process_num)*d"),
            "not enough arguments for format string"
        );
        assert_eq!(bad("%(process_num)9999999d"), "width too big");
        // Deliberate: a bare directive does not format the whole mapping.
        assert!(bad("%s").starts_with("format requires a mapping key"));
        assert!(bad("a %d b").starts_with("format requires a mapping key"));
        assert!(bad("%(process_num)e").contains("exponent"));
    }
}
