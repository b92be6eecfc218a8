#!/usr/bin/env bash
# Times `secondstory lint` against alex, write-good and proselint on the same generated corpora
# (see ../shared/bench/ANCHORS.md for the anchor figures) and prints a Markdown table.
# Scratch files (corpora, npm and pip installs) live under /tmp, never in the repository.
# Usage: bench/lint.sh            (run from the repository root or from bench/)
#        PEERS=0 bench/lint.sh    (only secondstory: the peers take about 15 minutes)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
shared="$repo/../shared"
scratch="${SCRATCH:-/tmp/secondstory-lint-bench}"
mkdir -p "$scratch"
cd "$scratch"

# Corpora: 20 KB doc, 5 MB (seed 1), 50 MB (seed 2).
[ -d one ] || python3 "$shared/bench/gen_corpus.py" --out one --total-mb 0.02 --subdirs 0 >/dev/null
[ -d c5 ] || python3 "$shared/bench/gen_corpus.py" --out c5 --total-mb 5 --seed 1 >/dev/null
[ -d c50 ] || python3 "$shared/bench/gen_corpus.py" --out c50 --total-mb 50 --seed 2 >/dev/null

# Our binary (SECONDSTORY_BIN=path skips the build, e.g. to time a binary built elsewhere).
if [ -n "${SECONDSTORY_BIN:-}" ]; then
  ss="$SECONDSTORY_BIN"
else
  (cd "$repo" && cargo build --release -p secondstory-cli)
  ss="$repo/target/release/secondstory"
fi
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $("$ss" --version 2>/dev/null || echo secondstory), node $(node --version), $(python3 --version)"

# Peers, installed into the scratch dir.
if [ "${PEERS:-1}" = 0 ]; then
  :
elif [ ! -x node/node_modules/.bin/alex ]; then
  mkdir -p node && (cd node && npm install --silent --no-audit --no-fund alex write-good >/dev/null)
fi
if [ "${PEERS:-1}" != 0 ] && [ ! -x venv/bin/proselint ]; then
  python3 -m venv venv && venv/bin/pip install --quiet proselint
fi
[ "${PEERS:-1}" = 0 ] || echo "peers: alex $(node -p 'require("./node/node_modules/alex/package.json").version'), write-good $(node -p 'require("./node/node_modules/write-good/package.json").version'), proselint $(venv/bin/pip show proselint 2>/dev/null | sed -n 's/^Version: //p')"
alex="$scratch/node/node_modules/.bin/alex"
writegood="$scratch/node/node_modules/.bin/write-good"
proselint="$scratch/venv/bin/proselint"

# time_it LABEL CMD...: prints "wall user sys maxrss_kib" of one run (exit codes ignored: linters
# exit non-zero when they find something).
time_it() {
  /usr/bin/time -f "%e %U %S %M" -o "$scratch/time.txt" "$@" >"$scratch/out.txt" 2>&1 || true
  cat "$scratch/time.txt" | tail -1
}

median5() { # median wall time of 5 runs, and the max RSS seen
  local walls=() rss=0 line
  for _ in 1 2 3 4 5; do
    line="$(time_it "$@")"
    walls+=("$(echo "$line" | cut -d' ' -f1)")
    rss=$(( $(echo "$line" | cut -d' ' -f4) > rss ? $(echo "$line" | cut -d' ' -f4) : rss ))
  done
  printf '%s %s\n' "$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 3p)" "$rss"
}

bytes_of() { find "$1" -name '*.md' -printf '%s\n' | awk '{s+=$1} END {print s}'; }
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.2f", b / 1e6 / s; else print "inf" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

one="one/incident-00000.md"
b5="$(bytes_of c5)"; b50="$(bytes_of c50)"
shopt -s globstar

echo "| Tool | 20 KB median of 5 (s) | 20 KB RSS (MiB) | 5 MB wall (s) | 5 MB MB/s | 5 MB RSS (MiB) | 50 MB wall (s) | 50 MB MB/s | 50 MB RSS (MiB) |"
echo "|---|---|---|---|---|---|---|---|---|"
row() { # row NAME CMD-FOR-ONE -- CMD-FOR-DIR (DIR is substituted)
  local name="$1"; shift
  local one_cmd=() dir_cmd=()
  while [ "$1" != "--" ]; do one_cmd+=("$1"); shift; done; shift
  dir_cmd=("$@")
  read -r w1 r1 <<<"$(median5 "${one_cmd[@]}")"
  read -r w5 _ _ r5 <<<"$(time_it "${dir_cmd[@]/DIR/c5}")"
  read -r w50 _ _ r50 <<<"$(time_it "${dir_cmd[@]/DIR/c50}")"
  echo "| $name | $w1 | $(mib "$r1") | $w5 | $(mbps "$b5" "$w5") | $(mib "$r5") | $w50 | $(mbps "$b50" "$w50") | $(mib "$r50") |"
}
row "secondstory (all cores)" "$ss" lint --format json "$one" -- "$ss" lint --format json DIR
RAYON_NUM_THREADS=1 row "secondstory (1 core)" "$ss" lint --format json "$one" -- "$ss" lint --format json DIR
[ "${PEERS:-1}" = 0 ] && exit 0
row "alex" "$alex" "$one" -- "$alex" DIR
row "write-good" "$writegood" "$one" -- bash -c "shopt -s globstar; $writegood DIR/**/*.md"
row "proselint" "$proselint" check "$one" -- "$proselint" check DIR
