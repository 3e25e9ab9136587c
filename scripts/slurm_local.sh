#!/bin/bash
# Starts a single-node Slurm cluster on this machine (munge, slurmctld and slurmd on
# localhost, configuration and state in a temporary folder), runs the given command with
# SLURM_CONF pointing at it, and stops the cluster again, whatever the command did.
#
#   scripts/slurm_local.sh sbatch --wait study.sbatch
#
# Needs Debian's slurm-wlm and munge (apt-get install slurm-wlm munge) and root (slurmd
# runs jobs as their users). Exit status: the command's; 3 when the cluster did not start.
set -uo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi
for tool in munged slurmctld slurmd sbatch sinfo; do
    if ! command -v "$tool" >/dev/null; then
        echo "slurm_local: $tool is missing (Debian: apt-get install slurm-wlm munge)" >&2
        exit 3
    fi
done
if [ "$(id -u)" != 0 ]; then
    echo "slurm_local: slurmd must run as root" >&2
    exit 3
fi

DIR=$(mktemp -d /tmp/relarc-slurm.XXXXXX)
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
PORT=$(( 20000 + RANDOM % 20000 ))
mkdir -p "$DIR/state" "$DIR/spool" "$DIR/munge"
chmod 755 "$DIR"

cat > "$DIR/slurm.conf" <<CONF
ClusterName=relarc-local
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$DIR/slurm.conf"

# munge: this cluster's own daemon, socket and key, so an installed one is not disturbed.
dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$DIR/munge/munge.key"
SOCKET="$DIR/munge/munge.socket"
munged --force --key-file="$DIR/munge/munge.key" --socket="$SOCKET" \
    --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
    --seed-file="$DIR/munge/munged.seed" || { echo "slurm_local: munged did not start" >&2; exit 3; }
# Slurm's auth/munge plugin finds the socket through AuthInfo.
sed -i "s|^AuthType=auth/munge|AuthType=auth/munge\nAuthInfo=socket=$SOCKET|" "$SLURM_CONF"

stop() {
    [ -f "$DIR/slurmd.pid" ] && kill "$(cat "$DIR/slurmd.pid")" 2>/dev/null
    [ -f "$DIR/slurmctld.pid" ] && kill "$(cat "$DIR/slurmctld.pid")" 2>/dev/null
    [ -f "$DIR/munge/munged.pid" ] && kill "$(cat "$DIR/munge/munged.pid")" 2>/dev/null
    sleep 1
    rm -rf "$DIR"
}
trap stop EXIT

slurmctld -i || { echo "slurm_local: slurmctld did not start:" >&2; cat "$DIR/slurmctld.log" >&2; exit 3; }
slurmd || { echo "slurm_local: slurmd did not start:" >&2; cat "$DIR/slurmd.log" >&2; exit 3; }
for _ in $(seq 60); do
    if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
        break
    fi
    sleep 1
done
if ! sinfo -h -o %T 2>/dev/null | grep -qx idle; then
    echo "slurm_local: the node did not become idle:" >&2
    sinfo >&2
    tail -20 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2
    exit 3
fi

"$@"
status=$?
if [ $status -ne 0 ]; then
    tail -20 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2
fi
exit $status
