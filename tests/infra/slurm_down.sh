#!/usr/bin/env bash
# Stop the test cluster started by slurm_up.sh (jobs are cancelled; packages stay).
set -uo pipefail
DIR=${KTTUI_SLURM_DIR:-/var/tmp/kttui-slurm}
say() { printf 'slurm_down: %s\n' "$*"; }
if [ -f "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
    scancel --quiet --user="$(id -un)" 2>/dev/null
fi
for d in slurmd slurmctld; do
    pidf="$DIR/$d.pid"
    if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
        pid=$(cat "$pidf")
        kill "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
        say "stopped $d (pid $pid)"
    fi
done
if [ -f /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; then
    kill "$(cat /run/munge/munged.pid)" && say "stopped munged"
fi
say "done (state kept in $DIR; remove it for a fresh cluster)"
