//! `steward check`: load a config, print the resolved processes, exit 0, or 2 on errors (and on
//! warnings with `--strict`). Warnings include what will fail at spawn time on this machine.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::CheckArgs;
use crate::config::{self, Config, GroupKind, LoadOptions, LogSpec, LogTarget, ProcessSpec};

/// Find the config: `-c`, else the search list. Prints the error and returns `None` when there is none.
pub fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let found = config::locate(Path::new(&argv0));
    if found.is_none() {
        eprintln!("{}", config::not_found_message(Path::new(&argv0)));
        eprintln!("For help, use steward help check");
    }
    found
}

/// Load with the spawn-time checks and report as every mode does: `Error: …` lines on stderr, and
/// warnings too (as errors when `strict`, which then fails the load).
pub fn load_reporting(path: &Path, strict: bool) -> Option<Config> {
    report_load(strict, |opts| config::load(path, opts))
}

/// [`load_reporting`] for any loader (a config file, a Procfile).
fn report_load(
    strict: bool,
    load: impl FnOnce(&LoadOptions) -> Result<Config, config::LoadError>,
) -> Option<Config> {
    let opts = LoadOptions {
        spawn_checks: true,
        ..LoadOptions::from_process()
    };
    let (config, warnings, errors) = match load(&opts) {
        Ok(c) => {
            let w = c.warnings.clone();
            (Some(c), w, Vec::new())
        }
        Err(e) => (None, e.warnings, e.errors),
    };
    let tag = if strict { "Error" } else { "warning" };
    for w in &warnings {
        eprintln!("{tag}: {w}");
    }
    for err in &errors {
        eprintln!("Error: {err}");
    }
    if strict && !warnings.is_empty() {
        return None;
    }
    config
}

fn target_text(t: &LogTarget) -> String {
    match t {
        LogTarget::None => "NONE".into(),
        LogTarget::Auto => "AUTO".into(),
        LogTarget::Stdout => "console (stdout)".into(),
        LogTarget::Stderr => "console (stderr)".into(),
        LogTarget::Syslog => "syslog".into(),
        LogTarget::File(p) => p.display().to_string(),
    }
}

fn log_text(l: &LogSpec) -> String {
    let mut parts = vec![target_text(&l.target)];
    parts.extend(l.also.iter().map(target_text));
    let mut s = parts.join(" + ");
    let rotates = l
        .also
        .iter()
        .chain(std::iter::once(&l.target))
        .any(|t| matches!(t, LogTarget::File(_) | LogTarget::Auto));
    if rotates {
        if l.maxbytes > 0 {
            s.push_str(&format!(
                " (rotate at {}, {} backups)",
                human_bytes(l.maxbytes),
                l.backups
            ));
        } else {
            s.push_str(" (no rotation)");
        }
    }
    s
}

fn human_bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")];
    for (size, unit) in UNITS {
        if n >= size && n % size == 0 {
            return format!("{}{unit}", n / size);
        }
    }
    format!("{n} bytes")
}

fn print_process(out: &mut impl Write, p: &ProcessSpec) -> std::io::Result<()> {
    writeln!(
        out,
        "  {}  priority {}, {}",
        p.namespec(),
        p.priority,
        if p.autostart {
            "autostart"
        } else {
            "manual start"
        }
    )?;
    if p.argv.is_empty() {
        writeln!(out, "    command: {:?} (cannot be split)", p.command_line)?;
    } else {
        writeln!(out, "    argv:    {:?}", p.argv)?;
    }
    if let Some(u) = &p.user {
        writeln!(out, "    user:    {}", u.name)?;
    }
    if let Some(d) = &p.directory {
        writeln!(out, "    dir:     {}", d.display())?;
    }
    let l = &p.lifecycle;
    if !l.depends_on.is_empty() {
        let deps: Vec<String> = l
            .depends_on
            .iter()
            .map(|d| match d.condition {
                crate::config::model::Condition::Running => d.name.clone(),
                crate::config::model::Condition::Exited => format!("{} (exited)", d.name),
            })
            .collect();
        writeln!(out, "    needs:   {}", deps.join(", "))?;
    }
    if let Some(c) = &l.ready_check {
        writeln!(out, "    ready:   {c} (within {} s)", l.ready_timeout)?;
    }
    if let Some(c) = &l.health_check {
        writeln!(
            out,
            "    health:  {c} (every {} s, restart after {} failures)",
            l.health_interval, l.health_retries
        )?;
    }
    if l.critical {
        writeln!(out, "    critical: steward ends with it")?;
    }
    writeln!(out, "    stdout:  {}", log_text(&p.stdout))?;
    if p.redirect_stderr {
        writeln!(out, "    stderr:  redirected to stdout")?;
    } else {
        writeln!(out, "    stderr:  {}", log_text(&p.stderr))?;
    }
    Ok(())
}

/// The human-readable report.
pub fn report(out: &mut impl Write, c: &Config) -> std::io::Result<()> {
    let nproc = c.processes().count();
    writeln!(
        out,
        "{}: OK, {} process{} in {} group{}",
        c.source.display(),
        nproc,
        if nproc == 1 { "" } else { "es" },
        c.groups.len(),
        if c.groups.len() == 1 { "" } else { "s" }
    )?;
    for f in c.files.iter().skip(1) {
        writeln!(out, "included {}", f.display())?;
    }
    for g in &c.groups {
        let kind = match &g.kind {
            GroupKind::Program => "program",
            GroupKind::Group { .. } => "group",
            GroupKind::EventListener(_) => "eventlistener",
            GroupKind::FcgiProgram(_) => "fcgi-program",
        };
        writeln!(out, "[{kind}:{}] priority {}", g.name, g.priority)?;
        for p in &g.processes {
            print_process(out, p)?;
        }
    }
    Ok(())
}

pub fn main(args: &CheckArgs) -> i32 {
    let config = match &args.procfile {
        // As `steward -f Procfile` would run it (its .env, foreman's ports, one copy of each).
        Some(procfile) => report_load(args.strict, |opts| {
            let o = config::procfile::ProcfileOptions::new(procfile.clone());
            config::procfile::load(&o, opts)
        }),
        None => {
            let Some(path) = config_path(args.configuration.as_deref()) else {
                return 2;
            };
            load_reporting(&path, args.strict)
        }
    };
    let Some(config) = config else {
        return 2;
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let written = if args.json {
        serde_json::to_writer_pretty(&mut out, &config)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        report(&mut out, &config)
    };
    match written {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("Error: writing the report: {e}");
            1
        }
    }
}
