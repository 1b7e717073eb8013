#!/usr/bin/env bash
# Single-command mode side by side with the real tini and dumb-init (Debian's packages, installed if
# missing): the cases of tests/single/cases.py run against each, and against steward under their names.
# Not a test: it prints a table, and the reasons below it. A failing case waits out its deadline
# (CASE_DEADLINE, 3 s here), so the whole run takes a minute or two.
#   bench/single_compare.sh [CASE…]
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v tini >/dev/null || need+=(tini)
command -v dumb-init >/dev/null || need+=(dumb-init)
if ((${#need[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build -q
links=$(mktemp -d)
trap 'rm -rf "$links"' EXIT
ln -s "$PWD/target/debug/steward" "$links/tini"
ln -s "$PWD/target/debug/steward" "$links/dumb-init"

CASE_DEADLINE=${CASE_DEADLINE:-3} python3 - "$PWD/target/debug/steward" "$links" "$@" <<'PY'
import json, os, subprocess, sys
steward, links, only = sys.argv[1], sys.argv[2], sys.argv[3:]
cases = ["signals", "rewrite", "stop-rewritten", "group", "single-child", "remap", "chld-ignored", "sigsets",
         "pdeathsig", "ctrl-z", "ctrl-z-nested", "background", "give-back"]
runs = [
    ("steward", "steward", steward, []),
    ("steward PID1", "steward", steward, ["--pid1"]),
    ("tini 0.19", "tini", subprocess.check_output(["sh", "-c", "command -v tini"], text=True).strip(), []),
    ("steward as tini", "tini", os.path.join(links, "tini"), []),
    ("dumb-init 1.2.5", "dumb-init", subprocess.check_output(["sh", "-c", "command -v dumb-init"], text=True).strip(), []),
    ("steward as dumb-init", "dumb-init", os.path.join(links, "dumb-init"), []),
]
here = os.path.join(os.getcwd(), "tests/single/cases.py")
table, notes = {}, []
for case in [c for c in cases if not only or c in only]:
    for title, flavour, binary, extra in runs:
        r = subprocess.run([sys.executable, here, case, flavour, binary] + extra, capture_output=True, text=True)
        try:
            res = json.loads(r.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            res = {"ok": False, "why": (r.stderr or r.stdout).strip()[-200:]}
        if res["ok"] is None:
            cell = "n/a"
        elif res["ok"]:
            cell = "ok"
        else:
            cell = "FAIL"
            notes.append(f"{case} / {title}: {res['why']}")
        table[(case, title)] = cell
        print(f"  {case:13} {title:22} {cell}", file=sys.stderr, flush=True)
titles = [t for t, *_ in runs]
w = max(len(c) for c in cases)
print("| " + "case".ljust(w) + " | " + " | ".join(titles) + " |")
print("|" + "-" * (w + 2) + "|" + "|".join("-" * (len(t) + 2) for t in titles) + "|")
for case in [c for c in cases if not only or c in only]:
    print("| " + case.ljust(w) + " | " + " | ".join(table[(case, t)].ljust(len(t)) for t in titles) + " |")
print()
for n in notes:
    print("- " + n)
PY
