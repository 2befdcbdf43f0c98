#!/usr/bin/env bash
# Runs every test. On a fresh machine it first installs what the tests need, then runs `dotnet test Gateway.sln`.
# Usage: ./test.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")"

need() { command -v "$1" >/dev/null 2>&1; }

# Debian packages the tests use: Chromium for the browser tests, redis-server and nats-server for scale-out, haproxy in front of nodes,
# Python's websockets as one more client of compression.
apt_packages=(chromium redis-server nats-server haproxy python3-websockets)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! need dotnet; then
  echo "The .NET SDK 10 is required: https://dot.net" >&2
  exit 1
fi

# Node and the npm packages of the compatibility suite (real AWS SDK clients and wscat).
if ! need node || ! need npm; then
  echo "Installing nodejs and npm"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
for dir in tests/compat samples/chat; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.installed" ]; then
    echo "Installing npm packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed)
  fi
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
dotnet test Gateway.sln --blame-hang-timeout 5m "$@" 2>&1 | tee "$log" || status=$?

# One closing line that any CI can read: totals over every test project.
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -oE 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "No test ran." >&2
  exit 1
fi
exit "$status"
