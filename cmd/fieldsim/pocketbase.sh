#!/usr/bin/env bash
# pocketbase.sh measures fieldsync's record writes against PocketBase's on
# this machine, side by side in one run: the same embedded SQLite (each
# server's own, in a fresh directory), the same number of concurrent
# writers and the same records per request (1, and 10 in one request —
# PocketBase's /api/batch, fieldsync's push of 10 mutations).
#
#   bash cmd/fieldsim/pocketbase.sh            # or: make bench-pocketbase
#   PB_WORKERS=32 PB_REQUESTS=200 bash cmd/fieldsim/pocketbase.sh
#
# PocketBase (PB_VERSION, v0.40.4) is built from the Go module proxy in
# $BENCH_OUT/pocketbase, outside this module: it is a benchmark peer, never
# a dependency of the server. Its writers are cmd/fieldsim/pbload; the
# fieldsync writers are fieldsim's push scenario. The runs alternate
# (PocketBase, fieldsync, PocketBase, fieldsync …) PB_REPS times, and the
# ratio fieldsync/PocketBase of records/s is printed per batch size. It
# needs curl and jq.
set -euo pipefail
cd "$(dirname "$0")/../.."
# fieldsync on its embedded SQLite and local disk, whatever the caller's
# shell points at.
unset FIELDSYNC_MYSQL_DSN FIELDSYNC_S3_ENDPOINT

OUT=${BENCH_OUT:-bench-results}
PB=$OUT/pocketbase
VERSION=${PB_VERSION:-v0.40.4}
WORKERS=${PB_WORKERS:-32}
REQUESTS=${PB_REQUESTS:-100}
REPS=${PB_REPS:-3}
PB_PORT=18470 FS_PORT=18475
mkdir -p "$OUT/bin" "$PB"
rm -f "$OUT/pocketbase.txt"

go build -tags nodynamic -o "$OUT/bin/" ./cmd/fieldsyncd ./cmd/fieldsim ./cmd/fieldsim/pbload
if [ ! -x "$PB/pocketbase" ]; then
	(
		cd "$PB"
		[ -f go.mod ] || go mod init pbbench >/dev/null 2>&1
		cat >main.go <<'GO'
package main

import (
	"log"

	"github.com/pocketbase/pocketbase"
)

func main() {
	if err := pocketbase.New().Start(); err != nil {
		log.Fatal(err)
	}
}
GO
		# PocketBase v0.40 needs Go 1.27; the go command fetches that
		# toolchain from the module proxy for this directory only.
		export GOTOOLCHAIN=${PB_GOTOOLCHAIN:-go1.27.3} GOFLAGS=-mod=mod
		go get "github.com/pocketbase/pocketbase@$VERSION"
		go mod tidy
		CGO_ENABLED=0 go build -o pocketbase .
	)
fi

pids=()
stop() {
	local p
	for p in "${pids[@]}"; do { kill "$p" && wait "$p"; } 2>/dev/null || true; done
	pids=()
}
trap stop EXIT
wait_ready() {
	for _ in $(seq 300); do curl -sf "$1" >/dev/null && return; sleep 0.2; done
	echo "$1 did not answer" >&2
	return 1
}

