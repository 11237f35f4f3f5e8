#!/usr/bin/env bash
# bench.sh reproduces the figures of BENCHMARKS.md: the Go benchmarks,
# then fieldsim against a real fieldsyncd on SQLite + local disk and on
# MariaDB + MinIO, with the data set of 1,000 inspectors, 50,000 tasks,
# 10,000 sites and 2,000 items (built on the first run, reused after,
# except by the capacity runs, which build their own).
#
#   make bench                        # everything, both backends
#   BENCH_BACKENDS=sqlite make bench  # one backend
#   BENCH_SCENARIOS="initial delta" make bench
#   BENCH_SCENARIOS=capacity BENCH_REPS=3 make bench           # about 15 min a run
#   BENCH_BACKENDS=mysql BENCH_SCENARIOS=scaleout make bench  # 2 and 4 servers
#
# capacity and scaleout are not in the default list: each run builds a
# fresh data set and ramps for minutes. The script needs curl and jq.
#
# capacity is measured the way a stranger would: for each of BENCH_REPS
# runs, a fresh data set (the SQLite directory removed, the MariaDB
# database dropped), a server that runs until its background work has
# drained (no unstamped change rows, no unchained audit entries), then a
# restarted server and fieldsim's ramp. The machine's load average and CPU
# steal are recorded beside every run, and the capacity of the runs is
# printed as min-median-max. The other scenarios run one after the other
# on one warm server, as they always did. scaleout (MariaDB only) runs the
# capacity measurement against 2 and then 4 server processes sharing the
# database and MinIO, with fieldsim spreading the devices over them in
# turn as a round-robin balancer would.
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
pids=()
stop() {
	local p
	# A server that exits non-zero on SIGTERM must not end the run.
	for p in "${pids[@]}"; do { kill "$p" && wait "$p"; } 2>/dev/null || true; done
	pids=() server_pid=""
}
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

# start runs $1 server processes (default 1) on one database, the k-th on
# port PORT+10k (metrics on PORT+10k+2), and waits until each is ready.
start() {
	local k port
	pids=()
	for k in $(seq 0 $((${1:-1} - 1))); do
		port=$((PORT + 10 * k))
		"$OUT/bin/fieldsyncd" -addr 127.0.0.1:$port -pprof-addr 127.0.0.1:$((port + 1)) -metrics-addr 127.0.0.1:$((port + 2)) >>"$OUT/$backend-server.log" 2>&1 &
		pids+=($!)
		for _ in $(seq 300); do curl -sf 127.0.0.1:$port/readyz >/dev/null && continue 2; sleep 0.2; done
		echo "server $k did not become ready; see $OUT/$backend-server.log" >&2
		return 1
	done
	server_pid=${pids[0]}
}

# servers lists the running servers' URLs, comma-separated.
servers() {
	local k list=()
	for k in "${!pids[@]}"; do list+=("http://127.0.0.1:$((PORT + 10 * k))"); done
	(IFS=,; echo "${list[*]}")
}

# cputicks prints the CPU time (user + system, in clock ticks) the given
# processes have used so far.
cputicks() {
	local p t=0
	for p in "$@"; do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo $t
}

# applied prints the mutations the running servers have applied so far.
applied() {
	local k n=0
	for k in "${!pids[@]}"; do
		n=$((n + $(curl -sf 127.0.0.1:$((PORT + 10 * k + 2))/metrics | awk '$1 == "fieldsync_sync_mutations_total{status=\"applied\"}" { printf "%d", $2 }')))
	done
	echo $n
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

# capacity $1: BENCH_REPS runs of the ramp against $1 server processes
# (default 1), each on a fresh data set and restarted servers after the
# background work drained. Beside each run: the machine's load and steal,
# and the CPU time per applied mutation of the servers and (MariaDB) of
# mysqld, over the whole ramp.
capacity() {
	local procs=${1:-1} caps=() rep name db_pid="" hz s0 s1 d0 d1 n0 n1
	name=$backend-capacity-${procs}p
	hz=$(getconf CLK_TCK)
	# The MariaDB on 3306 (other mariadbd processes may run beside it).
	if [ "$backend" = mysql ]; then
		db_pid=$(cat "$(mysql -uroot -h127.0.0.1 -N -e "SELECT @@pid_file")" 2>/dev/null) || db_pid=""
	fi
	for rep in $(seq "$REPS"); do
		fresh
		setup
		start 1
		drain
		stop
		start "$procs"
		echo "== $backend capacity, $procs server process(es), run $rep of $REPS: fieldsim -server $(servers) ${SIZE[*]} -scenario ramp -devices $DEVICES -mutations 10 -concurrency 32 -ramp $RAMP -step $STEP"
		echo "   before: $(machine)"
		s0=$(cputicks "${pids[@]}") d0=$([ -n "$db_pid" ] && cputicks "$db_pid" || echo 0) n0=$(applied)
		"$OUT/bin/fieldsim" -server "$(servers)" "${SIZE[@]}" -setup=false -json -scenario ramp \
			-devices "$DEVICES" -mutations 10 -concurrency 32 -ramp "$RAMP" -step "$STEP" >"$OUT/$name-$rep.json"
		s1=$(cputicks "${pids[@]}") d1=$([ -n "$db_pid" ] && cputicks "$db_pid" || echo 0) n1=$(applied)
		echo "   during: $(machine)"
		awk -v s=$((s1 - s0)) -v d=$((d1 - d0)) -v n=$((n1 - n0)) -v hz="$hz" -v db="$db_pid" 'BEGIN {
			if (n == 0) { print "   no mutation applied"; exit }
			printf "   CPU per applied mutation over the ramp (%d applied): server %.2f ms", n, 1000 * s / hz / n
			if (db != "") printf ", mysqld %.2f ms", 1000 * d / hz / n
			printf "\n" }'
		stop
		jq -r '.figures | to_entries | map(select(.key | startswith("ramp."))) | sort_by(.key) | .[] | "   \(.key) \(.value)"' "$OUT/$name-$rep.json"
		caps+=("$(jq -r '.figures.capacity_mutations_per_second' "$OUT/$name-$rep.json")")
	done
	printf '%s\n' "${caps[@]}" | sort -n | awk -v b="$backend" -v p="$procs" -v n="$REPS" '{ v[NR] = $1 } END {
		printf "== %s, %d server process(es): capacity (mutations/s with push p99 < 250 ms), %d runs: min %s, median %s, max %s\n", b, p, n, v[1], v[int((NR + 1) / 2)], v[NR] }' |
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
		case $s in
		capacity)
			capacity 1
			measured=1
			;;
		scaleout)
			# Server processes share a database; SQLite's is one process's.
			if [ "$backend" = mysql ]; then
				capacity 2
				capacity 4
				measured=1
			fi
			;;
		*) warm=1 ;;
		esac
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
