//! Differential tests against CPython itself: our INI reader vs `configparser.RawConfigParser(
//! inline_comment_prefixes=(';', '#'), strict=False)`, `split_command` vs `shlex.split`,
//! `parse_environment` vs supervisord 4.3.0's algorithm and `expand` vs `str % dict`.
//!
//! All inputs are drawn first from fixed-seed proptest strategies and handed to ONE python3 process,
//! which answers in JSON; spawning python per case would cost minutes. Plus fuzzing for panics.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use steward::config::expand::{expand, ExpandError, Var, Vars};
use steward::config::ini;
use steward::config::values;

/// Reads each case file the way supervisord reads a config: text mode (universal newlines), UTF-8.
const PY_INI: &str = r#"
import configparser, json, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    p = configparser.RawConfigParser(inline_comment_prefixes=(';', '#'), strict=False)
    try:
        with open('%s/%d.ini' % (d, i), encoding='utf-8') as f:
            p.read_file(f)
        out = {'ok': {'sections': [[s, list(o.items())] for s, o in p._sections.items()],
                      'defaults': list(p._defaults.items())}}
    except configparser.MissingSectionHeaderError as e:
        out = {'err': 'missing', 'lines': [e.lineno]}
    except configparser.ParsingError as e:
        out = {'err': 'parsing', 'lines': [l for l, _ in e.errors]}
    print(json.dumps(out))
"#;

/// shlex.split, supervisord 4.3.0's `dict_of_key_value_pairs` (re-stated from its description) and
/// `%` against a mapping, on a JSON list of strings.
const PY_STRINGS: &str = r#"
import json, shlex, sys
kind, path = sys.argv[1], sys.argv[2]
def env(arg):
    lexer = shlex.shlex(arg)
    lexer.wordchars += '/.+-():'
    tokens = list(lexer)
    out, i = {}, 0
    while i < len(tokens):
        group = tokens[i:i + 3]
        if len(group) != 3 or group[1] != '=':
            raise ValueError("Unexpected end of key/value pairs in value '%s'" % arg)
        out[group[0]] = group[2].strip('\'"')
        i += 4
    return list(out.items())
VARS = {'here': '/etc/sup', 'program_name': 'web', 'process_num': 3, 'numprocs': 12,
        'ENV_HOME': '/root', 'neg': -42, 'q': "it's", 'e': 'é'}
res = []
for s in json.load(open(path, encoding='utf-8')):
    try:
        if kind == 'split':
            res.append({'ok': shlex.split(s)})
        elif kind == 'env':
            res.append({'ok': env(s)})
        else:
            res.append({'ok': s % VARS})
    except KeyError as e:
        res.append({'key': e.args[0]})
    except Exception as e:
        res.append({'err': str(e), 'type': type(e).__name__})
print(json.dumps(res))
"#;

fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 must be installed for the differential tests");
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("python prints UTF-8 JSON")
}

/// Our result in the JSON shape the python script prints.
fn ours_as_json(text: &str) -> Value {
    let pairs = |es: &[ini::Entry]| -> Value {
        Value::Array(
            es.iter()
                .map(|e| serde_json::json!([e.key, e.value]))
                .collect(),
        )
    };
    match ini::parse(text) {
        Ok(parsed) => serde_json::json!({"ok": {
            "sections": parsed.sections.iter()
                .map(|s| serde_json::json!([s.name, pairs(&s.entries)]))
                .collect::<Vec<_>>(),
            "defaults": pairs(&parsed.defaults),
        }}),
        Err(errs) => {
            let kind = if errs
                .iter()
                .any(|e| e.message == ini::MSG_MISSING_SECTION_HEADER)
            {
                "missing"
            } else {
                "parsing"
            };
            serde_json::json!({"err": kind, "lines": errs.iter().map(|e| e.line).collect::<Vec<_>>()})
        }
    }
}

/// Run every text through both parsers; return the mismatches, described.
fn compare_ini(texts: &[String]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, t) in texts.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i}.ini")), t).expect("write case");
    }
    let dir_s = dir.path().to_str().expect("utf-8 temp path");
    let out = python(PY_INI, &[dir_s, &texts.len().to_string()]);
    let theirs: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("python JSON"))
        .collect();
    assert_eq!(theirs.len(), texts.len());
    let mut bad = Vec::new();
    for (t, py) in texts.iter().zip(theirs) {
        let ours = ours_as_json(t);
        if ours != py {
            bad.push(format!("input {t:?}\n  python: {py}\n  ours:   {ours}"));
        }
    }
    bad
}

