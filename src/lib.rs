//! steward: a supervisord-compatible PID-1 init for multi-process containers.

pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod ctl;
pub mod engine;
pub mod logs;
pub mod run;
pub mod single;
pub mod suggest;
