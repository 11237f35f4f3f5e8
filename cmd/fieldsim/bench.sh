#!/usr/bin/env bash
# bench.sh reproduces the figures of BENCHMARKS.md: the Go benchmarks,
# then fieldsim against a real fieldsyncd on SQLite + local disk and on
# MariaDB + MinIO, with the data set of 1,000 inspectors, 50,000 tasks,
# 10,000 sites and 2,000 items (built on the first run, reused after,
# except by the capacity runs, which build their own).
#
#   make bench                        # the default list, both backends
#   BENCH_BACKENDS=sqlite make bench  # one backend
#   BENCH_SCENARIOS="initial delta" make bench
#   BENCH_SCENARIOS=capacity BENCH_REPS=3 make bench           # about 15 min a run
#   BENCH_BACKENDS=mysql BENCH_SCENARIOS=scaleout make bench  # 2 and 4 servers
#   BENCH_BACKENDS=mysql BENCH_SCENARIOS=growth make bench    # 0 to 10 M change rows
#   BENCH_BACKENDS=sqlite BENCH_SCENARIOS=pocketbase make bench # beside PocketBase
#
# capacity, scaleout, growth and pocketbase are not in the default list:
# each builds its own data set and runs for tens of minutes (pocketbase:
# pocketbase.sh, PocketBase beside fieldsync on SQLite). The script needs
# curl and jq.
#
# BENCH_LOCKWAITS=1 also samples MariaDB's row lock waits beside every
# capacity run (lib.sh, lockwaits) and prints who held the locks waited
# for and what their sessions were doing.
#
# capacity is measured the way a stranger would: for each of BENCH_REPS
# runs, a fresh data set (the SQLite directory removed, the MariaDB
# database dropped), a server that runs until its background work has
# drained (no unstamped change rows, no unchained audit entries; on
# MariaDB, every dirty page of InnoDB's buffer pool flushed too), then a
# restarted server and fieldsim's ramp. The machine's load average and
# CPU steal are recorded beside every run, with the cores the servers,
# mysqld, fieldsim and everything else kept busy in each step of the
# ramp (from when fieldsim's report says the step ran), and the capacity
# of the runs is printed as min-median-max. The other scenarios run one
# after the other on one warm server, as they always did. scaleout
# (MariaDB only) runs the capacity measurement against 2 and then 4
# server processes sharing the database and MinIO, with fieldsim
# spreading the devices over them in turn as a round-robin balancer
# would.
#
# growth measures one fixed load (BENCH_GROWTH_DEVICES devices pushing
# 10 mutations and pulling every 10 s, for 60 s; BENCH_GROWTH_REPS runs,
# each with a restarted server) on one data set whose change log grows
# through BENCH_GROWTH rows (0 1000000 3000000 10000000): at each size
# fieldsim adds the inspectors' past notes (written as pushed notes are,
# append-only, so compaction keeps them), the server drains its
# background work, fieldctl compacts the log, and restarted servers are
# measured. It prints the push and pull p50/p99 at each size beside the
# first size's, and the initial pull, which carries the inspector's
# history, and InnoDB's writes per mutation. BENCH_GROWTH_REDO (sizes in
# bytes) runs every rep once with each redo log size in turn
# (innodb_log_file_size, set for the run and left at the last one), side
# by side on the same data set.
#
# MYSQL_TCP_PORT (the mysql client's own variable) points every script
# at a MariaDB on another port of 127.0.0.1 (default 3306).
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
GROWTH=${BENCH_GROWTH:-0 1000000 3000000 10000000}
GROWTH_DEVICES=${BENCH_GROWTH_DEVICES:-500}
GROWTH_DURATION=${BENCH_GROWTH_DURATION:-60s}
GROWTH_REPS=${BENCH_GROWTH_REPS:-2}
GROWTH_REDO=${BENCH_GROWTH_REDO:-}
# BENCH_SIZE and BENCH_DEVICES shrink the data set for a trial of the
# script itself; BENCHMARKS.md's figures are of the defaults.
read -r -a SIZE <<<"${BENCH_SIZE:--inspectors 1000 -tasks 50000 -sites 10000 -items 2000}"
DEVICES=${BENCH_DEVICES:-1000}
STEP=${BENCH_STEP:-30s}
PORT=18480
mkdir -p "$OUT/bin" "$DATA"
rm -f "$OUT/.cpu-stat"
go build -tags nodynamic -o "$OUT/bin/" ./cmd/fieldsyncd ./cmd/fieldsim ./cmd/fieldctl
if [ "${BENCH_GO:-1}" = 1 ]; then
	go test -tags nodynamic -run '^$' -bench . -benchtime "${BENCHTIME:-20x}" ./sync/ | tee "$OUT/go-bench.txt"
