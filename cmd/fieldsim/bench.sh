#!/usr/bin/env bash
# bench.sh reproduces the figures of BENCHMARKS.md: the Go benchmarks,
# then fieldsim against a real fieldsyncd on SQLite + local disk and on
# MariaDB + MinIO, with the data set of 1,000 inspectors, 50,000 tasks,
# 10,000 sites and 2,000 items (built on the first run, reused after).
#
#   make bench                        # everything, both backends
#   BENCH_BACKENDS=sqlite make bench  # one backend
#   BENCH_SCENARIOS="initial delta" make bench
#   BENCH_SCENARIOS=capacity BENCH_REPS=3 make bench
#
# capacity is measured the way a stranger would: for each of BENCH_REPS
# runs, a fresh data set (the SQLite directory removed, the MariaDB
# database dropped), a server that runs until its background work has
# drained (no unstamped change rows, no unchained audit entries), then a
# restarted server and fieldsim's ramp. The machine's load average and CPU
# steal are recorded beside every run, and the capacity of the runs is
# printed as min-median-max. The other scenarios run one after the other
# on one warm server, as they always did.
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
SCENARIOS=${BENCH_SCENARIOS:-capacity initial delta push sustained upload upload-api upload-16x10mb pack}
REPS=${BENCH_REPS:-3}
RAMP=${BENCH_RAMP:-500,1000,1500,2000,2500,3000,4000,5000}
# BENCH_SIZE and BENCH_DEVICES shrink the data set for a trial of the
# script itself; BENCHMARKS.md's figures are of the defaults.
read -r -a SIZE <<<"${BENCH_SIZE:--inspectors 1000 -tasks 50000 -sites 10000 -items 2000}"
DEVICES=${BENCH_DEVICES:-1000}
STEP=${BENCH_STEP:-30s}
PORT=18480
mkdir -p "$OUT/bin" "$DATA"
rm -f "$OUT/.cpu-stat"
go build -tags nodynamic -o "$OUT/bin/" ./cmd/fieldsyncd ./cmd/fieldsim
if [ "${BENCH_GO:-1}" = 1 ]; then
	go test -tags nodynamic -run '^$' -bench . -benchtime "${BENCHTIME:-20x}" ./sync/ | tee "$OUT/go-bench.txt"
fi

server_pid=""
stop() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null; server_pid=""; }
trap stop EXIT

# machine prints the load average and the share of CPU time stolen by the
# hypervisor since the last call (from /proc/stat; the last reading is
# kept in a file, since callers run it in a subshell).
machine() {
	read -r _ user nice system idle iowait irq softirq steal _ </proc/stat
	local total=$((user + nice + system + idle + iowait + irq + softirq + steal)) share="n/a" last
	if last=$(cat "$OUT/.cpu-stat" 2>/dev/null); then
		read -r last_steal last_total <<<"$last"
		if [ "$total" -gt "$last_total" ]; then
			share=$(awk -v s=$((steal - last_steal)) -v t=$((total - last_total)) 'BEGIN { printf "%.1f%%", 100 * s / t }')
		fi
	fi
	echo "$steal $total" >"$OUT/.cpu-stat"
	echo "load $(cut -d' ' -f1-3 /proc/loadavg), steal $share"
}

# start runs the server in the background and waits until it is ready.
start() {
	"$OUT/bin/fieldsyncd" -addr 127.0.0.1:$PORT -pprof-addr 127.0.0.1:$((PORT + 1)) -metrics-addr 127.0.0.1:$((PORT + 2)) >>"$OUT/$backend-server.log" 2>&1 &
	server_pid=$!
	for _ in $(seq 300); do curl -sf 127.0.0.1:$PORT/readyz >/dev/null && return; sleep 0.2; done
	echo "the server did not become ready; see $OUT/$backend-server.log" >&2
	return 1
}

# drain waits until the server's background work is done: every change row
# stamped and every audit entry chained (its /metrics say so).
drain() {
	local t0=$SECONDS m stamped chained
	while :; do
		m=$(curl -sf 127.0.0.1:$((PORT + 2))/metrics || true)
		stamped=$(awk '$1 == "fieldsync_sync_changelog_unstamped_rows" { print $2 }' <<<"$m")
		chained=$(awk '$1 == "fieldsync_audit_unchained_entries" { print $2 }' <<<"$m")
		if [ "$stamped" = 0 ] && [ "$chained" = 0 ]; then
			echo "== $backend: background work drained after $((SECONDS - t0)) s (no unstamped change rows, no unchained audit entries)"
			return
		fi
		if [ $((SECONDS - t0)) -gt 1800 ]; then
			echo "== $backend: background work not drained after 30 min (unstamped $stamped, unchained $chained)" >&2
			return 1
		fi
		sleep 2
	done
}

# fresh removes the data set, so that the next set-up builds it anew.
fresh() {
	case $backend in
	sqlite) rm -rf "$DATA" && mkdir -p "$DATA" ;;
	mysql) mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB CHARACTER SET utf8mb4" ;;
	esac
}

# setup builds the data set (fieldsim opens the database itself; the
# scenario that follows fails for want of a server, which is expected).
setup() {
	"$OUT/bin/fieldsim" "${SIZE[@]}" -scenario initial -devices 1 -server http://127.0.0.1:$PORT -json >/dev/null 2>&1 || true
}

# capacity: BENCH_REPS runs of the ramp, each on a fresh data set and a
# restarted server after the background work drained.
capacity() {
	local caps=() rep
	for rep in $(seq "$REPS"); do
		fresh
		setup
		start
		drain
		stop
		start
		echo "== $backend capacity run $rep of $REPS: fieldsim ${SIZE[*]} -scenario ramp -devices $DEVICES -mutations 10 -concurrency 32 -ramp $RAMP -step $STEP"
		echo "   before: $(machine)"
		"$OUT/bin/fieldsim" -server http://127.0.0.1:$PORT "${SIZE[@]}" -setup=false -json -scenario ramp \
			-devices "$DEVICES" -mutations 10 -concurrency 32 -ramp "$RAMP" -step "$STEP" >"$OUT/$backend-capacity-$rep.json"
		echo "   during: $(machine)"
		stop
		jq -r '.figures | to_entries | map(select(.key | startswith("ramp."))) | sort_by(.key) | .[] | "   \(.key) \(.value)"' "$OUT/$backend-capacity-$rep.json"
		caps+=("$(jq -r '.figures.capacity_mutations_per_second' "$OUT/$backend-capacity-$rep.json")")
	done
	printf '%s\n' "${caps[@]}" | sort -n | awk -v b="$backend" -v n="$REPS" '{ v[NR] = $1 } END {
		printf "== %s capacity (mutations/s with push p99 < 250 ms), %d runs: min %s, median %s, max %s\n", b, n, v[1], v[int((NR + 1) / 2)], v[NR] }' |
		tee -a "$OUT/capacity.txt"
}

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
	: >"$OUT/$backend-server.log"
	warm="" measured=""
	for s in $SCENARIOS; do
		if [ "$s" = capacity ]; then
			capacity
			measured=1
		else
			warm=1
		fi
	done
	[ -z "$warm" ] && continue
	# The data set first, with no server writing beside it; fresh when the
	# capacity runs wrote into the last one.
	[ -n "$measured" ] && fresh
	setup
	start
	echo "== $backend warm scenarios, $(machine)"
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
