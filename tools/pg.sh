#!/usr/bin/env bash
# The private PostgreSQL 15 cluster gapless uses when no server is given.
#
#   tools/pg.sh start [--for-tests] [--unless-given] [DIR]
#   tools/pg.sh stop  [--unless-given] [DIR]
#   tools/pg.sh status [DIR]
#   tools/pg.sh url [DIR]
#
# Exit status: 0 done, 1 failed, 2 bad arguments, 3 (status) not running.
#
# DIR defaults to $GL_PG_DIR, else var/pg in the checkout. The cluster
# listens on a unix socket only (listen_addresses=''), in a socket folder
# only its owner may enter, with trust authentication for that socket. It
# runs as the calling user, or as "postgres" when called as root (the
# server refuses to run as root). When that user cannot reach DIR (a
# checkout under /root, say) or the socket path would exceed the kernel's
# limit, the cluster lives in /tmp/gapless-pg-<hash of DIR> instead, and
# start says where. DIR/url always holds the connection URL, which is what
# gl_db reads when neither DATABASE_URL nor PG* variables are set.
#
# --for-tests turns off fsync, synchronous_commit and full_page_writes: a
# crash may then lose or corrupt the cluster, which is fine for test data
# only. --unless-given makes start/stop do nothing when DATABASE_URL or
# PGHOST names a server (what the ctest fixture uses).
set -euo pipefail

bin=/usr/lib/postgresql/15/bin
top=$(cd "$(dirname "$0")/.." && pwd)

# Prints the usage lines of this header (on stderr for an error) and
# exits with $1 (default 2).
usage() {
  local code=${1:-2}
  if [ "$code" -eq 0 ]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  else
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  fi
  exit "$code"
}

# Prints the error and exits 1.
die() {
  echo "pg.sh: $*" >&2
  exit 1
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Percent-encodes a string for the query part of a URL.
url_encode() {
  local string=$1 out="" char i
  for ((i = 0; i < ${#string}; i++)); do
    char=${string:i:1}
    case $char in
      [a-zA-Z0-9/._~-]) out+=$char ;;
      *) out+=$(printf '%%%02X' "'$char") ;;
    esac
  done
  printf '%s' "$out"
}

# Sets home: where the cluster lives (DIR, or the /tmp fallback).
resolve_home() {
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  home=$dir
  local socket_path="$dir/socket/.s.PGSQL.5432"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
  fi
  if ! as_owner test -w "$dir" -a -x "$dir" || [ ${#socket_path} -gt 100 ]; then
    home=/tmp/gapless-pg-$(printf '%s' "$dir" | sha256sum | cut -c1-16)
  fi
}

# True when the cluster in $home runs.
is_running() {
  [ -f "$home/data/PG_VERSION" ] && as_owner "$bin/pg_ctl" status -D "$home/data" >/dev/null 2>&1
}

# The connection URL of database $1 (default gapless) in the cluster in $home.
cluster_url() {
  printf 'postgresql:///%s?host=%s&user=postgres\n' "${1:-gapless}" "$(url_encode "$home/socket")"
}

# Creates the cluster's folders and data directory if they are missing.
init_cluster() {
  if [ "$home" != "$dir" ]; then
    echo "pg.sh: $dir is not usable by the server's user; the cluster lives in $home"
  fi
  mkdir -p "$home/socket"
  chmod 700 "$home/socket"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$home" "$home/socket"
  fi
  [ -f "$home/data/PG_VERSION" ] && return 0
  as_owner "$bin/initdb" -D "$home/data" -U postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 >"$home/initdb.log" 2>&1 \
    || die "initdb failed, see $home/initdb.log"
  echo "include_if_exists = 'gapless.conf'" | as_owner tee -a "$home/data/postgresql.conf" >/dev/null
}

# Writes the settings gapless wants into data/gapless.conf.
write_settings() {
  local durable=on
  [ "$for_tests" = 1 ] && durable=off
  as_owner tee "$home/data/gapless.conf" >/dev/null <<EOF
# Written by tools/pg.sh start each time it starts the server.
listen_addresses = ''
unix_socket_directories = '$home/socket'
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 64MB
fsync = $durable
synchronous_commit = $durable
full_page_writes = $durable
EOF
}

# Starts the cluster if it is not running and creates the gapless database.
start() {
  init_cluster
  if ! is_running; then
    write_settings
    as_owner "$bin/pg_ctl" start -w -t 60 -D "$home/data" -l "$home/server.log" >/dev/null \
      || die "the server did not start, see $home/server.log"
  fi
  local url
  url=$(cluster_url)
  if ! psql "$url" -XAtqc 'select 1' >/dev/null 2>&1; then
    # A concurrent start may win the race; then the database exists.
    psql "$(cluster_url postgres)" -Xqc 'create database gapless' >/dev/null 2>&1 || true
    psql "$url" -XAtqc 'select 1' >/dev/null \
      || die "cannot create the database gapless, see $home/server.log"
  fi
  echo "$url" >"$dir/url"
  echo "pg.sh: running, $url"
}

# Stops the cluster with a fast shutdown if it runs.
stop() {
  if is_running; then
    as_owner "$bin/pg_ctl" stop -w -t 60 -m fast -D "$home/data" >/dev/null \
      || die "the server did not stop, see $home/server.log"
    echo "pg.sh: stopped $home"
  else
    echo "pg.sh: not running ($home)"
  fi
}

command=${1:-}
case $command in
  start|stop|status|url) shift ;;
  -h|--help) usage 0 ;;
  *) [ -z "$command" ] || echo "pg.sh: unknown command $command" >&2; usage ;;
esac
for_tests=0
unless_given=0
dir=""
while [ $# -gt 0 ]; do
  case $1 in
    --for-tests) for_tests=1 ;;
    --unless-given) unless_given=1 ;;
    -h|--help) usage 0 ;;
    -*) echo "pg.sh: unknown option $1" >&2; usage ;;
    *) [ -z "$dir" ] || usage; dir=$1 ;;
  esac
  shift
done
dir=${dir:-${GL_PG_DIR:-$top/var/pg}}

if [ "$unless_given" = 1 ] && [ -n "${DATABASE_URL:-}${PGHOST:-}" ]; then
  echo "pg.sh: a server is given (DATABASE_URL or PGHOST); nothing to $command"
  exit 0
fi
[ -x "$bin/pg_ctl" ] || die "PostgreSQL 15 is not installed in $bin (run tools/setup.sh)"
resolve_home

case $command in
  start) start ;;
  stop) stop ;;
  status)
    if is_running; then
      echo "pg.sh: running, $(cluster_url)"
    else
      echo "pg.sh: not running ($home)"
      exit 3
    fi
    ;;
  url) cluster_url ;;
esac
