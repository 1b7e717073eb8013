//! The wiring of run mode (`steward -c FILE`): everything between the command line and the engine.
//!
//! Start-up in supervisord's order: load and validate the config (exit 2 before anything starts),
//! open the main log, bind the control servers (a socket in use is exit 2), raise rlimits, become a
//! subreaper, write the pidfile, drop privileges; then run the supervisor and serve the control
//! servers beside it on one `current_thread` runtime until the supervisor's run ends; then remove the
//! pidfile and flush the main log. The only module that knows the engine, the control layer and the
//! command line at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{ProcfileArgs, RunArgs};
use crate::config::model::{Config, LogLevel, LogTarget};
use crate::config::procfile::{self, ProcfileOptions};
use crate::config::{self, LoadOptions};
use crate::control::servers::{serve, Bound};
use crate::engine::mainlog::{self, emit};
use crate::engine::process::Level;
use crate::engine::signals;
use crate::engine::supervisor::{Reloader, Supervisor};

/// `-e/--loglevel` as supervisord spells it.
fn parse_loglevel(s: &str) -> Option<LogLevel> {
    Some(match s.to_ascii_lowercase().as_str() {
        "critical" => LogLevel::Critical,
        "error" => LogLevel::Error,
        "warn" => LogLevel::Warn,
        "info" => LogLevel::Info,
        "debug" => LogLevel::Debug,
        "trace" => LogLevel::Trace,
        "blather" => LogLevel::Blather,
        _ => return None,
    })
}

/// `-l/--logfile`: the special names become the inherited fds.
fn parse_logfile(s: &str) -> LogTarget {
    match s {
        "/dev/stdout" | "/proc/self/fd/1" | "/dev/fd/1" => LogTarget::Stdout,
        "/dev/stderr" | "/proc/self/fd/2" | "/dev/fd/2" => LogTarget::Stderr,
        "syslog" => LogTarget::Syslog,
        p => LogTarget::File(PathBuf::from(p)),
    }
}

/// Command-line flags override the file, as in supervisord. Only the ones the engine itself consumes.
fn apply_overrides(config: &mut Config, args: &RunArgs) {
    let sd = &mut config.supervisord;
    if args.silent {
        sd.silent = true;
    }
    if let Some(l) = args.loglevel.as_deref().and_then(parse_loglevel) {
        sd.loglevel = l;
    }
    if let Some(l) = &args.logfile {
        sd.logfile = parse_logfile(l);
    }
    if let Some(i) = &args.identifier {
        sd.identifier = i.clone();
    }
    if let Some(d) = &args.childlogdir {
        sd.childlogdir = d.clone();
    }
    if args.nocleanup {
        sd.nocleanup = true;
    }
    if args.timestamps {
        sd.console_timestamps = true;
    }
}

fn load(path: &Path, args: &RunArgs) -> Result<Config, Vec<String>> {
    let opts = LoadOptions::from_process();
    match config::load(path, &opts) {
        Ok(mut c) => {
            apply_overrides(&mut c, args);
            Ok(c)
        }
        Err(e) => Err(e.errors.iter().map(|d| d.to_string()).collect()),
    }
}

/// supervisord's `minfds`/`minprocs`: raise the soft limit (and the hard one when we may) so children
/// inherit it. Deliberate difference: when the environment forbids it we warn instead of exiting 2, since
/// a PID 1 that refuses to start takes the whole container down.
fn raise_limits(config: &Config) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let sd = &config.supervisord;
    for (resource, want, key) in [
        (Resource::RLIMIT_NOFILE, sd.minfds, "minfds"),
        (Resource::RLIMIT_NPROC, sd.minprocs, "minprocs"),
    ] {
        let Ok((soft, hard)) = getrlimit(resource) else {
            continue;
        };
        if soft >= want {
            continue;
        }
        let raised = setrlimit(resource, want, hard.max(want))
            .or_else(|_| setrlimit(resource, want.min(hard), hard));
        match getrlimit(resource) {
            Ok((now, _)) if raised.is_ok() && now >= want => {}
            Ok((now, _)) => emit(
                Level::Warn,
                &format!("{key}={want} wanted, but the environment only allows {now}"),
            ),
            Err(_) => {}
        }
    }
}

