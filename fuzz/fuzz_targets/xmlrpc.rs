//! The XML-RPC decoder on arbitrary bytes, as a call (what the server reads) and as a response
//! (what `steward ctl` reads): a value or a decode error, never a panic. A call that decodes is
//! encoded again and must decode to the same method name and number of parameters.
#![no_main]
use libfuzzer_sys::fuzz_target;
use steward::control::xmlrpc::{decode_call, decode_response, encode_call};

fuzz_target!(|data: &[u8]| {
    if let Ok(call) = decode_call(data) {
        let again = encode_call(&call.name, &call.params);
        let back = decode_call(again.as_bytes()).expect("our own encoding decodes");
        assert_eq!(back.name, call.name);
        assert_eq!(back.params.len(), call.params.len());
    }
    let _ = decode_response(data);
});
