#!/usr/bin/env bash
# A running Docker engine and a compose command, or the reason there is none: starts Debian's
# dockerd when it is installed but down, and installs docker.io and docker-compose first when
# neither is there and this is root on a Debian-like machine (as CI is).
# Prints one line: "compose: <command>" (exit 0) or the reason (exit 1).
set -uo pipefail
engine_up () { timeout 10 docker info >/dev/null 2>&1; }
if ! engine_up; then
  if ! command -v dockerd >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=600 install -y docker.io docker-compose >/dev/null 2>&1 \
      || { apt-get update >/dev/null 2>&1 && apt-get -o DPkg::Lock::Timeout=600 install -y docker.io docker-compose >/dev/null 2>&1; }
  fi
  if command -v dockerd >/dev/null && [ "$(id -u)" = 0 ]; then
    # its own session, so it outlives this script (the next run finds it up)
    setsid dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 1 30); do engine_up && break; sleep 1; done
  fi
fi
if ! engine_up; then
  if ! command -v dockerd >/dev/null; then echo "no Docker engine: docker.io is not installed and could not be"
  else echo "no Docker engine: dockerd would not start ($(tail -1 /var/log/dockerd.log 2>/dev/null))"; fi
  exit 1
fi
command -v docker >/dev/null || { echo "a Docker engine but no docker command"; exit 1; }
if command -v docker-compose >/dev/null; then echo "compose: docker-compose"
elif docker compose version >/dev/null 2>&1; then echo "compose: docker compose"
else echo "a Docker engine but neither docker-compose nor docker compose"; exit 1; fi
