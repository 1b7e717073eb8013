//! The loader's semantics: defaults, expansion scopes (reference 1.4), includes, [DEFAULT], numprocs,
//! groups, user lookup through our own passwd reader.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use steward::config::{self, AutoRestart, Config, GroupKind, LoadError, LoadOptions, LogTarget};

fn opts(root: &Path) -> LoadOptions {
    LoadOptions {
        env: BTreeMap::from([
            ("HOME".to_string(), root.to_string_lossy().into_owned()),
            ("APP".to_string(), "shop".to_string()),
        ]),
        root: root.to_path_buf(),
        host_checks: true,
        spawn_checks: false,
        host_node_name: "node7".into(),
    }
}

fn load(dir: &Path, text: &str) -> Result<Config, LoadError> {
    let p = common::write(dir, "main.conf", text);
    config::load(&p, &opts(dir))
}

#[test]
fn defaults_are_supervisords() {
    let d = common::tempdir();
    let c = load(d.path(), "[supervisord]\n[program:a]\ncommand=/bin/a\n").unwrap();
    let p = c.processes().next().unwrap();
    assert_eq!(
        (p.priority, p.autostart, p.startsecs, p.startretries),
        (999, true, 1, 3)
    );
    assert_eq!(p.autorestart, AutoRestart::Unexpected);
    assert_eq!(
        (p.exitcodes.clone(), p.stopsignal, p.stopwaitsecs),
        (vec![0], 15, 10)
    );
    assert_eq!(
        (p.stopasgroup, p.killasgroup, p.redirect_stderr),
        (false, false, false)
    );
    assert_eq!(p.stdout.target, LogTarget::Auto);
    assert_eq!(
        (p.stdout.maxbytes, p.stdout.backups),
        (50 * 1024 * 1024, 10)
    );
    assert_eq!((p.name.as_str(), p.group.as_str()), ("a", "a"));
    let s = &c.supervisord;
    assert_eq!(
        (s.logfile_maxbytes, s.logfile_backups, s.umask),
        (50 * 1024 * 1024, 10, 0o022)
    );
    assert_eq!(
        (s.minfds, s.minprocs, s.identifier.as_str()),
        (1024, 200, "supervisor")
    );
    assert!(matches!(&s.logfile, LogTarget::File(f) if f.ends_with("supervisord.log")));
}

#[test]
fn expansion_scopes_follow_supervisord() {
    let d = common::tempdir();
    let c = load(
        d.path(),
        "[supervisord]\nenvironment=GLOBAL=g1\n[program:w]\nprocess_name=%(program_name)s_%(process_num)02d\n\
         numprocs=2\nnumprocs_start=3\nenvironment=PORT=\"80%(process_num)d\",WHO=%(ENV_GLOBAL)s\n\
         command=/bin/w --port %(ENV_PORT)s --of %(numprocs)d --on %(host_node_name)s --app %(ENV_APP)s %%x\n\
         directory=%(here)s/%(ENV_WHO)s\n",
    )
    .unwrap();
    let names: Vec<&str> = c.processes().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["w_03", "w_04"]);
    let p = &c.groups[0].processes[1];
    assert_eq!(
        p.argv,
        ["/bin/w", "--port", "804", "--of", "2", "--on", "node7", "--app", "shop", "%x"]
    );
    assert_eq!(
        p.environment,
        [("PORT".into(), "804".into()), ("WHO".into(), "g1".into())]
    );
    assert_eq!(p.directory.as_deref(), Some(d.path().join("g1").as_path()));

    // A program's own environment is not visible to its environment= itself, nor to priority.
    let e = load(
        d.path(),
        "[supervisord]\n[program:w]\ncommand=x\nenvironment=A=1\npriority=%(ENV_A)s\n",
    )
    .unwrap_err();
    assert_eq!(e.errors[0].key.as_deref(), Some("priority"));
    // host_node_name is not available in [supervisord].
    let e = load(
        d.path(),
        "[supervisord]\nlogfile=/tmp/%(host_node_name)s.log\n",
    )
    .unwrap_err();
    assert_eq!(e.errors[0].key.as_deref(), Some("logfile"));
    // [supervisord] environment keys are not visible to other [supervisord] keys.
    let e = load(
        d.path(),
        "[supervisord]\nenvironment=X=1\nidentifier=%(ENV_X)s\n",
    )
    .unwrap_err();
    assert_eq!(e.errors[0].key.as_deref(), Some("identifier"));
}

#[test]
fn default_section_and_duplicates() {
    let d = common::tempdir();
    let c = load(
        d.path(),
        "[DEFAULT]\nautostart=false\n[supervisord]\n[program:a]\ncommand=x\nstartsecs=5\n\
         [program:b]\ncommand=y\n[program:a]\nstartsecs=7\n",
    )
    .unwrap();
    let a = c.group("a").unwrap();
    assert!(!a.processes[0].autostart);
    assert_eq!(a.processes[0].startsecs, 7);
    assert!(!c.group("b").unwrap().processes[0].autostart);
}

