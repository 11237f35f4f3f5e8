# lib.sh: what bench.sh and compare.sh share, sourced by both. The
# caller sets OUT (results), BIN (the directory holding fieldsyncd and
# fieldsim), PORT (the first server's; pprof on PORT+1, metrics on
# PORT+2, the k-th server 10k above), DATA and DB (the SQLite directory
# and the MariaDB database of the data set), SIZE (fieldsim's data-set
# flags, an array), LOG (the servers' log file) and backend (sqlite or
# mysql) before calling these.

pids=()

# use_backend points the server and fieldsim at $backend's database and
# blob store. MariaDB as Debian installs it keeps a 128 MiB buffer pool,
# a fifth of the benchmark data set's tables and indexes, so every run
# would measure the disk; production servers size it to the working set
# (docs/operations.md): it is raised (BENCH_MYSQL_BUFFER_POOL, 2 GiB by
# default) for the run, never lowered; so is the redo log
# (BENCH_MYSQL_REDO, 1 GiB by default; Debian's is 96 MiB).
use_backend() {
	local pool want redo
	case $backend in
	sqlite)
		unset FIELDSYNC_MYSQL_DSN FIELDSYNC_S3_ENDPOINT
		export FIELDSYNC_DATA_DIR=$DATA
		mkdir -p "$DATA"
		;;
	mysql)
		mysql -uroot -h127.0.0.1 -e "CREATE DATABASE IF NOT EXISTS $DB CHARACTER SET utf8mb4"
		pool=$(mysql -uroot -h127.0.0.1 -N -e "SELECT @@innodb_buffer_pool_size")
		want=${BENCH_MYSQL_BUFFER_POOL:-2147483648}
		if [ "$pool" -lt "$want" ]; then
			echo "== mysql: innodb_buffer_pool_size $pool -> $want"
			mysql -uroot -h127.0.0.1 -e "SET GLOBAL innodb_buffer_pool_size = $want"
		fi
		redo=$(mysql -uroot -h127.0.0.1 -N -e "SELECT @@innodb_log_file_size")
		want=${BENCH_MYSQL_REDO:-1073741824}
		if [ "$redo" -lt "$want" ]; then
			echo "== mysql: innodb_log_file_size $redo -> $want"
			mysql -uroot -h127.0.0.1 -e "SET GLOBAL innodb_log_file_size = $want"
		fi
		export FIELDSYNC_MYSQL_DSN="root@tcp(127.0.0.1:${MYSQL_TCP_PORT:-3306})/$DB" FIELDSYNC_SECRET=${FIELDSYNC_SECRET:-fieldsim-benchmark-secret-0123456789abcdef}
		export FIELDSYNC_S3_ENDPOINT=127.0.0.1:9000 FIELDSYNC_S3_ACCESS_KEY=minioadmin FIELDSYNC_S3_SECRET_KEY=minioadmin FIELDSYNC_S3_BUCKET=${DB//_/-}
		;;
	esac
	export FIELDSYNC_LOG_LEVEL=warn
}

# mysqld_pid prints the pid of the MariaDB the scripts use (on 3306, or
# MYSQL_TCP_PORT; other mariadbd processes may run beside it), or
# nothing.
mysqld_pid() {
	cat "$(mysql -uroot -h127.0.0.1 -N -e "SELECT @@pid_file")" 2>/dev/null || true
}

# fresh removes the data set, so that the next set-up builds it anew.
fresh() {
	case $backend in
	sqlite) rm -rf "$DATA" && mkdir -p "$DATA" ;;
	mysql) mysql -uroot -h127.0.0.1 -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB CHARACTER SET utf8mb4" ;;
	esac
}

# setup builds the data set, or finds it, with no server running
# (fieldsim opens the database itself); its arguments go to fieldsim
# (-history N grows the change log). SETUP_SIM names the fieldsim that
# builds it when $BIN's is an older build's.
setup() {
	"${SETUP_SIM:-$BIN/fieldsim}" "${SIZE[@]}" -scenario setup -devices 1 -json "$@" >"$OUT/setup.json"
}

