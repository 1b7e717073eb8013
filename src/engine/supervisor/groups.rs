//! The requests behind `reloadConfig`, `addProcessGroup`, `removeProcessGroup`, `getAllConfigInfo`
//! and `sendProcessStdin` (supervisord's "update" semantics, reference 2.6).
//!
//! Kept apart from the event loop: each handler answers at once and only edits the process table
//! between two loop iterations, so the single-owner rule of the supervisor still holds.

use std::time::Instant;

use super::{build_entries, emit, Supervisor};
use crate::config::model::{GroupSpec, ProcessSpec};
use crate::engine::api::{
    split_namespec, Fault, GroupChanges, GroupConfigs, ProcessState, Request, SupervisorState,
};
use crate::engine::process::{Event, Level};

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
    pub(super) fn on_group_request(&mut self, req: Request, now: Instant) {
        let running = self.state == SupervisorState::Running;
        match req {
            Request::Reread { reply } => {
                let _ = reply.send(self.reread());
            }
            Request::GroupConfigs { reply } => {
                let groups = self
                    .reread
                    .clone()
                    .unwrap_or_else(|| self.config.groups.clone());
                let active = self.config.groups.iter().map(|g| g.name.clone()).collect();
                let _ = reply.send(GroupConfigs { groups, active });
            }
            Request::AddGroup { reply, .. } | Request::RemoveGroup { reply, .. } if !running => {
                let _ = reply.send(Err(Fault::ShutdownState));
            }
            Request::Stdin { reply, .. } if !running => {
                let _ = reply.send(Err(Fault::ShutdownState));
            }
            Request::AddGroup { name, reply } => {
                let _ = reply.send(self.add_group(&name, now));
            }
            Request::RemoveGroup { name, reply } => {
                let _ = reply.send(self.remove_group(&name));
            }
            Request::Stdin { name, reply } => {
                let _ = reply.send(self.stdin_of(&name));
            }
            // Everything else is answered by the main request handler.
            other => emit(
                Level::Debug,
                &format!("request not handled here: {other:?}"),
            ),
        }
    }

    fn reread(&mut self) -> Result<GroupChanges, String> {
        let config = (self.reloader)()?;
        let changes = diff(&self.config.groups, &config.groups);
        self.reread = Some(config.groups);
        Ok(changes)
    }

    fn add_group(&mut self, name: &str, now: Instant) -> Result<(), Fault> {
        if self.config.group(name).is_some() {
            return Err(Fault::AlreadyAdded(name.to_string()));
        }
        let available = self.reread.as_ref().unwrap_or(&self.config.groups);
        let Some(group) = available.iter().find(|g| g.name == name).cloned() else {
            return Err(Fault::BadName(name.to_string()));
        };
        // Keep both the groups and the table in start order, which `info` and the ordered
        // shutdown rely on.
        let key = |g: &GroupSpec| (g.priority, g.name.clone());
        let at = self
            .config
            .groups
            .iter()
            .position(|g| key(g) > key(&group))
            .unwrap_or(self.config.groups.len());
        let first: usize = self.config.groups[..at]
            .iter()
            .map(|g| self.entries_of(&g.name).len())
            .sum();
        let mut one = self.config.clone();
        one.groups = vec![group.clone()];
        let new = build_entries(&one);
        let n = new.len();
        self.config.groups.insert(at, group);
        self.entries.splice(first..first, new);
        for i in self.by_pid.values_mut() {
            if *i >= first {
                *i += n;
            }
        }
        emit(Level::Info, &format!("added process group {name}"));
        for i in first..first + n {
            if self.entries[i].spec.autostart {
                let _ = self.feed(i, Event::Start, now);
            }
        }
        Ok(())
    }

    fn remove_group(&mut self, name: &str) -> Result<(), Fault> {
        let Some(at) = self.config.groups.iter().position(|g| g.name == name) else {
            return Err(Fault::BadName(name.to_string()));
        };
        let members = self.entries_of(name);
        if members
            .iter()
            .any(|&i| !self.entries[i].proc.state().is_stopped())
        {
            return Err(Fault::StillRunning(name.to_string()));
        }
        // The group stays in the last read configuration (`avail`, a later add), as in supervisord.
        if self.reread.is_none() {
            self.reread = Some(self.config.groups.clone());
        }
        self.config.groups.remove(at);
        let mut old = 0usize;
        let mut remap = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            remap.push((e.spec.group != name).then_some(old));
            if e.spec.group != name {
                old += 1;
            }
        }
        self.entries.retain(|e| e.spec.group != name);
        // Stopped processes have no pid in the table, so every pid keeps an entry.
        self.by_pid
            .retain(|_, i| remap.get(*i).copied().flatten().is_some());
        for i in self.by_pid.values_mut() {
            if let Some(Some(n)) = remap.get(*i) {
                *i = *n;
            }
        }
        emit(Level::Info, &format!("removed process group {name}"));
        Ok(())
    }

    fn entries_of(&self, group: &str) -> Vec<usize> {
        (0..self.entries.len())
            .filter(|&i| self.entries[i].spec.group == group)
            .collect()
    }

    /// As supervisord's `sendProcessStdin`: not running (or being killed) is NOT_RUNNING; running
    /// without a stdin pipe is NO_FILE.
    fn stdin_of(&self, namespec: &str) -> Result<std::os::fd::OwnedFd, Fault> {
        let (group, name) = split_namespec(namespec);
        let e = name
            .and_then(|n| {
                self.entries
                    .iter()
                    .find(|e| e.spec.group == group && e.spec.name == n)
            })
            .ok_or_else(|| Fault::BadName(namespec.to_string()))?;
        if e.proc.pid() <= 0 || e.proc.killing() || e.proc.state() == ProcessState::Stopping {
            return Err(Fault::NotRunning(namespec.to_string()));
        }
        let fd = e
            .stdin
            .as_ref()
            .ok_or_else(|| Fault::NoFile(namespec.to_string()))?;
        fd.try_clone()
            .map_err(|err| Fault::Failed(format!("{namespec}: {err}")))
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
