//! The `%(name)s` expander on arbitrary templates against a fixed mapping (strings and ints, as
//! configs have): a result or an error, never a panic; a template without `%` comes back unchanged.
#![no_main]
use libfuzzer_sys::fuzz_target;
use steward::config::expand::{expand, Var, Vars};

fuzz_target!(|data: &[u8]| {
    let Ok(template) = std::str::from_utf8(data) else {
        return;
    };
    let mut vars = Vars::new();
    vars.insert("program_name".into(), Var::Str("web".into()));
    vars.insert("process_num".into(), Var::Int(7));
    vars.insert("numprocs".into(), Var::Int(-3));
    vars.insert("here".into(), Var::Str("/etc/%(x)s".into()));
    vars.insert("ENV_HOME".into(), Var::Str("/root".into()));
    vars.insert("big".into(), Var::Int(i64::MIN));
    let r = expand(template, &vars);
    if !template.contains('%') {
        assert_eq!(r.as_deref(), Ok(template));
    }
});