/// `[supervisord] user=`: switch to that user once everything that needs root is done, as supervisord
/// does. Not root: only "switching" to ourselves is allowed.
fn drop_privileges(config: &Config) -> Result<(), String> {
    let Some(name) = &config.supervisord.user else {
        return Ok(());
    };
    let root = Path::new("/");
    let user = config::passwd::lookup_user(root, name)
        .ok_or_else(|| format!("Invalid user name {name}"))?;
    let (euid, uid) = (nix::unistd::geteuid(), nix::unistd::getuid());
    if !euid.is_root() {
        return if user.uid == uid.as_raw() {
            Ok(())
        } else {
            Err("Can't drop privilege as nonroot user".into())
        };
    }
    if user.uid == 0 {
        return Ok(());
    }
    let mut groups: Vec<nix::unistd::Gid> = vec![nix::unistd::Gid::from_raw(user.gid)];
    for g in config::passwd::groups_of(root, &user) {
        if g != user.gid {
            groups.push(nix::unistd::Gid::from_raw(g));
        }
    }
    nix::unistd::setgroups(&groups).map_err(|e| format!("Could not set groups of {name}: {e}"))?;
    nix::unistd::setgid(nix::unistd::Gid::from_raw(user.gid))
        .map_err(|e| format!("Could not set group id of {name}: {e}"))?;
    nix::unistd::setuid(nix::unistd::Uid::from_raw(user.uid))
        .map_err(|e| format!("Could not set user id of {name}: {e}"))?;
    emit(
        Level::Info,
        &format!("Set uid to user {} succeeded", user.uid),
    );
    Ok(())
}

/// Write our pid to `path` when it is (or will be) a regular file; returns the path to remove at exit.
/// Anything else (`/dev/null`, a fifo…) is left alone: removing it at exit would delete a device.
fn write_pidfile(path: &Path) -> Option<PathBuf> {
    if let Ok(m) = std::fs::symlink_metadata(path) {
        if !m.file_type().is_file() {
            return None;
        }
    }
    match std::fs::write(path, format!("{}\n", std::process::id())) {
        Ok(()) => Some(path.to_path_buf()),
        Err(e) => {
            emit(
                Level::Warn,
                &format!("could not write pidfile {}: {e}", path.display()),
            );
            None
        }
    }
}

/// Remove the pidfile only if it is still a regular file holding our pid.
fn remove_pidfile(path: &Path) {
    let ours = format!("{}\n", std::process::id());
    let is_file = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file());
    if is_file && std::fs::read_to_string(path).is_ok_and(|t| t == ours) {
        let _ = std::fs::remove_file(path);
    }
}

