#!/usr/bin/env bash
# Server throughput and latency with wrk against a release build of `secondstory serve`, on
# SQLite and on PostgreSQL (a scratch database on 127.0.0.1:5432, trust auth, dropped at the end):
#   - GET  /api/v1/incidents/INC-2026-0001          (the incident read; it has 5,000 events)
#   - GET  /api/v1/incidents/INC-2026-0001/events   (its timeline, all 5,000 events)
#   - GET  /api/v1/incidents                        (list, first page of 50 of 10,000)
#   - GET  /api/v1/search?q=replication%20lag       (full-text search over 10,000 incidents)
#   - POST /api/v1/lint                             (a 20 KB generated review)
# plus the time from spawning `serve` to the first 200 on /healthz (median of 5 starts).
# Seeding: crates/cli/examples/server_seed.rs; the admin and its token are made with the CLI.
# Writes a Markdown table to $BENCH_DIR/server-results.md and prints it.
#
# Usage: bench/server.sh [sqlite] [postgres]     (default: both)
# Searches and incident reads are also measured over a single connection (latency unloaded).
# Env: DURATION (wrk seconds per endpoint, default 15), CONNECTIONS (default 16),
#      THREADS (wrk threads, default 2), PG_URL (default postgres://postgres@127.0.0.1:5432).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
corpus_generator="${CORPUS_GENERATOR:-$repo/../shared/bench/gen_corpus.py}"
work="${BENCH_DIR:-/tmp/secondstory-bench}/server"
backends=("${@:-sqlite postgres}")
duration="${DURATION:-15}"
connections="${CONNECTIONS:-16}"
threads="${THREADS:-2}"
pg_base="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
mkdir -p "$work"

if ! command -v wrk > /dev/null; then
    apt-get install -y wrk > /dev/null 2>&1 || { apt-get update > /dev/null && apt-get install -y wrk > /dev/null; }
fi

cargo build --release -p secondstory-cli --bin secondstory --example server_seed \
    --manifest-path "$repo/Cargo.toml"
cli="$repo/target/release/secondstory"
seed="$repo/target/release/examples/server_seed"

# A 20 KB review for POST /lint, as the JSON body the editor sends.
if [ ! -f "$work/lint-body.json" ]; then
    rm -rf "$work/review"
    python3 "$corpus_generator" --out "$work/review" --total-mb 0.02 --subdirs 0 > /dev/null
    python3 -c 'import json,sys; print(json.dumps({"text": open(sys.argv[1]).read()}))' \
        "$work/review/incident-00000.md" > "$work/lint-body.json"
fi

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

now_ms() { date +%s%3N; }

