#!/usr/bin/env bash
# Builds the Debian package with cargo-deb and installs it into a throwaway root, then
# checks what the installation left there: the binary runs, the user exists, the units
# and the settings are in place with the right owners, and nothing was started.
#
#   deploy/build-deb.sh            # build, then test-install into a temporary root
#   KEEP_ROOT=1 deploy/build-deb.sh   # keep the root to look around in
#
# Needs dpkg and useradd (Debian's own), and cargo-deb (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

if ! cargo deb --version >/dev/null 2>&1; then
    echo "== installing cargo-deb"
    cargo install cargo-deb --locked --quiet
fi

echo "== cargo deb"
# Stripped: the line tables of the release profile (for backtraces in benchmarks) are
# most of the binary's size.
deb=$(cargo deb --strip --quiet 2>/dev/null | tail -n1)
[ -f "$deb" ] || { echo "cargo deb made no package" >&2; exit 1; }
echo "package: $deb ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Depends\|Installed-Size\):/  \1:/p'

root=$(mktemp -d)
[ -n "${KEEP_ROOT:-}" ] || trap 'rm -rf "$root"' EXIT
# An empty system: a dpkg database, and the account files useradd edits.
mkdir -p "$root"/var/lib/dpkg/{info,updates} "$root"/etc "$root"/usr/sbin
touch "$root"/var/lib/dpkg/status
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\n' > "$root/etc/group"
printf 'root:*:19000:0:99999:7:::\n' > "$root/etc/shadow"
printf 'root:*::\n' > "$root/etc/gshadow"
cp /etc/login.defs "$root/etc/login.defs"

echo "== dpkg --root $root --install"
# Maintainer scripts run outside the root with DPKG_ROOT set (they honour it); the
# root has no libc of its own to satisfy Depends with.
dpkg --root="$root" --force-script-chrootless --force-depends --log=/dev/null \
    --install "$deb"

fail() { echo "FAILED: $*" >&2; exit 1; }
check() { echo "  ok: $*"; }

"$root/usr/bin/nyhetsbrev" --version | grep -q '^nyhetsbrev ' || fail "the binary does not run"
check "usr/bin/nyhetsbrev runs: $("$root/usr/bin/nyhetsbrev" --version)"
line=$(grep '^nyhetsbrev:' "$root/etc/passwd") || fail "no nyhetsbrev user"
case "$line" in *:/var/lib/nyhetsbrev:/usr/sbin/nologin) ;; *) fail "user: $line" ;; esac
uid=$(echo "$line" | cut -d: -f3)
[ "$uid" -lt 1000 ] || fail "not a system user: uid $uid"
check "system user nyhetsbrev (uid $uid), home /var/lib/nyhetsbrev, no login shell"
for unit in nyhetsbrev.service nyhetsbrev-worker@.service; do
    [ -f "$root/lib/systemd/system/$unit" ] || fail "missing unit $unit"
done
check "units in lib/systemd/system"
# Installed, never enabled or started: no wants links anywhere in the root.
if find "$root/etc" -path '*systemd*' -name 'nyhetsbrev*' | grep -q .; then
    fail "a unit was enabled"
fi
check "no unit enabled (the service stays stopped until configured)"
config="$root/etc/nyhetsbrev/nyhetsbrev.toml"
[ "$(stat -c '%a %u' "$config")" = "640 0" ] || fail "settings: $(stat -c '%a %U:%G' "$config")"
[ "$(stat -c '%g' "$config")" = "$(grep '^nyhetsbrev:' "$root/etc/group" | cut -d: -f3)" ] \
    || fail "settings not readable by the nyhetsbrev group"
grep -q '/etc/nyhetsbrev/nyhetsbrev.toml' "$root/var/lib/dpkg/info/nyhetsbrev.conffiles" \
    || fail "the settings are not a conffile (an upgrade would overwrite them)"
check "etc/nyhetsbrev/nyhetsbrev.toml: 0640 root:nyhetsbrev, a conffile"
[ "$(stat -c '%a %u' "$root/var/lib/nyhetsbrev")" = "750 $uid" ] || fail "state folder"
check "var/lib/nyhetsbrev: 0750, owned by nyhetsbrev"

# The shipped settings are read by the shipped binary; doctor then names what to do.
out=$(cd "$root" && "$root/usr/bin/nyhetsbrev" --config "$config" doctor 2>&1) && code=0 || code=$?
echo "$out" | sed 's/^/    /' | head -n 20
[ "$code" = 1 ] || fail "doctor on the unconfigured example should fail (exit $code)"
echo "$out" | grep -q '^[A-Za-z ]*token_key .*/var/lib/nyhetsbrev/nyhetsbrev.token_key' \
    || fail "doctor does not say where the token key is kept"
check "doctor on the example settings says where the token key is kept"
if command -v systemd-analyze >/dev/null 2>&1; then
    # The units' syntax (an unknown or misspelt key is only a warning to systemd, so
    # any output counts as a failure) and that ExecStart's binary is in the root. The
    # host's targets are lent to the root for this, which has none of its own.
    cp -n /lib/systemd/system/*.target "$root/lib/systemd/system/" 2>/dev/null || true
    for unit in nyhetsbrev.service nyhetsbrev-worker@1.service; do
        file="$root/lib/systemd/system/${unit/@1/@}"
        said=$(systemd-analyze verify --man=no --root="$root" "$file" 2>&1) \
            || fail "systemd-analyze verify $unit: $said"
        [ -z "$said" ] || fail "systemd-analyze verify $unit: $said"
    done
    find "$root/lib/systemd/system" -name '*.target' -delete
    check "systemd-analyze verify: both units clean"
fi

echo "== removing"
dpkg --root="$root" --force-script-chrootless --force-depends --log=/dev/null --purge nyhetsbrev
[ ! -e "$root/usr/bin/nyhetsbrev" ] || fail "binary left after purge"
[ -d "$root/var/lib/nyhetsbrev" ] || fail "purge removed the state folder (the contact list)"
check "purge removes the package and keeps var/lib/nyhetsbrev"
echo "== the package installs, configures and removes cleanly: $deb"
