#!/usr/bin/env bash
# Builds the base images the Dockerfile and docker-compose.yml need where no image registry is
# reachable (only Debian's packages and the npm registry), each once: an image that exists is kept
# (--rebuild builds them again).
#   ghl-connect-debian:bookworm    a Debian bookworm root made by mmdebstrap (minbase), imported
#   ghl-connect-node:20-bookworm   that root + this machine's Node 20 and npm + its CA bundle
#                                  (NODE_EXTRA_CA_CERTS): the Dockerfile's NODE_IMAGE
#   ghl-connect-services:bookworm  the same root made with PostgreSQL 15, Redis 7 and PgBouncer
#                                  from Debian's packages, in one mmdebstrap run beside the first
#   ghl-connect-postgres:15        FROM the services root (compose: POSTGRES_IMAGE)
#   ghl-connect-redis:7            FROM the services root (compose: REDIS_IMAGE)
#   ghl-connect-pgbouncer:1        FROM the services root (compose: PGBOUNCER_IMAGE)
# Which: `node` (debian + node: what the Dockerfile needs), `services` (the three service images),
# or nothing (all). e2e.sh starts `services` in the background and builds the targets on `node`.
# Needs root (mmdebstrap as root), a running Docker engine, and Node 20 on this machine.
# Prints one line per image; exits non-zero when one could not be built.
set -euo pipefail
# read whole before it runs (a { } block), so editing the file during a run cannot break that run
{
here=$(cd "$(dirname "$0")" && pwd)
rebuild=false which=all
for arg in "$@"; do case $arg in --rebuild) rebuild=true ;; node|services) which=$arg ;; esac; done
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
export DOCKER_BUILDKIT=0 # the engine's own builder: Debian's docker.io ships no buildx

exists () { [ "$rebuild" = false ] && docker image inspect "$1" >/dev/null 2>&1; }
seconds () { echo $(( $(date +%s) - $1 )); }
size () { docker image inspect -f '{{.Size}}' "$1" | awk '{ printf "%d MB", $1 / 1000000 }'; }
# one build of each group at a time (e2e.sh builds both groups at once; two CI steps may not)
exec 9>"${TMPDIR:-/tmp}/ghl-connect-base-images-$which.lock"
flock 9
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v mmdebstrap >/dev/null || apt-get -o DPkg::Lock::Timeout=600 install -y mmdebstrap >/dev/null 2>&1 \
  || { apt-get update >/dev/null 2>&1 && apt-get -o DPkg::Lock::Timeout=600 install -y mmdebstrap >/dev/null 2>&1; } \
  || { echo "base: mmdebstrap is not installed and could not be" >&2; exit 1; }

# A Debian bookworm root (minbase) with the given packages, straight into `docker import`.
# mmdebstrap rather than debootstrap: apt fetches in parallel and dpkg skips its fsyncs
# (force-unsafe-io), which made the root 2x faster idle and far more on a loaded machine. What the
# registry's debian image does: no services started by package scripts, no recommends, no docs,
# no apt lists or caches (mmdebstrap's own cleanup).
debian_root () { # image log packages...
  local image=$1 log=$2
  shift 2
  local include=()
  [ $# -gt 0 ] && include=(--include="$(IFS=,; echo "$*")")
  mmdebstrap --variant=minbase --mode=root --dpkgopt=force-unsafe-io \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --aptopt='APT::Install-Recommends "false"' --aptopt='APT::Install-Suggests "false"' \
    --aptopt='Acquire::Languages "none"' "${include[@]}" \
    --customize-hook='printf "#!/bin/sh\nexit 101\n" > "$1/usr/sbin/policy-rc.d"; chmod +x "$1/usr/sbin/policy-rc.d"' \
    --customize-hook='printf "APT::Install-Recommends \"false\";\nAPT::Install-Suggests \"false\";\n" > "$1/etc/apt/apt.conf.d/90ghl-connect"' \
    --customize-hook='if [ -d "$1/etc/postgresql-common" ]; then echo "create_main_cluster = false" > "$1/etc/postgresql-common/createcluster.conf"; rm -rf "$1/etc/postgresql/15/main" "$1/var/lib/postgresql/15/main"; fi' \
    --customize-hook='rm -rf "$1"/var/log/*' \
    bookworm - "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main" 2>"$log" \
    | docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["bash"]' - "$image" >/dev/null
}
build_root () { # image what packages...
  local image=$1 what=$2 start
  shift 2
  if exists "$image"; then echo "base: $image exists ($(size "$image"))"; return; fi
  start=$(date +%s)
  debian_root "$image" "$work/$what.log" "$@" \
    || { tail -20 "$work/$what.log" >&2; echo "base: mmdebstrap of $image failed" >&2; return 1; }
  echo "base: $image ($what) built by mmdebstrap in $(seconds "$start") s ($(size "$image"))"
}

if [ "$which" != services ]; then
  build_root ghl-connect-debian:bookworm minbase
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
fi

if [ "$which" != node ]; then
  build_root ghl-connect-services:bookworm 'PostgreSQL 15, Redis 7, PgBouncer' \
    postgresql-15 postgresql-client-15 redis-server redis-tools pgbouncer
  # each Dockerfile installs its packages only when its base lacks them (debian:bookworm-slim)
  for pair in postgres:ghl-connect-postgres:15 redis:ghl-connect-redis:7 pgbouncer:ghl-connect-pgbouncer:1; do
    dir=${pair%%:*} image=${pair#*:}
    if exists "$image"; then echo "base: $image exists ($(size "$image"))"; continue; fi
    start=$(date +%s)
    docker build -q --network host --build-arg DEBIAN_IMAGE=ghl-connect-services:bookworm -t "$image" "$here/images/$dir" >/dev/null
    echo "base: $image built FROM the services root in $(seconds "$start") s ($(size "$image"))"
  done
fi
}
