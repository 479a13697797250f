#!/usr/bin/env bash
# A throwaway PostgreSQL for CI steps that need one outside cargo test
# (the official JS SDK suite on PostgreSQL), as the tests' own support
# does it: Debian's initdb/pg_ctl in DIR, run as the postgres user when we
# are root (PostgreSQL refuses root), on 127.0.0.1 at a free port, trust
# authentication on loopback only, fsync off (a test database).
#   start DIR   initdb + start; prints the postgres:// URL on stdout
#   stop DIR    stops the server and removes DIR
set -euo pipefail
cmd=${1:?usage: postgres.sh start|stop DIR}
dir=${2:?usage: postgres.sh start|stop DIR}

pg_bin() {
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
  else
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1
  fi
}
bin=$(pg_bin)
[ -x "$bin/pg_ctl" ] || { echo "postgres.sh: no pg_ctl (install Debian's postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case $cmd in
start)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
  as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync \
    --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  # -w waits (pg_ctl's own 60 s bound) until the server accepts connections.
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "postgres://postgres@127.0.0.1:$port/postgres"
  ;;
stop)
  if [ -d "$dir/data" ]; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: postgres.sh start|stop DIR" >&2
  exit 2
  ;;
esac
