//! `depends_on`: whether a process may start now, and the depth of each process in the graph (start-up
//! follows the graph; the ordered stop runs deepest first). Pure: it reads snapshots of the table.
//!
//! A dependency name is a process (its name or its program's name) or, failing that, a group: all of
//! its processes. The loader has already refused unknown names and cycles.

use std::collections::HashMap;

use crate::config::model::{Condition, Dependency, ProcessSpec};
use crate::engine::api::{ProcessId, ProcessState};

/// What the supervisor knows of one process, for the verdicts.
#[derive(Debug, Clone)]
pub struct Snapshot<'a> {
    pub id: ProcessId,
    pub spec: &'a ProcessSpec,
    pub state: ProcessState,
    pub exitstatus: i32,
    /// An autorestart or retry is pending.
    pub will_restart: bool,
}

/// May a process with these dependencies start?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Go,
    /// Not yet; the description says for what ("waiting for db").
    Wait(String),
    /// Not unless someone starts the dependency again ("db is FATAL").
    Blocked(String),
}

/// The processes `name` stands for.
pub fn resolve<'a>(name: &str, all: &'a [Snapshot<'a>]) -> Vec<&'a Snapshot<'a>> {
    let direct: Vec<&Snapshot> = all
        .iter()
        .filter(|s| s.spec.name == name || s.spec.program == name)
        .collect();
    if !direct.is_empty() {
        return direct;
    }
    all.iter().filter(|s| s.spec.group == name).collect()
}

/// Has `dep` (one process) reached what `condition` asks?
fn one(dep: &Snapshot, condition: Condition) -> Verdict {
    let name = &dep.spec.name;
    let expected = dep.spec.exitcodes.contains(&dep.exitstatus);
    match (condition, dep.state) {
        (Condition::Running, ProcessState::Running) => Verdict::Go,
        (Condition::Exited, ProcessState::Exited) if expected => Verdict::Go,
        (_, ProcessState::Fatal) => Verdict::Blocked(format!("{name} is FATAL")),
        (Condition::Running, ProcessState::Exited) if !dep.will_restart => {
            Verdict::Blocked(format!("{name} has exited"))
        }
        (Condition::Exited, ProcessState::Exited) if !dep.will_restart => {
            Verdict::Blocked(format!("{name} exited with status {}", dep.exitstatus))
        }
        (Condition::Running, _) => Verdict::Wait(format!("waiting for {name}")),
        (Condition::Exited, _) => Verdict::Wait(format!("waiting for {name} to exit")),
    }
}

/// The verdict for `deps`: blocked if any is blocked, else waiting for the first that is not there.
pub fn verdict(deps: &[Dependency], all: &[Snapshot]) -> Verdict {
    let mut wait = None;
    for d in deps {
        for s in resolve(&d.name, all) {
            match one(s, d.condition) {
                Verdict::Go => {}
                b @ Verdict::Blocked(_) => return b,
                w @ Verdict::Wait(_) => {
                    wait.get_or_insert(w);
                }
            }
        }
    }
    wait.unwrap_or(Verdict::Go)
}

/// The dependencies of `spec` that are not started and not on their way: what `start` must start
/// first (FATAL, EXITED not as wanted, STOPPED).
pub fn to_start<'a>(spec: &ProcessSpec, all: &'a [Snapshot<'a>]) -> Vec<&'a Snapshot<'a>> {
    let mut out = Vec::new();
    for d in &spec.lifecycle.depends_on {
        for s in resolve(&d.name, all) {
            let settled = match (d.condition, s.state) {
                (_, ProcessState::Starting | ProcessState::Running | ProcessState::Backoff) => true,
                (_, ProcessState::Stopping | ProcessState::Unknown) => true,
                (Condition::Exited, ProcessState::Exited) => true,
                (_, ProcessState::Exited) => s.will_restart,
                _ => false,
            };
            if !settled {
                out.push(s);
            }
        }
    }
    out
}

/// Each process's depth: 0 without dependencies, else one more than its deepest dependency.
pub fn levels(all: &[Snapshot]) -> HashMap<ProcessId, usize> {
    fn depth(
        s: &Snapshot,
        all: &[Snapshot],
        memo: &mut HashMap<ProcessId, usize>,
        guard: usize,
    ) -> usize {
        if let Some(d) = memo.get(&s.id) {
            return *d;
        }
        // The loader refuses cycles; the guard keeps a table built some other way finite.
        if guard > all.len() {
            return 0;
        }
        let mut d = 0;
        for dep in &s.spec.lifecycle.depends_on {
            for t in resolve(&dep.name, all) {
                d = d.max(1 + depth(t, all, memo, guard + 1));
            }
        }
        memo.insert(s.id, d);
        d
    }
    let mut memo = HashMap::new();
    for s in all {
        depth(s, all, &mut memo, 0);
    }
    memo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lifecycle::parse_depends_on;

    fn spec(name: &str, deps: &[&str]) -> ProcessSpec {
        let mut s = ProcessSpec::new(name, &["x"]);
        let items: Vec<String> = deps.iter().map(|d| d.to_string()).collect();
        s.lifecycle.depends_on = parse_depends_on(&items).unwrap();
        s
    }

    #[test]
    fn verdicts_and_levels() {
        let db = spec("db", &[]);
        let migrate = spec("migrate", &["db"]);
        let app = spec("app", &["db", "migrate:exited"]);
        let snap = |id, spec, state, exitstatus| Snapshot {
            id: ProcessId(id),
            spec,
            state,
            exitstatus,
            will_restart: false,
        };
        use ProcessState::*;
        let all = [
            snap(1, &db, Starting, 0),
            snap(2, &migrate, Stopped, 0),
            snap(3, &app, Stopped, 0),
        ];
        assert_eq!(
            verdict(&app.lifecycle.depends_on, &all),
            Verdict::Wait("waiting for db".into())
        );
        let all = [
            snap(1, &db, Running, 0),
            snap(2, &migrate, Exited, 0),
            snap(3, &app, Stopped, 0),
        ];
        assert_eq!(verdict(&app.lifecycle.depends_on, &all), Verdict::Go);
        let all = [
            snap(1, &db, Running, 0),
            snap(2, &migrate, Exited, 1),
            snap(3, &app, Stopped, 0),
        ];
        assert_eq!(
            verdict(&app.lifecycle.depends_on, &all),
            Verdict::Blocked("migrate exited with status 1".into())
        );
        let all = [
            snap(1, &db, Fatal, 0),
            snap(2, &migrate, Stopped, 0),
            snap(3, &app, Stopped, 0),
        ];
        assert_eq!(
            verdict(&migrate.lifecycle.depends_on, &all),
            Verdict::Blocked("db is FATAL".into())
        );
        let names: Vec<&str> = to_start(&app, &all)
            .iter()
            .map(|s| s.spec.name.as_str())
            .collect();
        assert_eq!(names, ["db", "migrate"]);
        let l = levels(&all);
        assert_eq!(
            (l[&ProcessId(1)], l[&ProcessId(2)], l[&ProcessId(3)]),
            (0, 1, 2)
        );
    }
}
