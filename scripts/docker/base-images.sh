#!/usr/bin/env bash
# Builds the base images the Dockerfile and docker-compose.yml need where no image registry is
# reachable (only Debian's packages and the npm registry), each once: an image that exists is kept
# (--rebuild builds them again).
#   ghl-connect-debian:bookworm    a Debian bookworm root made by debootstrap (minbase), imported
#   ghl-connect-node:20-bookworm   that root + this machine's Node 20 and npm + its CA bundle
#                                  (NODE_EXTRA_CA_CERTS): the Dockerfile's NODE_IMAGE
#   ghl-connect-postgres:15        PostgreSQL 15 from Debian's packages (compose: POSTGRES_IMAGE)
#   ghl-connect-redis:7            Redis 7 from Debian's packages (compose: REDIS_IMAGE)
#   ghl-connect-pgbouncer:1        PgBouncer from Debian's packages (compose: PGBOUNCER_IMAGE)
# Needs root (debootstrap), a running Docker engine, and Node 20 on this machine.
# Prints one line per image; exits non-zero when one could not be built.
set -euo pipefail
# read whole before it runs (a { } block), so editing the file during a run cannot break that run
{
here=$(cd "$(dirname "$0")" && pwd)
rebuild=false
[ "${1:-}" = --rebuild ] && rebuild=true
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export DOCKER_BUILDKIT=0 # the engine's own builder: Debian's docker.io ships no buildx

exists () { [ "$rebuild" = false ] && docker image inspect "$1" >/dev/null 2>&1; }
seconds () { echo $(( $(date +%s) - $1 )); }
size () { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%d MB", $1 / 1000000 }'; }
# one build at a time (CI starts one early in the background; e2e.sh then waits for it here)
exec 9>"${TMPDIR:-/tmp}/ghl-connect-base-images.lock"
flock 9
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

image=ghl-connect-debian:bookworm
if exists "$image"; then echo "base: $image exists ($(size "$image"))"; else
  start=$(date +%s)
  command -v debootstrap >/dev/null || apt-get -o DPkg::Lock::Timeout=600 install -y debootstrap >/dev/null
  debootstrap --variant=minbase bookworm "$work/root" "$mirror" > "$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; echo "base: debootstrap failed" >&2; exit 1; }
  # what the registry's debian image does: no services started by package scripts, no caches
  printf '#!/bin/sh\nexit 101\n' > "$work/root/usr/sbin/policy-rc.d"
  chmod +x "$work/root/usr/sbin/policy-rc.d"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$work/root/etc/apt/apt.conf.d/90ghl-connect"
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb http://deb.debian.org/debian-security bookworm-security main\n' "$mirror" "$mirror" > "$work/root/etc/apt/sources.list"
  rm -rf "$work/root/var/cache/apt/"*.bin "$work/root/var/lib/apt/lists/"* "$work/root/usr/share/doc/"* "$work/root/usr/share/man/"* "$work/root/var/log/"*
  tar -C "$work/root" -c . | docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' - "$image" >/dev/null
  rm -rf "$work/root"
  echo "base: $image built by debootstrap in $(seconds "$start") s ($(size "$image"))"
fi

image=ghl-connect-node:20-bookworm
if exists "$image"; then echo "base: $image exists ($(size "$image"))"; else
  start=$(date +%s)
  node=$(readlink -f "$(command -v node)")
  "$node" -e 'process.exit(process.versions.node.startsWith("20.") ? 0 : 1)' \
    || { echo "base: this machine's node is $("$node" -v), not 20" >&2; exit 1; }
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  ca=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
  mkdir -p "$work/node"
  cp "$here/images/node/Dockerfile" "$node" "$work/node/"
  cp -r "$npm_dir" "$work/node/npm"
  cp "$ca" "$work/node/ca-bundle.crt"
  docker build -q --network host --build-arg DEBIAN_IMAGE=ghl-connect-debian:bookworm -t "$image" "$work/node" >/dev/null
  echo "base: $image built from this machine's node $("$node" -v) in $(seconds "$start") s ($(size "$image"))"
fi

for pair in postgres:ghl-connect-postgres:15 redis:ghl-connect-redis:7 pgbouncer:ghl-connect-pgbouncer:1; do
  dir=${pair%%:*} image=${pair#*:}
  if exists "$image"; then echo "base: $image exists ($(size "$image"))"; continue; fi
  start=$(date +%s)
  docker build -q --network host --build-arg DEBIAN_IMAGE=ghl-connect-debian:bookworm -t "$image" "$here/images/$dir" >/dev/null
  echo "base: $image built from Debian's packages in $(seconds "$start") s ($(size "$image"))"
done
}