/// `steward -c FILE`: run the supervisor in the foreground until shutdown; returns the exit status.
/// steward never daemonizes: `nodaemon` is accepted and always true in effect.
pub fn main(args: &RunArgs) -> i32 {
    let argv0 = std::env::args_os()
        .next()
        .unwrap_or_else(|| "steward".into());
    let prog = Path::new(&argv0)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "steward".into());
    if args.version {
        println!("{}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    signals::hold();
    let path = match &args.configuration {
        Some(p) => p.clone(),
        None => match config::locate(Path::new(&argv0)) {
            Some(p) => p,
            None => {
                eprintln!("{}", config::not_found_message(Path::new(&argv0)));
                eprintln!("For help, use {prog} -h");
                return 2;
            }
        },
    };
    let config = match load(&path, args) {
        Ok(c) => c,
        Err(mut errors) => {
            let argv: Vec<_> = std::env::args_os().collect();
            if let (Some(e), Some(hint)) =
                (errors.first_mut(), crate::cli::single_child_hint(&argv))
            {
                e.push_str(&format!("\n{hint}"));
            }
            return refuse(&errors, &format!("{prog} -h"));
        }
    };
    let reload_args = args.clone();
    let reloader = Box::new(move || load(&path, &reload_args).map_err(|errors| errors.join("; ")));
    run_config(config, reloader, &prog)
}

/// A config that cannot be loaded: every error, where to get help, exit 2 (as supervisord).
fn refuse(errors: &[String], help: &str) -> i32 {
    for e in errors {
        eprintln!("Error: {e}");
    }
    eprintln!("For help, use {help}");
    2
}

fn procfile_options(args: &ProcfileArgs) -> ProcfileOptions {
    ProcfileOptions {
        procfile: args
            .procfile
            .clone()
            .unwrap_or_else(|| PathBuf::from("Procfile")),
        root: args.root.clone(),
        env_files: args.env.as_deref().map(|e| {
            config::build::split_list(e)
                .into_iter()
                .map(PathBuf::from)
                .collect()
        }),
        port: args.port,
        formation: args.formation.clone(),
        keep_running: args.keep_running,
        timeout: args.timeout,
    }
}

fn load_procfile(args: &ProcfileArgs) -> Result<Config, Vec<String>> {
    let opts = LoadOptions::from_process();
    match procfile::load(&procfile_options(args), &opts) {
        Ok(mut c) => {
            let sd = &mut c.supervisord;
            sd.silent = args.silent;
            sd.console_timestamps = args.timestamps;
            if let Some(l) = args.loglevel.as_deref().and_then(parse_loglevel) {
                sd.loglevel = l;
            }
            Ok(c)
        }
        Err(e) => Err(e.errors.iter().map(|d| d.to_string()).collect()),
    }
}

/// `steward -f Procfile`: the Procfile's programs, with a control socket that needs no config.
pub fn main_procfile(args: &ProcfileArgs) -> i32 {
    signals::hold();
    if let Some(l) = args.loglevel.as_deref() {
        if parse_loglevel(l).is_none() {
            eprintln!("Error: --loglevel {l:?}: expected critical, error, warn, info, debug, trace or blather");
            return 2;
        }
    }
    let config = match load_procfile(args) {
        Ok(c) => c,
        Err(errors) => return refuse(&errors, "steward help procfile"),
    };
    if let Some(sock) = config.unix_http_server.as_ref().map(|u| u.file.clone()) {
        let dir = config.source.parent().unwrap_or(Path::new("/"));
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        if let Err(e) = procfile::prepare_socket_dir(&sock, &dir) {
            eprintln!("Error: {e}");
            return 2;
        }
    }
    let reload_args = args.clone();
    let reloader = Box::new(move || load_procfile(&reload_args).map_err(|e| e.join("; ")));
    run_config(config, reloader, "steward")
}

/// Everything after the config is loaded: logs, servers, limits, privileges, the supervisor.
fn run_config(config: Config, reloader: Reloader, prog: &str) -> i32 {
    crate::engine::spawn::prepare_for_spawning();
    // Opened now, while we may still be root (before `[supervisord] user=` takes effect).
    let main_log = mainlog::install(&config.supervisord);
    for w in &config.warnings {
        emit(Level::Warn, &w.to_string());
    }
    // Before anything starts, as supervisord: a socket in use is fatal (exit 2).
    let servers = match Bound::bind(&config) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("Error: {e}");
            eprintln!("For help, use {prog} -h");
            emit(Level::Crit, &e.to_string());
            return 2;
        }
    };
    raise_limits(&config);
    signals::become_subreaper_unless_pid1();
    let pidfile = config
        .supervisord
        .pidfile
        .clone()
        .and_then(|p| write_pidfile(&p));
    if let Err(e) = drop_privileges(&config) {
        eprintln!("Error: {e}");
        emit(Level::Crit, &e);
        if let Some(p) = &pidfile {
            remove_pidfile(p);
        }
        drop(servers);
        return 2;
    }
    emit(
        Level::Info,
        &format!(
            "{} started with pid {}",
            // Under the name supervisord, its start-up line exactly (log watchers look for it).
            match std::env::args_os().next() {
                Some(a) if crate::cli::invoked_as(Path::new(&a)) == "supervisord" => "supervisord",
                _ => "steward",
            },
            std::process::id()
        ),
    );

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            emit(Level::Crit, &format!("cannot start the runtime: {e}"));
            return 2;
        }
    };
    let code = runtime.block_on(async move {
        let mut sup = Supervisor::new(config, reloader, main_log);
        let engine = std::rc::Rc::new(sup.handle());
        let (reloaded, reloads) = tokio::sync::mpsc::unbounded_channel();
        sup.set_on_reload(Box::new(move |c: &Config| {
            let main_log = mainlog::install(&c.supervisord);
            let _ = reloaded.send(c.clone());
            main_log
        }));
        // Serving ends (and the socket files go) when the supervisor's run returns.
        tokio::select! {
            code = sup.run() => code,
            () = serve(servers, engine, reloads) => 0,
        }
    });
    if let Some(p) = &pidfile {
        remove_pidfile(p);
    }
    emit(Level::Info, "steward exiting");
    mainlog::flush(Duration::from_secs(5));
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minfds_raises_the_soft_limit() {
        use nix::sys::resource::{getrlimit, setrlimit, Resource};
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        setrlimit(Resource::RLIMIT_NOFILE, 256.min(hard), hard).unwrap();
        let mut c = crate::engine::supervisor::tests::config(vec![]);
        c.supervisord.minfds = hard;
        c.supervisord.minprocs = 0;
        raise_limits(&c);
        let (now, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();
        assert_eq!(now, hard);
    }

    #[test]
    fn pidfile_is_written_and_removed_only_as_a_regular_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("s.pid");
        assert_eq!(write_pidfile(&p), Some(p.clone()));
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            format!("{}\n", std::process::id())
        );
        remove_pidfile(&p);
        assert!(!p.exists());
        // Someone else's pid: not ours to remove.
        std::fs::write(&p, "1\n").unwrap();
        remove_pidfile(&p);
        assert!(p.exists());
        // A fifo (like /dev/null, not a regular file) is neither written nor removed.
        let fifo = d.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert_eq!(write_pidfile(&fifo), None);
        remove_pidfile(&fifo);
        assert!(fifo.exists());
    }
}
