#!/usr/bin/env bash
# Boots a throwaway systemd as PID 1 of new mount/pid/net/uts/ipc/cgroup namespaces, for the
# service tests. Nothing of the host changes:
#   - the root file system it sees is an overlay: the host's / read-only below, a tmpfs above
#     (users, units, /opt, /etc, /var written by the tests vanish with the namespace);
#   - fresh tmpfs on /tmp, /var/tmp, /run and /var/log/journal; its own network namespace (lo only);
#   - /etc/systemd/system holds only the test's units: trt-test.target plus masks for every unit
#     the stock sysinit/sockets/timers targets would start (sysctl, binfmt, modules, udev, tmpfiles...);
#   - its cgroups live below a fresh trt-systemd-test-<pid> group, removed by `stop`.
#
# Usage (as root):
#   boot-systemd.sh boot DIR    DIR/units: unit files to install; DIR/share: bind-mounted at
#                               /srv/trt-test. Runs until that systemd powers off (run it in the
#                               background); writes DIR/cgroup (the cgroup name).
#   boot-systemd.sh inner DIR   (internal: the namespace's PID 1 before it becomes systemd)
#   boot-systemd.sh stop DIR [PID] powers off the systemd whose host pid is PID (SIGKILL after 20 s)
#                               and removes the cgroups (without PID: only the cgroups)
set -euo pipefail

cmd=${1:?usage: boot-systemd.sh boot|inner|stop DIR}
T=${2:?DIR missing}

cgroup_dirs() {
  local name
  name=$(cat "$T/cgroup" 2>/dev/null) || return 0
  [[ $name == trt-systemd-test-* ]] || return 0
  for h in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
    [[ -d $h/$name ]] && echo "$h/$name"
  done
  return 0
}

remove_cgroup() { # depth first; a group may stay busy for a moment after its last process exits
  local c=$1
  for _ in $(seq 1 50); do
    find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    [[ -d $c ]] || return 0
    sleep 0.1
  done
  echo "boot-systemd.sh: could not remove $c" >&2
}

case $cmd in
boot)
  # groups a crashed earlier run left behind (their boot process is gone)
  for c in /sys/fs/cgroup/unified/trt-systemd-test-* /sys/fs/cgroup/systemd/trt-systemd-test-* /sys/fs/cgroup/trt-systemd-test-*; do
    [[ -d $c ]] || continue
    owner=${c##*-}
    [[ $owner =~ ^[0-9]+$ ]] && kill -0 "$owner" 2>/dev/null && continue
    remove_cgroup "$c"
  done
  # a cgroup of our own on every writable hierarchy systemd uses, so the namespaced systemd
  # sees it as its root and creates nothing in the host's tree
  name=trt-systemd-test-$$
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    hierarchies=(/sys/fs/cgroup) # pure cgroup v2
  else
    hierarchies=()
    [[ -d /sys/fs/cgroup/unified ]] && hierarchies+=(/sys/fs/cgroup/unified)
    [[ -d /sys/fs/cgroup/systemd ]] && hierarchies+=(/sys/fs/cgroup/systemd)
  fi
  echo "$name" > "$T/cgroup"
  for h in "${hierarchies[@]}"; do
    mkdir "$h/$name"
    echo $$ > "$h/$name/cgroup.procs"
  done
  # if the test process dies without powering it off, the whole namespace goes with it:
  # unshare gets SIGKILL when its parent dies, and kills its child (PID 1 of the namespace) when it dies
  exec setpriv --pdeathsig KILL unshare --kill-child=KILL --mount --pid --fork --net --uts --ipc --cgroup --propagation private bash "$0" inner "$T"
  ;;
inner)
  mount --make-rprivate /
  mkdir -p "$T/ovl"
  mount -t tmpfs -o mode=0755 trt-test-overlay "$T/ovl"
  mkdir -p "$T/ovl/upper" "$T/ovl/work" "$T/ovl/root"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$T/ovl/upper,workdir=$T/ovl/work" "$T/ovl/root"
  R=$T/ovl/root
  mount --rbind /dev "$R/dev"
  mount -t sysfs sysfs "$R/sys"
  for d in tmp var/tmp; do mount -t tmpfs -o mode=1777 tmpfs "$R/$d"; done
  mount -t tmpfs -o mode=0755 tmpfs "$R/run"
  mkdir -p "$R/var/log/journal" "$R/srv/trt-test"
  mount -t tmpfs -o mode=0755 tmpfs "$R/var/log/journal"
  mount --bind "$T/share" "$R/srv/trt-test"
  # the checkout itself (the tests run scripts/install from it): below the fresh /tmp or on another
  # mount (the overlay only shows /'s own file system) it would be missing, so bind it at its path
  REPO=$(cd "$(dirname "$0")/../.." && pwd -P)
  if [[ ! -f $R$REPO/scripts/install ]]; then
    mkdir -p "$R$REPO"
    mount --bind "$REPO" "$R$REPO"
  fi
  # only the test's units (the overlay hides the host's; the host's files stay as they are)
  rm -rf "$R/etc/systemd/system"
  mkdir -p "$R/etc/systemd/system"
  cp -a "$T/units/." "$R/etc/systemd/system/"
  hostname trt-test
  mkdir -p "$R/.oldroot"
  cd "$R"
  pivot_root . .oldroot
  mount -t proc proc /proc
  umount -l /.oldroot
  rmdir /.oldroot
  export container=trt-test
  exec /lib/systemd/systemd --unit=trt-test.target --log-level=info
  ;;
stop)
  pid=${3:-}
  # only a real process id (never 0 or -1: kill would signal whole process groups)
  if [[ $pid =~ ^[0-9]+$ ]] && (( pid > 1 )) && kill -0 "$pid" 2>/dev/null; then
    kill -s SIGRTMIN+4 "$pid" 2>/dev/null || true # systemd: poweroff
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null # PID 1 of the namespace: takes all of it along
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  for c in $(cgroup_dirs); do
    # processes left (none expected) are killed before the groups go
    [[ -f $c/cgroup.kill ]] && echo 1 > "$c/cgroup.kill" 2>/dev/null || true
    remove_cgroup "$c"
  done
  ;;
*)
  echo "usage: boot-systemd.sh boot|inner|stop DIR [PID]" >&2
  exit 2
  ;;
esac
