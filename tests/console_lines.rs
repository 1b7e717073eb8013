//! Child output on steward's console, black-box: a line written in two pieces with a quiet spell between
//! them never has another program's line (or steward's own) glued to it, and `[supervisord]
//! console_prefix` sets every program's prefix at once, in INI and TOML.

mod common;

use std::time::Duration;

use common::*;

const T: Duration = Duration::from_secs(10);

/// Each program polls for a file the test creates; the polling is the program's behaviour, the test
/// waits for what steward prints.
fn program(name: &str, first: &str, gate: &str, rest: &str) -> String {
    format!(
        "[program:{name}]\n\
         command=sh -c 'printf \"{first}\"; while [ ! -e {{dir}}/{gate} ]; do sleep 0.02; done; \
         printf \"{rest}\"; exec sleep 600'\n\
         stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nstartsecs=0\n"
    )
}

fn lines_with<'a>(out: &'a str, needle: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.contains(needle)).collect()
}

#[test]
fn a_line_split_by_a_pause_is_two_prefixed_lines_and_nothing_is_glued_to_it() {
    let programs = format!(
        "{}\n{}",
        program("slow", "half-", "go-rest", "rest-of-line\\n"),
        program("other", "", "go-other", "other-line\\n"),
    );
    let (steward, dir) = Pid1::with_conf(&programs);
    // The first piece shows on its own after the quiet spell, prefixed and ended.
    steward.wait_stdout("slow | half-\n", T);
    // Another program writes meanwhile, and steward logs the state changes.
    std::fs::write(dir.path().join("go-other"), "").unwrap();
    steward.wait_stdout("other | other-line\n", T);
    steward.wait_stdout("success: other entered RUNNING state", T);
    std::fs::write(dir.path().join("go-rest"), "").unwrap();
    let out = steward.wait_stdout("slow | rest-of-line\n", T);

    assert_eq!(lines_with(&out, "half-"), ["slow | half-"], "{out}");
    assert_eq!(
        lines_with(&out, "rest-of-line"),
        ["slow | rest-of-line"],
        "{out}"
    );
    assert_eq!(
        lines_with(&out, "other-line"),
        ["other | other-line"],
        "{out}"
    );
    // steward's own lines start at the start of a line too.
    for l in lines_with(&out, "entered RUNNING state") {
        assert!(!l.contains(" | "), "glued: {l:?}\n{out}");
    }
    assert!(pos(&out, "slow | half-") < pos(&out, "other | other-line"));
    assert!(pos(&out, "other | other-line") < pos(&out, "slow | rest-of-line"));
}

#[test]
fn output_without_a_final_newline_is_ended_when_the_program_exits() {
    let programs = "[program:last]\ncommand=printf 'no newline at the end'\n\
                    stdout_logfile=/dev/stdout\nstdout_logfile_maxbytes=0\nstartsecs=0\n\
                    autorestart=false\n";
    let (steward, _dir) = Pid1::with_conf(programs);
    // The exit may be logged before the pump, at EOF, ends the last line: wait for both.
    steward.wait_stdout("exited: last", T);
    let out = steward.wait_stdout("no newline at the end\n", T);
    assert_eq!(
        lines_with(&out, "no newline"),
        ["last | no newline at the end"],
        "{out}"
    );
}

#[test]
fn supervisord_console_prefix_is_every_programs_default_in_ini() {
    let programs = "[program:plain]\ncommand=echo plain-output\nstdout_logfile=/dev/stdout\n\
                    stdout_logfile_maxbytes=0\nstartsecs=0\nautorestart=false\n\n\
                    [program:own]\ncommand=echo own-output\nstdout_logfile=/dev/stdout\n\
                    stdout_logfile_maxbytes=0\nstartsecs=0\nautorestart=false\n\
                    console_prefix=own>\n";
    let (steward, _dir) = Pid1::with_conf_sd("console_prefix=false", programs);
    let out = steward.wait_stdout("own> own-output\n", T);
    let out = if out.contains("\nplain-output\n") {
        out
    } else {
        steward.wait_stdout("\nplain-output\n", T)
    };
    assert_eq!(lines_with(&out, "plain-output"), ["plain-output"], "{out}");

    let (steward, _dir) = Pid1::with_conf_sd("console_prefix=[%(program_name)s]", programs);
    steward.wait_stdout("[plain] plain-output\n", T);
    steward.wait_stdout("own> own-output\n", T);
}

#[test]
fn supervisord_console_prefix_in_toml_and_its_errors() {
    let dir = tempdir();
    let toml = |sd_value: &str| {
        format!(
            "[supervisord]\nconsole_prefix = {sd_value}\n\n\
             [program.a]\ncommand = \"true\"\n\n\
             [program.b]\ncommand = \"true\"\nconsole_prefix = \"b: \"\n"
        )
    };
    let prefixes = |text: &str| -> Vec<serde_json::Value> {
        let p = write(dir.path(), "s.toml", text);
        let out = run(&["check", "--json", "-c", p.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut all = Vec::new();
        for g in v["groups"].as_array().unwrap() {
            for p in g["processes"].as_array().unwrap() {
                all.push(p["console_prefix"].clone());
            }
        }
        all
    };
    assert_eq!(
        prefixes(&toml("false")),
        [serde_json::json!("Off"), serde_json::json!({"Text": "b: "})]
    );
    assert_eq!(
        prefixes(&toml("\"%(program_name)s> \"")),
        [
            serde_json::json!({"Text": "a> "}),
            serde_json::json!({"Text": "b: "})
        ]
    );

    // A value of the wrong type, or a name that does not expand, is an error at [supervisord]'s line,
    // said once however many programs use it.
    for (value, says) in [
        ("3", "invalid value 3: expected a prefix format or false"),
        ("\"%(nope)s\"", "uses 'nope'"),
    ] {
        let mut text = toml(value);
        text.push_str("\n[program.c]\ncommand = \"true\"\n");
        let p = write(dir.path(), "bad.toml", &text);
        let out = run(&["check", "-c", p.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        let at = format!("{}:2: [supervisord] console_prefix: ", p.display());
        assert_eq!(count(&err, &at), 1, "{err}");
        assert!(err.contains(says), "{err}");
    }
}
