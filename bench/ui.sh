#!/usr/bin/env bash
# Web UI render times, measured in-process through the full router and middleware (session
# lookup, store queries, template rendering) in a release build: the incident page with 5,000
# events, the list over 10,000 incidents, and the editor's lint round-trip for a 20 KB review.
# Prints a Markdown table (median and p95 of 20 or 50 requests).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "| page | median | p95 |"
echo "| --- | --- | --- |"
cargo test --release -q -p secondstory-server --test ui_pages -- --ignored --nocapture bench_ui_render_times 2>/dev/null \
    | grep '^|'
