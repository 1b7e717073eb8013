#!/usr/bin/env bash
# Create the venv with the stock supervisor 4.3.0 that the compat tests (tests/ctl_compat.rs) drive.
# Usage: bash tests/compat/setup-venv.sh [DIR]   (DIR defaults to $STEWARD_SUPERVISOR_VENV or
# /tmp/steward-supervisor-4.3.0-venv). Idempotent: does nothing when the venv already has 4.3.0.
set -euo pipefail
dir="${1:-${STEWARD_SUPERVISOR_VENV:-/tmp/steward-supervisor-4.3.0-venv}}"
if [ -x "$dir/bin/supervisord" ] && "$dir/bin/python" -c 'import supervisor,sys; from importlib.metadata import version; sys.exit(version("supervisor")!="4.3.0")' 2>/dev/null; then
    echo "supervisor 4.3.0 venv ready at $dir"
    exit 0
fi
python3 -m venv "$dir"
"$dir/bin/pip" install --quiet --disable-pip-version-check 'supervisor==4.3.0'
echo "supervisor 4.3.0 venv ready at $dir"
