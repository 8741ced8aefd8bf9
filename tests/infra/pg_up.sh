#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for kttui's tests (root, Debian).
#
# Installs Debian's postgresql (once), creates a cluster in $KTTUI_PG_DIR
# (/var/tmp/kttui-pg) owned by the postgres user, listening on 127.0.0.1:$KTTUI_PG_PORT
# (55432) with password (scram) authentication over TCP, a user `kttui` with password
# $KTTUI_PG_PASSWORD (kttui-test-pw) and a database `kttui`. Prints the URL (without the
# password) and writes it with the password to $KTTUI_PG_DIR/kttui.env for the tests.
# Idempotent; stop with tests/infra/pg_down.sh (add --purge to delete the cluster).
set -euo pipefail

DIR=${KTTUI_PG_DIR:-/var/tmp/kttui-pg}
PORT=${KTTUI_PG_PORT:-55432}
PASSWORD=${KTTUI_PG_PASSWORD:-kttui-test-pw}
T0=$(date +%s.%N)
say() { printf 'pg_up: %s\n' "$*"; }
die() { printf 'pg_up: ERROR: %s\n' "$*" >&2; exit 1; }
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
[ "$(id -u)" = 0 ] || die "must run as root (installs packages, runs the server as postgres)"

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(bindir)" ] || [ ! -x "$(bindir)/initdb" ]; then
    say "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || die "apt-get update failed"
    apt-get install -y -q --no-install-recommends postgresql >/tmp/kttui-pg-apt.log 2>&1 \
        || die "apt-get install postgresql failed, see /tmp/kttui-pg-apt.log"
fi
BIN=$(bindir)
id postgres >/dev/null 2>&1 || die "no postgres user (the postgresql package creates it)"
as_pg() { runuser -u postgres -- "$@"; }

mkdir -p "$DIR"
chown postgres:postgres "$DIR"
chmod 0700 "$DIR"
if [ ! -f "$DIR/data/PG_VERSION" ]; then
    say "initdb in $DIR/data ($BIN)"
    as_pg "$BIN/initdb" -D "$DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
        || die "initdb failed, see $DIR/initdb.log"
    cat >>"$DIR/data/postgresql.conf" <<CONF
# kttui tests
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
fi
if as_pg "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
    say "server already running"
else
    as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 start >/dev/null \
        || { tail -n 20 "$DIR/server.log" >&2; die "server did not start, see $DIR/server.log"; }
fi
psql_pg() { as_pg "$BIN/psql" -h "$DIR" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_pg -c "SELECT 1 FROM pg_roles WHERE rolname='kttui'")" != 1 ]; then
    psql_pg -c "CREATE ROLE kttui LOGIN PASSWORD '${PASSWORD//\'/\'\'}'" >/dev/null
else
    psql_pg -c "ALTER ROLE kttui PASSWORD '${PASSWORD//\'/\'\'}'" >/dev/null
fi
if [ "$(psql_pg -c "SELECT 1 FROM pg_database WHERE datname='kttui'")" != 1 ]; then
    psql_pg -c "CREATE DATABASE kttui OWNER kttui" >/dev/null
fi
URL="postgresql://kttui@127.0.0.1:$PORT/kttui"
PGPASSWORD=$PASSWORD "$BIN/psql" "$URL" -qtAc 'SELECT 1' >/dev/null \
    || die "cannot connect as kttui over TCP"
umask 077
printf 'KTTUI_TEST_PG_URL=%s\nKTTUI_TEST_PG_PASSWORD=%s\n' "$URL" "$PASSWORD" >"$DIR/kttui.env"
say "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') up in $(elapsed) s: $URL"
say "password in \$KTTUI_DB_PASSWORD (tests read $DIR/kttui.env)"
