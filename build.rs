// The static musl release build is the one images ship, so it is the one made small. Its code is built
// with panic = "abort": nothing ever unwinds, and the unwind tables std and musl's libunwind were
// compiled with (~200 KiB of .eh_frame) are dead weight, dropped at link time (link/drop-unwind-tables.ld).
// A build that can unwind (the dev profile) keeps them. Cargo does not tell a build script the profile's
// panic strategy (CARGO_CFG_PANIC is the target's default), so this keys on the release profile, whose
// panic = "abort" is in Cargo.toml.
fn main() {
    println!("cargo:rerun-if-changed=link/drop-unwind-tables.ld");
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let profile = std::env::var("PROFILE").unwrap_or_default();
    if env == "musl" && profile == "release" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
        println!("cargo:rustc-link-arg-bins=-Wl,--no-eh-frame-hdr");
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{dir}/link/drop-unwind-tables.ld");
    }
}
