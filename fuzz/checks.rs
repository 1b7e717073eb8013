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
