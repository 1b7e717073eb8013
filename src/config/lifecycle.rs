//! The values of steward's container-lifecycle keys (`depends_on`, `ready_check`, `health_check`) and
//! the cross-checks of the dependency graph (unknown names, cycles). Pure: text in, model out.

use std::collections::BTreeMap;

use crate::config::model::{Check, Condition, Dependency, GroupSpec};
use crate::config::values;

/// `NAME[:CONDITION], …` with CONDITION `running` (the default) or `exited`.
pub fn parse_depends_on(items: &[String]) -> Result<Vec<Dependency>, String> {
    let mut out: Vec<Dependency> = Vec::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (name, condition) = match item.split_once(':') {
            None => (item, Condition::Running),
            Some((n, c)) => match c.trim().to_ascii_lowercase().as_str() {
                "running" => (n, Condition::Running),
                "exited" => (n, Condition::Exited),
                other => {
                    return Err(format!(
                        "{item:?} has condition {other:?}: expected running or exited"
                    ))
                }
            },
        };
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(format!("{item:?} is not a program or group name"));
        }
        if out.iter().any(|d| d.name == name) {
            return Err(format!("{name:?} is named twice"));
        }
        out.push(Dependency {
            name: name.to_string(),
            condition,
        });
    }
    Ok(out)
}

/// `tcp:HOST:PORT`, `http://HOST:PORT/PATH`, `exec:COMMAND…`, `log:REGEX` (readiness only),
/// `notify` (sd_notify's READY=1 for readiness, its watchdog for liveness).
pub fn parse_check(text: &str, readiness: bool) -> Result<Check, String> {
    let t = text.trim();
    let forms = if readiness {
        "expected tcp:HOST:PORT, http://HOST:PORT/PATH, exec:COMMAND, log:REGEX or notify"
    } else {
        "expected tcp:HOST:PORT, http://HOST:PORT/PATH, exec:COMMAND or notify"
    };
    if t == "notify" {
        return Ok(Check::Notify);
    }
    if let Some(rest) = t.strip_prefix("tcp:") {
        let (host, port) = host_port(rest)?;
        return Ok(Check::Tcp { host, port });
    }
    if let Some(rest) = t.strip_prefix("http://") {
        let (hp, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let (host, port) = host_port(hp)?;
        return Ok(Check::Http { host, port, path });
    }
    if t.starts_with("https://") {
        return Err("https is not supported: check the plain-http port or use exec:".into());
    }
    if let Some(rest) = t.strip_prefix("exec:") {
        let argv =
            values::split_command(rest).map_err(|e| format!("cannot split {rest:?}: {e}"))?;
        if argv.is_empty() {
            return Err("exec: needs a command".into());
        }
        return Ok(Check::Exec(argv));
    }
    if let Some(rest) = t.strip_prefix("log:") {
        if !readiness {
            return Err("log: is a readiness check only".into());
        }
        crate::engine::checks::Pattern::new(rest)?;
        return Ok(Check::Log(rest.to_string()));
    }
    Err(forms.into())
}

fn host_port(s: &str) -> Result<(String, u16), String> {
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| format!("{s:?} has no :PORT"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("{s:?} has no host"));
    }
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("{port:?} is not a port (1-65535)"))?;
    Ok((host.to_string(), port))
}

/// A problem of the dependency graph, attached to the `depends_on` of `program`.
#[derive(Debug, PartialEq, Eq)]
pub struct GraphError {
    /// The `[program:x]` whose `depends_on` is wrong (the first of a cycle).
    pub program: String,
    pub message: String,
}

/// What each dependency name stands for: a process (by `group:name` index) or every process of a group.
fn resolve<'a>(groups: &'a [GroupSpec], name: &str) -> Vec<(&'a str, &'a str)> {
    let mut out: Vec<(&str, &str)> = groups
        .iter()
        .flat_map(|g| &g.processes)
        .filter(|p| p.name == name || p.program == name)
        .map(|p| (p.group.as_str(), p.name.as_str()))
        .collect();
    if out.is_empty() {
        if let Some(g) = groups.iter().find(|g| g.name == name) {
            out = g
                .processes
                .iter()
                .map(|p| (p.group.as_str(), p.name.as_str()))
                .collect();
        }
    }
    out
}

