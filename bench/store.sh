#!/usr/bin/env bash
# Storage benchmarks on SQLite and PostgreSQL (issue: foundation):
#   insert 100k timeline events; load one incident with 10k events; export and import 1,000
#   incidents through the CLI. Usage: bench/store.sh   (PostgreSQL at 127.0.0.1:5432, trust auth)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="${BENCH_DIR:-/tmp/secondstory-bench/store}"
rm -rf "$work" && mkdir -p "$work"
cd "$repo"
cargo build --release -q -p secondstory-cli --bin secondstory --example store_bench
bin="$repo/target/release/secondstory"
bench="$repo/target/release/examples/store_bench"

pg_db="secondstory_bench_$$"
psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE DATABASE $pg_db"
psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE DATABASE ${pg_db}_files"
trap 'psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" -c "DROP DATABASE IF EXISTS ${pg_db}_files WITH (FORCE)" >/dev/null' EXIT

"$bench" "sqlite:$work/files.db" --files "$work/files"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%d)"
for backend in sqlite postgres; do
    if [ $backend = sqlite ]; then
        url="sqlite:$work/bench.db"; files_url="sqlite:$work/import.db"
    else
        url="postgres://postgres@127.0.0.1:5432/$pg_db"; files_url="postgres://postgres@127.0.0.1:5432/${pg_db}_files"
    fi
    echo "== $backend"
    "$bench" "$url"
    start=$(date +%s.%N)
    "$bin" --database "$files_url" import "$work/files" > /dev/null
    mid=$(date +%s.%N)
    "$bin" --database "$files_url" export --format markdown --out "$work/export-$backend" > /dev/null
    end=$(date +%s.%N)
    printf 'import 1,000 incident files (30 events each, one transaction): %.2f s\n' "$(echo "$mid - $start" | bc)"
    printf 'export 1,000 incidents as Markdown: %.2f s\n' "$(echo "$end - $mid" | bc)"
    diff -rq "$work/files" "$work/export-$backend" > /dev/null && echo "export is byte-identical to the imported files"
done
