#!/usr/bin/env bash
# compare.sh measures two builds of fieldsyncd side by side at one fixed
# sustained load: for each backend and each of COMPARE_REPS rounds it runs
# build A, then build B (B first in even rounds), each on a fresh data set, with a server started
# once its background work has drained. It prints, per run, the push and
# pull p50/p99 fieldsim saw and the CPU time per applied mutation of the
# server and (MariaDB) of mysqld over the whole fieldsim run and over its
# steady window (15 s to 45 s in, without the sign-ins), with the
# statements MariaDB answered and its row lock waits per push-and-pull
# cycle there (its counters over a tenth of the mutations applied), and
# keeps a 30 s CPU profile of each server over that window for go tool
# pprof.
#
#   bash cmd/fieldsim/compare.sh REV_A [REV_B]      # REV_B defaults to the work tree
#
#   COMPARE_BACKENDS   sqlite mysql (default both)
#   COMPARE_DEVICES    sqlite:300 mysql:500 (devices per backend; each
#                      pushes 10 mutations every 5 s, so 300 offer 600/s)
#   COMPARE_DURATION   45s
#   COMPARE_REPS       1
#   COMPARE_SIZE       "-inspectors 1000 -tasks 20000 -sites 4000 -items 800"
#
# Results go to bench-results/compare/. The machine must be otherwise idle;
# the load average is printed before every run. Needs curl and jq.
set -euo pipefail
cd "$(dirname "$0")/../.."

