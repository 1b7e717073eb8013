//! The wall clock, for what people read: epoch seconds in process snapshots, local times in log
//! lines and descriptions. Timers never use it (they run on `Instant`, the monotonic clock).

/// Seconds since the epoch now (0 if the clock is before it).
pub fn epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `secs` as local broken-down time, in the zone the C library reads from `TZ`/`/etc/localtime`.
pub fn local(secs: i64) -> Option<libc::tm> {
    // On musl the libc crate marks `time_t` deprecated (its width is to follow musl 1.2's 64 bits);
    // localtime_r takes that type whatever its width.
    #[allow(deprecated)]
    let t = secs as libc::time_t;
    // SAFETY: all-zero bytes are a valid `tm` (plain integers and a nullable pointer).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: localtime_r only reads `t` and writes into `tm`, both live across the call.
    let ok = !unsafe { libc::localtime_r(&t, &mut tm) }.is_null();
    ok.then_some(tm)
}
