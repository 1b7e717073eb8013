//! The process table: rows by stable [`ProcessId`], the start order, and the pid of each live child.
//!
//! Ids are handed out once and never reused, so a group added or removed leaves every other row's id
//! (and every pid's row) as it was; nothing is renumbered.

use std::collections::HashMap;
use std::ops::{Index, IndexMut};

use crate::config::model::ProcessSpec;
use crate::engine::api::ProcessId;

/// The rows, in start order (group priority and name, then process priority and name).
pub(super) struct Table<E> {
    rows: HashMap<ProcessId, E>,
    order: Vec<ProcessId>,
    by_pid: HashMap<i32, ProcessId>,
    next: u64,
}

/// What the table needs to know of a row.
pub(super) trait Row {
    fn spec(&self) -> &ProcessSpec;
}

impl<E: Row> Table<E> {
    pub fn new() -> Table<E> {
        Table {
            rows: HashMap::new(),
            order: Vec::new(),
            by_pid: HashMap::new(),
            next: 1,
        }
    }

    /// Insert rows at position `at` of the start order; returns their new ids, in order.
    pub fn insert(&mut self, at: usize, rows: impl IntoIterator<Item = E>) -> Vec<ProcessId> {
        let ids: Vec<ProcessId> = rows
            .into_iter()
            .map(|row| {
                let id = ProcessId(self.next);
                self.next += 1;
                self.rows.insert(id, row);
                id
            })
            .collect();
        let at = at.min(self.order.len());
        self.order.splice(at..at, ids.iter().copied());
        ids
    }

    /// Replace every row with `rows` (a reload). The id counter carries on, so an id from before
    /// names nothing afterwards instead of naming some other process.
    pub fn reset_rows(&mut self, rows: impl IntoIterator<Item = E>) -> Vec<ProcessId> {
        self.rows.clear();
        self.order.clear();
        self.by_pid.clear();
        self.extend(rows)
    }

    /// Append rows at the end of the start order.
    pub fn extend(&mut self, rows: impl IntoIterator<Item = E>) -> Vec<ProcessId> {
        self.insert(self.order.len(), rows)
    }

    /// Remove every row of `group`; returns them. Their pids must already be gone (stopped rows).
    pub fn remove_group(&mut self, group: &str) -> Vec<E> {
        let (gone, kept): (Vec<ProcessId>, Vec<ProcessId>) = self
            .order
            .iter()
            .partition(|id| self.rows[id].spec().group == group);
        self.order = kept;
        self.by_pid.retain(|_, id| !gone.contains(id));
        gone.iter().filter_map(|id| self.rows.remove(id)).collect()
    }

    /// Every id, in start order (a copy, so rows may be changed while walking it).
    pub fn ids(&self) -> Vec<ProcessId> {
        self.order.clone()
    }

    /// Every row, in start order.
    pub fn iter(&self) -> impl Iterator<Item = (ProcessId, &E)> {
        self.order.iter().map(|id| (*id, &self.rows[id]))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut E> {
        self.rows.values_mut()
    }

    pub fn get(&self, id: ProcessId) -> Option<&E> {
        self.rows.get(&id)
    }

    pub fn contains(&self, id: ProcessId) -> bool {
        self.rows.contains_key(&id)
    }

    /// How many rows come before the first row of any group in `groups` (an insertion point).
    pub fn count_in(&self, groups: &[&str]) -> usize {
        self.iter()
            .filter(|(_, e)| groups.contains(&e.spec().group.as_str()))
            .count()
    }

    /// The ids of `group`'s rows, in start order.
    pub fn group(&self, group: &str) -> Vec<ProcessId> {
        self.iter()
            .filter(|(_, e)| e.spec().group == group)
            .map(|(id, _)| id)
            .collect()
    }

    /// A spawned child: its exit must find its row.
    pub fn set_pid(&mut self, pid: i32, id: ProcessId) {
        self.by_pid.insert(pid, id);
    }

    /// The row of a reaped child, forgetting the pid.
    pub fn take_pid(&mut self, pid: i32) -> Option<ProcessId> {
        self.by_pid.remove(&pid)
    }
}

impl<E> Index<ProcessId> for Table<E> {
    type Output = E;
    fn index(&self, id: ProcessId) -> &E {
        &self.rows[&id]
    }
}

impl<E> IndexMut<ProcessId> for Table<E> {
    fn index_mut(&mut self, id: ProcessId) -> &mut E {
        self.rows.get_mut(&id).expect("a row of the table")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R(ProcessSpec);
    impl Row for R {
        fn spec(&self) -> &ProcessSpec {
            &self.0
        }
    }

    fn row(group: &str, name: &str) -> R {
        let mut s = ProcessSpec::new(name, &["x"]);
        s.group = group.into();
        R(s)
    }

    fn names(t: &Table<R>) -> Vec<String> {
        t.iter().map(|(_, r)| r.0.namespec()).collect()
    }

    #[test]
    fn ids_and_pids_survive_groups_coming_and_going() {
        let mut t = Table::new();
        let a = t.extend([row("a", "a1"), row("a", "a2")]);
        let c = t.extend([row("c", "c1")]);
        t.set_pid(100, c[0]);
        t.set_pid(101, a[1]);
        let b = t.insert(2, [row("b", "b1")]);
        assert_eq!(names(&t), ["a:a1", "a:a2", "b:b1", "c:c1"]);
        assert_eq!(t.remove_group("a").len(), 2);
        assert_eq!(names(&t), ["b:b1", "c:c1"]);
        // The survivors keep their ids; the removed ids name nothing and their pids are gone.
        assert_eq!(t[b[0]].0.name, "b1");
        assert_eq!(t.take_pid(100), Some(c[0]));
        assert_eq!(t.take_pid(101), None);
        assert!(!t.contains(a[0]));
        // New ids are never old ones.
        let a_again = t.insert(0, [row("a", "a1")]);
        assert!(!a.contains(&a_again[0]));
        assert_eq!(t.count_in(&["a", "b"]), 2);
        assert_eq!(t.group("c"), c);
    }

    #[test]
    fn a_reset_hands_out_new_ids() {
        let mut t = Table::new();
        let before = t.extend([row("a", "a1"), row("b", "b1")]);
        t.set_pid(100, before[0]);
        let after = t.reset_rows([row("a", "a1"), row("b", "b1")]);
        assert_eq!(names(&t), ["a:a1", "b:b1"]);
        let newest_before = before.iter().max().unwrap();
        assert!(
            after.iter().all(|id| id > newest_before),
            "{before:?} {after:?}"
        );
        assert!(before.iter().all(|id| !t.contains(*id)));
        assert_eq!(t.take_pid(100), None);
    }
}
