//! `.env` files in the dialect foreman, honcho and docker compose share: `KEY=value` lines, blank lines
//! and `#` comments, an optional `export `, single quotes (literal), double quotes (escapes `\n`, `\t`,
//! `\r`, `\\`, `\"`, `\$` and references), unquoted values (trimmed, ` #` starts a comment,
//! references). A reference is `${NAME}`, `${NAME:-default}` (also when NAME is empty),
//! `${NAME-default}` (only when unset) or `$NAME`; NAME is looked up among the keys read before it,
//! then in `outer`. Quoted values may span lines. Pure: text in, pairs out.

/// A line that is not `KEY=value`, or an unclosed quote or reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    /// 1-based line where the bad entry starts.
    pub line: usize,
    pub message: String,
}

/// The pairs of `text` in the order first written; a repeated key keeps its last value.
pub fn parse(
    text: &str,
    outer: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, DotenvError> {
    let mut p = Parser {
        chars: text.chars().collect(),
        i: 0,
        line: 1,
        out: Vec::new(),
        outer,
    };
    p.run()?;
    Ok(p.out)
}

struct Parser<'o> {
    chars: Vec<char>,
    i: usize,
    line: usize,
    out: Vec<(String, String)>,
    outer: &'o dyn Fn(&str) -> Option<String>,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    fn err(&self, line: usize, message: impl Into<String>) -> DotenvError {
        DotenvError {
            line,
            message: message.into(),
        }
    }

    fn run(&mut self) -> Result<(), DotenvError> {
        loop {
            while self.peek().is_some_and(char::is_whitespace) {
                self.bump();
            }
            match self.peek() {
                None => return Ok(()),
                Some('#') => self.skip_line(),
                Some(_) => self.entry()?,
            }
        }
    }

    fn entry(&mut self) -> Result<(), DotenvError> {
        let line = self.line;
        let mut head = String::new();
        loop {
            match self.peek() {
                None | Some('\n') => {
                    let shown = head.trim_end_matches('\r');
                    return Err(self.err(line, format!("{shown:?} is not KEY=value")));
                }
                Some('=') => {
                    self.bump();
                    break;
                }
                Some(c) => {
                    head.push(c);
                    self.bump();
                }
            }
        }
        let mut key = head.trim();
        if let Some(rest) = key.strip_prefix("export") {
            if rest.starts_with([' ', '\t']) {
                key = rest.trim_start();
            }
        }
        let valid = key.starts_with(is_name_start)
            && key.chars().all(|c| is_name(c) || c == '.' || c == '-');
        if !valid {
            return Err(self.err(
                line,
                format!(
                    "{key:?} is not a variable name (letters, digits and _, not first a digit)"
                ),
            ));
        }
        let key = key.to_string();
        while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            self.bump();
        }
        let value = match self.peek() {
            Some('\'') => {
                self.bump();
                let v = self.single_quoted(line)?;
                self.after_quote(line)?;
                v
            }
            Some('"') => {
                self.bump();
                let v = self.double_quoted(line)?;
                self.after_quote(line)?;
                v
            }
            _ => self.unquoted(line)?,
        };
        match self.out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.out.push((key, value)),
        }
        Ok(())
    }

    fn single_quoted(&mut self, line: usize) -> Result<String, DotenvError> {
        let mut v = String::new();
        loop {
            match self.bump() {
                None => return Err(self.err(line, "unclosed single quote")),
                Some('\'') => return Ok(v),
                Some(c) => v.push(c),
            }
        }
    }

    fn double_quoted(&mut self, line: usize) -> Result<String, DotenvError> {
        let mut v = String::new();
        loop {
            match self.bump() {
                None => return Err(self.err(line, "unclosed double quote")),
                Some('"') => return Ok(v),
                Some('\\') => match self.bump() {
                    None => return Err(self.err(line, "unclosed double quote")),
                    Some('n') => v.push('\n'),
                    Some('t') => v.push('\t'),
                    Some('r') => v.push('\r'),
                    Some(c @ ('\\' | '"' | '$' | '\'')) => v.push(c),
                    Some(c) => {
                        v.push('\\');
                        v.push(c);
                    }
                },
                Some('$') => self.reference(line, &mut v)?,
                Some(c) => v.push(c),
            }
        }
    }

    /// After a closing quote only blanks and a comment may follow on the line.
    fn after_quote(&mut self, line: usize) -> Result<(), DotenvError> {
        while self
            .peek()
            .is_some_and(|c| c == ' ' || c == '\t' || c == '\r')
        {
            self.bump();
        }
        match self.peek() {
            None | Some('\n') => Ok(()),
            Some('#') => {
                self.skip_line();
                Ok(())
            }
            Some(c) => Err(self.err(
                line,
                format!("unexpected {c:?} after the closing quote (quote the whole value)"),
            )),
        }
    }

    fn unquoted(&mut self, line: usize) -> Result<String, DotenvError> {
        let mut v = String::new();
        let mut blank_before = true;
        loop {
            match self.peek() {
                None | Some('\n') => break,
                Some('#') if blank_before => {
                    self.skip_line();
                    return Ok(v.trim_end().to_string());
                }
                Some('$') => {
                    self.bump();
                    self.reference(line, &mut v)?;
                    blank_before = false;
                }
                Some(c) => {
                    self.bump();
                    v.push(c);
                    blank_before = c == ' ' || c == '\t';
                }
            }
        }
        Ok(v.trim_end().to_string())
    }

    /// After a `$`: `${NAME}`, `${NAME:-x}`, `${NAME-x}` or `$NAME`; anything else is a plain `$`.
    fn reference(&mut self, line: usize, v: &mut String) -> Result<(), DotenvError> {
        if self.peek() == Some('{') {
            self.bump();
            let mut inner = String::new();
            loop {
                match self.peek() {
                    None | Some('\n') => return Err(self.err(line, "unclosed ${ reference")),
                    Some('}') => {
                        self.bump();
                        break;
                    }
                    Some(c) => {
                        inner.push(c);
                        self.bump();
                    }
                }
            }
            let name_len = inner
                .char_indices()
                .find(|&(_, c)| !is_name(c))
                .map_or(inner.len(), |(i, _)| i);
            let (name, rest) = inner.split_at(name_len);
            if !name.starts_with(is_name_start) {
                return Err(self.err(line, format!("${{{inner}}} does not name a variable")));
            }
            let value = self.lookup(name);
            let text = if let Some(default) = rest.strip_prefix(":-") {
                value.filter(|s| !s.is_empty()).unwrap_or(default.into())
            } else if let Some(default) = rest.strip_prefix('-') {
                value.unwrap_or(default.into())
            } else if rest.is_empty() {
                value.unwrap_or_default()
            } else {
                return Err(self.err(
                    line,
                    format!(
                        "${{{inner}}}: expected ${{NAME}}, ${{NAME:-default}} or ${{NAME-default}}"
                    ),
                ));
            };
            v.push_str(&text);
        } else if self.peek().is_some_and(is_name_start) {
            let mut name = String::new();
            while let Some(c) = self.peek().filter(|c| is_name(*c)) {
                name.push(c);
                self.bump();
            }
            v.push_str(&self.lookup(&name).unwrap_or_default());
        } else {
            v.push('$');
        }
        Ok(())
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.out
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| (self.outer)(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(text: &str) -> Result<Vec<(String, String)>, DotenvError> {
        parse(text, &|n| (n == "HOME").then(|| "/home/ann".to_string()))
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_common_forms() {
        let text = "# a comment\n\nA=plain\nexport B = spaced out   # note\nC='single $HOME \\n'\n\
                    D=\"double ${A} $HOME \\\"q\\\" \\n\\t\\$x\"\nE=\nF=a#b\nG=\"x\" # trailing\nA=again\n";
        assert_eq!(
            env(text).unwrap(),
            pairs(&[
                ("A", "again"),
                ("B", "spaced out"),
                ("C", "single $HOME \\n"),
                ("D", "double plain /home/ann \"q\" \n\t$x"),
                ("E", ""),
                ("F", "a#b"),
                ("G", "x"),
            ])
        );
    }

    #[test]
    fn references_and_defaults() {
        let text = "U=${NOPE:-dflt}\nV=${NOPE-d2}\nE=\nW=${E:-empty}\nX=${E-set}\nY=$HOME/bin:${U}\nZ=$ 5 $1\n";
        assert_eq!(
            env(text).unwrap(),
            pairs(&[
                ("U", "dflt"),
                ("V", "d2"),
                ("E", ""),
                ("W", "empty"),
                ("X", ""),
                ("Y", "/home/ann/bin:dflt"),
                ("Z", "$ 5 $1"),
            ])
        );
    }

    #[test]
    fn multiline_quotes_and_crlf() {
        let text = "K=\"one\ntwo\"\r\nL='a\nb'\r\nM=x\r\n";
        assert_eq!(
            env(text).unwrap(),
            pairs(&[("K", "one\ntwo"), ("L", "a\nb"), ("M", "x")])
        );
    }

    #[test]
    fn bad_lines_name_their_line() {
        for (text, line, what) in [
            ("A=1\nnot a pair\n", 2, "is not KEY=value"),
            ("A=1\n\n1A=2\n", 3, "is not a variable name"),
            ("A=1\nB=\"open\n\nC=3\n", 2, "unclosed double quote"),
            ("B='open\n", 1, "unclosed single quote"),
            ("A=\"x\" y\n", 1, "after the closing quote"),
            ("A=${B\nC=1\n", 1, "unclosed ${"),
            ("A=${B:?x}\n", 1, "expected ${NAME}"),
            ("A=${}\n", 1, "does not name a variable"),
            ("export\n", 1, "is not KEY=value"),
        ] {
            let e = env(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e:?}");
            assert!(e.message.contains(what), "{text:?}: {e:?}");
        }
    }
}
