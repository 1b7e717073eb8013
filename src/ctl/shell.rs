//! The interactive `steward ctl` shell on a terminal: line editing, history in `history_file` (plain
//! lines, as GNU readline writes them for supervisorctl) and TAB completion of commands and of the
//! process and group names the server reports.

use std::path::Path;

use rustyline::completion::{Completer, Pair};
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::{History, MemHistory, SearchDirection};
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use tokio::runtime::Runtime;

use super::Ctl;
use crate::cli::CTL_COMMANDS;
use crate::control::client::Client;
use crate::control::xmlrpc::Value;

/// Lines of history kept (readline keeps all; a bound keeps the file from growing forever).
const HISTORY_SIZE: usize = 1000;

/// Commands whose arguments are process names (`name`, `group:*`, `group:name`, `all`).
const PROCESS_ARGS: &[&str] = &[
    "start", "stop", "restart", "status", "clear", "tail", "fg", "pid", "signal",
];
/// Commands whose arguments are group names.
const GROUP_ARGS: &[&str] = &["add", "remove", "update"];

struct Completion<'a> {
    rt: &'a Runtime,
    client: Option<Client>,
}

impl Completion<'_> {
    /// The names to offer after `cmd`, fresh from the server (nothing when it does not answer).
    fn names(&self, cmd: &str) -> Vec<String> {
        let Some(client) = &self.client else {
            return Vec::new();
        };
        let Ok(info) = self
            .rt
            .block_on(client.call("supervisor.getAllProcessInfo", &[]))
        else {
            return Vec::new();
        };
        let mut names = Vec::new();
        for p in info.as_array().unwrap_or(&[]) {
            let field = |k| p.get(k).and_then(Value::as_str).unwrap_or_default();
            let (group, name) = (field("group"), field("name"));
            let group_star = format!("{group}:*");
            if GROUP_ARGS.contains(&cmd) {
                names.push(group.to_string());
            } else if group == name {
                names.push(name.to_string());
            } else {
                names.push(group_star);
                names.push(format!("{group}:{name}"));
            }
        }
        if !GROUP_ARGS.contains(&cmd) && cmd != "fg" && cmd != "tail" {
            names.push("all".into());
        }
        names.sort();
        names.dedup();
        names
    }
}

impl Completer for Completion<'_> {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .rfind(char::is_whitespace)
            .map(|i| i + 1)
            .unwrap_or(0);
        let word = &before[start..];
        let earlier: Vec<&str> = before[..start].split_whitespace().collect();
        let options: Vec<String> = match earlier.first() {
            None => CTL_COMMANDS.iter().map(|c| c.to_string()).collect(),
            Some(&"help") if earlier.len() == 1 => {
                CTL_COMMANDS.iter().map(|c| c.to_string()).collect()
            }
            // `signal SIG name…`: the signal first, then process names.
            Some(&"signal") if earlier.len() == 1 => crate::config::values::signal_names()
                .map(|n| {
                    if word.starts_with(|c: char| c.is_ascii_lowercase()) {
                        n.to_ascii_lowercase()
                    } else {
                        n.to_string()
                    }
                })
                .collect(),
            Some(cmd) if PROCESS_ARGS.contains(cmd) || GROUP_ARGS.contains(cmd) => self.names(cmd),
            Some(_) => Vec::new(),
        };
        let pairs = options
            .into_iter()
            .filter(|o| o.starts_with(word))
            .map(|o| Pair {
                replacement: format!("{o} "),
                display: o,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for Completion<'_> {
    type Hint = String;
}
impl Highlighter for Completion<'_> {}
impl Validator for Completion<'_> {}
impl Helper for Completion<'_> {}

/// Read commands until `quit`, `exit`, end of input or Ctrl-C, as supervisorctl's shell does.
pub fn run(rt: &Runtime, ctl: &mut Ctl) {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .max_history_size(HISTORY_SIZE)
        .map(|b| b.build())
        .unwrap_or_default();
    let mut editor: Editor<Completion<'_>, MemHistory> =
        match Editor::with_history(config, MemHistory::new()) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("Error: cannot use the terminal: {e}");
                return;
            }
        };
    editor.set_helper(Some(Completion {
        rt,
        client: ctl.client.clone(),
    }));
    let history = ctl.opts.history_file.clone();
    if let Some(h) = &history {
        load(&mut editor, h);
    }
    let prompt = format!("{}> ", ctl.opts.prompt);
    loop {
        match editor.readline(&prompt) {
            Ok(line) => {
                let line = line.trim();
                if !line.is_empty() {
                    let _ = editor.add_history_entry(line);
                }
                if matches!(line, "quit" | "exit" | "EOF") {
                    break;
                }
                rt.block_on(ctl.onecmd(line));
            }
            Err(ReadlineError::Eof) | Err(ReadlineError::Interrupted) => {
                println!();
                break;
            }
            Err(e) => {
                eprintln!("Error: {e}");
                break;
            }
        }
    }
    if let Some(h) = &history {
        save(&editor, h);
    }
}

/// A missing or unreadable history file is a fresh history, as for supervisorctl.
fn load(editor: &mut Editor<Completion<'_>, MemHistory>, path: &Path) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    for line in text.lines().filter(|l| !l.is_empty()) {
        let _ = editor.add_history_entry(line);
    }
}

fn save(editor: &Editor<Completion<'_>, MemHistory>, path: &Path) {
    let mut text = String::new();
    let history = editor.history();
    for i in 0..history.len() {
        if let Ok(Some(r)) = history.get(i, SearchDirection::Forward) {
            text.push_str(&r.entry);
            text.push('\n');
        }
    }
    if let Err(e) = std::fs::write(path, text) {
        eprintln!(
            "Error: could not write history file {}: {e}",
            path.display()
        );
    }
}