/// `../shared/corpus/supervisord` beside the checkout; a git worktree sits one level deeper
/// (`wt/<name>`), so the nearest ancestor holding it is used.
fn corpus_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .skip(1)
        .map(|a| a.join("shared/corpus/supervisord"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| manifest.join("../shared/corpus/supervisord"))
}

#[test]
fn corpus_matches_configparser() {
    let mut names: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus lives in ../shared/corpus/supervisord")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            !matches!(
                p.file_name().and_then(|n| n.to_str()),
                Some("INDEX.md" | "KEYS.md")
            )
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 50,
        "corpus looks incomplete: {}",
        names.len()
    );
    let texts: Vec<String> = names
        .iter()
        .map(|p| String::from_utf8(std::fs::read(p).expect("read corpus file")).expect("UTF-8"))
        .collect();
    let bad = compare_ini(&texts);
    assert!(
        bad.is_empty(),
        "{} of {} differ:\n{}",
        bad.len(),
        texts.len(),
        bad.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Generated INI text.

fn ws() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "", "", "", " ", "  ", "\t", " \t", "\u{a0}", "\u{3000}", "\x0c",
    ])
    .prop_map(String::from)
}

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "x",
        "command",
        "echo",
        "Σ",
        "é",
        "ß",
        "日本",
        "🦀",
        "a;b",
        "x#y",
        "'q r'",
        "\"a ; b\"",
        "%(here)s",
        "[s]",
        "k=v",
        "a:b",
        "\\",
        "İ",
        "K",
        "\x0b",
        "\x1c",
        "\u{85}",
        "\u{2028}",
    ])
    .prop_map(String::from)
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec((word(), ws()), 0..4).prop_map(|v| {
        v.into_iter()
            .map(|(w, s)| format!("{w}{s}"))
            .collect::<String>()
    })
}

fn comment() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![" ;", ";", " #", "#", "\t;", "\t#", "  # ", "\u{a0};"]),
        text(),
    )
        .prop_map(|(p, t)| format!("{p}{t}"))
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "command",
        "Command",
        "COMMAND",
        "a",
        "A",
        "b",
        "x y",
        "ké",
        "ΣΑΣ",
        "autostart",
        "k-1",
        "İx",
        "a[b]",
        "[x",
        "'",
        "K",
    ])
    .prop_map(String::from)
}

fn section_line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "[program:a]",
            "[program:b]",
            "[DEFAULT]",
            "[default]",
            "[Program:a]",
            "[a] x",
            "[a]]",
            "[]",
            "[]]",
            "[ x ]",
            "[",
            "x]",
            "[a;b]",
            "[a ;c]",
            "[a #c]",
            "[a]#c",
            "[[a]",
            "[a=b]",
            "[a:b]",
            "[é]",
            "[program:a] ; comment",
        ])
        .prop_map(String::from),
        (
            ws(),
            prop::sample::select(vec!["[program:a]", "[DEFAULT]", "[s]"])
        )
            .prop_map(|(w, s)| format!("{w}{s}")),
    ]
}

fn option_line() -> impl Strategy<Value = String> {
    (
        ws(),
        key(),
        ws(),
        prop::sample::select(vec!["=", ":", "=", " = ", ": ", "==", "=:", ":="]),
        ws(),
        text(),
        prop::option::of(comment()),
    )
        .prop_map(|(i, k, w1, d, w2, v, c)| {
            format!("{i}{k}{w1}{d}{w2}{v}{}", c.unwrap_or_default())
        })
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => section_line(),
        8 => option_line(),
        3 => comment().prop_map(|c| c.trim_start_matches([' ', '\t']).to_string()),
        2 => (ws(), comment()).prop_map(|(w, c)| format!("{w}{c}")),
        4 => ws(),
        5 => (prop::sample::select(vec![" ", "  ", "\t", "    ", " \t "]), text(), prop::option::of(comment()))
            .prop_map(|(i, t, c)| format!("{i}{t}{}", c.unwrap_or_default())),
        1 => text(),
        1 => (prop::sample::select(vec!["=", ":", " = x", ": y"]), text()).prop_map(|(d, t)| format!("{d}{t}")),
    ]
}

