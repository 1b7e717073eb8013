//! The `%(name)s` expander on arbitrary templates against a fixed mapping (strings and ints, as
//! configs have): a result or an error, never a panic; a template without `%` comes back unchanged.
#![no_main]
use libfuzzer_sys::fuzz_target;

// Each target uses one of the shared checks.
#[allow(dead_code)]
mod checks {
    include!("../checks.rs");
}

fuzz_target!(|data: &[u8]| {
    if let Err(e) = checks::expand(data) {
        panic!("{e}");
    }
});
