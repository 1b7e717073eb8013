//! The XML-RPC decoder on arbitrary bytes, as a call (what the server reads) and as a response
//! (what `steward ctl` reads): a value or a decode error, never a panic. A call that decodes is
//! encoded again and must decode to the same method name and number of parameters.
#![no_main]
use libfuzzer_sys::fuzz_target;

// Each target uses one of the shared checks.
#[allow(dead_code)]
mod checks {
    include!("../checks.rs");
}

fuzz_target!(|data: &[u8]| {
    if let Err(e) = checks::xmlrpc(data) {
        panic!("{e}");
    }
});
