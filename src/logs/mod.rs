//! Child output: pipe readers, rotating files, console prefixing, tail buffers; steward's own log.

pub mod console;
pub mod rotate;
pub mod tail;
