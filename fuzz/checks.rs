// The checks each fuzz target makes on one input, beyond "no panic": shared by the fuzz targets and
// by tests/fuzz_corpus.rs (which replays the corpora on the stable toolchain), each including this
// file as a module. An `Err` says which check failed.

/// The INI reader: a model or errors, and an `Err` carries at least one error.
pub fn ini(data: &[u8]) -> Result<(), String> {
    let Ok(text) = std::str::from_utf8(data) else {
        return Ok(());
    };
    match steward::config::ini::parse(text) {
        Err(errors) if errors.is_empty() => Err("an Err without any error".into()),
        _ => Ok(()),
    }
}

/// The `%(name)s` expander against a fixed mapping (strings and ints, as configs have): a result or
/// an error, and a template without `%` comes back unchanged.
pub fn expand(data: &[u8]) -> Result<(), String> {
    use steward::config::expand::{expand, Var, Vars};
    let Ok(template) = std::str::from_utf8(data) else {
        return Ok(());
    };
    let mut vars = Vars::new();
    vars.insert("program_name".into(), Var::Str("web".into()));
    vars.insert("process_num".into(), Var::Int(7));
    vars.insert("numprocs".into(), Var::Int(-3));
    vars.insert("here".into(), Var::Str("/etc/%(x)s".into()));
    vars.insert("ENV_HOME".into(), Var::Str("/root".into()));
    vars.insert("big".into(), Var::Int(i64::MIN));
    let r = expand(template, &vars);
    if !template.contains('%') && r.as_deref() != Ok(template) {
        return Err(format!("a template without % came back as {r:?}"));
    }
    Ok(())
}

/// The XML-RPC decoder, as a call (what the server reads) and as a response (what `steward ctl`
/// reads): a call that decodes is encoded again and decodes to the same method name and number of
/// parameters.
pub fn xmlrpc(data: &[u8]) -> Result<(), String> {
    use steward::control::xmlrpc::{decode_call, decode_response, encode_call};
    if let Ok(call) = decode_call(data) {
        let again = encode_call(&call.name, &call.params);
        let back = decode_call(again.as_bytes()).map_err(|e| format!("our own encoding: {e:?}"))?;
        if back.name != call.name || back.params.len() != call.params.len() {
            return Err(format!(
                "re-encoded {:?} with {} params came back as {:?} with {}",
                call.name,
                call.params.len(),
                back.name,
                back.params.len()
            ));
        }
    }
    let _ = decode_response(data);
    Ok(())
}

/// The HTTP request reader, on the bytes as one connection's worth of requests, read as the server
/// reads them (heads, then bodies of at most 64 KiB) until the first error or the end. Every head it
/// accepts, written out again, reads back the same, with the same framing.
pub fn http(data: &[u8]) -> Result<(), String> {
    use steward::control::http::{parse_request, Body, Reader};
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut conn = Reader::new(data);
        while let Ok(bytes) = conn.head().await {
            let Ok(head) = parse_request(&bytes) else {
                return Ok(());
            };
            let mut again = head.first.join(" ").into_bytes();
            again.extend_from_slice(b"\r\n");
            for (name, value) in &head.headers {
                again.extend_from_slice(name.as_bytes());
                again.extend_from_slice(b": ");
                again.extend_from_slice(value);
                again.extend_from_slice(b"\r\n");
            }
            again.extend_from_slice(b"\r\n");
            let back = parse_request(&again).map_err(|e| format!("{head:?} written out: {e}"))?;
            if back != head || back.framing() != head.framing() {
                return Err(format!("{head:?} came back as {back:?}"));
            }
            let Ok(framing) = head.framing() else {
                return Ok(());
            };
            let mut body = framing.unwrap_or(Body::Length(0));
            if conn.body(&mut body, 64 * 1024).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    })
}