/// Unknown names and cycles, one error each, naming the cycle as `a -> b -> a`.
pub fn check_graph(groups: &[GroupSpec]) -> Vec<GraphError> {
    let mut errors = Vec::new();
    // Program-level graph: program -> programs it depends on.
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let program_of: BTreeMap<(&str, &str), &str> = groups
        .iter()
        .flat_map(|g| &g.processes)
        .map(|p| ((p.group.as_str(), p.name.as_str()), p.program.as_str()))
        .collect();
    for p in groups.iter().flat_map(|g| &g.processes) {
        let targets = edges.entry(p.program.as_str()).or_default();
        for d in &p.lifecycle.depends_on {
            let found = resolve(groups, &d.name);
            if found.is_empty() {
                let e = GraphError {
                    program: p.program.clone(),
                    message: format!("depends on {:?}, which is no program or group", d.name),
                };
                if !errors.contains(&e) {
                    errors.push(e);
                }
                continue;
            }
            for key in found {
                let t = program_of[&key];
                if !targets.contains(&t) {
                    targets.push(t);
                }
            }
        }
    }
    // Depth-first search for a back edge; report each cycle once.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut mark: BTreeMap<&str, Mark> = edges.keys().map(|k| (*k, Mark::New)).collect();
    fn visit<'a>(
        n: &'a str,
        edges: &BTreeMap<&'a str, Vec<&'a str>>,
        mark: &mut BTreeMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
        errors: &mut Vec<GraphError>,
    ) {
        mark.insert(n, Mark::Active);
        path.push(n);
        for &t in edges.get(n).map(Vec::as_slice).unwrap_or_default() {
            match mark.get(t).copied().unwrap_or(Mark::Done) {
                Mark::New => visit(t, edges, mark, path, errors),
                Mark::Active => {
                    let start = path.iter().position(|p| *p == t).unwrap_or(0);
                    let mut cycle: Vec<&str> = path[start..].to_vec();
                    cycle.push(t);
                    errors.push(GraphError {
                        program: t.to_string(),
                        message: format!("dependency cycle: {}", cycle.join(" -> ")),
                    });
                }
                Mark::Done => {}
            }
        }
        path.pop();
        mark.insert(n, Mark::Done);
    }
    let nodes: Vec<&str> = edges.keys().copied().collect();
    for n in nodes {
        if mark[n] == Mark::New {
            visit(n, &edges, &mut mark, &mut vec![], &mut errors);
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::{GroupKind, ProcessSpec};

    fn groups(deps: &[(&str, &str)]) -> Vec<GroupSpec> {
        deps.iter()
            .map(|(name, on)| {
                let mut p = ProcessSpec::new(name, &["x"]);
                let items: Vec<String> = on.split(',').map(String::from).collect();
                p.lifecycle.depends_on = parse_depends_on(&items).unwrap();
                GroupSpec {
                    name: name.to_string(),
                    priority: 999,
                    kind: GroupKind::Program,
                    processes: vec![p],
                }
            })
            .collect()
    }

    #[test]
    fn depends_on_values() {
        let d = parse_depends_on(&["db".into(), " migrate:exited ".into()]).unwrap();
        assert_eq!(d[0].condition, Condition::Running);
        assert_eq!(
            (d[1].name.as_str(), d[1].condition),
            ("migrate", Condition::Exited)
        );
        assert!(parse_depends_on(&["db:up".into()]).is_err());
        assert!(parse_depends_on(&["db".into(), "db:exited".into()]).is_err());
    }

    #[test]
    fn check_values() {
        assert_eq!(
            parse_check("tcp:localhost:5432", true),
            Ok(Check::Tcp {
                host: "localhost".into(),
                port: 5432
            })
        );
        assert_eq!(
            parse_check("http://127.0.0.1:8080/health?x=1", false),
            Ok(Check::Http {
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/health?x=1".into()
            })
        );
        assert_eq!(
            parse_check("exec:pg_isready -q", true),
            Ok(Check::Exec(vec!["pg_isready".into(), "-q".into()]))
        );
        assert_eq!(parse_check("notify", true), Ok(Check::Notify));
        assert_eq!(parse_check("notify", false), Ok(Check::Notify));
        assert!(parse_check("log:ready", false).is_err());
        assert!(parse_check("log:(", true).is_err());
        assert!(parse_check("tcp:host", true).is_err());
        assert!(parse_check("tcp:host:0", true).is_err());
        assert!(parse_check("ping", true).is_err());
    }

    #[test]
    fn graph_errors_name_the_cycle_and_unknown_names() {
        assert!(check_graph(&groups(&[("app", "db"), ("db", "")])).is_empty());
        let e = check_graph(&groups(&[("a", "b"), ("b", "c"), ("c", "a")]));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].message, "dependency cycle: a -> b -> c -> a");
        let e = check_graph(&groups(&[("a", "nope")]));
        assert_eq!(
            e[0].message,
            "depends on \"nope\", which is no program or group"
        );
        let e = check_graph(&groups(&[("a", "a")]));
        assert_eq!(e[0].message, "dependency cycle: a -> a");
    }
}

