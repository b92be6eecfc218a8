#!/usr/bin/env bash
# Slack import throughput: generates exports of 100k and 1M messages (into /tmp, never the repo)
# with the shared seeded generator, then
#   1. parses each with the release build of the importer's example (parse only), and
#   2. imports each end to end with the real CLI into a fresh SQLite database
#      (`secondstory timeline import --all-time`),
# reporting messages/s and peak RSS (/usr/bin/time -v). Usage: bench/import.sh [sizes…]
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
generator="${GENERATOR:-$repo/../shared/bench/gen_slack_export.py}"
work="${BENCH_DIR:-/tmp/secondstory-bench}"
sizes=("${@:-100000 1000000}")
mkdir -p "$work"
# Builds land in CARGO_TARGET_DIR when set (e.g. a private target dir beside another build).
target="${CARGO_TARGET_DIR:-$repo/target}"

cargo build --release -p secondstory-import --example parse_slack --manifest-path "$repo/Cargo.toml"
parser="$target/release/examples/parse_slack"
# CLI=path/to/secondstory measures another build of the CLI (e.g. of an earlier commit).
if [ -z "${CLI:-}" ]; then
    cargo build --release -p secondstory-cli --manifest-path "$repo/Cargo.toml"
fi
cli="${CLI:-$target/release/secondstory}"

# "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.23" → seconds.
wall_seconds() {
    grep "Elapsed (wall clock)" "$1" | awk '{print $NF}' |
        awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }'
}
peak_mib() {
    grep "Maximum resident" "$1" | awk '{printf "%.0f", $NF / 1024}'
}

for size in ${sizes[*]}; do
    export_dir="$work/slack-$size"
    if [ ! -f "$export_dir/users.json" ]; then
        rm -rf "$export_dir"
        python3 "$generator" --out "$export_dir" --messages "$size" --seed 7 --quiet > "$work/gen-$size.json"
    fi
    # Warm the page cache so the figure is the parser's, not the disk's (as in ANCHORS.md).
    cat "$export_dir"/*/*.json > /dev/null
    megabytes=$(du -sb "$export_dir" | awk '{printf "%.0f", $1 / 1000000}')
    echo "== $size messages ($megabytes MB)"

    # 1. Parse only.
    /usr/bin/time -v "$parser" "$export_dir" > "$work/parse-$size.out" 2> "$work/time-$size.txt"
    cat "$work/parse-$size.out"
    seconds=$(wall_seconds "$work/time-$size.txt")
    echo "parse only: ${seconds}s wall, $(awk -v n="$size" -v s="$seconds" 'BEGIN{printf "%.0f", n / s}') msg/s," \
        "$(awk -v m="$megabytes" -v s="$seconds" 'BEGIN{printf "%.0f", m / s}') MB/s, peak RSS $(peak_mib "$work/time-$size.txt") MiB"

    # 2. End to end: the CLI into a fresh SQLite database.
    db_dir="$work/e2e-$size"
    rm -rf "$db_dir" && mkdir -p "$db_dir"
    db="sqlite:$db_dir/bench.db"
    "$cli" --database "$db" incident new --id INC-2024-0001 --title bench --severity SEV3 > /dev/null
    /usr/bin/time -v "$cli" --database "$db" timeline import --incident INC-2024-0001 --all-time "$export_dir" \
        > "$work/e2e-$size.out" 2> "$work/e2e-time-$size.txt"
    head -n 1 "$work/e2e-$size.out"
    seconds=$(wall_seconds "$work/e2e-time-$size.txt")
    echo "end to end (CLI → SQLite): ${seconds}s wall, $(awk -v n="$size" -v s="$seconds" 'BEGIN{printf "%.0f", n / s}') msg/s," \
        "peak RSS $(peak_mib "$work/e2e-time-$size.txt") MiB, database $(du -sh "$db_dir" | cut -f1)"
done