fn ini_file() -> impl Strategy<Value = String> {
    (
        prop::bool::weighted(0.85),
        section_line(),
        prop::collection::vec(
            (
                line(),
                prop::sample::select(vec!["\n", "\n", "\n", "\n", "\r\n", "\r"]),
            ),
            0..25,
        ),
        prop::bool::ANY,
    )
        .prop_map(|(header_first, first, lines, final_nl)| {
            let mut s = String::new();
            if header_first {
                s.push_str(&first);
                s.push('\n');
            }
            for (l, end) in lines {
                s.push_str(&l);
                s.push_str(end);
            }
            if !final_nl {
                while s.ends_with(['\n', '\r']) {
                    s.pop();
                }
            }
            s
        })
}

fn draw<S: Strategy>(strategy: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("strategy draws a value")
                .current()
        })
        .collect()
}

#[test]
fn generated_ini_matches_configparser() {
    let texts = draw(ini_file(), 4000);
    let bad = compare_ini(&texts);
    // Guard against a generator that only ever produces errors or only successes.
    let oks = texts.iter().filter(|t| ini::parse(t).is_ok()).count();
    assert!(
        oks > 800 && oks < 3600,
        "unbalanced generator: {oks} of 4000 parse"
    );
    assert!(
        bad.is_empty(),
        "{} of {} differ, first ones:\n{}",
        bad.len(),
        texts.len(),
        bad.iter().take(5).cloned().collect::<Vec<_>>().join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Strings: shlex.split, environment=, % expansion.

fn python_strings(kind: &str, inputs: &[String]) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("in.json");
    std::fs::write(&path, serde_json::to_string(inputs).expect("json")).expect("write");
    let out = python(PY_STRINGS, &[kind, path.to_str().expect("utf-8 temp path")]);
    let v: Vec<Value> = serde_json::from_str(&out).expect("python JSON");
    assert_eq!(v.len(), inputs.len());
    v
}

fn chars_from(alphabet: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(alphabet), 0..max).prop_map(|v| v.concat())
}

