//! XML-RPC values and their wire form.
//!
//! In-house rather than `dxr`: supervisorctl and scripts compare bytes with what Python's
//! `xmlrpc.client.dumps` produces (one element per line, `'` in the XML declaration, only `&<>`
//! escaped, Python's float repr, base64 in 76-column lines), and the server must accept every form
//! Python accepts (untyped values, omitted `<params>`, CDATA, character references) while turning
//! anything else into a clean error. A small tokenizer does both with full control over the bytes.

use std::fmt::Write as _;

use base64::Engine as _;

/// One XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Bool(bool),
    String(String),
    Double(f64),
    /// The ISO 8601 text as sent (`20261122T17:03:49`); nothing in supervisord's API uses dates.
    DateTime(String),
    Base64(Vec<u8>),
    Array(Vec<Value>),
    /// Members in wire order (supervisorctl displays and tests compare in that order).
    Struct(Vec<(String, Value)>),
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A struct from `(name, value)` pairs, order kept.
    pub fn structure<I, K>(members: I) -> Value
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Value::Struct(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// A struct member by name (first match).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Struct(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// An XML-RPC fault: `faultCode` and `faultString`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: i32,
    pub string: String,
}

impl Fault {
    pub fn new(code: i32, string: impl Into<String>) -> Fault {
        Fault {
            code,
            string: string.into(),
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<Fault {}: '{}'>", self.code, self.string)
    }
}

/// A decoded `<methodCall>`.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    pub name: String,
    pub params: Vec<Value>,
}

/// Why a document could not be decoded (the server answers 400; the client reports it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

// ---------------------------------------------------------------------------------------------
// Encoding (byte-exact with Python's xmlrpc.client.dumps)

const XML_HEADER: &str = "<?xml version='1.0'?>\n";

