#!/usr/bin/env bash
# Slack import throughput: generates exports of 100k and 1M messages (into /tmp, never the repo)
# with the shared seeded generator, then parses each with the release build of the importer's
# example and reports messages/s and peak RSS (/usr/bin/time -v). Usage: bench/import.sh [sizes…]
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
generator="${GENERATOR:-$repo/../shared/bench/gen_slack_export.py}"
work="${BENCH_DIR:-/tmp/secondstory-bench}"
sizes=("${@:-100000 1000000}")
mkdir -p "$work"

cargo build --release -p secondstory-import --example parse_slack --manifest-path "$repo/Cargo.toml"
binary="$repo/target/release/examples/parse_slack"

for size in ${sizes[*]}; do
    export_dir="$work/slack-$size"
    if [ ! -f "$export_dir/users.json" ]; then
        rm -rf "$export_dir"
        python3 "$generator" --out "$export_dir" --messages "$size" --seed 7 --quiet > "$work/gen-$size.json"
    fi
    # Warm the page cache so the figure is the parser's, not the disk's (as in ANCHORS.md).
    cat "$export_dir"/*/*.json > /dev/null
    echo "== $size messages ($(du -sh "$export_dir" | cut -f1))"
    /usr/bin/time -v "$binary" "$export_dir" 2> "$work/time-$size.txt"
    grep -E "Elapsed|Maximum resident" "$work/time-$size.txt"
done