#[test]
fn includes_are_sorted_relative_and_have_their_own_here() {
    let d = common::tempdir();
    common::write(
        d.path(),
        "conf.d/b.conf",
        "[program:b]\ncommand=%(here)s/run\npriority=2\n",
    );
    common::write(
        d.path(),
        "conf.d/a.conf",
        "[program:a]\ncommand=x\npriority=1\n[program:b]\npriority=5\n",
    );
    common::write(d.path(), "conf.d/ignored.txt", "[program:z]\ncommand=z\n");
    let c = load(
        d.path(),
        "[supervisord]\n[include]\nfiles=conf.d/*.conf %(here)s/none/*.conf\n",
    )
    .unwrap();
    assert_eq!(c.files.len(), 3);
    assert!(c.files[1].ends_with("a.conf") && c.files[2].ends_with("b.conf"));
    let b = &c.group("b").unwrap().processes[0];
    // b.conf is read after a.conf, so its priority wins; %(here)s is b.conf's own directory.
    assert_eq!(b.priority, 2);
    assert_eq!(b.argv[0], d.path().join("conf.d/run").to_string_lossy());
    assert!(c
        .warnings
        .iter()
        .any(|w| w.message.contains("no file matches")));
    assert!(c.group("z").is_none());
    // Groups in (priority, name) order.
    let order: Vec<&str> = c.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(order, ["a", "b"]);
}

#[test]
fn groups_gather_programs_and_set_group_name() {
    let d = common::tempdir();
    let c = load(
        d.path(),
        "[supervisord]\n[program:web]\ncommand=echo %(group_name)s\npriority=20\n\
         [program:api]\ncommand=x\npriority=10\n[group:site]\nprograms=web,api\npriority=5\n\
         [program:solo]\ncommand=y\n",
    )
    .unwrap();
    let site = c.group("site").unwrap();
    assert_eq!(site.priority, 5);
    assert!(matches!(&site.kind, GroupKind::Group { programs } if programs == &["web", "api"]));
    let names: Vec<String> = site.processes.iter().map(|p| p.namespec()).collect();
    assert_eq!(names, ["site:api", "site:web"]);
    assert_eq!(site.processes[1].argv, ["echo", "site"]);
    assert!(c.group("web").is_none() && c.group("solo").is_some());
}

#[test]
fn users_resolve_through_our_passwd_reader() {
    let d = common::tempdir();
    common::write(
        d.path(),
        "etc/passwd",
        "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
    );
    common::write(
        d.path(),
        "etc/group",
        "app:x:1000:\nwww:x:33:app,other\nstaff:x:50:bob\n",
    );
    let c = load(
        d.path(),
        "[supervisord]\n[program:a]\ncommand=x\nuser=app\n[program:b]\ncommand=y\nuser=ghost\n",
    )
    .unwrap();
    let a = c.group("a").unwrap().processes[0].user.clone().unwrap();
    assert_eq!((a.uid, a.gid), (Some(1000), Some(1000)));
    assert_eq!(a.groups, [1000, 33]);
    let b = c.group("b").unwrap().processes[0].user.clone().unwrap();
    assert_eq!(b.uid, None);
    assert!(c
        .warnings
        .iter()
        .any(|w| w.key.as_deref() == Some("user") && w.message.contains("ghost")));
}

#[test]
fn log_targets_and_redirect() {
    let d = common::tempdir();
    let c = load(
        d.path(),
        "[supervisord]\n[program:a]\ncommand=x\nstdout_logfile=/dev/stdout\nstderr_logfile=/proc/self/fd/2\n\
         [program:b]\ncommand=x\nredirect_stderr=true\nstderr_logfile=/tmp/b.err\nstdout_logfile=~/b.log\n\
         stdout_logfile_also=/dev/stdout, NONE\nconsole_prefix=false\n",
    )
    .unwrap();
    let a = &c.group("a").unwrap().processes[0];
    assert_eq!(
        (&a.stdout.target, &a.stderr.target),
        (&LogTarget::Stdout, &LogTarget::Stderr)
    );
    let b = &c.group("b").unwrap().processes[0];
    assert_eq!(b.stderr.target, LogTarget::None);
    assert_eq!(b.stdout.target, LogTarget::File(d.path().join("b.log")));
    assert_eq!(b.stdout.also, [LogTarget::Stdout]);
    assert_eq!(b.console_prefix, config::ConsolePrefix::Off);
    assert!(c
        .warnings
        .iter()
        .any(|w| w.key.as_deref() == Some("stderr_logfile")));
}

#[test]
fn unparsable_command_is_a_spawn_time_error_as_in_supervisord() {
    let d = common::tempdir();
    let c = load(
        d.path(),
        "[supervisord]\n[program:a]\ncommand=bash -c 'a ; b'\n",
    )
    .unwrap();
    let a = &c.group("a").unwrap().processes[0];
    assert!(a.argv.is_empty());
    assert!(a
        .argv_error
        .as_deref()
        .unwrap_or("")
        .contains("closing quotation"));
}

#[test]
fn servers_and_ctl() {
    let d = common::tempdir();
    let c = load(
        d.path(),
        "[supervisord]\n[unix_http_server]\nfile=%(here)s/s.sock\n[inet_http_server]\nport=*:9011\n\
         username=u\npassword={SHA}82ab876d1387bfafe46cc1c8a2ef074eae50cb1d\n[supervisorctl]\nserverurl=unix://%(here)s/s.sock\n",
    )
    .unwrap();
    let u = c.unix_http_server.unwrap();
    assert_eq!((u.file, u.chmod), (d.path().join("s.sock"), 0o700));
    let i = c.inet_http_server.unwrap();
    assert_eq!((i.host.as_str(), i.port), ("", 9011));
    assert!(i.auth.unwrap().password.starts_with("{SHA}"));
    assert_eq!(
        c.supervisorctl.unwrap().serverurl,
        format!("unix://{}", d.path().join("s.sock").display())
    );
}
