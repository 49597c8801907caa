#!/usr/bin/env bash
# Every benchmark in one run, on SQLite and (given a server's URL) on PostgreSQL: the
# figures of docs/performance.md and docs/web.md, measured on one machine in one run.
#
#   bench/all.sh [postgresql://user@127.0.0.1:5432/postgres]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG=${1:-}
dbs=("")
[ -n "$PG" ] && dbs+=("$PG")
section() { printf '\n=== %s (%s)\n' "$1" "$(date -u +%FT%TZ)"; }
for db in "${dbs[@]}"; do
    for items in 100000 1000000; do
        section "daily stages, $items items"
        $PY bench/daily_bench.py --items "$items" ${db:+--db "$db"}
        section "streamed first day, $items items"
        $PY bench/daily_bench.py --items "$items" --day ${db:+--db "$db"}
    done
    section "import of a 100,000-row CSV"
    $PY bench/import_bench.py --rows 100000 ${db:+--db "$db"}
    section "the office's side at county scale, 500 units × 200 items"
    $PY bench/county_bench.py --units 500 --items 200 ${db:+--db "$db"}
    section "one unit's documents as its round grows"
    $PY bench/document_bench.py ${db:+--db "$db"}
    section "webhook delivery"
    $PY bench/delivery_bench.py --to webhook --processes 1 2 --workers 1 2 ${db:+--db "$db"}
done
section "personal pages, 20 items a person"
$PY bench/web_bench.py
section "personal pages, 20 items a person, while notify writes"
$PY bench/web_bench.py --while-notify
section "personal pages, 200 items a person"
$PY bench/web_bench.py --per-person 200
section "personal pages, open loop at 25 to 200 requests/s"
$PY bench/web_bench.py --rates 25 50 100 200 --seconds 10
$PY bench/web_bench.py --per-person 200 --rates 25 50 100 --seconds 10
section "what Prefect adds"
$PY bench/flow_bench.py --items 1000 100000
