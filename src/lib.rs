//! steward: a supervisord-compatible PID-1 init for multi-process containers.

pub mod config;