/// A well-known daemon that forks into the background unless told not to.
struct Daemon {
    /// Its executable's name. Versioned names count too: `php-fpm` is also Alpine's `php-fpm83` and
    /// Debian's `php-fpm8.2`.
    name: &'static str,
    /// Its arguments already keep it in the foreground (or, for an opt-in daemon, do not opt in).
    stays: fn(&[String]) -> bool,
    /// How to start it in the foreground instead.
    fix: &'static str,
}

fn has(args: &[String], flag: &str) -> bool {
    args.iter().any(|a| a == flag)
}

/// One table for `steward check`'s warning and the run-time message about a program that did put
/// itself in the background.
const DAEMONS: &[Daemon] = &[
    Daemon {
        name: "nginx",
        stays: |a| a.join(" ").contains("daemon off"),
        fix: "nginx -g 'daemon off;' (or daemon off; in nginx.conf)",
    },
    Daemon {
        name: "php-fpm",
        stays: |a| has(a, "-F") || has(a, "--nodaemonize"),
        fix: "php-fpm -F",
    },
    Daemon {
        name: "redis-server",
        stays: |a| !a.join(" ").contains("--daemonize yes"),
        fix: "redis-server --daemonize no",
    },
    Daemon {
        name: "apache2",
        stays: |a| has(a, "-DFOREGROUND"),
        fix: "apache2 -DFOREGROUND",
    },
    Daemon {
        name: "httpd",
        stays: |a| has(a, "-DFOREGROUND"),
        fix: "httpd -DFOREGROUND",
    },
    Daemon {
        name: "apachectl",
        stays: |_| false,
        fix: "apache2 -DFOREGROUND (or httpd -DFOREGROUND) instead of apachectl",
    },
    Daemon {
        name: "apache2ctl",
        stays: |_| false,
        fix: "apache2 -DFOREGROUND instead of apache2ctl",
    },
    Daemon {
        name: "sshd",
        stays: |a| has(a, "-D"),
        fix: "sshd -D",
    },
    Daemon {
        name: "cron",
        stays: |a| has(a, "-f"),
        fix: "cron -f",
    },
    Daemon {
        name: "crond",
        stays: |a| has(a, "-f") || has(a, "-n"),
        fix: "crond -f",
    },
    Daemon {
        name: "postfix",
        stays: |a| has(a, "start-fg"),
        fix: "postfix start-fg",
    },
    Daemon {
        name: "mysqld_safe",
        stays: |_| false,
        fix: "mysqld itself (mysqld_safe is a supervisor of its own)",
    },
    Daemon {
        name: "memcached",
        stays: |a| !has(a, "-d"),
        fix: "memcached without -d",
    },
];

/// The commands a program runs: its argv, or each command of a `sh -c '[exec] CMD …'` wrapper's
/// script (`a && b; exec c`).
fn commands(argv: &[String]) -> Vec<Vec<String>> {
    match argv {
        [sh, c, script, ..] if is_shell(sh) && c == "-c" => {
            let Ok(words) = values::split_command(script) else {
                return vec![];
            };
            words
                .split(|t| [";", "&&", "||", "|", "&"].contains(&t.as_str()))
                .map(|cmd| match cmd.first() {
                    Some(x) if x == "exec" => cmd[1..].to_vec(),
                    _ => cmd.to_vec(),
                })
                .collect()
        }
        _ => vec![argv.to_vec()],
    }
}

