#!/usr/bin/env bash
# Installs Prometheus and promtool from Debian's `prometheus` package (2.42 on bookworm) for
# test/integrations/prometheus.test.ts. Idempotent. The package's service is never started: the
# test runs its own Prometheus on a loopback port with a temporary config and storage.
set -euo pipefail

fail () {
  echo "scripts/install-prometheus.sh: $*" >&2
  exit 1
}

if [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ]; then
  echo "scripts/install-prometheus.sh: $(/usr/bin/prometheus --version 2>&1 | head -n 1) is already installed"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found; install Prometheus 2.x by hand so that /usr/bin/prometheus and /usr/bin/promtool exist"
[ "$(id -u)" -eq 0 ] || fail "must run as root to apt-get install prometheus (try: sudo bash scripts/install-prometheus.sh)"

# Keep the package's maintainer scripts from starting the service: invoke-rc.d asks policy-rc.d,
# and 101 means "action forbidden". Only a policy file we created is removed again.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  created_policy=1
fi
cleanup () {
  if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

echo "scripts/install-prometheus.sh: installing prometheus from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || fail "apt-get update failed (no access to Debian's package mirror?)"
apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
  || fail "apt-get install prometheus failed"

# Without systemd nothing starts anyway; with it, policy-rc.d covers invoke-rc.d, and this covers the rest.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus >/dev/null 2>&1 || true
fi

[ -x /usr/bin/prometheus ] || fail "the package installed, but /usr/bin/prometheus is missing"
[ -x /usr/bin/promtool ] || fail "the package installed, but /usr/bin/promtool is missing"
echo "scripts/install-prometheus.sh: $(/usr/bin/prometheus --version 2>&1 | head -n 1)"
