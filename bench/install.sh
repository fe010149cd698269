#!/usr/bin/env bash
# Installs the macro benchmark's external tools (wrk, nginx) from Debian's packages; idempotent.
set -euo pipefail

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v taskset >/dev/null 2>&1 || need+=(taskset)

if [ ${#need[@]} -eq 0 ]; then
  echo "bench/install.sh: wrk, nginx and taskset are already installed"
  exit 0
fi

fail () {
  echo "bench/install.sh: $*" >&2
  exit 1
}

command -v apt-get >/dev/null 2>&1 || fail "apt-get not found; install ${need[*]} by hand (Debian packages: wrk, nginx-light or nginx, util-linux)"
[ "$(id -u)" -eq 0 ] || fail "must run as root to apt-get install ${need[*]} (try: sudo bash bench/install.sh)"

echo "bench/install.sh: installing ${need[*]} from Debian's packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || fail "apt-get update failed (no access to Debian's package mirror?)"

pkgs=()
for tool in "${need[@]}"; do
  case "$tool" in
    wrk) pkgs+=(wrk) ;;
    taskset) pkgs+=(util-linux) ;;
    nginx)
      # nginx-light is the smallest build with proxy_pass + upstream keepalive; newer Debian dropped it
      if apt-cache show nginx-light >/dev/null 2>&1; then pkgs+=(nginx-light); else pkgs+=(nginx); fi
      ;;
  esac
done

apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null \
  || fail "apt-get install ${pkgs[*]} failed"

command -v wrk >/dev/null 2>&1 || fail "wrk still missing after installing ${pkgs[*]}"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || fail "nginx still missing after installing ${pkgs[*]}"
# the Debian package starts a system nginx on :80; the bench runs its own instance, so stop that one
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  systemctl stop nginx || true
fi
echo "bench/install.sh: installed ${pkgs[*]}"
