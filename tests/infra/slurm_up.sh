#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine for kttui's tests (root, Debian).
#
# Installs slurm-wlm + munge (once), writes /etc/slurm/slurm.conf and gres.conf for
# `hostname -s` with 4 fake GPUs (/dev/kttui-fakegpu0..3), starts munged, slurmctld
# and slurmd, and waits until `sinfo` shows the node idle. Idempotent: a cluster that
# is already up is left as it is. State and logs: $KTTUI_SLURM_DIR (/var/tmp/kttui-slurm).
# Stop with tests/infra/slurm_down.sh.
set -euo pipefail

DIR=${KTTUI_SLURM_DIR:-/var/tmp/kttui-slurm}
NGPUS=${KTTUI_SLURM_GPUS:-4}
CPUS=${KTTUI_SLURM_CPUS:-8}          # oversubscribed on purpose: 4+ one-CPU jobs at once
CONF=/etc/slurm/slurm.conf
MARK="# written by kttui tests/infra/slurm_up.sh"
T0=$(date +%s.%N)

say() { printf 'slurm_up: %s\n' "$*"; }
die() { printf 'slurm_up: ERROR: %s\n' "$*" >&2; exit 1; }
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

[ "$(id -u)" = 0 ] || die "must run as root (installs packages, writes /etc/slurm)"

# 1. packages --------------------------------------------------------------------------
need=()
for bin in slurmctld slurmd sinfo munged; do
    command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need+=("$bin")
done
if [ ${#need[@]} -gt 0 ]; then
    say "installing slurmctld slurmd slurm-client munge (missing: ${need[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || die "apt-get update failed"
    apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge \
        >/tmp/kttui-slurm-apt.log 2>&1 || die "apt-get install failed, see /tmp/kttui-slurm-apt.log"
else
    say "slurm and munge already installed"
fi

NODE=$(hostname -s)
if [ -f "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by kttui; refusing to overwrite it"
fi

# 2. munge ------------------------------------------------------------------------------
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
    say "creating /etc/munge/munge.key"
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0700 /etc/munge /var/lib/munge /var/log/munge
chmod 0755 /run/munge
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "starting munged"
    runuser -u munge -- /usr/sbin/munged --force || die "munged did not start"
    # wait for the socket first: a munge client that finds none backs off for seconds
    for _ in $(seq 100); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.05; done
    munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"
fi

# 3. config -----------------------------------------------------------------------------
mkdir -p "$DIR/ctld" "$DIR/spool" "$DIR/log" /etc/slurm
MEM_MB=$(awk '/MemTotal/ {printf "%d", $2/1024 * 0.8}' /proc/meminfo)
for i in $(seq 0 $((NGPUS - 1))); do
    dev=/dev/kttui-fakegpu$i
    # A character device with /dev/null's numbers: slurmd rejects plain files ("not a valid
    # character or block device") and then leaves CUDA_VISIBLE_DEVICES empty.
    [ -c "$dev" ] || { rm -f "$dev"; mknod -m 0666 "$dev" c 1 3; } \
        || die "cannot create the fake GPU device $dev with mknod"
done
GPU_FILES="/dev/kttui-fakegpu[0-$((NGPUS - 1))]"
cat >"$DIR/slurm.conf.new" <<CONF
$MARK
# A one-node test cluster on $NODE; state under $DIR.
ClusterName=kttui
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
SwitchType=switch/none
SchedulerType=sched/backfill
# start jobs at once (the default batch_sched_delay=3 delays each start by up to 3 s)
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
DefMemPerCPU=512
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
KillWait=5
MinJobAge=300
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:$NGPUS State=UNKNOWN
# Two partitions on the node: jobs in "urgent" preempt (cancel) jobs in "debug".
PreemptType=preempt/partition_prio
PreemptMode=CANCEL
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP PriorityTier=1
PartitionName=urgent Nodes=$NODE Default=NO MaxTime=INFINITE State=UP PriorityTier=2
CONF
cat >"$DIR/gres.conf.new" <<CONF
$MARK
AutoDetect=off
NodeName=$NODE Name=gpu File=$GPU_FILES
CONF
changed=0
if ! cmp -s "$DIR/slurm.conf.new" "$CONF" || ! cmp -s "$DIR/gres.conf.new" /etc/slurm/gres.conf; then
    changed=1
    mv -f "$DIR/slurm.conf.new" "$CONF"
    mv -f "$DIR/gres.conf.new" /etc/slurm/gres.conf
else
    rm -f "$DIR/slurm.conf.new" "$DIR/gres.conf.new"
fi
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if [ $changed = 1 ]; then
    say "wrote $CONF and /etc/slurm/gres.conf (node $NODE: CPUs=$CPUS RealMemory=${MEM_MB}M gpu:$NGPUS)"
    for d in slurmd slurmctld; do   # a running cluster with another config: restart it
        if pid_alive "$DIR/$d.pid"; then
            pid=$(cat "$DIR/$d.pid"); kill "$pid"
            for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            say "stopped $d to load the new config"
        fi
    done
elif pid_alive "$DIR/slurmctld.pid" && pid_alive "$DIR/slurmd.pid" && \
     sinfo -h -n "$NODE" -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
    say "cluster already up: $(sinfo -h -o '%P %t %N %G' | tr '\n' ' ')($(elapsed) s)"
    exit 0
fi

# 4. daemons ----------------------------------------------------------------------------
if ! pid_alive "$DIR/slurmctld.pid"; then
    say "starting slurmctld"
    /usr/sbin/slurmctld -i || die "slurmctld did not start; see $DIR/log/slurmctld.log"
fi
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.1; done
scontrol ping 2>/dev/null | grep -q UP || die "slurmctld is not answering; see $DIR/log/slurmctld.log"
if ! pid_alive "$DIR/slurmd.pid"; then
    say "starting slurmd"
    /usr/sbin/slurmd || die "slurmd did not start; see $DIR/log/slurmd.log"
fi

# 5. wait for the node ------------------------------------------------------------------
state=""
for _ in $(seq 300); do
    state=$(sinfo -h -n "$NODE" -o '%t' 2>/dev/null | head -1)
    case "$state" in
        idle) break ;;
        down*|drain*|inval*) scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.1
done
if [ "$state" != idle ]; then
    tail -n 20 "$DIR/log/slurmd.log" >&2 || true
    die "node $NODE is '${state:-absent}', not idle, after 30 s; see $DIR/log/"
fi
say "cluster up in $(elapsed) s: $(sinfo -h -o 'partition=%P state=%t node=%N cpus=%c mem=%mM gres=%G' | tr '\n' ' ')"
