#!/usr/bin/env bash
# bench.sh reproduces the figures of BENCHMARKS.md: the Go benchmarks,
# then fieldsim against a real fieldsyncd on SQLite + local disk and on
# MariaDB + MinIO, with the data set of 1,000 inspectors, 50,000 tasks,
# 10,000 sites and 2,000 items (built on the first run, reused after).
#
#   make bench                        # everything, both backends
#   BENCH_BACKENDS=sqlite make bench  # one backend
#   BENCH_SCENARIOS="initial delta" make bench
#
# Every run writes its --json report to $BENCH_OUT (default
# bench-results/) and prints its figures. The machine is shared: compare
# figures of one run side by side (the ratios), not across runs.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${BENCH_OUT:-bench-results}
DATA=${BENCH_DATA_DIR:-$OUT/sqlite-data}
DB=${BENCH_MYSQL_DB:-fieldsim_bench}
BACKENDS=${BENCH_BACKENDS:-sqlite mysql}
SCENARIOS=${BENCH_SCENARIOS:-initial delta push sustained upload upload-api upload-16x10mb pack}
SIZE=(-inspectors 1000 -tasks 50000 -sites 10000 -items 2000)
PORT=18480
mkdir -p "$OUT/bin" "$DATA"
go build -o "$OUT/bin/" ./cmd/fieldsyncd ./cmd/fieldsim
go test -run '^$' -bench . -benchtime "${BENCHTIME:-20x}" ./sync/ | tee "$OUT/go-bench.txt"

server_pid=""
stop() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; server_pid=""; }
trap stop EXIT

for backend in $BACKENDS; do
	case $backend in
	sqlite)
		unset FIELDSYNC_MYSQL_DSN FIELDSYNC_S3_ENDPOINT
		export FIELDSYNC_DATA_DIR=$DATA
		;;
	mysql)
		mysql -uroot -h127.0.0.1 -e "CREATE DATABASE IF NOT EXISTS $DB CHARACTER SET utf8mb4"
		# MariaDB as Debian installs it keeps a 128 MiB buffer pool, a
		# fifth of this data set's tables and indexes, so every run would
		# measure the disk; production servers size it to the working set
		# (docs/operations.md). Raised for the run, never lowered.
		pool=$(mysql -uroot -h127.0.0.1 -N -e "SELECT @@innodb_buffer_pool_size")
		want=${BENCH_MYSQL_BUFFER_POOL:-2147483648}
		if [ "$pool" -lt "$want" ]; then
			echo "== mysql: innodb_buffer_pool_size $pool -> $want"
			mysql -uroot -h127.0.0.1 -e "SET GLOBAL innodb_buffer_pool_size = $want"
		fi
		export FIELDSYNC_MYSQL_DSN="root@tcp(127.0.0.1:3306)/$DB" FIELDSYNC_SECRET=${FIELDSYNC_SECRET:-fieldsim-benchmark-secret-0123456789abcdef}
		export FIELDSYNC_S3_ENDPOINT=127.0.0.1:9000 FIELDSYNC_S3_ACCESS_KEY=minioadmin FIELDSYNC_S3_SECRET_KEY=minioadmin FIELDSYNC_S3_BUCKET=${DB//_/-}
		;;
	esac
	export FIELDSYNC_LOG_LEVEL=warn
	# The data set first, with no server writing beside it.
	"$OUT/bin/fieldsim" "${SIZE[@]}" -scenario initial -devices 1 -server http://127.0.0.1:$PORT -json >/dev/null 2>&1 || true
	"$OUT/bin/fieldsyncd" -addr 127.0.0.1:$PORT -pprof-addr 127.0.0.1:$((PORT + 1)) >"$OUT/$backend-server.log" 2>&1 &
	server_pid=$!
	for _ in $(seq 100); do curl -sf 127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
	sim() {
		local name=$1
		shift
		echo "== $backend $name: fieldsim ${SIZE[*]} $*"
		"$OUT/bin/fieldsim" -server http://127.0.0.1:$PORT "${SIZE[@]}" -setup=false -json "$@" >"$OUT/$backend-$name.json"
		sed -n '/"figures"/,/}/p' "$OUT/$backend-$name.json"
	}
	for s in $SCENARIOS; do
		case $s in
		initial) sim initial -scenario initial -devices 200 -concurrency 4 ;;
		delta) sim delta -scenario delta -devices 100 -concurrency 4 ;;
		push) sim push -scenario push -devices 100 -concurrency 4 -count 3 -batches 1,10,100 ;;
		sustained) sim sustained -scenario sustained -devices 1000 -duration 60s -cycle 5s -mutations 10 -concurrency 32 ;;
		upload) sim upload -scenario upload -devices 16 -count 4 -photo-mb 2 -concurrency 16 -server-pid "$server_pid" ;;
		upload-api) sim upload-api -scenario upload -via api -devices 16 -count 4 -photo-mb 2 -concurrency 16 -server-pid "$server_pid" ;;
		upload-16x10mb) sim upload-16x10mb -scenario upload -via api -devices 16 -count 1 -photo-mb 10 -concurrency 16 -server-pid "$server_pid" ;;
		pack) sim pack -scenario pack -pack-mb 1024 -doc-mb 64 -count 3 -server-pid "$server_pid" ;;
		esac
	done
	stop
done
