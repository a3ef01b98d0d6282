#!/bin/sh
# The front router's port forward into the overlay, run by hacloud as its ifup and ifdown hook
# (hacloud sets IFNAME to its TUN device):
#
#   front-nat.sh up|down PUBLIC_IP SHARED_IP:PORT [PUBLIC_PORT]
#
# up:   TCP connections to PUBLIC_IP:PUBLIC_PORT (default 80) are DNATed to SHARED_IP:PORT, which
#       hacloud routes to whichever site holds the shared IP; and those connections leave into
#       the tunnel masqueraded to this node's own overlay address (see README: without it the
#       sites would answer the client directly, around the front, and the client would drop it).
# down: removes exactly those rules. ip_forward stays on (other things on a router may need it).
#
# Idempotent: a rule that is already there is not added twice (after a kill -9 of hacloud no
# ifdown ran, so the next ifup finds the old rules).
set -eu
if [ $# -lt 3 ] || { [ "$1" != up ] && [ "$1" != down ]; }; then
  echo "usage: IFNAME=dev $0 up|down PUBLIC_IP SHARED_IP:PORT [PUBLIC_PORT]" >&2
  exit 2
fi
action=$1 public_ip=$2 target=$3 public_port=${4:-80}
dev=${IFNAME:?IFNAME must name the TUN device (hacloud sets it for its hooks)}
shared_ip=${target%:*} shared_port=${target##*:}

# One rule per line: TABLE CHAIN MATCH... (word-split on purpose; no rule has a quoted word).
rules="nat PREROUTING -d $public_ip -p tcp --dport $public_port -j DNAT --to-destination $target
nat POSTROUTING -o $dev -d $shared_ip -p tcp --dport $shared_port -m conntrack --ctstate DNAT -j MASQUERADE
filter FORWARD -o $dev -d $shared_ip -p tcp --dport $shared_port -m conntrack --ctstate DNAT -j ACCEPT
filter FORWARD -i $dev -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"

if [ "$action" = up ]; then
  sysctl -qw net.ipv4.ip_forward=1
fi
echo "$rules" | while read -r table chain rule; do
  if [ "$action" = up ]; then
    # -I: ahead of a router's own FORWARD policy rules (a final DROP, say).
    iptables -w -t "$table" -C "$chain" $rule 2>/dev/null || iptables -w -t "$table" -I "$chain" $rule
  else
    while iptables -w -t "$table" -C "$chain" $rule 2>/dev/null; do iptables -w -t "$table" -D "$chain" $rule; done
  fi
done
echo "front-nat: $action: tcp $public_ip:$public_port -> $target via $dev"
