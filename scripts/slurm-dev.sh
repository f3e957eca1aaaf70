#!/usr/bin/env bash
# A one-node SLURM cluster on localhost, for the tests and for trying `lethe serve --executor
# slurm` without a cluster: munged, slurmctld and slurmd from Debian's packages (munge,
# slurm-wlm; scripts/setup.sh installs them), started directly, without systemd.
#
#   scripts/slurm-dev.sh start|stop|status
#
# Everything lives under $LETHE_SLURM_DIR (default /tmp/lethe-slurm): slurm.conf, the state and
# spool directories, the daemons' logs and pid files, and jobcomp.log (finished jobs, which
# `sacct -c` reads: there is no slurmdbd). Clients find the cluster through SLURM_CONF:
#
#   export SLURM_CONF=/tmp/lethe-slurm/slurm.conf
#
# The node's CPUs and memory are `slurmd -C`'s; DefMemPerCPU lets jobs share the node. Run as
# root (SlurmUser=root), as on CI.
set -euo pipefail
dir="${LETHE_SLURM_DIR:-/tmp/lethe-slurm}"
conf="$dir/slurm.conf"
log() { printf '\033[1m[slurm-dev]\033[0m %s\n' "$*" >&2; }

running() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

write_conf() {
  local node cpus memory
  node=$(slurmd -C | head -n 1)
  cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node")
  memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
  cat >"$conf" <<CONF
ClusterName=lethe-dev
SlurmctldHost=$(hostname)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.log
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$((memory / cpus / 2))
MinJobAge=600
NodeName=$(hostname) CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
  mkdir -p "$dir/state" "$dir/spool"
  if ! pgrep -x munged >/dev/null; then
    log "munged"
    mkdir -p /run/munge
    chown munge:munge /run/munge
    su -s /bin/sh munge -c /usr/sbin/munged
  fi
  [ -f "$conf" ] || write_conf
  if ! running slurmctld; then
    log "slurmctld (-f $conf)"
    slurmctld -f "$conf"
  fi
  if ! running slurmd; then
    log "slurmd (-f $conf)"
    slurmd -f "$conf"
  fi
  export SLURM_CONF="$conf"
  for _ in $(seq 1 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      log "up: export SLURM_CONF=$conf"
      return 0
    fi
    sleep 0.5
  done
  log "the node did not come up; logs in $dir"
  tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  return 1
}

stop() {
  for daemon in slurmd slurmctld; do
    if running "$daemon"; then
      log "stopping $daemon"
      kill "$(cat "$dir/$daemon.pid")"
      for _ in $(seq 1 40); do running "$daemon" || break; sleep 0.25; done
    fi
  done
  # munged is shared with anything else on the host that uses it; it stays. The cluster's
  # state goes, so the next start numbers jobs from 1 with an empty completion log.
  rm -rf "$dir"
}

status() {
  for daemon in slurmctld slurmd; do
    if running "$daemon"; then echo "$daemon: running"; else echo "$daemon: stopped"; fi
  done
  if running slurmctld; then SLURM_CONF="$conf" sinfo; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
