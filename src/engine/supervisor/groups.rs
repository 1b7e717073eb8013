//! The requests behind `reloadConfig`, `addProcessGroup`, `removeProcessGroup`, `getAllConfigInfo`
//! and `sendProcessStdin` (supervisord's "update" semantics, reference 2.6).
//!
//! Kept apart from the event loop: each handler answers at once and only edits the process table
//! between two loop iterations, so the single-owner rule of the supervisor still holds. A removed
//! group's rows, ids and log streams go with it; the other rows keep their ids.

use std::os::fd::OwnedFd;
use std::time::Instant;

use super::{build_entries, Supervisor};
use crate::config::model::{GroupSpec, LogTarget, ProcessSpec};
use crate::engine::api::{ConfigInfo, EngineError, GroupChanges, ProcessId, ProcessState};
use crate::engine::mainlog::emit;
use crate::engine::process::Level;
use crate::logs::Stream;

/// Group configs compared the way supervisord compares them: by what they configure, not by where
/// in the file it was written (moving a section, or removing the one above it, is not a change).
fn same_group(a: &GroupSpec, b: &GroupSpec) -> bool {
    fn unplaced(p: &ProcessSpec) -> ProcessSpec {
        let mut p = p.clone();
        p.file = Default::default();
        p.line = 0;
        p
    }
    a.name == b.name
        && a.priority == b.priority
        && a.kind == b.kind
        && a.processes.len() == b.processes.len()
        && a.processes
            .iter()
            .zip(&b.processes)
            .all(|(x, y)| unplaced(x) == unplaced(y))
}

/// supervisord's `diff_to_active`: `new` against the active groups.
pub(crate) fn diff(active: &[GroupSpec], new: &[GroupSpec]) -> GroupChanges {
    let find = |list: &[GroupSpec], name: &str| list.iter().position(|g| g.name == name);
    let mut c = GroupChanges::default();
    for g in new {
        match find(active, &g.name) {
            None => c.added.push(g.name.clone()),
            Some(i) if !same_group(&active[i], g) => c.changed.push(g.name.clone()),
            Some(_) => {}
        }
    }
    for g in active {
        if find(new, &g.name).is_none() {
            c.removed.push(g.name.clone());
        }
    }
    c.added.sort();
    c.changed.sort();
    c.removed.sort();
    c
}

impl Supervisor {
    pub(super) fn reread(&mut self) -> Result<GroupChanges, EngineError> {
        let config = (self.reloader)().map_err(EngineError::CantReread)?;
        let changes = diff(&self.config.groups, &config.groups);
        self.reread = Some(config.groups);
        Ok(changes)
    }

    /// The last read configuration's processes, in start order, and whether each group is active.
    pub(super) fn config_info(&self) -> Vec<ConfigInfo> {
        let groups = self.reread.as_ref().unwrap_or(&self.config.groups);
        groups
            .iter()
            .flat_map(|g| {
                let inuse = self.config.group(&g.name).is_some();
                g.processes.iter().map(move |spec| {
                    let mut spec = spec.clone();
                    let namespec = spec.namespec();
                    if inuse {
                        // supervisord names AUTO logs when it reads the config and reports the
                        // names; steward names them when the group is added.
                        for stream in [Stream::Stdout, Stream::Stderr] {
                            let target = match stream {
                                Stream::Stdout => &mut spec.stdout.target,
                                Stream::Stderr => &mut spec.stderr.target,
                            };
                            if *target == LogTarget::Auto {
                                if let Some(p) = self.logs.logfile(&namespec, stream) {
                                    *target = LogTarget::File(p);
                                }
                            }
                        }
                    }
                    ConfigInfo {
                        spec,
                        group_priority: g.priority,
                        inuse,
                    }
                })
            })
            .collect()
    }

    pub(super) fn add_group(&mut self, name: &str, now: Instant) -> Result<(), EngineError> {
        if self.config.group(name).is_some() {
            return Err(EngineError::AlreadyAdded);
        }
        let available = self.reread.as_ref().unwrap_or(&self.config.groups);
        let Some(group) = available.iter().find(|g| g.name == name).cloned() else {
            return Err(EngineError::BadName);
        };
        // Keep both the groups and the table in start order, which `processes` and the ordered
        // shutdown rely on.
        let key = |g: &GroupSpec| (g.priority, g.name.clone());
        let at = self
            .config
            .groups
            .iter()
            .position(|g| key(g) > key(&group))
            .unwrap_or(self.config.groups.len());
        let before: Vec<&str> = self.config.groups[..at]
            .iter()
            .map(|g| g.name.as_str())
            .collect();
        let first = self.table.count_in(&before);
        let rows = build_entries(std::slice::from_ref(&group));
        for row in &rows {
            self.logs.add_process(&row.spec);
        }
        self.events.add_group(&group);
        self.config.groups.insert(at, group);
        let ids = self.table.insert(first, rows);
        emit(Level::Info, &format!("added process group {name}"));
        self.autostart(ids, now);
        Ok(())
    }

    pub(super) fn remove_group(&mut self, name: &str) -> Result<(), EngineError> {
        let Some(at) = self.config.groups.iter().position(|g| g.name == name) else {
            return Err(EngineError::BadName);
        };
        if self
            .table
            .group(name)
            .into_iter()
            .any(|id| !self.table[id].proc.state().is_stopped())
        {
            return Err(EngineError::StillRunning);
        }
        // The group stays in the last read configuration (`avail`, a later add), as in supervisord.
        if self.reread.is_none() {
            self.reread = Some(self.config.groups.clone());
        }
        self.config.groups.remove(at);
        // Stopped processes have no pid in the table; their log streams go with them.
        for row in self.table.remove_group(name) {
            self.logs.remove_process(&row.spec.namespec());
        }
        self.events.remove_group(name);
        self.fcgi.remove(name);
        emit(Level::Info, &format!("removed process group {name}"));
        Ok(())
    }

    /// As supervisord's `sendProcessStdin`: not running (or being killed) is NOT_RUNNING; running
    /// without a stdin pipe is NO_FILE.
    pub(super) fn stdin_of(&self, id: ProcessId) -> Result<OwnedFd, EngineError> {
        let e = self.table.get(id).ok_or(EngineError::BadName)?;
        if e.proc.pid() <= 0 || e.proc.killing() || e.proc.state() == ProcessState::Stopping {
            return Err(EngineError::NotRunning);
        }
        let fd = e.stdin.as_ref().ok_or(EngineError::NoFile(None))?;
        fd.try_clone()
            .map_err(|err| EngineError::Failed(err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::process::tests::spec;

    fn group(name: &str, argv: &[&str]) -> GroupSpec {
        let mut s = spec(name, argv);
        s.group = name.into();
        GroupSpec {
            name: name.into(),
            priority: 999,
            kind: crate::config::model::GroupKind::Program,
            processes: vec![s],
        }
    }

    #[test]
    fn diff_ignores_where_a_section_was_written() {
        let a = group("a", &["sleep", "1"]);
        let mut moved = a.clone();
        moved.processes[0].line += 7;
        let b = group("b", &["sleep", "1"]);
        let c = group("c", &["sleep", "1"]);
        let c2 = group("c", &["sleep", "2"]);
        let d = diff(&[a.clone(), b, c], &[moved, c2, group("new", &["x"])]);
        assert_eq!(
            d,
            GroupChanges {
                added: vec!["new".into()],
                changed: vec!["c".into()],
                removed: vec!["b".into()],
            }
        );
        let one = std::slice::from_ref(&a);
        assert_eq!(diff(one, one), GroupChanges::default());
    }
}