server_pid=""
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2> /dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" 2> /dev/null || true
    fi
    server_pid=""
}
pg_db=""
cleanup() {
    stop_server
    if [ -n "$pg_db" ]; then
        psql "$pg_base/postgres" -qc "DROP DATABASE IF EXISTS $pg_db" > /dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

# Starts `serve` on $1 (database URL); sets server_pid, port and ready_ms.
start_server() {
    port="$(free_port)"
    local started
    started="$(now_ms)"
    SECONDSTORY_DATABASE_URL="$1" "$cli" serve --addr "127.0.0.1:$port" --log-format json \
        > "$work/serve.out" 2> "$work/serve.err" &
    server_pid=$!
    until curl -sf "http://127.0.0.1:$port/healthz" > /dev/null 2>&1; do
        kill -0 "$server_pid" 2> /dev/null || { cat "$work/serve.err"; exit 1; }
        sleep 0.005
    done
    ready_ms=$(($(now_ms) - started))
}

# wrk's "Latency Distribution" line for a percentile, in ms.
percentile_ms() {
    awk -v p="$2" '$1 == p {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; printf "%.2f", v}' "$1"
}

results="$work/server-results.md"
{
    echo "| backend | endpoint | req/s | p50 ms | p99 ms | non-2xx |"
    echo "|---|---|---:|---:|---:|---:|"
} > "$results"
ready_lines=()

for backend in ${backends[*]}; do
    case "$backend" in
        sqlite)
            rm -f "$work"/server.db*
            url="sqlite:$work/server.db"
            ;;
        postgres)
            pg_db="ss_bench_$$"
            psql "$pg_base/postgres" -qc "DROP DATABASE IF EXISTS $pg_db" > /dev/null
            psql "$pg_base/postgres" -qc "CREATE DATABASE $pg_db" > /dev/null
            url="$pg_base/$pg_db"
            ;;
        *) echo "unknown backend $backend (sqlite or postgres)" >&2; exit 2 ;;
    esac
    echo "== $backend: seeding"
    "$seed" "$url" 10000 5000
    # What autovacuum would do within a minute of such a load: without statistics the planner
    # sorts all 10,000 rows for a page of 50 instead of walking the index.
    if [ "$backend" = postgres ]; then
        psql "$url" -qc "VACUUM ANALYZE" > /dev/null
    fi
    SECONDSTORY_DATABASE_URL="$url" SECONDSTORY_PASSWORD="bench-password-1234" \
        "$cli" user add bench --role admin > /dev/null
    token="$(SECONDSTORY_DATABASE_URL="$url" "$cli" token create bench --name wrk --scope write |
        grep '^ss_')"

    # Time to ready: five starts on the seeded database, the median reported.
    times=()
    for _ in 1 2 3 4 5; do
        start_server "$url"
        times+=("$ready_ms")
        stop_server
    done
    median="$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)"
    ready_lines+=("| $backend | $median | ${times[*]} |")
    echo "== $backend: time to ready ${times[*]} ms (median $median)"

    start_server "$url"
    base="http://127.0.0.1:$port"
    cat > "$work/lint.lua" << EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
local f = io.open("$work/lint-body.json", "r")
wrk.body = f:read("*a")
f:close()
EOF
    endpoints=(
        "incident read|/api/v1/incidents/INC-2026-0001|"
        "timeline, 5,000 events|/api/v1/incidents/INC-2026-0001/events|"
        "list incidents (50 of 10,000)|/api/v1/incidents|"
        "search, 10,000 incidents|/api/v1/search?q=replication%20lag|"
        "search, 10,000 incidents, 1 connection|/api/v1/search?q=replication%20lag||1"
        "incident read, 1 connection|/api/v1/incidents/INC-2026-0001||1"
        "POST /lint, 20 KB review|/api/v1/lint|$work/lint.lua"
    )
    for entry in "${endpoints[@]}"; do
        IFS='|' read -r name path script conns <<< "$entry"
        # Check the endpoint answers 200 before measuring it.
        if [ -z "$script" ]; then
            code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base$path")"
        else
            code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
                -H 'Content-Type: application/json' --data-binary "@$work/lint-body.json" "$base$path")"
        fi
        if [ "$code" != 200 ]; then
            echo "| $backend | $name | (answers $code) | | | |" >> "$results"
            continue
        fi
        out="$work/wrk-$backend-$(echo "$name" | tr -c 'a-z0-9' '-').txt"
        conns="${conns:-$connections}"
        args=(-t"$((conns < threads ? conns : threads))" -c"$conns" -d"${duration}s" --latency
            -H "Authorization: Bearer $token")
        [ -n "$script" ] && args+=(-s "$script")
        wrk "${args[@]}" "$base$path" > "$out"
        rps="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$out")"
        non2xx="$(awk '/Non-2xx/ {print $NF}' "$out")"
        echo "| $backend | $name | $rps | $(percentile_ms "$out" 50%) | $(percentile_ms "$out" 99%) | ${non2xx:-0} |" >> "$results"
        echo "== $backend: $name: $rps req/s"
    done
    stop_server
    if [ "$backend" = postgres ]; then
        psql "$pg_base/postgres" -qc "DROP DATABASE IF EXISTS $pg_db" > /dev/null
        pg_db=""
    fi
done

{
    echo
    echo "| backend | time to ready, median ms | all five starts, ms |"
    echo "|---|---:|---|"
    printf '%s\n' "${ready_lines[@]}"
} >> "$results"
echo
cat "$results"