/// The well-known daemon a command starts, and its executable's name.
fn known(words: &[String]) -> Option<(&'static Daemon, &str)> {
    let base = words.first()?.rsplit('/').next()?;
    let d = DAEMONS.iter().find(|d| {
        base.strip_prefix(d.name).is_some_and(|v| {
            v.is_empty()
                || (d.name == "php-fpm" && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        })
    })?;
    Some((d, base))
}

/// `steward check` (and start-up) warning for a well-known daemon started without its foreground
/// flag: it would fork into the background, exit 0 at once, and be restarted forever while the escaped
/// copy keeps running. `argv` is the program's command; a `sh -c '[exec] CMD …'` wrapper is looked into.
pub fn daemon_warning(argv: &[String]) -> Option<String> {
    commands(argv).iter().find_map(|cmd| {
        let (d, base) = known(cmd)?;
        (!(d.stays)(&cmd[1..])).then(|| {
            format!(
                "{base} runs in the background unless told otherwise, and steward would restart it forever; start it in the foreground: {} (or, if it cannot, set pidfile= to follow it)",
                d.fix
            )
        })
    })
}

/// How to keep the well-known daemon that `argv` starts (directly or through a shell wrapper) in the
/// foreground, whatever its arguments say: for a program that was seen to put itself in the background.
pub fn foreground_fix(argv: &[String]) -> Option<&'static str> {
    commands(argv)
        .iter()
        .find_map(|cmd| known(cmd))
        .map(|(d, _)| d.fix)
}

fn is_shell(s: &str) -> bool {
    matches!(s.rsplit('/').next(), Some("sh" | "bash" | "dash" | "ash"))
}

#[cfg(test)]
mod daemon_tests {
    use super::{daemon_warning, foreground_fix};

    fn argv(s: &str) -> Vec<String> {
        crate::config::values::split_command(s).unwrap()
    }

    #[test]
    fn well_known_daemons_without_their_foreground_flag() {
        for bad in [
            "nginx",
            "/usr/sbin/nginx -c /etc/nginx.conf",
            "php-fpm",
            "/usr/sbin/sshd",
            "cron",
            "apache2ctl start",
            "sh -c 'exec nginx'",
            "bash -c 'mkdir -p /run/sshd && sshd'",
            "redis-server --daemonize yes",
            "php-fpm81",
            "php-fpm82 --fpm-config /etc/php82/php-fpm.conf",
            "/usr/sbin/php-fpm83",
            "php-fpm7.4",
            "sh -c 'exec php-fpm8.2'",
            "postfix start",
            "mysqld_safe --datadir=/var/lib/mysql",
            "httpd",
            "memcached -d -u nobody",
        ] {
            assert!(daemon_warning(&argv(bad)).is_some(), "{bad}");
        }
        for good in [
            "nginx -g 'daemon off;'",
            "php-fpm -F",
            "/usr/sbin/sshd -D -e",
            "cron -f",
            "redis-server",
            "apache2 -DFOREGROUND",
            "sleep 1000",
            "sh -c 'exec nginx -g \"daemon off;\"'",
            "php-fpm83 -F",
            "php-fpm8.2 --nodaemonize",
            "php-fpm-exporter",
            "postfix start-fg",
            "httpd -DFOREGROUND",
            "memcached -u nobody",
        ] {
            assert_eq!(daemon_warning(&argv(good)), None, "{good}");
        }
        let w = daemon_warning(&argv("nginx")).unwrap();
        assert!(w.contains("nginx -g 'daemon off;'"), "{w}");
    }

    #[test]
    fn the_run_time_fix_looks_into_shell_wrappers_and_ignores_the_flags() {
        assert_eq!(
            foreground_fix(&argv("sh -c 'exec /usr/sbin/nginx'")),
            Some("nginx -g 'daemon off;' (or daemon off; in nginx.conf)")
        );
        // Daemonized anyway (daemonize yes in its config file): the fix is the same.
        assert_eq!(
            foreground_fix(&argv("redis-server /etc/redis.conf")),
            Some("redis-server --daemonize no")
        );
        assert_eq!(
            foreground_fix(&argv("bash -c 'mkdir -p /run/php && exec php-fpm8.2'")),
            Some("php-fpm -F")
        );
        assert_eq!(foreground_fix(&argv("sh -c 'sleep 1000 & exit 0'")), None);
        assert_eq!(foreground_fix(&argv("myd")), None);
    }
}
