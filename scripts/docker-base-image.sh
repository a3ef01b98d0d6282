#!/bin/sh
# Builds a small local stand-in for the official Node image (the Dockerfile's default base) out of
# this machine's own files and imports it into Docker under TAG, for machines that cannot reach a
# container registry (CI). Because it is the host's own Node binary and glibc, the node_modules and
# native addon that `npm ci` built on the host run inside it unchanged.
#
#   scripts/docker-base-image.sh TAG        (DOCKER_HOST selects the daemon; DOCKER the client binary)
#
# The image holds: node, a POSIX sh, iproute2's ip (the daemon configures its TUN with it), curl (the
# example's walkthrough), a handful of coreutils for the Dockerfile's RUN steps, and their shared
# libraries as ldd resolves them. Needs: node, dash, iproute2, curl, coreutils, tar on the host.
set -eu

tag=${1:?usage: docker-base-image.sh TAG}
docker=${DOCKER:-docker}

root=$(mktemp -d "${TMPDIR:-/tmp}/hacloud-base-rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT INT TERM

# Merged /usr layout, like Debian bookworm, so /bin/sh and /lib64/ld-linux-*.so.2 resolve.
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib" "$root/usr/lib64" "$root/usr/local/bin" \
  "$root/etc" "$root/tmp" "$root/root" "$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/var/tmp"
for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done
chmod 1777 "$root/tmp" "$root/var/tmp"

# copy_file SRC: copies SRC (symlinks followed) to the same path under the rootfs, mapping /bin,
# /lib... onto /usr/* since the rootfs has merged /usr.
copy_file() {
  case "$1" in
    /usr/*) dest="$root$1" ;;
    *) dest="$root/usr$1" ;;
  esac
  [ -e "$dest" ] && return 0
  mkdir -p "$(dirname "$dest")"
  cp -L "$1" "$dest"
}

# add_program NAME [AS]: the program's real file goes to /usr/bin/AS, its libraries beside the host's.
add_program() {
  src=$(command -v "$1") || src=
  case "$src" in
    /*) ;;
    *) echo "docker-base-image: '$1' is not installed on this machine" >&2; exit 1 ;;
  esac
  cp -L "$src" "$root/usr/bin/${2:-$1}"
  # ldd lines look like "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)".
  for lib in $(ldd "$src" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    copy_file "$lib"
  done
}

add_program node
add_program dash sh
add_program ip
add_program curl
for p in cat ls ln mkdir rm cp mv chmod sleep env id uname hostname readlink ps kill; do
  # optional conveniences: only programs that exist as files (`kill` may be just a shell builtin)
  case "$(command -v "$p" 2>/dev/null)" in /*) add_program "$p" ;; esac
done
[ -d /etc/iproute2 ] && cp -r /etc/iproute2 "$root/etc/"

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
# Service names (server-a...) come from Docker's embedded DNS; glibc needs to be told to ask it.
cat >"$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
printf 'NAME="hacloud test base (host files)"\nID=hacloud-test-base\n' >"$root/etc/os-release"

tar -C "$root" -c . | "$docker" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  - "$tag" >/dev/null
echo "docker-base-image: imported $tag"