/// Python's `xml.sax.saxutils.escape` as used by xmlrpc.client: `&`, `<`, `>` only.
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// Python's `repr(float)`: shortest round-trip digits, positional for 1e-4 <= |x| < 1e16.
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` gives the same shortest round-trip digits Python uses, as d.ddde<exp>.
    let sci = format!("{:e}", x);
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        if point <= 0 {
            out.push_str("0.");
            for _ in 0..(-point) {
                out.push('0');
            }
            out.push_str(&digits);
        } else {
            let point = point as usize;
            if digits.len() <= point {
                out.push_str(&digits);
                for _ in digits.len()..point {
                    out.push('0');
                }
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    out
}

/// Append one value in Python's layout (each value ends with `\n`).
pub fn encode_value(v: &Value, out: &mut String) {
    match v {
        Value::Int(i) => {
            let _ = writeln!(out, "<value><int>{i}</int></value>");
        }
        Value::Bool(b) => {
            let _ = writeln!(out, "<value><boolean>{}</boolean></value>", u8::from(*b));
        }
        Value::String(s) => {
            out.push_str("<value><string>");
            escape(s, out);
            out.push_str("</string></value>\n");
        }
        Value::Double(d) => {
            let _ = writeln!(
                out,
                "<value><double>{}</double></value>",
                python_float_repr(*d)
            );
        }
        Value::DateTime(s) => {
            out.push_str("<value><dateTime.iso8601>");
            escape(s, out);
            out.push_str("</dateTime.iso8601></value>\n");
        }
        Value::Base64(b) => {
            // base64.encodebytes: 76-character lines, each ending with a newline.
            out.push_str("<value><base64>\n");
            let enc = base64::engine::general_purpose::STANDARD.encode(b);
            for chunk in enc.as_bytes().chunks(76) {
                out.push_str(std::str::from_utf8(chunk).unwrap_or(""));
                out.push('\n');
            }
            out.push_str("</base64></value>\n");
        }
        Value::Array(items) => {
            out.push_str("<value><array><data>\n");
            for i in items {
                encode_value(i, out);
            }
            out.push_str("</data></array></value>\n");
        }
        Value::Struct(members) => {
            out.push_str("<value><struct>\n");
            for (k, v) in members {
                out.push_str("<member>\n<name>");
                escape(k, out);
                out.push_str("</name>\n");
                encode_value(v, out);
                out.push_str("</member>\n");
            }
            out.push_str("</struct></value>\n");
        }
    }
}

/// `xmlrpc.client.dumps(params, methodname)`.
pub fn encode_call(method: &str, params: &[Value]) -> String {
    let mut out = String::from(XML_HEADER);
    out.push_str("<methodCall>\n<methodName>");
    escape(method, &mut out);
    out.push_str("</methodName>\n<params>\n");
    for p in params {
        out.push_str("<param>\n");
        encode_value(p, &mut out);
        out.push_str("</param>\n");
    }
    out.push_str("</params>\n</methodCall>\n");
    out
}

/// `xmlrpc.client.dumps((value,), methodresponse=True)`.
pub fn encode_response(v: &Value) -> String {
    let mut out = String::from(XML_HEADER);
    out.push_str("<methodResponse>\n<params>\n<param>\n");
    encode_value(v, &mut out);
    out.push_str("</param>\n</params>\n</methodResponse>\n");
    out
}

/// `xmlrpc.client.dumps(Fault(code, string))`.
pub fn encode_fault(f: &Fault) -> String {
    let mut out = String::from(XML_HEADER);
    out.push_str("<methodResponse>\n<fault>\n");
    encode_value(&fault_struct(f), &mut out);
    out.push_str("</fault>\n</methodResponse>\n");
    out
}

/// The `{faultCode, faultString}` struct (also what multicall puts in its result array).
pub fn fault_struct(f: &Fault) -> Value {
    Value::structure([
        ("faultCode", Value::Int(f.code.into())),
        ("faultString", Value::String(f.string.clone())),
    ])
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Nesting deeper than this is refused rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open(String),
    Close(String),
    Text(String),
}

/// A minimal XML tokenizer: elements (attributes skipped), text with entity and character
/// references, CDATA; the declaration, processing instructions and comments are dropped. DOCTYPE
/// is refused so no entity definitions can ever be expanded.
fn tokenize(input: &[u8]) -> Result<Vec<Token>, DecodeError> {
    let text = std::str::from_utf8(input).map_err(|_| err("body is not valid UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut toks = Vec::new();
    let mut rest = text;
    let mut pending = String::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").ok_or_else(|| err("unterminated CDATA"))?;
            pending.push_str(&after[..end]);
            rest = &after[end + 3..];
        } else if let Some(after) = rest.strip_prefix("<!--") {
            let end = after
                .find("-->")
                .ok_or_else(|| err("unterminated comment"))?;
            rest = &after[end + 3..];
        } else if rest.starts_with("<!") {
            return Err(err("DOCTYPE and declarations are not accepted"));
        } else if let Some(after) = rest.strip_prefix("<?") {
            let end = after
                .find("?>")
                .ok_or_else(|| err("unterminated processing instruction"))?;
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = after.find('>').ok_or_else(|| err("unterminated tag"))?;
            let inner = &after[..end];
            rest = &after[end + 1..];
            if !pending.is_empty() {
                toks.push(Token::Text(std::mem::take(&mut pending)));
            }
            if let Some(name) = inner.strip_prefix('/') {
                let name = name.trim_end();
                check_name(name)?;
                toks.push(Token::Close(name.to_string()));
            } else {
                let (body, self_closing) = match inner.strip_suffix('/') {
                    Some(b) => (b, true),
                    None => (inner, false),
                };
                let name_end = body
                    .find(|c: char| c.is_ascii_whitespace())
                    .unwrap_or(body.len());
                let name = &body[..name_end];
                check_name(name)?;
                check_attributes(&body[name_end..])?;
                toks.push(Token::Open(name.to_string()));
                if self_closing {
                    toks.push(Token::Close(name.to_string()));
                }
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            unescape(&rest[..end], &mut pending)?;
            rest = &rest[end..];
        }
    }
    if !pending.is_empty() {
        toks.push(Token::Text(pending));
    }
    Ok(toks)
}

fn err(msg: &str) -> DecodeError {
    DecodeError(msg.to_string())
}

fn check_name(name: &str) -> Result<(), DecodeError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(err("bad element name"))
    }
}

/// Attributes are irrelevant to XML-RPC but must be well formed: `name="v"` or `name='v'` pairs.
fn check_attributes(mut s: &str) -> Result<(), DecodeError> {
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return Ok(());
        }
        let eq = s.find('=').ok_or_else(|| err("bad attribute"))?;
        check_name(s[..eq].trim_end())?;
        s = s[eq + 1..].trim_start();
        let q = s.chars().next().ok_or_else(|| err("bad attribute"))?;
        if q != '"' && q != '\'' {
            return Err(err("bad attribute"));
        }
        let close = s[1..].find(q).ok_or_else(|| err("bad attribute"))?;
        if s[1..1 + close].contains('<') {
            return Err(err("bad attribute"));
        }
        s = &s[close + 2..];
    }
}

fn unescape(s: &str, out: &mut String) -> Result<(), DecodeError> {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after.find(';').ok_or_else(|| err("bad entity"))?;
        let ent = &after[..semi];
        match ent {
            "amp" => out.push('&'),
            "lt" => out.push('<'),
            "gt" => out.push('>'),
            "quot" => out.push('"'),
            "apos" => out.push('\''),
            _ => {
                let code = if let Some(hex) = ent.strip_prefix("#x") {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = ent.strip_prefix('#') {
                    dec.parse::<u32>().ok()
                } else {
                    None
                };
                let c = code
                    .and_then(char::from_u32)
                    .filter(|c| *c != '\0')
                    .ok_or_else(|| err("bad entity"))?;
                out.push(c);
            }
        }
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(())
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn new(input: &[u8]) -> Result<Parser, DecodeError> {
        Ok(Parser {
            toks: tokenize(input)?,
            pos: 0,
        })
    }

    /// Skip whitespace-only text between elements.
    fn skip_ws(&mut self) {
        while let Some(Token::Text(t)) = self.toks.get(self.pos) {
            if t.chars().all(|c| c.is_ascii_whitespace()) {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&mut self) -> Option<&Token> {
        self.skip_ws();
        self.toks.get(self.pos)
    }

    fn open(&mut self, name: &str) -> Result<(), DecodeError> {
        match self.peek() {
            Some(Token::Open(n)) if n == name => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(DecodeError(format!("expected <{name}>"))),
        }
    }

    fn close(&mut self, name: &str) -> Result<(), DecodeError> {
        match self.peek() {
            Some(Token::Close(n)) if n == name => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(DecodeError(format!("expected </{name}>"))),
        }
    }

    fn at_open(&mut self, name: &str) -> bool {
        matches!(self.peek(), Some(Token::Open(n)) if n == name)
    }

    /// Text content up to `</name>` (empty when none), whitespace kept.
    fn text_until_close(&mut self, name: &str) -> Result<String, DecodeError> {
        let text = match self.toks.get(self.pos) {
            Some(Token::Text(t)) => {
                let t = t.clone();
                self.pos += 1;
                t
            }
            _ => String::new(),
        };
        match self.toks.get(self.pos) {
            Some(Token::Close(n)) if n == name => {
                self.pos += 1;
                Ok(text)
            }
            _ => Err(DecodeError(format!("expected text and </{name}>"))),
        }
    }

    fn end(&mut self) -> Result<(), DecodeError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(err("trailing content after the document")),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(err("values nested too deeply"));
        }
        self.open("value")?;
        // Untyped: `<value>text</value>` or `<value></value>` is a string, whitespace kept.
        match self.toks.get(self.pos) {
            Some(Token::Close(n)) if n == "value" => {
                self.pos += 1;
                return Ok(Value::String(String::new()));
            }
            Some(Token::Text(t)) => {
                if let Some(Token::Close(n)) = self.toks.get(self.pos + 1) {
                    if n == "value" {
                        let t = t.clone();
                        self.pos += 2;
                        return Ok(Value::String(t));
                    }
                }
            }
            _ => {}
        }
        let tag = match self.peek() {
            Some(Token::Open(t)) => t.clone(),
            _ => return Err(err("expected a typed value")),
        };
        self.pos += 1;
        let v = match tag.as_str() {
            "int" | "i4" => {
                let t = self.text_until_close(&tag)?;
                Value::Int(parse_python_int(&t).ok_or_else(|| err("bad int"))?)
            }
            // supervisord reads any text other than "1" as false.
            "boolean" => Value::Bool(self.text_until_close(&tag)? == "1"),
            "string" => Value::String(self.text_until_close(&tag)?),
            "double" => {
                let t = self.text_until_close(&tag)?;
                Value::Double(parse_python_float(&t).ok_or_else(|| err("bad double"))?)
            }
            "dateTime.iso8601" => Value::DateTime(self.text_until_close(&tag)?),
            "base64" => {
                let t = self.text_until_close(&tag)?;
                let compact: String = t.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                Value::Base64(
                    base64::engine::general_purpose::STANDARD
                        .decode(compact.as_bytes())
                        .map_err(|_| err("bad base64"))?,
                )
            }
            "array" => {
                self.open("data")?;
                let mut items = Vec::new();
                while self.at_open("value") {
                    items.push(self.value(depth + 1)?);
                }
                self.close("data")?;
                self.close("array")?;
                Value::Array(items)
            }
            "struct" => {
                let mut members = Vec::new();
                while self.at_open("member") {
                    self.pos += 1;
                    self.open("name")?;
                    let name = self.text_until_close("name")?;
                    let v = self.value(depth + 1)?;
                    self.close("member")?;
                    members.push((name, v));
                }
                self.close("struct")?;
                Value::Struct(members)
            }
            // supervisord's parser has no `i8`, `nil` or other types: such a value is the
            // element's text, as a string.
            _ => Value::String(self.text_until_close(&tag)?),
        };
        self.close("value")?;
        Ok(v)
    }

    fn params(&mut self) -> Result<Vec<Value>, DecodeError> {
        let mut params = Vec::new();
        if !self.at_open("params") {
            return Ok(params);
        }
        self.open("params")?;
        while self.at_open("param") {
            self.pos += 1;
            params.push(self.value(0)?);
            self.close("param")?;
        }
        self.close("params")?;
        Ok(params)
    }
}

/// Python's `int(text)`: surrounding whitespace, a sign, digits with single underscores between.
fn parse_python_int(t: &str) -> Option<i64> {
    let t = t.trim();
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let v: i64 = clean.parse().ok()?;
    Some(if neg { -v } else { v })
}

fn parse_python_float(t: &str) -> Option<f64> {
    let t = t.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if matches!(body, "inf" | "infinity" | "nan") {
        return lower.parse().ok();
    }
    if t.is_empty()
        || !t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    t.parse().ok()
}

/// Decode a `<methodCall>`. Method name text is kept as sent (validated by the dispatcher).
pub fn decode_call(input: &[u8]) -> Result<MethodCall, DecodeError> {
    let mut p = Parser::new(input)?;
    p.open("methodCall")?;
    p.open("methodName")?;
    let name = p.text_until_close("methodName")?;
    if name.is_empty() {
        return Err(err("no method name"));
    }
    let params = p.params()?;
    p.close("methodCall")?;
    p.end()?;
    Ok(MethodCall { name, params })
}

/// Decode a `<methodResponse>`: the single returned value, or the fault.
pub fn decode_response(input: &[u8]) -> Result<Result<Value, Fault>, DecodeError> {
    let mut p = Parser::new(input)?;
    p.open("methodResponse")?;
    let out = if p.at_open("fault") {
        p.pos += 1;
        let v = p.value(0)?;
        p.close("fault")?;
        let code = v
            .get("faultCode")
            .and_then(Value::as_int)
            .ok_or_else(|| err("fault without faultCode"))?;
        let string = v
            .get("faultString")
            .and_then(Value::as_str)
            .ok_or_else(|| err("fault without faultString"))?;
        Err(Fault::new(
            i32::try_from(code).unwrap_or(i32::MAX),
            string.to_string(),
        ))
    } else {
        let mut params = p.params()?;
        if params.len() != 1 {
            return Err(err("a response carries exactly one value"));
        }
        Ok(params.remove(0))
    };
    p.close("methodResponse")?;
    p.end()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        for (x, s) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123456789.125, "123456789.125"),
            (1.2345e100, "1.2345e+100"),
            (0.0, "0.0"),
        ] {
            assert_eq!(python_float_repr(x), s, "{x}");
        }
    }

    #[test]
    fn call_round_trip_and_layout() {
        let body = encode_call("supervisor.startProcess", &[Value::str("worker")]);
        assert_eq!(
            body,
            "<?xml version='1.0'?>\n<methodCall>\n<methodName>supervisor.startProcess</methodName>\n\
             <params>\n<param>\n<value><string>worker</string></value>\n</param>\n</params>\n</methodCall>\n"
        );
        assert_eq!(body.len(), 173);
        let c = decode_call(body.as_bytes()).unwrap();
        assert_eq!(c.name, "supervisor.startProcess");
        assert_eq!(c.params, vec![Value::str("worker")]);
    }

    #[test]
    fn decodes_every_accepted_form() {
        let doc = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><!-- hi --><methodCall>\
            <methodName>x.y</methodName><params>\
            <param><value><i4> 42 </i4></value></param>\
            <param><value><int>-1_000</int></value></param>\
            <param><value><boolean>1</boolean></value></param>\
            <param><value>  untyped &amp; kept  </value></param>\
            <param><value/></param>\
            <param><value><string/></value></param>\
            <param><value><double>2.5</double></value></param>\
            <param><value><dateTime.iso8601>20261122T17:03:49</dateTime.iso8601></value></param>\
            <param><value><base64>aGVs\nbG8=</base64></value></param>\
            <param><value><string><![CDATA[<raw>]]>&#65;&#x42;</string></value></param>\
            <param><value><array><data><value><int>1</int></value></data></array></value></param>\
            <param><value><struct><member><name>k</name><value>v</value></member></struct></value></param>\
            </params></methodCall>";
        let c = decode_call(doc).unwrap();
        assert_eq!(
            c.params,
            vec![
                Value::Int(42),
                Value::Int(-1000),
                Value::Bool(true),
                Value::str("  untyped & kept  "),
                Value::str(""),
                Value::str(""),
                Value::Double(2.5),
                Value::DateTime("20261122T17:03:49".into()),
                Value::Base64(b"hello".to_vec()),
                Value::str("<raw>AB"),
                Value::Array(vec![Value::Int(1)]),
                Value::structure([("k", Value::str("v"))]),
            ]
        );
        let c = decode_call(b"<methodCall><methodName>a.b</methodName></methodCall>").unwrap();
        assert!(c.params.is_empty());
    }

    #[test]
    fn refuses_what_python_refuses() {
        for bad in [
            &b""[..],
            b"<methodCall>",
            b"<methodCall><methodName></methodName></methodCall>",
            b"<methodCall><methodName>a</methodName><params><param><value><double>x</double></value></param></params></methodCall>",
            b"<methodCall><methodName>a</methodName><params><param><value><int>x</int></value></param></params></methodCall>",
            b"<!DOCTYPE x [<!ENTITY a \"b\">]><methodCall><methodName>a</methodName></methodCall>",
            b"<methodCall><methodName>a&bogus;</methodName></methodCall>",
            b"<methodCall><methodName>a</methodName></methodCall><extra/>",
            b"\xff\xfe",
        ] {
            assert!(decode_call(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        let deep = format!(
            "<methodCall><methodName>a</methodName><params><param>{}{}</param></params></methodCall>",
            "<value><array><data>".repeat(200),
            "</data></array></value>".repeat(200)
        );
        assert!(decode_call(deep.as_bytes()).is_err());
    }

    #[test]
    fn lenient_where_supervisord_is() {
        let doc = b"<methodCall><methodName>a</methodName><params>\
            <param><value><i8>1</i8></value></param>\
            <param><value><nil/></value></param>\
            <param><value><boolean>2</boolean></value></param>\
            </params></methodCall>";
        let c = decode_call(doc).unwrap();
        assert_eq!(
            c.params,
            vec![Value::str("1"), Value::str(""), Value::Bool(false)]
        );
    }

    #[test]
    fn fault_layout() {
        let f = Fault::new(10, "BAD_NAME: nosuch");
        let s = encode_fault(&f);
        assert_eq!(s.len(), 272);
        assert_eq!(decode_response(s.as_bytes()).unwrap(), Err(f));
    }

    #[test]
    fn base64_lines() {
        let mut s = String::new();
        encode_value(&Value::Base64(vec![0u8; 60]), &mut s);
        assert_eq!(
            s,
            format!(
                "<value><base64>\n{}\n{}\n</base64></value>\n",
                "A".repeat(76),
                "A".repeat(4)
            )
        );
    }

    proptest::proptest! {
        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = decode_call(&bytes);
            let _ = decode_response(&bytes);
        }

        #[test]
        fn decoder_never_panics_on_xmlish(s in "(<|>|/|value|array|data|struct|member|name|methodCall|methodName|params|param|int|string|&|;|#|x|1|\\[|!|\\?| )*") {
            let _ = decode_call(s.as_bytes());
            let _ = decode_response(s.as_bytes());
        }

        #[test]
        fn strings_round_trip(s in "\\PC*") {
            let body = encode_response(&Value::String(s.clone()));
            let back = decode_response(body.as_bytes()).unwrap().unwrap();
            proptest::prop_assert_eq!(back, Value::String(s));
        }
    }
}
