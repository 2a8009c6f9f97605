#!/usr/bin/env bash
# The Debian package: cpack builds it; it holds every file where the units
# expect it; dpkg-shlibdeps resolved the ODB runtime and the other
# libraries; /etc/pourd/pourd.conf is a conffile; installed into a scratch
# root (dpkg --root, scripts run chrootless with DPKG_ROOT) the postinst
# creates the account, the state directory and both secrets, and a purge
# removes the secrets again.
# Usage: package_deb.sh SOURCE_DIR BINARY_DIR
# Exit 77 (skipped) while bin/pourd or bin/pourctl are not built.
set -euo pipefail
src=$1
build=$2

for b in pourd pourctl; do
  if [ ! -x "$build/bin/$b" ]; then
    echo "skipped: $build/bin/$b is not built yet"
    exit 77
  fi
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail=0
bad() {
  echo "FAIL: $*"
  fail=1
}

if ! (cd "$build" && cpack -G DEB -B "$scratch/out") >"$scratch/cpack.log" 2>&1; then
  echo "FAIL: cpack"
  cat "$scratch/cpack.log"
  exit 1
fi
debs=("$scratch"/out/pourd_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || {
  echo "FAIL: expected one pourd_*.deb"
  ls -l "$scratch/out"
  exit 1
}
deb=${debs[0]}
echo "ok: built $(basename "$deb")"

# Files, by the path the units and the daemon use.
dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|' >"$scratch/files"
for path in /usr/bin/pourd /usr/bin/pourctl \
  /usr/libexec/pourd/pourd-cron-check \
  /usr/lib/systemd/system/pourd.service \
  /usr/lib/systemd/system/pourd-check.service \
  /usr/lib/systemd/system/pourd-check.timer \
  /usr/lib/sysusers.d/pourd.conf /usr/lib/tmpfiles.d/pourd.conf \
  /etc/pourd/pourd.conf /usr/share/doc/pourd/pourd.conf.sample \
  /usr/share/man/man8/pourd.8.gz /usr/share/man/man8/pourctl.8.gz \
  /usr/share/pourd/monitoring/pourd.mtail \
  /usr/share/pourd/monitoring/alerts.yml; do
  grep -qxF "$path" "$scratch/files" || bad "package lacks $path"
done

# Control fields.
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = pourd ] || bad "Package is $(field Package)"
version=$(sed -n 's/^project(pourd VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ "$(field Version)" = "$version" ] || bad "Version $(field Version), project says $version"
[ "$(field Section)" = admin ] || bad "Section is $(field Section)"
[ -n "$(field Maintainer)" ] || bad "no Maintainer"
depends=$(field Depends)
echo "Depends: $depends"
# Package names, as dpkg-shlibdeps found them from the linked libraries
# (libmariadb3 comes in through libodb-mysql-2.4, not directly).
names=$(echo "$depends" | tr ',' '\n' | awk '{ print $1 }')
for lib in libodb-2.4 libodb-sqlite-2.4 libodb-mysql-2.4 libsqlite3-0 \
  libsystemd0 libboost-json1.81.0 libboost-url1.81.0 libspdlog1.10-fmt9 \
  libdate-tz3 libprometheus-cpp-core1.0 libc6 libstdc++6; do
  echo "$names" | grep -qxF "$lib" || bad "Depends lacks $lib"
done

dpkg-deb -e "$deb" "$scratch/control"
[ "$(cat "$scratch/control/conffiles")" = /etc/pourd/pourd.conf ] ||
  bad "conffiles: $(cat "$scratch/control/conffiles" 2>/dev/null)"
for s in postinst prerm postrm; do
  [ -x "$scratch/control/$s" ] || bad "$s missing or not executable"
done

# Unpacked: the unit's ExecStart and --config name files the package has;
# the binaries run.
dpkg-deb -x "$deb" "$scratch/tree"
tree=$scratch/tree
exec_start=$(sed -n 's/^ExecStart=//p' "$tree/usr/lib/systemd/system/pourd.service")
[ "$exec_start" = "/usr/bin/pourd --config /etc/pourd/pourd.conf" ] ||
  bad "installed unit runs '$exec_start'"
[ -x "$tree/usr/bin/pourd" ] || bad "no executable /usr/bin/pourd"
[ -f "$tree/etc/pourd/pourd.conf" ] || bad "no /etc/pourd/pourd.conf"
check_start=$(sed -n 's/^ExecStart=//p' "$tree/usr/lib/systemd/system/pourd-check.service")
[ -x "$tree$check_start" ] || bad "pourd-check.service runs '$check_start', not in the package"
"$tree/usr/bin/pourd" --version | grep -qx "pourd $version" || bad "pourd --version"
"$tree/usr/bin/pourctl" --version >/dev/null || bad "pourctl --version"
cmp -s "$tree/etc/pourd/pourd.conf" "$src/systemd/pourd.conf.sample" ||
  bad "/etc/pourd/pourd.conf is not the sample"
# The packaged config parses (state_dir aside, which is the machine's).
"$tree/usr/bin/pourctl" --config "$tree/etc/pourd/pourd.conf" \
  --state-dir="$scratch/state" --help >/dev/null ||
  bad "pourctl rejects the packaged configuration"

# Installed into a scratch root: the maintainer scripts' work.
root=$scratch/root
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
touch "$root/var/lib/dpkg/status"
dpkg_root() {
  dpkg --root="$root" --log=/dev/null --force-script-chrootless \
    --force-depends --force-not-root "$@" >>"$scratch/dpkg.log" 2>&1
}
if ! dpkg_root -i "$deb"; then
  echo "FAIL: dpkg --root -i"
  cat "$scratch/dpkg.log"
  exit 1
fi
echo "ok: installed into a scratch root"
uid=$(awk -F: '$1 == "pourd" { print $3 }' "$root/etc/passwd" 2>/dev/null)
[ -n "$uid" ] || bad "postinst created no pourd account"
[ "$(stat -c '%a %u' "$root/var/lib/pourd" 2>/dev/null)" = "750 $uid" ] ||
  bad "/var/lib/pourd: $(stat -c '%a %u' "$root/var/lib/pourd" 2>&1)"
for secret in admin-token cron-secret; do
  f=$root/etc/pourd/$secret
  [ "$(stat -c '%a %u' "$f" 2>/dev/null)" = "600 0" ] ||
    bad "$secret: $(stat -c '%a %u' "$f" 2>&1)"
  grep -Eqx '[0-9a-f]{64}' "$f" 2>/dev/null || bad "$secret is not 64 hex digits"
done
[ "$(cat "$root/etc/pourd/admin-token")" != "$(cat "$root/etc/pourd/cron-secret")" ] ||
  bad "the two secrets are equal"

# A reinstall keeps the secrets; a purge removes them and the conffile.
before=$(cat "$root/etc/pourd/cron-secret")
dpkg_root -i "$deb" || bad "reinstall"
[ "$(cat "$root/etc/pourd/cron-secret")" = "$before" ] || bad "reinstall replaced the cron secret"
dpkg_root --purge pourd || bad "purge"
for f in admin-token cron-secret pourd.conf; do
  [ ! -e "$root/etc/pourd/$f" ] || bad "purge left /etc/pourd/$f"
done
[ ! -e "$root/usr/bin/pourd" ] || bad "purge left /usr/bin/pourd"

if [ $fail -ne 0 ]; then
  echo "--- dpkg log ---"
  cat "$scratch/dpkg.log"
else
  echo "ok: package contents, control data and maintainer scripts"
fi
exit $fail
