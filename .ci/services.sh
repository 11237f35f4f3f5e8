#!/usr/bin/env bash
# Starts the services the tests need, as `make test` (via `make services`)
# expects: MariaDB on 127.0.0.1:3306 if it is down, and MinIO on
# 127.0.0.1:9000 (console :9001, minioadmin/minioadmin, data in a fresh
# temporary directory), installing the MinIO binary once into
# ~/.cache/fieldsync/bin; and it installs Chromium (Debian's package) when
# it is missing, for the test that renders an evidence pack's report. It
# exports nothing; the Makefile sets the FIELDSYNC_TEST_* variables.
#
#   .ci/services.sh         start what is not running (one line per service)
#   .ci/services.sh stop    stop the MinIO this script started; MariaDB is left alone
#
# A service that is not installed is reported and, under CI=true, fails the
# script; locally the tests that need it skip.
set -euo pipefail

CACHE="${FIELDSYNC_CACHE:-$HOME/.cache/fieldsync}"
BIN="$CACHE/bin"
RUN="$CACHE/run"
MINIO="$BIN/minio"
MINIO_MODULE="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
MINIO_ADDR="127.0.0.1:9000"
MINIO_CONSOLE="127.0.0.1:9001"
MINIO_HEALTH="http://$MINIO_ADDR/minio/health/live"
MINIO_PID="$RUN/minio.pid"
MINIO_DATA="$RUN/minio.datadir"
MINIO_LOG="$RUN/minio.log"
MARIADBD="/usr/sbin/mariadbd"

in_ci() { [[ "${CI:-}" =~ ^(1|t|T|true|TRUE|True)$ ]]; }

# missing SERVICE MESSAGE: a service cannot be provided.
missing() {
	echo "$1: $2" >&2
	if in_ci; then
		echo "$1: required under CI=true" >&2
		exit 1
	fi
}

die() {
	echo "$*" >&2
	exit 1
}

# wait_for SECONDS COMMAND...: true once COMMAND succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.5
	done
}

mysql_admin() {
	if command -v mariadb-admin >/dev/null; then
		mariadb-admin "$@"
	else
		mysqladmin "$@"
	fi
}

mysql_up() { mysql_admin -uroot -h127.0.0.1 --connect-timeout=2 ping >/dev/null 2>&1; }

start_mariadb() {
	if mysql_up; then
		echo "mariadb: already running on 127.0.0.1:3306"
		return
	fi
	if [[ ! -x $MARIADBD ]]; then
		missing mariadb "not running and $MARIADBD is not installed; MySQL tests will skip"
		return
	fi
	# The socket directory lives on tmpfs and is gone after a reboot.
	if [[ ! -d /run/mysqld ]] && [[ $(id -u) == 0 ]]; then
		install -d -o mysql -g mysql /run/mysqld 2>/dev/null || mkdir -p /run/mysqld
	fi
	start-stop-daemon --start --oknodo --background --exec "$MARIADBD"
	wait_for 60 mysql_up || die "mariadb: started $MARIADBD but it did not answer within 60 s (see its error log)"
	local client
	client=$(command -v mariadb || command -v mysql || true)
	if [[ -n $client ]]; then
		"$client" -uroot -h127.0.0.1 -e 'CREATE DATABASE IF NOT EXISTS test' || true
	fi
	echo "mariadb: started $MARIADBD on 127.0.0.1:3306"
}

# Chromium is a program the tests run, not a service: installed once with
# apt-get when missing, never started here.
# ensure_package COMMAND PACKAGE WHAT: installs Debian's PACKAGE when
# COMMAND is missing (the tests of WHAT need it); apt-get update runs once.
# COMMAND "dpkg:NAME" checks for the installed package NAME instead (fonts
# have no command).
apt_updated=""
ensure_package() {
	if command -v "$1" >/dev/null || { [[ $1 == dpkg:* ]] && dpkg -s "${1#dpkg:}" >/dev/null 2>&1; }; then
		echo "$2: installed"
		return
	fi
	if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
		missing "$2" "not installed, and apt-get is not available to root here; $3 will skip"
		return
	fi
	echo "$2: installing Debian's package (apt-get)..."
	if [[ -z $apt_updated ]]; then
		apt-get update -qq >/dev/null || die "$2: apt-get update failed"
		apt_updated=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null || die "$2: apt-get install failed"
	echo "$2: installed"
}

