//! Measurements, not assertions: run with `bench/engine_crashloop.sh` (or
//! `cargo test --release --test engine_bench -- --ignored --nocapture`).

mod common;

use common::*;
use std::time::{Duration, Instant};

/// steward's own CPU (utime+stime from /proc) while programs crash in a loop.
#[test]
#[ignore]
fn crash_loop_cpu() {
    let window = Duration::from_secs(
        std::env::var("STEWARD_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10),
    );
    // SAFETY: sysconf with a constant name.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    for (label, programs) in [
        (
            "1 program, startsecs=0, exits at once, autorestart=true",
            "[program:crash]\ncommand=false\nstartsecs=0\nautorestart=true\n",
        ),
        (
            "10 programs, startsecs=0, exit at once, autorestart=true, output to a file",
            "[program:crash]\ncommand=sh -c 'echo boom; exit 1'\nprocess_name=%(program_name)s_%(process_num)02d\n\
             numprocs=10\nstartsecs=0\nautorestart=true\nstdout_logfile={dir}/crash.log\n",
        ),
        (
            "1 program, default startsecs=1, exits at once (BACKOFF/FATAL, then idle)",
            "[program:crash]\ncommand=false\nstartretries=3\n",
        ),
    ] {
        let (mut p, _dir) = Pid1::with_conf(programs);
        p.wait_stdout("spawned:", Duration::from_secs(10));
        let init = p.init_pid();
        let t0 = Instant::now();
        let c0 = cpu_ticks(init).unwrap();
        let n0 = main_thread_ns(init);
        let s0 = count(&p.stdout(), "spawned:");
        std::thread::sleep(window);
        let c1 = cpu_ticks(init).unwrap();
        let n1 = main_thread_ns(init);
        let spawns = count(&p.stdout(), "spawned:") - s0;
        let secs = t0.elapsed().as_secs_f64();
        let cpu_ms = (c1 - c0) as f64 * 1000.0 / hz;
        println!(
            "{label}: {spawns} spawns in {secs:.1} s; steward CPU {cpu_ms:.0} ms (all threads, clock ticks) = {:.2}% of one core, {:.2} ms per spawn; main thread {:.1} ms",
            cpu_ms / secs / 10.0,
            if spawns > 0 { cpu_ms / spawns as f64 } else { 0.0 },
            (n1 - n0) as f64 / 1e6
        );
        p.signal(libc::SIGTERM);
        p.wait_exit(Duration::from_secs(20));
    }
}

/// CPU time of the supervisor thread itself in ns (`/proc/PID/schedstat`, finer than clock ticks).
fn main_thread_ns(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