# start runs $1 server processes (default 1) on one database, the k-th on
# port PORT+10k (pprof on PORT+10k+1, metrics on PORT+10k+2), and waits
# until each is ready.
start() {
	local k port
	pids=()
	for k in $(seq 0 $((${1:-1} - 1))); do
		port=$((PORT + 10 * k))
		"$BIN/fieldsyncd" -addr 127.0.0.1:$port -pprof-addr 127.0.0.1:$((port + 1)) -metrics-addr 127.0.0.1:$((port + 2)) >>"$LOG" 2>&1 &
		pids+=($!)
		for _ in $(seq 300); do curl -sf 127.0.0.1:$port/readyz >/dev/null && continue 2; sleep 0.2; done
		echo "server $k did not become ready; see $LOG" >&2
		return 1
	done
}

# stop ends the servers; one that exits non-zero on SIGTERM must not end
# the run.
stop() {
	local p
	for p in "${pids[@]}"; do { kill "$p" && wait "$p"; } 2>/dev/null || true; done
	pids=()
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

# machineticks prints the CPU time the whole machine has been busy (all
# but idle, iowait and steal), the time the host took from it (steal) and
# its total time, in clock ticks, summed over its cores (/proc/stat).
machineticks() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}

# ramp_steps prints a ramp's steps from fieldsim's report ($1), a line
# each: the step, when its first slot came and when its last answer did
# (Unix seconds). A step lasts its -step and then as long as its last
# answers take.
ramp_steps() {
	jq -r '.figures as $f | [range(1; 100) | select($f["ramp.step\(.)_started_unix"] != null)
		| "\(.) \($f["ramp.step\(.)_started_unix"]) \($f["ramp.step\(.)_ended_unix"])"] | .[]' "$1"
}

# cpu_steps prints, for each step of a ramp (ramp_steps of fieldsim's
# report $2), the mutations the servers applied a second and the cores
# each part of the machine kept busy: the servers, mysqld, fieldsim and
# the rest (MinIO, the kernel's own threads, anything else running), and
# the share of time the host took (steal), from a ticks file ($1: lines
# "server mysqld applied unix-time fieldsim machine-busy machine-steal
# machine-total", one a second, the time with its fraction). A step's
# figures run from its first sample to its last: those taken between its
# first slot and its last answer, so that no second of the step before
# or after counts.
cpu_steps() {
	awk -v hz="$(getconf CLK_TCK)" 'FILENAME == ARGV[1] { from[$1] = $2; to[$1] = $3; if ($1 > last) last = $1; next }
		NF >= 8 { t[++n] = $0 }
		END { for (k = 1; k <= last; k++) {
			a = b = 0
			for (i = 1; i <= n; i++) { split(t[i], x, " "); if (!a && x[4] >= from[k]) a = i; if (x[4] <= to[k]) b = i }
			if (!a || b <= a) continue
			split(t[a], x, " "); split(t[b], y, " ")
			secs = y[4] - x[4]
			if (secs <= 0 || y[8] == x[8]) continue
			printf "   CPU, step %d (%.0f s of samples): %.0f mutations/s applied; cores busy: %.2f of %.0f (server %.2f, mysqld %.2f, fieldsim %.2f, the rest %.2f); the host took %.1f%%\n", k, secs, (y[3] - x[3]) / secs,
				(y[6] - x[6]) / hz / secs, (y[8] - x[8]) / hz / secs, (y[1] - x[1]) / hz / secs, (y[2] - x[2]) / hz / secs, (y[5] - x[5]) / hz / secs,
				((y[6] - x[6]) - (y[1] - x[1]) - (y[2] - x[2]) - (y[5] - x[5])) / hz / secs, 100 * (y[7] - x[7]) / (y[8] - x[8]) } }' <(ramp_steps "$2") "$1"
}

# applied prints the mutations the running servers have applied so far.
applied() {
	local k n=0
	for k in "${!pids[@]}"; do
		n=$((n + $(curl -sf 127.0.0.1:$((PORT + 10 * k + 2))/metrics | awk '$1 == "fieldsync_sync_mutations_total{status=\"applied\"}" { printf "%d", $2 }')))
	done
	echo $n
}

