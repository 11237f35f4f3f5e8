#!/usr/bin/env bash
# compare.sh measures two builds of fieldsyncd side by side at one fixed
# sustained load: for each backend and each of COMPARE_REPS rounds it runs
# build A, then build B, each on a fresh data set, with a server started
# once its background work has drained. It prints, per run, the push and
# pull p50/p99 fieldsim saw and the CPU time per applied mutation of the
# server and (MariaDB) of mysqld over the whole fieldsim run, and keeps a
# 30 s CPU profile of each server (taken 15 s in) for go tool pprof.
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

server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; true' EXIT
metric() { curl -sf 127.0.0.1:$((PORT + 2))/metrics | awk -v m="$1" '$1 == m { printf "%d", $2 }'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# run BACKEND REV DEVICES LABEL
run() {
	local backend=$1 bin=$OUT/$2 devices=$3 label=$4 db_pid=0 s0 s1 d0 d1 n0 n1
	case $backend in
	sqlite)
		unset FIELDSYNC_MYSQL_DSN FIELDSYNC_S3_ENDPOINT
		export FIELDSYNC_DATA_DIR=$OUT/sqlite-data
		rm -rf "$FIELDSYNC_DATA_DIR" && mkdir -p "$FIELDSYNC_DATA_DIR"
		;;
	mysql)
		mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB CHARACTER SET utf8mb4"
		export FIELDSYNC_MYSQL_DSN="root@tcp(127.0.0.1:3306)/$DB" FIELDSYNC_SECRET=fieldsim-benchmark-secret-0123456789abcdef
		export FIELDSYNC_S3_ENDPOINT=127.0.0.1:9000 FIELDSYNC_S3_ACCESS_KEY=minioadmin FIELDSYNC_S3_SECRET_KEY=minioadmin FIELDSYNC_S3_BUCKET=${DB//_/-}
		db_pid=$(cat "$(mysql -uroot -h127.0.0.1 -N -e "SELECT @@pid_file")")
		;;
	esac
	export FIELDSYNC_LOG_LEVEL=warn
	# The data set (fieldsim opens the database itself; the scenario that
	# follows fails for want of a server, which is expected).
	"$bin/fieldsim" "${SIZE[@]}" -scenario initial -devices 1 -server http://127.0.0.1:$PORT -json >/dev/null 2>&1 || true
	"$bin/fieldsyncd" -addr 127.0.0.1:$PORT -pprof-addr 127.0.0.1:$((PORT + 1)) -metrics-addr 127.0.0.1:$((PORT + 2)) >"$OUT/$label.log" 2>&1 &
	server=$!
	for _ in $(seq 300); do curl -sf 127.0.0.1:$PORT/readyz >/dev/null && break; sleep 0.2; done
	for _ in $(seq 900); do
		[ "$(metric fieldsync_sync_changelog_unstamped_rows)" = 0 ] && [ "$(metric fieldsync_audit_unchained_entries)" = 0 ] && break
		sleep 1
	done
	echo "== $label: $backend, $devices devices, $DURATION; before: load $(cut -d' ' -f1-3 /proc/loadavg)"
	(sleep 15 && curl -sf "127.0.0.1:$((PORT + 1))/debug/pprof/profile?seconds=30" -o "$OUT/$label.pprof") &
	local profiler=$!
	s0=$(ticks $server) n0=$(metric 'fieldsync_sync_mutations_total{status="applied"}')
	d0=$([ "$db_pid" != 0 ] && ticks "$db_pid" || echo 0)
	"$bin/fieldsim" -server http://127.0.0.1:$PORT "${SIZE[@]}" -setup=false -json -scenario sustained \
		-devices "$devices" -duration "$DURATION" -cycle 5s -mutations 10 -concurrency 32 >"$OUT/$label.json"
	s1=$(ticks $server) n1=$(metric 'fieldsync_sync_mutations_total{status="applied"}')
	d1=$([ "$db_pid" != 0 ] && ticks "$db_pid" || echo 0)
	wait $profiler || true
	kill $server && wait $server 2>/dev/null || true
	server=""
	jq -r '.figures | "   offered \(.offered_mutations_per_second)/s, applied \(.mutations_per_second | floor)/s"' "$OUT/$label.json"
	jq -r '.operations[] | select(.name == "push" or .name == "pull") | "   \(.name) p50 \(.p50_ms) ms, p99 \(.p99_ms) ms"' "$OUT/$label.json"
	awk -v s=$((s1 - s0)) -v d=$((d1 - d0)) -v n=$((n1 - n0)) -v hz="$hz" -v db="$db_pid" 'BEGIN {
		printf "   CPU per applied mutation: server %.3f ms", 1000 * s / hz / n
		if (db != 0) printf ", mysqld %.3f ms", 1000 * d / hz / n
		printf " (%d applied)\n", n }'
}

for backend in $BACKENDS; do
	devices=$(tr ' ' '\n' <<<"$DEVICES" | awk -F: -v b="$backend" '$1 == b { print $2 }')
	for rep in $(seq "$REPS"); do
		run "$backend" "$A" "$devices" "$backend-A-$rep"
		run "$backend" "$B" "$devices" "$backend-B-$rep"
	done
done
