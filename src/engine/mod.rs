//! The supervisor proper.
//!
//! * [`process`]: the per-process state machine, pure and closed: `handle(event) -> effects`.
//! * [`transitions`]: the subscribers to its state changes (the main log's phrases today).
//! * [`supervisor`]: the single owner of the process table and its event loop.
//! * [`spawn`]: fork/exec of one process. [`reaper`]: the only `waitpid` caller.
//! * [`signals`]: what each signal means. [`mainlog`]: steward's own log behind `tracing`.
//! * [`api`]: the one interface to the engine (the [`api::Engine`] trait, ids, snapshots, errors).
//!
//! The engine knows nothing of the command line or the control server: `crate::run` wires them
//! together.
//! * Child output goes through `crate::logs`: one pipe per stream, one pump task per pipe; the
//!   supervisor owns the `Logs` and `MainLog` of the config in force.
//!
//! Deliberate differences from supervisord 4.3.0, all in the direction its users asked for:
//! * Never daemonizes; `nodaemon` is accepted and always in effect (so `[supervisord] umask` and
//!   `directory`, which supervisord applies only when daemonizing, do nothing).
//! * Exits are reaped the moment SIGCHLD arrives, so there is no 1 s tick: nothing waits for a tick at
//!   boot, a program that ran a while is restarted at once, and a quick exit during startsecs is always
//!   BACKOFF (never the racy "RUNNING then EXITED"). Autorestarts from EXITED still come no sooner than
//!   1 s after the previous start, supervisord's effective rate, so a crash loop costs little.
//! * Stopping a BACKOFF process resets its backoff count.
//! * A stop request for an EXITED process cancels its pending autorestart (the reply is still
//!   NOT_RUNNING).
//! * `minfds`/`minprocs` that cannot be met are a warning, not exit 2.
//! * `logfile=/dev/stdout` with the stdout echo on writes each line once, to the inherited fd 1.
//! * The pidfile is removed at exit only if it is still a regular file holding our pid.
//! * No `CRIT Supervisor is running as root` line.
//! * A reload (SIGHUP, `restart`) reads the config before stopping anything; an invalid one is
//!   logged and refused and everything keeps running; supervisord exits 2, which as PID 1 would end
//!   the container.

pub mod api;
pub mod events;
pub mod fcgi;
pub mod mainlog;
pub mod metrics;
pub mod process;
pub mod reaper;
pub mod signals;
pub mod spawn;
pub mod supervisor;
pub mod transitions;
