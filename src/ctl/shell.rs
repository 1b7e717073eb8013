//! The interactive `steward ctl` shell on a terminal: line editing, history in `history_file` (plain
//! lines, as GNU readline writes them for supervisorctl) and TAB completion of commands and of the
//! process and group names the server reports.

use std::path::Path;

use tokio::runtime::Runtime;

use super::line::{Completions, Editor, Read};
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

impl Completion<'_> {
    /// The words that could stand at the end of `before` (the line up to the cursor).
    fn complete(&self, before: &str) -> Completions {
        let start = before
            .rfind(char::is_whitespace)
            .map(|i| i + before[i..].chars().next().map_or(1, char::len_utf8))
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
        let words = options.into_iter().filter(|o| o.starts_with(word));
        (start, words.collect())
    }
}

/// Read commands until `quit`, `exit`, end of input or Ctrl-C, as supervisorctl's shell does. On a
/// terminal lines are edited and kept in the history file; piped in, they are read as they come.
pub fn run(rt: &Runtime, ctl: &mut Ctl) {
    let completion = Completion {
        rt,
        client: ctl.client.clone(),
    };
    let mut editor = Editor::new(HISTORY_SIZE);
    let history = ctl
        .opts
        .history_file
        .clone()
        .filter(|_| std::io::IsTerminal::is_terminal(&std::io::stdin()));
    if let Some(h) = &history {
        load(&mut editor, h);
    }
    let prompt = format!("{}> ", ctl.opts.prompt);
    loop {
        match editor.read_line(&prompt, &mut |before| completion.complete(before)) {
            Ok(Read::Line(line)) => {
                let line = line.trim();
                editor.add_history(line);
                if matches!(line, "quit" | "exit" | "EOF") {
                    break;
                }
                rt.block_on(ctl.onecmd(line));
            }
            Ok(Read::Eof | Read::Interrupted) => {
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
fn load(editor: &mut Editor, path: &Path) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    for line in text.lines() {
        editor.add_history(line);
    }
}

fn save(editor: &Editor, path: &Path) {
    let mut text = String::new();
    for line in editor.history() {
        text.push_str(line);
        text.push('\n');
    }
    if let Err(e) = std::fs::write(path, text) {
        eprintln!(
            "Error: could not write history file {}: {e}",
            path.display()
        );
    }
}
