#!/usr/bin/env bash
# The project's test environment: real peers on loopback, started and stopped by PID.
#
#   scripts/testenv.sh up   [DIR]   install what is missing, start PostgreSQL (two servers),
#                                   write DIR/env (source it: CLOUD_TEST_PG_URL, CLOUD_TEST_PG_B_URL)
#   scripts/testenv.sh down [DIR]   stop everything started by `up` and remove DIR
#   scripts/testenv.sh status [DIR]
#
# DIR defaults to /var/tmp/cloud-testenv. Ports: PG_A_PORT (default 55432), PG_B_PORT (55433).
# Idempotent: `up` on a running environment only rewrites DIR/env.
set -euo pipefail
cmd=${1:?usage: testenv.sh up|down|status [DIR]}
dir=${2:-/var/tmp/cloud-testenv}
PG_A_PORT=${PG_A_PORT:-55432}
PG_B_PORT=${PG_B_PORT:-55433}
PG_PASSWORD=postgres-pw

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

install_postgres() {
  if [ -z "$(pgbin)" ] || [ ! -x "$(pgbin)/initdb" ]; then
    echo "testenv: installing PostgreSQL from Debian packages" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
}

pg_running() { # pg_running NAME
  local d=$dir/pg-$1
  [ -f "$d/data/postmaster.pid" ] && runuser -u postgres -- "$(pgbin)/pg_ctl" -D "$d/data" status >/dev/null 2>&1
}

pg_up() { # pg_up NAME PORT
  local d=$dir/pg-$1 bin
  bin=$(pgbin)
  pg_running "$1" && return 0
  mkdir -p "$d"; chown postgres:postgres "$d"; chmod 700 "$d"
  if [ ! -f "$d/data/PG_VERSION" ]; then
    echo "$PG_PASSWORD" >"$d/pw"; chown postgres "$d/pw"
    runuser -u postgres -- "$bin/initdb" -D "$d/data" -U postgres --pwfile="$d/pw" --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$d/initdb.log"
  fi
  # Durability off: these servers hold throw-away test data. max_connections is raised for
  # tests that run many servers and pools side by side.
  runuser -u postgres -- "$bin/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$2 -c unix_socket_directories=$d -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
    start >/dev/null
}

pg_down() { # pg_down NAME
  local d=$dir/pg-$1
  if pg_running "$1"; then
    runuser -u postgres -- "$(pgbin)/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null || true
  fi
}

write_env() {
  cat >"$dir/env" <<ENV
export CLOUD_TEST_PG_URL=postgres://postgres:$PG_PASSWORD@127.0.0.1:$PG_A_PORT/postgres
export CLOUD_TEST_PG_B_URL=postgres://postgres:$PG_PASSWORD@127.0.0.1:$PG_B_PORT/postgres
ENV
}

case "$cmd" in
  up)
    install_postgres
    mkdir -p "$dir"; chmod 755 "$dir"
    pg_up a "$PG_A_PORT"
    pg_up b "$PG_B_PORT"
    write_env
    echo "testenv: up in $dir (source $dir/env)" >&2
    ;;
  down)
    pg_down a; pg_down b
    rm -rf "$dir"
    echo "testenv: down" >&2
    ;;
  status)
    for n in a b; do pg_running $n && echo "pg-$n: running" || echo "pg-$n: stopped"; done
    ;;
  *) echo "usage: testenv.sh up|down|status [DIR]" >&2; exit 2 ;;
esac