# drain waits until the first server's background work is done: every
# change row stamped and every audit entry chained (its /metrics say so).
drain() {
	local t0=$SECONDS m stamped chained
	while :; do
		m=$(curl -sf 127.0.0.1:$((PORT + 2))/metrics || true)
		stamped=$(awk '$1 == "fieldsync_sync_changelog_unstamped_rows" { print $2 }' <<<"$m")
		chained=$(awk '$1 == "fieldsync_audit_unchained_entries" { print $2 }' <<<"$m")
		if [ "$stamped" = 0 ] && [ "$chained" = 0 ]; then
			echo "== $backend: background work drained after $((SECONDS - t0)) s (no unstamped change rows, no unchained audit entries)"
			[ "$backend" != mysql ] || flush_innodb
			return
		fi
		if [ $((SECONDS - t0)) -gt 1800 ]; then
			echo "== $backend: background work not drained after 30 min (unstamped $stamped, unchained $chained)" >&2
			return 1
		fi
		sleep 2
	done
}

# flush_innodb writes every dirty page of MariaDB's buffer pool to disk,
# so that a run does not pay for flushing what the set-up and the runs
# before it left (tens of thousands of pages, a checkpoint age of
# hundreds of MiB, which InnoDB's page cleaner otherwise writes at
# innodb_io_capacity pages a second during the next runs). It sets the
# page cleaner's targets to "everything, now" until no page is dirty (at
# most 5 minutes), then puts the settings back as they were, also when
# the script is stopped meanwhile.
flush_innodb() {
	local t0=$SECONDS was dirty age
	was=$(mysql -uroot -h127.0.0.1 -N -e "SELECT CONCAT('SET GLOBAL innodb_io_capacity_max = ', @@innodb_io_capacity_max, ', innodb_io_capacity = ', @@innodb_io_capacity, ', innodb_max_dirty_pages_pct = ', @@innodb_max_dirty_pages_pct)")
	dirty=$(innodb_status Innodb_buffer_pool_pages_dirty) age=$(innodb_status Innodb_checkpoint_age)
	trap 'mysql -uroot -h127.0.0.1 -e "$was"; stop' EXIT
	mysql -uroot -h127.0.0.1 -e "SET GLOBAL innodb_io_capacity_max = 20000, innodb_io_capacity = 20000, innodb_max_dirty_pages_pct = 0"
	while [ "$(innodb_status Innodb_buffer_pool_pages_dirty)" -gt 0 ] && [ $((SECONDS - t0)) -lt 300 ]; do sleep 1; done
	mysql -uroot -h127.0.0.1 -e "$was"
	trap stop EXIT
	echo "== mysql: $dirty dirty pages (checkpoint age $((age / 1048576)) MiB) flushed for $((SECONDS - t0)) s; $(innodb_status Innodb_buffer_pool_pages_dirty) dirty now$([ $((SECONDS - t0)) -lt 300 ] || echo ", gave up waiting")"
}

# innodb_status prints one of MariaDB's global status counters.
innodb_status() {
	mysql -uroot -h127.0.0.1 -N -e "SHOW GLOBAL STATUS LIKE '$1'" | awk '{ print $2 }'
}

# innodb prints MariaDB's InnoDB write counters, name and value a line:
# pages the page cleaner flushed, reads the buffer pool missed, bytes
# written to data files and to the redo log, fsyncs of data files, and
# the checkpoint age (redo bytes not yet covered by a checkpoint) with
# its limit, beyond which InnoDB flushes in the foreground.
innodb() {
	mysql -uroot -h127.0.0.1 -N -e "SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_pages_flushed', 'Innodb_buffer_pool_reads', 'Innodb_data_written', 'Innodb_os_log_written', 'Innodb_data_fsyncs', 'Innodb_checkpoint_age', 'Innodb_checkpoint_max_age')"
}

# innodb_per_mutation prints the change of the counters between two
# innodb outputs ($1 before, $2 after) per applied mutation ($3), and the
# checkpoint age at the end against its limit.
innodb_per_mutation() {
	awk -v n="$3" 'NR == FNR { a[$1] = $2; next } { b[$1] = $2 } END {
		if (n == 0) exit
		printf "   InnoDB per applied mutation (%d): pages flushed %.2f, pool misses %.3f, data written %.0f B, redo written %.0f B, data fsyncs %.3f; checkpoint age at the end %.0f MiB of %.0f MiB\n",
			n, (b["Innodb_buffer_pool_pages_flushed"] - a["Innodb_buffer_pool_pages_flushed"]) / n,
			(b["Innodb_buffer_pool_reads"] - a["Innodb_buffer_pool_reads"]) / n,
			(b["Innodb_data_written"] - a["Innodb_data_written"]) / n,
			(b["Innodb_os_log_written"] - a["Innodb_os_log_written"]) / n,
			(b["Innodb_data_fsyncs"] - a["Innodb_data_fsyncs"]) / n,
			b["Innodb_checkpoint_age"] / 1048576, b["Innodb_checkpoint_max_age"] / 1048576 }' <(echo "$1") <(echo "$2")
}