fi

source cmd/fieldsim/lib.sh
BIN=$OUT/bin
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

# capacity $1: BENCH_REPS runs of the ramp against $1 server processes
# (default 1), each on a fresh data set and restarted servers after the
# background work drained. Beside each run: the machine's load and steal,
# and the CPU time per applied mutation of the servers and (MariaDB) of
# mysqld, over the whole run and over the ramp's steps alone (from the
# first mutation applied: the sign-ins excluded).
capacity() {
	local procs=${1:-1} caps=() rep name db_pid="" hz s0 s1 d0 d1 n0 n1 sampler locks sim
	name=$backend-capacity-${procs}p
	hz=$(getconf CLK_TCK)
	[ "$backend" = mysql ] && db_pid=$(mysqld_pid)
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
			-devices "$DEVICES" -mutations 10 -concurrency 32 -ramp "$RAMP" -step "$STEP" >"$OUT/$name-$rep.json" &
		sim=$!
		# Once a second while fieldsim runs: the servers' and mysqld's CPU
		# ticks, the mutations applied and the time, to tell the steps from
		# the sign-ins before them; then fieldsim's ticks and the whole
		# machine's, busy, stolen and in all (cpu_steps).
		(while kill -0 "$sim" 2>/dev/null; do
			echo "$(cputicks "${pids[@]}") $([ -n "$db_pid" ] && cputicks "$db_pid" || echo 0) $(applied) $(date +%s.%N) $(cputicks "$sim") $(machineticks)"
			sleep 1
		done) >"$OUT/$name-$rep.ticks" 2>/dev/null &
		sampler=$!
		locks=""
		if [ "$backend" = mysql ] && [ -n "${BENCH_LOCKWAITS:-}" ]; then
			lockwaits >"$OUT/$name-$rep.lockwaits" 2>&1 &
			locks=$!
		fi
		wait "$sim"
		kill "$sampler" 2>/dev/null || true
		wait "$sampler" 2>/dev/null || true
		if [ -n "$locks" ]; then
			pkill -P "$locks" 2>/dev/null
			kill "$locks" 2>/dev/null
			wait "$locks" 2>/dev/null || true
			lockwaits_summary "$OUT/$name-$rep.lockwaits" "$OUT/$name-$rep.json"
		fi
		cpu_steps "$OUT/$name-$rep.ticks" "$OUT/$name-$rep.json"
		s1=$(cputicks "${pids[@]}") d1=$([ -n "$db_pid" ] && cputicks "$db_pid" || echo 0) n1=$(applied)
		echo "   during: $(machine)"
		awk -v s=$((s1 - s0)) -v d=$((d1 - d0)) -v n=$((n1 - n0)) -v hz="$hz" -v db="$db_pid" 'BEGIN {
			if (n == 0) { print "   no mutation applied"; exit }
			printf "   CPU per applied mutation over the whole run, sign-ins included (%d applied): server %.2f ms", n, 1000 * s / hz / n
			if (db != "") printf ", mysqld %.2f ms", 1000 * d / hz / n
			printf "\n" }'
		# From the last sample before the first mutation to the last one:
		# the steps alone, without the devices' sign-ins (an Argon2 hash
		# each) and their initial pulls.
		awk -v hz="$hz" -v db="$db_pid" 'NF >= 4 { if (NR == 1 || $3 == n0) { s = $1; d = $2; n0 = $3 } last_s = $1; last_d = $2; last_n = $3 }
			END { if (last_n <= n0) exit
				printf "   CPU per applied mutation over the steps (%d applied): server %.2f ms", last_n - n0, 1000 * (last_s - s) / hz / (last_n - n0)
				if (db != "") printf ", mysqld %.2f ms", 1000 * (last_d - d) / hz / (last_n - n0)
				printf "\n" }' "$OUT/$name-$rep.ticks"
		stop
		jq -r '.figures | to_entries | map(select((.key | startswith("ramp.")) and (.key | endswith("_unix") | not))) | sort_by(.key) | .[] | "   \(.key) \(.value)"' "$OUT/$name-$rep.json"
		caps+=("$(jq -r '.figures.capacity_mutations_per_second' "$OUT/$name-$rep.json")")
	done
	printf '%s\n' "${caps[@]}" | sort -n | awk -v b="$backend" -v p="$procs" -v n="$REPS" '{ v[NR] = $1 } END {
		printf "== %s, %d server process(es): capacity (mutations/s with push p99 < 250 ms), %d runs: min %s, median %s, max %s\n", b, p, n, v[1], v[int((NR + 1) / 2)], v[NR] }' |
		tee -a "$OUT/capacity.txt"
}

