#!/bin/sh
# Writes /etc/pgbouncer/pgbouncer.ini and userlist.txt from the variables, then runs pgbouncer:
#   PGBOUNCER_UPSTREAM   host:port of PostgreSQL (postgres:5432)
#   PGBOUNCER_USER, PGBOUNCER_PASSWORD   the one user clients log in as (passed on upstream)
#   PGBOUNCER_POOL_MODE  transaction (default), session or statement
#   PGBOUNCER_POOL_SIZE  server connections per database and user (20)
#   PGBOUNCER_MAX_CLIENTS  client connections in all (1000)
set -eu
upstream=${PGBOUNCER_UPSTREAM:-postgres:5432}
user=${PGBOUNCER_USER:-postgres}
: "${PGBOUNCER_PASSWORD:?set PGBOUNCER_PASSWORD}"
cat > /etc/pgbouncer/pgbouncer.ini <<INI
[databases]
* = host=${upstream%:*} port=${upstream##*:}

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = /etc/pgbouncer/userlist.txt
pool_mode = ${PGBOUNCER_POOL_MODE:-transaction}
default_pool_size = ${PGBOUNCER_POOL_SIZE:-20}
max_client_conn = ${PGBOUNCER_MAX_CLIENTS:-1000}
ignore_startup_parameters = extra_float_digits,options
admin_users = ${user}
INI
printf '"%s" "%s"\n' "$user" "$PGBOUNCER_PASSWORD" > /etc/pgbouncer/userlist.txt
chmod 600 /etc/pgbouncer/userlist.txt
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
