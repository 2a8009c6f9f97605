#!/usr/bin/env bash
# systemd-analyze accepts pourd's units without a single complaint, and
# the sandbox keeps its exposure score low.
#
# The units name /usr/bin/pourd and /usr/libexec/pourd/pourd-cron-check,
# which a build tree does not have: copies are verified with those paths
# pointing at the built binary (or /bin/true before it exists) and the
# source script. Documentation= man pages are looked up in the build tree.
# Usage: verify_units.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
src=$1
bin=$2

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

daemon=$bin/bin/pourd
[ -x "$daemon" ] || daemon=/bin/true
for unit in pourd.service pourd-check.service pourd-check.timer; do
  sed -e "s|/usr/bin/pourd|$daemon|" \
    -e "s|/usr/libexec/pourd/pourd-cron-check|$src/systemd/pourd-cron-check|" \
    "$src/systemd/$unit" >"$scratch/$unit"
done

fail=0
check() {
  local what=$1
  shift
  local out rc=0
  out=$("$@" 2>&1) || rc=$?
  if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "FAIL: $what (exit $rc)"
    echo "$out"
    fail=1
  else
    echo "ok: $what"
  fi
}

cd "$scratch"
# Man pages: `man` finds them once the build compressed them.
if [ -f "$bin/man/man8/pourd.8.gz" ]; then
  export MANPATH=$bin/man
  man_flag=--man=yes
else
  echo "note: man pages not built; not checking Documentation="
  man_flag=--man=no
fi
check "verify pourd.service" \
  systemd-analyze verify "$man_flag" ./pourd.service
check "verify pourd-check.service and .timer" \
  systemd-analyze verify "$man_flag" ./pourd-check.service ./pourd-check.timer

# Exposure 0.0 (locked down) to 10.0 (unsafe); --threshold counts tenths.
for unit in pourd.service pourd-check.service; do
  score=$(systemd-analyze security --offline=true --no-pager "./$unit" |
    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  if [ -z "$score" ] || ! awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    echo "FAIL: $unit exposure ${score:-unknown} above 2.0"
    fail=1
  else
    echo "ok: $unit exposure $score"
  fi
done

# Every sandbox option the brief lists is present in pourd.service.
for opt in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
  PrivateTmp=yes PrivateDevices=yes ProtectKernelTunables=yes \
  ProtectKernelModules=yes ProtectKernelLogs=yes ProtectControlGroups=yes \
  ProtectClock=yes ProtectHostname=yes \
  "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" RestrictNamespaces=yes \
  RestrictRealtime=yes RestrictSUIDSGID=yes LockPersonality=yes \
  MemoryDenyWriteExecute=yes SystemCallArchitectures=native \
  SystemCallFilter=@system-service "SystemCallFilter=~@privileged @resources" \
  CapabilityBoundingSet= UMask=0077 Type=notify NotifyAccess=main \
  WatchdogSec=30s Restart=on-failure User=pourd Group=pourd \
  StateDirectory=pourd StateDirectoryMode=0750 ConfigurationDirectory=pourd \
  "ExecStart=/usr/bin/pourd --config /etc/pourd/pourd.conf" \
  'ExecReload=/bin/kill -HUP $MAINPID' \
  LoadCredential=admin_token:/etc/pourd/admin-token \
  LoadCredential=cron_secret:/etc/pourd/cron-secret; do
  if ! grep -qxF -- "$opt" "$src/systemd/pourd.service"; then
    echo "FAIL: pourd.service lacks '$opt'"
    fail=1
  fi
done

# The stop timeout exceeds the daemon's drain bound: 10 s for requests
# plus 10 s for the sweep batch in progress.
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$src/systemd/pourd.service")
if [ -z "$stop" ] || [ "$stop" -le 20 ]; then
  echo "FAIL: TimeoutStopSec=${stop:-unset}s is not above the 20 s drain"
  fail=1
fi

# sysusers.d and tmpfiles.d snippets parse (into a scratch root).
mkdir -p root/etc root/usr/lib/sysusers.d root/usr/lib/tmpfiles.d
cp "$src/systemd/pourd.sysusers" root/usr/lib/sysusers.d/pourd.conf
cp "$src/systemd/pourd.tmpfiles" root/usr/lib/tmpfiles.d/pourd.conf
systemd-sysusers --root="$scratch/root" pourd.conf >/dev/null 2>&1 || {
  echo "FAIL: systemd-sysusers rejected pourd.sysusers"
  fail=1
}
if ! grep -q '^pourd:x:[0-9]*:[0-9]*:pourd daemon:/var/lib/pourd:' root/etc/passwd; then
  echo "FAIL: no pourd account in the scratch root"
  cat root/etc/passwd
  fail=1
fi
check "tmpfiles.d creates /var/lib/pourd" \
  systemd-tmpfiles --root="$scratch/root" --create pourd.conf
uid=$(awk -F: '$1 == "pourd" { print $3 }' root/etc/passwd)
if [ "$(stat -c '%a %u' root/var/lib/pourd 2>/dev/null)" != "750 $uid" ]; then
  echo "FAIL: /var/lib/pourd is not mode 0750 owned by pourd ($uid)"
  stat root/var/lib/pourd || true
  fail=1
fi

exit $fail