# growth: the fixed load at every size of BENCH_GROWTH, on one data set.
growth() {
	local name=$backend-growth n rows t0 rep redo tag out first="" i0 i1 n0 n1
	fresh
	echo "== $backend growth: $(mysql -uroot -h127.0.0.1 -N -e "SELECT CONCAT('innodb_buffer_pool_size ', @@innodb_buffer_pool_size, ', innodb_log_file_size ', @@innodb_log_file_size, ', innodb_io_capacity ', @@innodb_io_capacity, ', innodb_flush_log_at_trx_commit ', @@innodb_flush_log_at_trx_commit)")"
	for n in $GROWTH; do
		t0=$SECONDS
		setup -history "$n"
		echo "== $backend growth to $n change rows: set-up $((SECONDS - t0)) s ($(jq -c '.setup.created' "$OUT/setup.json"))"
		start 1
		drain
		stop
		t0=$SECONDS
		echo "   compaction: $("$BIN/fieldctl" sync compact) ($((SECONDS - t0)) s)"
		rows=$(count_changes)
		for rep in $(seq "$GROWTH_REPS"); do
			for redo in ${GROWTH_REDO:-as-is}; do
				tag=$rep
				if [ "$redo" != as-is ]; then
					mysql -uroot -h127.0.0.1 -e "SET GLOBAL innodb_log_file_size = $redo"
					tag=$rep-redo$redo
				fi
				out=$OUT/$name-$n-$tag.json
				start 1
				echo "== $backend growth, $rows change rows, run $rep of $GROWTH_REPS, innodb_log_file_size $(mysql -uroot -h127.0.0.1 -N -e "SELECT @@innodb_log_file_size"): fieldsim -server $(servers) ${SIZE[*]} -scenario sustained -devices $GROWTH_DEVICES -duration $GROWTH_DURATION -cycle 10s -mutations 10 -concurrency 32"
				echo "   before: $(machine)"
				i0=$(innodb) n0=$(applied)
				"$OUT/bin/fieldsim" -server "$(servers)" "${SIZE[@]}" -setup=false -json -scenario sustained \
					-devices "$GROWTH_DEVICES" -duration "$GROWTH_DURATION" -cycle 10s -mutations 10 -concurrency 32 >"$out"
				i1=$(innodb) n1=$(applied)
				echo "   during: $(machine)"
				stop
				innodb_per_mutation "$i0" "$i1" $((n1 - n0))
				jq -r '.figures | "   offered \(.offered_mutations_per_second)/s, applied \(.mutations_per_second | floor)/s, failed cycles \(.failed_cycles)"' "$out"
				jq -r '.operations[] | select(.name == "push" or .name == "pull" or .name == "pull.initial") | "\(.name) \(.p50_ms) \(.p99_ms)"' "$out" |
					while read -r op p50 p99; do
						printf '   %-12s p50 %8.1f ms, p99 %8.1f ms' "$op" "$p50" "$p99"
						[ -n "$first" ] && printf ' (p99 %.2f of the first size'"'"'s run %s)' \
							"$(jq -r --arg op "$op" --argjson p "$p99" '.operations[] | select(.name == $op) | $p / .p99_ms' "$OUT/$name-$first-$tag.json")" "$tag"
						echo
					done
			done
		done
		if [ -z "$first" ]; then first=$n; fi
	done
}

for backend in $BACKENDS; do
	use_backend
	LOG=$OUT/$backend-server.log
	: >"$LOG"
	warm="" measured=""
	for s in $SCENARIOS; do
		case $s in
		capacity)
			capacity 1
			measured=1
			;;
		growth)
			growth
			measured=1
			;;
		pocketbase)
			# PocketBase runs on embedded SQLite only (pocketbase.sh).
			if [ "$backend" = sqlite ]; then
				bash cmd/fieldsim/pocketbase.sh
			fi
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
		upload) sim upload -scenario upload -devices 16 -count 4 -photo-mb 2 -concurrency 16 -server-pid "${pids[0]}" ;;
		upload-api) sim upload-api -scenario upload -via api -devices 16 -count 4 -photo-mb 2 -concurrency 16 -server-pid "${pids[0]}" ;;
		upload-16x10mb) sim upload-16x10mb -scenario upload -via api -devices 16 -count 1 -photo-mb 10 -concurrency 16 -server-pid "${pids[0]}" ;;
		pack) sim pack -scenario pack -pack-mb 1024 -doc-mb 64 -count 3 -server-pid "${pids[0]}" ;;
		esac
	done
	stop
done