minio_installing() { pgrep -f "go install $MINIO_MODULE" >/dev/null 2>&1; }
minio_not_installing() { ! minio_installing; }
pid_gone() { ! kill -0 "$1" 2>/dev/null; }

install_minio() {
	mkdir -p "$BIN"
	# Another run (or a set-up script) may be installing right now into the
	# same GOBIN; wait for it rather than build twice or read a half-written binary.
	if minio_installing; then
		echo "minio: waiting for a go install of $MINIO_MODULE that is already running (up to 20 min)..."
		wait_for 1200 minio_not_installing ||
			die "minio: the running install did not finish within 20 min"
	fi
	# Two runs of this script install one after the other, not side by side.
	exec 9>"$CACHE/minio-install.lock"
	flock 9
	local status=1 # 1: already present, nothing installed by us
	if [[ ! -x $MINIO ]]; then
		command -v go >/dev/null || die "minio: binary missing and go is not installed"
		echo "minio: installing $MINIO_MODULE into $BIN (about 4 minutes the first time)..."
		GOBIN="$BIN" go install "$MINIO_MODULE" || die "minio: go install failed"
		status=0
	fi
	exec 9>&- # closing the only descriptor releases the lock; MinIO must not inherit it
	return "$status"
}

minio_up() { curl -fsS -m 2 -o /dev/null "$MINIO_HEALTH" 2>/dev/null; }

minio_pid_alive() {
	local pid
	[[ -f $MINIO_PID ]] || return 1
	pid=$(cat "$MINIO_PID")
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null &&
		[[ $(readlink -f "/proc/$pid/exe" 2>/dev/null) == "$(readlink -f "$MINIO")" ]]
}

remove_minio_state() {
	if [[ -f $MINIO_DATA ]]; then
		local data
		data=$(cat "$MINIO_DATA")
		[[ $data == */fieldsync-minio.* ]] && rm -rf -- "$data"
	fi
	rm -f "$MINIO_PID" "$MINIO_DATA"
}

start_minio() {
	if minio_up; then
		echo "minio: already running on $MINIO_ADDR"
		return
	fi
	local installed=""
	if install_minio; then installed="installed and "; fi
	minio_pid_alive || remove_minio_state # left by a MinIO that died
	mkdir -p "$RUN"
	local data
	data=$(mktemp -d "${TMPDIR:-/tmp}/fieldsync-minio.XXXXXX")
	echo "$data" >"$MINIO_DATA"
	# setsid: a Ctrl-C in `make test` must not take the server down with it.
	MINIO_ROOT_USER=minioadmin MINIO_ROOT_PASSWORD=minioadmin MINIO_UPDATE=off \
		setsid "$MINIO" server --address "$MINIO_ADDR" --console-address "$MINIO_CONSOLE" "$data" \
		</dev/null >"$MINIO_LOG" 2>&1 &
	local pid=$!
	echo "$pid" >"$MINIO_PID"
	if ! wait_for 60 minio_up; then
		tail -n 20 "$MINIO_LOG" >&2 || true
		kill "$pid" 2>/dev/null || true
		remove_minio_state
		die "minio: not healthy within 60 s (log: $MINIO_LOG)"
	fi
	echo "minio: ${installed}started on $MINIO_ADDR (pid $pid, data $data, log $MINIO_LOG)"
}

stop_minio() {
	if ! minio_pid_alive; then
		remove_minio_state
		echo "minio: not started by this script; nothing to stop"
		return
	fi
	local pid
	pid=$(cat "$MINIO_PID")
	kill "$pid"
	wait_for 15 pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	remove_minio_state
	echo "minio: stopped (pid $pid)"
}

case "${1:-start}" in
start)
	mkdir -p "$CACHE"
	start_mariadb
	start_minio
	ensure_package chromium chromium "the evidence report's and the console's browser tests"
	ensure_package dpkg:fonts-noto-cjk fonts-noto-cjk "legible Chinese in the console's screenshots"
	ensure_package soffice libreoffice-calc "the ledger's spreadsheet test"
	;;
stop)
	stop_minio
	echo "mariadb: left running"
	;;
*)
	die "usage: $0 [start|stop]"
	;;
esac