# pocketbase_run $batch: a fresh PocketBase with an "observations"
# collection anyone may create in, batch requests on; its report is
# $OUT/pocketbase-batch$batch.json. pbload fails when any request does.
pocketbase_run() {
	local dir=$PB/data token
	rm -rf "$dir"
	"$PB/pocketbase" superuser upsert bench@example.com bench-password-123 --dir "$dir" >/dev/null
	"$PB/pocketbase" serve --http 127.0.0.1:$PB_PORT --dir "$dir" >>"$OUT/pocketbase-server.log" 2>&1 &
	pids+=($!)
	wait_ready http://127.0.0.1:$PB_PORT/api/health
	token=$(curl -sf -X POST -H 'Content-Type: application/json' http://127.0.0.1:$PB_PORT/api/collections/_superusers/auth-with-password \
		-d '{"identity":"bench@example.com","password":"bench-password-123"}' | jq -r .token)
	curl -sf -X POST -H "Authorization: $token" -H 'Content-Type: application/json' http://127.0.0.1:$PB_PORT/api/collections -d '{
		"name": "observations", "type": "base", "createRule": "",
		"fields": [{"name": "task_id", "type": "text"}, {"name": "note", "type": "text"},
		           {"name": "lat", "type": "number"}, {"name": "lng", "type": "number"}]}' >/dev/null
	curl -sf -X PATCH -H "Authorization: $token" -H 'Content-Type: application/json' http://127.0.0.1:$PB_PORT/api/settings \
		-d '{"batch": {"enabled": true, "maxRequests": 100, "timeout": 30}}' >/dev/null
	"$OUT/bin/pbload" -server http://127.0.0.1:$PB_PORT -workers "$WORKERS" -batch "$1" -requests "$REQUESTS" >"$OUT/pocketbase-batch$1.json"
	stop
}

# fieldsync_run $batch: a fresh fieldsyncd on SQLite, WORKERS phones each
# pushing REQUESTS batches of $batch mutations; its report is
# $OUT/pocketbase-fieldsync-batch$batch.json, and a rejected mutation fails
# the run.
fieldsync_run() {
	local dir=$OUT/pocketbase-fieldsync-data
	rm -rf "$dir"
	mkdir -p "$dir"
	local size=(-inspectors "$WORKERS" -tasks $((WORKERS * 10)) -sites "$WORKERS" -items 20)
	FIELDSYNC_DATA_DIR=$dir FIELDSYNC_LOG_LEVEL=warn "$OUT/bin/fieldsim" "${size[@]}" -scenario initial -devices 1 \
		-server http://127.0.0.1:$FS_PORT -json >/dev/null 2>&1 || true
	FIELDSYNC_DATA_DIR=$dir FIELDSYNC_LOG_LEVEL=warn "$OUT/bin/fieldsyncd" -addr 127.0.0.1:$FS_PORT >>"$OUT/pocketbase-fieldsync-server.log" 2>&1 &
	pids+=($!)
	wait_ready http://127.0.0.1:$FS_PORT/readyz
	FIELDSYNC_DATA_DIR=$dir "$OUT/bin/fieldsim" -server http://127.0.0.1:$FS_PORT "${size[@]}" -setup=false -json -scenario push \
		-devices "$WORKERS" -concurrency "$WORKERS" -count "$REQUESTS" -batches "$1" >"$OUT/pocketbase-fieldsync-batch$1.json"
	stop
	jq -e ".figures[\"push.batch$1_rejected\"] == 0 and .figures[\"push.batch$1_applied\"] == $WORKERS * $REQUESTS * $1" \
		"$OUT/pocketbase-fieldsync-batch$1.json" >/dev/null || {
		echo "fieldsync did not apply every mutation of batch $1; see $OUT/pocketbase-fieldsync-batch$1.json" >&2
		return 1
	}
}

echo "== load $(cut -d' ' -f1-3 /proc/loadavg); $WORKERS writers, $REQUESTS requests each, PocketBase $VERSION"
for batch in 1 10; do
	for rep in $(seq "$REPS"); do
		pocketbase_run "$batch"
		fieldsync_run "$batch"
		pb=$(jq -r .records_per_second "$OUT/pocketbase-batch$batch.json")
		fs=$(jq -r ".figures[\"push.batch${batch}_applied_per_second\"]" "$OUT/pocketbase-fieldsync-batch$batch.json")
		awk -v b="$batch" -v r="$rep" -v pb="$pb" -v fs="$fs" 'BEGIN {
			printf "batch %2d run %d: PocketBase %.0f records/s, fieldsync %.0f mutations/s, ratio %.2f\n", b, r, pb, fs, fs / pb }' |
			tee -a "$OUT/pocketbase.txt"
	done
done
echo "== load $(cut -d' ' -f1-3 /proc/loadavg)"
