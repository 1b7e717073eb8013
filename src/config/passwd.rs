//! Our own /etc/passwd and /etc/group reader (static glibc crashes on NSS misses).

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

/// Look a user up by name, or by number when `name_or_uid` is all digits, in `<root>/etc/passwd`.
pub fn lookup_user(_root: &Path, _name_or_uid: &str) -> Option<User> {
    todo!()
}

/// Look a group up by name or number in `<root>/etc/group`; returns its gid.
pub fn lookup_group(_root: &Path, _name_or_gid: &str) -> Option<u32> {
    todo!()
}

/// The user's primary gid first, then every group in `<root>/etc/group` listing the user, deduplicated.
pub fn groups_of(_root: &Path, _user: &User) -> Vec<u32> {
    todo!()
}
