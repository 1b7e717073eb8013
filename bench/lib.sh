# Shared by the bench/ scripts (bash): `. bench/lib.sh` from the repository root.
# The supervisor 4.3.0 venv, the release steward, and what /proc says about a process.

# The venv with supervisor 4.3.0: $STEWARD_SUPERVISOR_VENV, else target/supervisor-venv (the one
# scripts/test.sh makes), created here when missing. Prints its path; pip's noise goes to stderr.
bench_supervisor_venv() {
  local venv=${STEWARD_SUPERVISOR_VENV:-$PWD/target/supervisor-venv}
  if [ ! -x "$venv/bin/supervisord" ]; then
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check 'supervisor==4.3.0' >&2
  fi
  echo "$venv"
}

# Builds the release steward and sets STEWARD (its path) and STEWARD_BUILD ("static", "static-glibc"
# or "dynamic"). `bench_steward static` tries README's static build first (musl), then a static glibc
# one, and falls back to the ordinary one when neither can be made here.
bench_steward() {
  local musl gnu
  musl="$(uname -m)-unknown-linux-musl"
  gnu="$(uname -m)-unknown-linux-gnu"
  if [ "${1:-}" = static ] &&
    { rustup target list --installed | grep -qx "$musl" || rustup target add "$musl" >&2; } &&
    cargo build -q --release --target "$musl" --bin steward >&2; then
    STEWARD="$PWD/target/$musl/release/steward"
    STEWARD_BUILD=static
  elif [ "${1:-}" = static ] &&
    RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release --target "$gnu" --bin steward >&2; then
    STEWARD="$PWD/target/$gnu/release/steward"
    STEWARD_BUILD=static-glibc
  else
    [ "${1:-}" = static ] && echo "bench: the static build failed; using the ordinary release build" >&2
    cargo build -q --release --bin steward >&2
    STEWARD="$PWD/target/release/steward"
    STEWARD_BUILD=dynamic
  fi
}

# The init of a PID namespace: the one child of `unshare --fork` (pid $1). Polls up to 10 s.
pid1_of() {
  local u=$1 k i
  for i in $(seq 200); do
    k=$(awk '{print $1}' "/proc/$u/task/$u/children" 2>/dev/null || true)
    [ -n "$k" ] && { echo "$k"; return 0; }
    sleep 0.05
  done
  echo "bench: no init under pid $u after 10 s" >&2
  return 1
}

# A `Key:` of /proc/PID/status (VmRSS, in kB, …).
proc_field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

# CPU clock ticks (user + system, all threads, not its children) of a process.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
