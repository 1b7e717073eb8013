//! Value types of supervisord's config (reference section 1.3). Each parser returns `Err(expected)`,
//! a short phrase saying what was expected, for the loader to wrap with file/line/section/key.

use crate::config::model::{AutoRestart, LogLevel};

pub fn parse_bool(_s: &str) -> Result<bool, String> {
    todo!()
}
pub fn parse_int(_s: &str) -> Result<i64, String> {
    todo!()
}
pub fn parse_byte_size(_s: &str) -> Result<u64, String> {
    todo!()
}
pub fn parse_octal(_s: &str) -> Result<u32, String> {
    todo!()
}
pub fn parse_signal(_s: &str) -> Result<i32, String> {
    todo!()
}
pub fn signal_name(_n: i32) -> Option<&'static str> {
    todo!()
}
pub fn parse_exitcodes(_s: &str) -> Result<Vec<i32>, String> {
    todo!()
}
pub fn parse_autorestart(_s: &str) -> Result<AutoRestart, String> {
    todo!()
}
pub fn parse_loglevel(_s: &str) -> Result<LogLevel, String> {
    todo!()
}
pub fn parse_environment(_s: &str) -> Result<Vec<(String, String)>, String> {
    todo!()
}
pub fn split_command(_s: &str) -> Result<Vec<String>, String> {
    todo!()
}