[ $# -ge 1 ] || { sed -n '2,20p' "$0" >&2; exit 2; }
A=$1 B=${2:-worktree}
OUT=bench-results/compare
BACKENDS=${COMPARE_BACKENDS:-sqlite mysql}
DEVICES=${COMPARE_DEVICES:-sqlite:300 mysql:500}
DURATION=${COMPARE_DURATION:-45s}
REPS=${COMPARE_REPS:-1}
read -r -a SIZE <<<"${COMPARE_SIZE:--inspectors 1000 -tasks 20000 -sites 4000 -items 800}"
PORT=18580 DB=fieldsim_compare
mkdir -p "$OUT"

# build REV: fieldsyncd and fieldsim of a revision (or the work tree) into $OUT/REV.
build() {
	local rev=$1 dir=$OUT/$1 src
	rm -rf "$dir" && mkdir -p "$dir"
	if [ "$rev" = worktree ]; then
		go build -tags nodynamic -o "$dir/" ./cmd/fieldsyncd ./cmd/fieldsim
		return
	fi
	src=$(mktemp -d)
	git worktree add -q --detach "$src" "$rev"
	(cd "$src" && go build -tags nodynamic -o "$OLDPWD/$dir/" ./cmd/fieldsyncd ./cmd/fieldsim)
	git worktree remove --force "$src"
}
build "$A"
build "$B"
# One data-set builder for both builds: this tree's.
go build -tags nodynamic -o "$OUT/" ./cmd/fieldsim
SETUP_SIM=$OUT/fieldsim

source cmd/fieldsim/lib.sh
DATA=$OUT/sqlite-data
trap stop EXIT
hz=$(getconf CLK_TCK)

# questions prints the statements MariaDB has answered, the row lock
# waits and the milliseconds waited for row locks so far (0 0 0 on SQLite).
questions() {
	if [ "$backend" = mysql ]; then
		mysql -uroot -h127.0.0.1 -N -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Innodb_row_lock_waits', 'Innodb_row_lock_time')" |
			awk '{ v[$1] = $2 } END { print v["Questions"], v["Innodb_row_lock_waits"], v["Innodb_row_lock_time"] }'
	else
		echo 0 0 0
	fi
}

# run BACKEND REV DEVICES LABEL
run() {
	local devices=$3 label=$4 db_pid="" s0 s1 d0 d1 n0 n1 profiler
	backend=$1 BIN=$OUT/$2 LOG=$OUT/$4.log
	: >"$LOG"
	use_backend
	[ "$backend" = mysql ] && db_pid=$(mysqld_pid)
	fresh
	setup
	start 1
	drain
	echo "== $label: $backend, $devices devices, $DURATION; before: load $(cut -d' ' -f1-3 /proc/loadavg)"
	(sleep 15 && curl -sf "127.0.0.1:$((PORT + 1))/debug/pprof/profile?seconds=30" -o "$OUT/$label.pprof") &
	profiler=$!
	# The steady window, the profile's 30 s, without the sign-ins (an
	# Argon2 hash each, about a third of the whole run's server CPU) and
	# the initial pulls before it.
	(
		sleep 15
		echo "$(cputicks "${pids[@]}") $(applied) $([ -n "$db_pid" ] && cputicks "$db_pid" || echo 0) $(questions)"
		sleep 30
		echo "$(cputicks "${pids[@]}") $(applied) $([ -n "$db_pid" ] && cputicks "$db_pid" || echo 0) $(questions)"
	) >"$OUT/$label.window" &
	window=$!
	s0=$(cputicks "${pids[@]}") n0=$(applied) d0=$([ -n "$db_pid" ] && cputicks "$db_pid" || echo 0)
	"$BIN/fieldsim" -server http://127.0.0.1:$PORT "${SIZE[@]}" -setup=false -json -scenario sustained \
		-devices "$devices" -duration "$DURATION" -cycle 5s -mutations 10 -concurrency 32 >"$OUT/$label.json"
	s1=$(cputicks "${pids[@]}") n1=$(applied) d1=$([ -n "$db_pid" ] && cputicks "$db_pid" || echo 0)
	wait $profiler $window || true
	stop
	jq -r '.figures | "   offered \(.offered_mutations_per_second)/s, applied \(.mutations_per_second | floor)/s"' "$OUT/$label.json"
	jq -r '.operations[] | select(.name == "push" or .name == "pull") | "   \(.name) p50 \(.p50_ms) ms, p99 \(.p99_ms) ms"' "$OUT/$label.json"
	awk -v s=$((s1 - s0)) -v d=$((d1 - d0)) -v n=$((n1 - n0)) -v hz="$hz" -v db="$db_pid" 'BEGIN {
		printf "   CPU per applied mutation: server %.3f ms", 1000 * s / hz / n
		if (db != "") printf ", mysqld %.3f ms", 1000 * d / hz / n
		printf " (%d applied)\n", n }'
	awk -v hz="$hz" -v db="$db_pid" 'NR == 1 { s = $1; n = $2; d = $3; q = $4; w = $5; t = $6 } NR == 2 && $2 > n {
		printf "   the same over the steady window (15-45 s): server %.3f ms", 1000 * ($1 - s) / hz / ($2 - n)
		if (db != "") printf ", mysqld %.3f ms", 1000 * ($3 - d) / hz / ($2 - n)
		printf " (%d applied)\n", $2 - n
		c = ($2 - n) / 10
		if (db != "") printf "   a push-and-pull cycle there: %.1f statements, %.2f row lock waits, %.1f ms waited for row locks\n", ($4 - q) / c, ($5 - w) / c, ($6 - t) / c
	}' "$OUT/$label.window"
}

for backend in $BACKENDS; do
	devices=$(tr ' ' '\n' <<<"$DEVICES" | awk -F: -v b="$backend" '$1 == b { print $2 }')
	for rep in $(seq "$REPS"); do
		# The second run of a pair starts on a machine the first one's
		# set-up has just loaded: the builds take turns going first.
		if [ $((rep % 2)) = 1 ]; then
			run "$backend" "$A" "$devices" "$backend-A-$rep"
			run "$backend" "$B" "$devices" "$backend-B-$rep"
		else
			run "$backend" "$B" "$devices" "$backend-B-$rep"
			run "$backend" "$A" "$devices" "$backend-A-$rep"
		fi
	done
done
