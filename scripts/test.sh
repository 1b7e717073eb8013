#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need when it is missing: python3 with venv, the
# real supervisor 4.3.0 (PyPI) in a venv under target/, used by the compatibility tests, superlance (PyPI)
# for the event listener tests, honcho (PyPI) to compare Procfile runs with, and headless
# Chromium with its driver plus Selenium (PyPI) in another venv, used by the web page test.
set -euo pipefail
cd "$(dirname "$0")/.."

# The engine depends on neither control nor cli (ARCHITECTURE.md): they are built on its interface.
if edges="$(grep -rn 'crate::control\|crate::cli' src/engine)"; then
  echo "test.sh: src/engine must not use crate::control or crate::cli (ARCHITECTURE.md, one-way data flow):" >&2
  echo "$edges" >&2
  exit 1
fi

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
command -v unshare >/dev/null && command -v nsenter >/dev/null || need_apt+=(util-linux)
command -v runc >/dev/null || need_apt+=(runc)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need_apt+=(busybox-static)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
# A wall clock stepped for steward alone (tests/faults_clock.rs); prlimit and useradd for faults_programs.
ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1 || need_apt+=(libfaketime)
command -v prlimit >/dev/null || need_apt+=(util-linux)
command -v useradd >/dev/null || need_apt+=(passwd)
# ss shows an fcgi-program socket's listen backlog (tests/fcgi.rs).
command -v ss >/dev/null || need_apt+=(iproute2)
# A C compiler builds the 10,000-children forker (tests/faults_programs.rs) and a test helper.
command -v cc >/dev/null && command -v gcc >/dev/null || need_apt+=(gcc)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "missing: ${need_apt[*]} (install them, or run as root)" >&2
  fi
fi

venv="$PWD/target/supervisor-venv"
if [ ! -x "$venv/bin/supervisord" ]; then
  mkdir -p target
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'supervisor==4.3.0'
fi
# prometheus_client's parser checks /metrics (tests/metrics.rs).
"$venv/bin/python3" -c 'import prometheus_client' 2>/dev/null ||
  "$venv/bin/pip" install -q --disable-pip-version-check 'prometheus_client>=0.17'
export STEWARD_SUPERVISOR_VENV="$venv"
export SUPERVISORD="$venv/bin/supervisord" SUPERVISORCTL="$venv/bin/supervisorctl"

# Real event listeners from PyPI (crashmail, httpok), run under supervisord and steward.
superlance_venv="$PWD/target/superlance-venv"
if [ ! -x "$superlance_venv/bin/crashmail" ]; then
  mkdir -p target
  python3 -m venv "$superlance_venv"
  "$superlance_venv/bin/pip" install -q --disable-pip-version-check 'supervisor==4.3.0' 'superlance==2.0.0'
fi
export STEWARD_SUPERLANCE_VENV="$superlance_venv"

# The real honcho (PyPI), run on the same Procfile and .env as steward (tests/procfile.rs).
honcho_venv="$PWD/target/honcho-venv"
if [ ! -x "$honcho_venv/bin/honcho" ]; then
  mkdir -p target
  python3 -m venv "$honcho_venv"
  "$honcho_venv/bin/pip" install -q --disable-pip-version-check 'honcho==2.0.0'
fi
export STEWARD_HONCHO_VENV="$honcho_venv"

web_venv="$PWD/target/web-venv"
if ! "$web_venv/bin/python3" -c 'import selenium' 2>/dev/null; then
  mkdir -p target
  python3 -m venv "$web_venv"
  "$web_venv/bin/pip" install -q --disable-pip-version-check 'selenium>=4.10'
fi
export STEWARD_WEB_VENV="$web_venv"

# The container tests run a static steward inside an OCI bundle with runc: the musl build, as README's
# static binary (musl targets link statically by default; rustup fetches the target's std once). A
# machine that cannot fetch it builds the static glibc binary instead: the container tests hold for both.
static_target="$(uname -m)-unknown-linux-musl"
if rustup target list --installed | grep -qx "$static_target" || rustup target add "$static_target"; then
  cargo build -q --target "$static_target" --target-dir target/static
else
  echo "test.sh: no $static_target here; the container tests use a static glibc build" >&2
  static_target="$(uname -m)-unknown-linux-gnu"
  RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --target "$static_target" --target-dir target/static
fi
export STEWARD_STATIC_BIN="$PWD/target/static/$static_target/debug/steward"

# Benchmarks are not tests: they run with `cargo bench` (see bench/).
cargo test --lib --bins --tests "$@"
