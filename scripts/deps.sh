#!/usr/bin/env bash
# Installs the Debian packages a hacloud task needs, only those missing.
#   scripts/deps.sh run    # the daemon and the demo: iproute2
#   scripts/deps.sh test   # + iptables, ping, tcpdump, docker (e2e and Docker cluster tests)
#   scripts/deps.sh bench  # + iperf3, tcpdump (flood benchmark) and the VPNs compared against
# Not root or not Debian: prints what is missing and leaves the choice to you.
set -euo pipefail
want=(iproute2)
case "${1:-run}" in
  run) ;;
  test) want+=(iptables iputils-ping tcpdump procps curl docker.io docker-compose) ;;
  bench) want+=(iptables iputils-ping procps tcpdump iperf3 wireguard-go wireguard-tools tinc nebula) ;;
  *) echo "usage: scripts/deps.sh run|test|bench" >&2; exit 2 ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "hacloud: missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})" >&2
  exit 0
fi
echo "hacloud: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
