#!/bin/sh
# What the redis:7 image's entrypoint does when started without a configuration file: protected
# mode off (it refuses every address but loopback when no password is set), as compose's network
# is the boundary; given --protected-mode wins.
set -eu
if [ "${1:-}" = redis-server ]; then
  case "${2:-} | $* " in
    *.conf" | "*|*" --protected-mode "*) ;; # a configuration file (redis-server's first argument) or the flag given
    *) set -- "$@" --protected-mode no ;;
  esac
fi
exec "$@"
