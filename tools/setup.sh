#!/usr/bin/env bash
# Installs every Debian package gapless needs to build, test and run.
# Idempotent: installs only what is missing, and is silent when nothing is.
# libncurses-dev draws gapless watch; prometheus brings promtool, which the
# tests run on /metrics and config/alerts.yml; python3-zmq and
# python3-msgpack run tools/examples/watch.py; bsdutils has script, the
# tests' pseudo-terminal; curl sets the sim's faults in tools/run.sh and
# iproute2 joins the namespaces of tests/test_hosts.sh.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libzmq3-dev libczmq-dev libmsgpack-dev libcurl4-openssl-dev libpq-dev
  libmicrohttpd-dev libcjson-dev libncurses-dev
  postgresql-15 tzdata
  prometheus python3-zmq python3-msgpack bsdutils curl iproute2
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