# count_changes prints how many rows the change log holds (SQLite's needs
# the sqlite3 shell).
count_changes() {
	case $backend in
	sqlite) sqlite3 "$DATA/fieldsync.db" "SELECT COUNT(*) FROM changes" 2>/dev/null || echo "?" ;;
	mysql) mysql -uroot -h127.0.0.1 -N -e "SELECT COUNT(*) FROM $DB.changes" ;;
	esac
}

# lockwaits samples MariaDB's row lock waits every 100 ms until killed,
# on one connection: a line "sample" with the time (Unix seconds) for
# each sample, then a line for each transaction waiting for a lock that
# a running transaction holds (a waiter queued behind other waiters is
# counted once, against the holder): the table and key of the lock, the
# holder's thread id, its session's command (Sleep: idle, waiting for
# fieldsyncd's next statement; Query or Execute: running one), the first
# word of that statement, how long the session has been in that command
# (ms) and the thread's state. (INNODB_TRX's trx_started is in whole
# seconds, too coarse to tell how long a transaction has been open.)
lockwaits() {
	while :; do
		echo "SELECT 'sample', UNIX_TIMESTAMP(NOW(3)); SELECT l.lock_table, REPLACE(IFNULL(l.lock_data, '-'), ' ', '_'), b.trx_mysql_thread_id, IFNULL(p.COMMAND, '-'), IFNULL(SUBSTRING_INDEX(TRIM(p.INFO), ' ', 1), '-'), IFNULL(p.TIME_MS, 0), REPLACE(IFNULL(NULLIF(p.STATE, ''), '-'), ' ', '_') FROM information_schema.INNODB_LOCK_WAITS w JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.blocking_lock_id LEFT JOIN information_schema.PROCESSLIST p ON p.ID = b.trx_mysql_thread_id WHERE b.trx_state <> 'LOCK WAIT';"
		sleep 0.1
	done | mysql -uroot -h127.0.0.1 -N -B --unbuffered
}

# lockwaits_summary prints what lockwaits ($1, its output) saw in each
# step of a ramp (ramp_steps of fieldsim's report $2): the share of
# samples with a transaction waiting, the waiters and holders a sample,
# the locks waited for, and the holders by what their sessions were
# doing, with how long they had been doing it.
lockwaits_summary() {
	awk 'FILENAME == ARGV[1] { from[$1] = $2; to[$1] = $3; if ($1 > last) last = $1; next }
		$1 == "sample" { k = 0; for (j = 1; j <= last; j++) if ($2 >= from[j] && $2 < to[j]) k = j; n[k]++; next }
		NF >= 7 { waits[k]++; locks[k, $1 " " $2]++
			if (!((k, n[k]) in busy)) { busy[k, n[k]] = 1; nbusy[k]++ }
			if (!((k, n[k], $3) in seen)) { seen[k, n[k], $3] = 1; holders[k]++; what = $4 ($5 == "-" ? "" : " " $5); by[k, what]++; ms[k, what] += $6 } }
		END { for (k = 1; k <= last; k++) {
			if (!n[k]) continue
			printf "   lock waits, step %d: %d samples, %.0f%% with a transaction waiting, %.2f waiters and %.2f holders a sample\n", k, n[k], 100 * nbusy[k] / n[k], waits[k] / n[k], holders[k] / n[k]
			for (x in locks) { split(x, a, SUBSEP); if (a[1] == k) printf "     waited for %s: %.0f%%\n", a[2], 100 * locks[x] / waits[k] }
			for (x in by) { split(x, a, SUBSEP); if (a[1] == k) printf "     holder %s: %.0f%%, in it for %.2f ms on average\n", a[2], 100 * by[x] / holders[k], ms[x] / by[x] } } }' <(ramp_steps "$2") "$1"
}
