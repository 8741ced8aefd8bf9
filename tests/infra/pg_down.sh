#!/usr/bin/env bash
# Stop the server started by pg_up.sh; --purge also deletes its cluster directory.
set -uo pipefail
DIR=${KTTUI_PG_DIR:-/var/tmp/kttui-pg}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -f "$DIR/data/postmaster.pid" ] && [ -n "$BIN" ]; then
    runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null \
        && echo "pg_down: stopped the server in $DIR"
fi
if [ "${1:-}" = --purge ]; then
    rm -rf "$DIR" && echo "pg_down: removed $DIR"
fi
