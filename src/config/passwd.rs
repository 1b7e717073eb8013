//! Our own /etc/passwd and /etc/group reader (static glibc crashes on NSS misses).
//!
//! Only the files are consulted (no NSS, LDAP, systemd-userdb): that is what exists in a container.
//! Blank lines, `#` comments, NIS `+`/`-` entries and lines that do not have the right shape are
//! skipped rather than fatal, since one odd line must not hide the users after it. For a repeated
//! name or number the first line wins, as with glibc's files backend.

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

struct Group {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn read(root: &Path, file: &str) -> String {
    // A missing or unreadable file is an empty database: the caller reports "no such user".
    std::fs::read(root.join("etc").join(file))
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn records(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| {
            let t = l.trim_start();
            !t.is_empty() && !t.starts_with('#') && !t.starts_with('+') && !t.starts_with('-')
        })
        .map(|l| l.split(':').collect())
}

/// glibc takes ids as decimal numbers; we refuse anything that is not plain digits.
fn parse_id(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn users(root: &Path) -> Vec<User> {
    records(&read(root, "passwd"))
        .filter_map(|f| {
            // name:password:uid:gid:gecos:home:shell
            if f.len() != 7 || f[0].is_empty() {
                return None;
            }
            Some(User {
                name: f[0].to_string(),
                uid: parse_id(f[2])?,
                gid: parse_id(f[3])?,
                home: f[5].to_string(),
                shell: f[6].to_string(),
            })
        })
        .collect()
}

fn groups(root: &Path) -> Vec<Group> {
    records(&read(root, "group"))
        .filter_map(|f| {
            // name:password:gid:member,member
            if f.len() != 4 || f[0].is_empty() {
                return None;
            }
            Some(Group {
                name: f[0].to_string(),
                gid: parse_id(f[2])?,
                members: f[3]
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect(),
            })
        })
        .collect()
}

/// Look a user up by name, or by number when `name_or_uid` is all digits, in `<root>/etc/passwd`.
///
/// A number with no passwd line gives `None` too: whether a bare uid is acceptable (supervisord
/// refuses it, `user=1000` must exist) is the loader's decision, not this reader's.
pub fn lookup_user(root: &Path, name_or_uid: &str) -> Option<User> {
    let all = users(root);
    if is_number(name_or_uid) {
        let uid = parse_id(name_or_uid)?;
        all.into_iter().find(|u| u.uid == uid)
    } else {
        all.into_iter().find(|u| u.name == name_or_uid)
    }
}

/// Look a group up by name or number in `<root>/etc/group`; returns its gid.
/// As for users, a number without a line in the file gives `None`.
pub fn lookup_group(root: &Path, name_or_gid: &str) -> Option<u32> {
    let all = groups(root);
    if is_number(name_or_gid) {
        let gid = parse_id(name_or_gid)?;
        all.iter().find(|g| g.gid == gid).map(|g| g.gid)
    } else {
        all.iter().find(|g| g.name == name_or_gid).map(|g| g.gid)
    }
}

/// The user's primary gid first, then every group in `<root>/etc/group` listing the user, deduplicated.
pub fn groups_of(root: &Path, user: &User) -> Vec<u32> {
    let mut out = vec![user.gid];
    for g in groups(root) {
        if g.members.contains(&user.name) && !out.contains(&g.gid) {
            out.push(g.gid);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(passwd: &str, group: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("etc")).expect("mkdir");
        std::fs::write(dir.path().join("etc/passwd"), passwd).expect("write");
        std::fs::write(dir.path().join("etc/group"), group).expect("write");
        dir
    }

    const PASSWD: &str = "# comment\n\
        root:x:0:0:root:/root:/bin/bash\n\
        \n\
        broken line\n\
        bad:x:notanumber:0::/:/bin/sh\n\
        +nisuser::::::\n\
        www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\r\n\
        app:x:1000:1000:App,,,:/home/app:/bin/sh\n\
        dup:x:1001:1001::/a:/bin/sh\n\
        dup:x:1002:1002::/b:/bin/sh\n\
        short:x:5:5\n\
        nofinal:x:2000:2000::/n:/bin/false";
    const GROUP: &str = "root:x:0:\n\
        # c\n\
        adm:x:4:syslog,app\n\
        www-data:x:33:\n\
        app:x:1000:\n\
        docker:x:999: app , other\n\
        weird\n\
        again:x:4:app\n\
        big:x:99999999999:app\n";

    #[test]
    fn users_by_name_and_number() {
        let r = root_with(PASSWD, GROUP);
        let app = lookup_user(r.path(), "app").expect("app");
        assert_eq!(
            app,
            User {
                name: "app".into(),
                uid: 1000,
                gid: 1000,
                home: "/home/app".into(),
                shell: "/bin/sh".into()
            }
        );
        assert_eq!(lookup_user(r.path(), "1000"), Some(app));
        assert_eq!(
            lookup_user(r.path(), "0").map(|u| u.name),
            Some("root".into())
        );
        // CRLF line, last line without newline.
        assert_eq!(
            lookup_user(r.path(), "www-data").map(|u| u.shell),
            Some("/usr/sbin/nologin".into())
        );
        assert_eq!(lookup_user(r.path(), "nofinal").map(|u| u.uid), Some(2000));
        // First of duplicates wins.
        assert_eq!(lookup_user(r.path(), "dup").map(|u| u.uid), Some(1001));
    }

    #[test]
    fn misses_and_malformed_lines() {
        let r = root_with(PASSWD, GROUP);
        for q in [
            "nobody",
            "4242",
            "bad",
            "short",
            "broken line",
            "+nisuser",
            "",
            "-1",
            "1e3",
            " 0",
        ] {
            assert_eq!(lookup_user(r.path(), q), None, "{q:?}");
        }
        assert_eq!(lookup_user(r.path(), "99999999999999999999"), None);
        let empty = tempfile::tempdir().expect("tempdir");
        assert_eq!(lookup_user(empty.path(), "root"), None);
        assert_eq!(lookup_group(empty.path(), "root"), None);
    }

    #[test]
    fn groups_by_name_and_number() {
        let r = root_with(PASSWD, GROUP);
        assert_eq!(lookup_group(r.path(), "adm"), Some(4));
        assert_eq!(lookup_group(r.path(), "4"), Some(4));
        assert_eq!(lookup_group(r.path(), "docker"), Some(999));
        assert_eq!(lookup_group(r.path(), "weird"), None);
        assert_eq!(lookup_group(r.path(), "big"), None);
        assert_eq!(lookup_group(r.path(), "12345"), None);
    }

    #[test]
    fn supplementary_groups() {
        let r = root_with(PASSWD, GROUP);
        let app = lookup_user(r.path(), "app").expect("app");
        // Primary first; `adm` and `again` share gid 4 (listed once); members are trimmed.
        assert_eq!(groups_of(r.path(), &app), vec![1000, 4, 999]);
        let root = lookup_user(r.path(), "root").expect("root");
        assert_eq!(groups_of(r.path(), &root), vec![0]);
    }
}
