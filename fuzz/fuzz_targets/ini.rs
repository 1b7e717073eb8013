//! The INI reader on arbitrary text: it returns a model or errors, never panics, and an `Err`
//! carries at least one error.
#![no_main]
use libfuzzer_sys::fuzz_target;

// Each target uses one of the shared checks.
#[allow(dead_code)]
mod checks {
    include!("../checks.rs");
}

fuzz_target!(|data: &[u8]| {
    if let Err(e) = checks::ini(data) {
        panic!("{e}");
    }
});