#[test]
fn split_command_matches_shlex_split() {
    const ALPHA: &[&str] = &[
        "a", "b", "c", " ", " ", "\t", "\n", "\r", "'", "\"", "\\", "#", "é", "\x0c", "\x0b", "=",
        ";", "$", "\u{a0}", "*",
    ];
    let inputs = draw(chars_from(ALPHA, 24), 3000);
    let theirs = python_strings("split", &inputs);
    let mut bad = Vec::new();
    for (s, py) in inputs.iter().zip(theirs) {
        let ours = match values::split_command(s) {
            Ok(v) => serde_json::json!({ "ok": v }),
            Err(e) => serde_json::json!({"err": e, "type": "ValueError"}),
        };
        if ours != py {
            bad.push(format!("{s:?}: python {py}, ours {ours}"));
        }
    }
    assert!(bad.is_empty(), "{} differ:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn parse_environment_matches_supervisord_430() {
    const ALPHA: &[&str] = &[
        "A", "B", "x", "1", "_", "=", "=", ",", ", ", " ", "\"", "'", "#", "\n", "/", ".", ":",
        "(", ")", "$", "@", "é", "\\", "-", "+", "\t", ";",
    ];
    let structured = prop::collection::vec(
        (
            prop::sample::select(vec!["A", "B", "PATH", "x_1", "'K'", "A.B", "a-b"]),
            prop::sample::select(vec!["=", "=", " = ", ":"]),
            prop::sample::select(vec![
                "v",
                "\"x,y\"",
                "'q r'",
                "\"\"",
                "/usr/bin:/bin",
                "$HOME",
                "a=b",
                "hello world",
                "u@h",
                "\"unterminated",
                "'a\"",
                "1.5",
                "(x)",
                "#c",
                "é",
                "\"a\\\"b\"",
            ]),
        ),
        0..4,
    )
    .prop_flat_map(|pairs| {
        let n = pairs.len();
        (
            Just(pairs),
            prop::collection::vec(prop::sample::select(vec![",", ", ", " ", ";", ",,", ""]), n),
        )
    })
    .prop_map(|(pairs, seps)| {
        pairs
            .iter()
            .zip(seps)
            .map(|((k, eq, v), sep)| format!("{k}{eq}{v}{sep}"))
            .collect::<String>()
    });
    let mut inputs = draw(chars_from(ALPHA, 20), 2000);
    inputs.extend(draw(structured, 2000));
    let theirs = python_strings("env", &inputs);
    let mut bad = Vec::new();
    let mut accepted = 0;
    for (s, py) in inputs.iter().zip(theirs) {
        let ours = match values::parse_environment(s) {
            Ok(v) => {
                accepted += 1;
                serde_json::json!({ "ok": v })
            }
            Err(e) => serde_json::json!({"err": e, "type": "ValueError"}),
        };
        if ours != py {
            bad.push(format!("{s:?}: python {py}, ours {ours}"));
        }
    }
    assert!(accepted > 500, "generator too hostile: {accepted} accepted");
    assert!(bad.is_empty(), "{} differ:\n{}", bad.len(), bad.join("\n"));
}

fn vars() -> Vars {
    let mut v = BTreeMap::new();
    for (k, s) in [
        ("here", "/etc/sup"),
        ("program_name", "web"),
        ("ENV_HOME", "/root"),
        ("q", "it's"),
        ("e", "é"),
    ] {
        v.insert(k.to_string(), Var::Str(s.to_string()));
    }
    for (k, n) in [("process_num", 3), ("numprocs", 12), ("neg", -42)] {
        v.insert(k.to_string(), Var::Int(n));
    }
    v
}

#[test]
fn expand_matches_python_percent_format() {
    const PIECES: &[&str] = &[
        "x",
        " ",
        "/",
        "%",
        "%",
        "%%",
        "(",
        ")",
        "%(here)",
        "%(process_num)",
        "%(neg)",
        "%(q)",
        "%(e)",
        "%(nope)",
        "%(ENV_X)",
        "%(",
        "s",
        "d",
        "r",
        "x",
        "X",
        "o",
        "c",
        "f",
        "i",
        "u",
        "U",
        "z",
        "-",
        "+",
        "#",
        "0",
        "05",
        "2",
        ".",
        ".3",
        "l",
        "*",
        "é",
    ];
    let inputs = draw(chars_from(PIECES, 10), 4000);
    let theirs = python_strings("expand", &inputs);
    let vars = vars();
    let (mut bad, mut skipped, mut oks) = (Vec::new(), 0, 0);
    for (s, py) in inputs.iter().zip(theirs) {
        let ours = expand(s, &vars);
        let same = match (&ours, py.get("ok"), py.get("key"), py.get("err")) {
            (Ok(o), Some(p), _, _) => {
                oks += 1;
                p == o
            }
            (Err(ExpandError::UnknownNames(names)), _, Some(k), _) => {
                names.first().map(|n| n.as_str()) == k.as_str()
            }
            (Err(ExpandError::BadFormat(m)), _, _, Some(p)) if p == m => true,
            // Our deliberate differences (module docs of expand.rs): bare %s, %e/%g.
            (Err(ExpandError::BadFormat(m)), _, _, _)
                if m.starts_with("format requires a mapping key") || m.contains("exponent") =>
            {
                skipped += 1;
                true
            }
            _ => false,
        };
        if !same {
            bad.push(format!("{s:?}: python {py}, ours {ours:?}"));
        }
    }
    assert!(
        oks > 300 && skipped < 3000,
        "generator balance: {oks} ok, {skipped} skipped"
    );
    assert!(bad.is_empty(), "{} differ:\n{}", bad.len(), bad.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Fuzz: nothing panics on arbitrary input.

proptest! {
    #![proptest_config(Config { cases: 1500, ..Config::default() })]

    #[test]
    fn nothing_panics(bytes in prop::collection::vec(any::<u8>(), 0..160)) {
        let s = String::from_utf8_lossy(&bytes);
        let _ = ini::parse(&s);
        let _ = expand(&s, &vars());
        let _ = values::split_command(&s);
        let _ = values::parse_environment(&s);
        let _ = values::parse_bool(&s);
        let _ = values::parse_int(&s);
        let _ = values::parse_byte_size(&s);
        let _ = values::parse_octal(&s);
        let _ = values::parse_signal(&s);
        let _ = values::parse_exitcodes(&s);
        let _ = values::parse_autorestart(&s);
        let _ = values::parse_loglevel(&s);
        if let Some(&b) = bytes.first() {
            let _ = values::signal_name(i32::from(b) - 64);
        }
    }

    #[test]
    fn nothing_panics_on_format_like_text(s in "[%()0-9a-z.# +*\\-é]{0,40}") {
        let _ = expand(&s, &vars());
        let _ = ini::parse(&s);
    }
}
