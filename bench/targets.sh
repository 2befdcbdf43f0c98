#!/usr/bin/env bash
# Every figure docs/benchmarks.md opens with, one command after another on a quiet machine (about 55 minutes; the push row alone takes ten, fifteen rounds):
#   bench/targets.sh [output-folder]        each command's report goes to <output-folder>/<name>.md (default bench/artifacts/targets)
#   bench/targets.sh out echo100 push       only the named ones
# The 100,000-connection cluster run and the ten-minute soak are separate commands (see bench/run.sh's head).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bench/artifacts/targets}"
shift || true
mkdir -p "$out"
declare -A runs=(
  [echo100]="echo --connections 100 --targets bare,nodews,gatewaythreadpool,gateway --duration 8 --rounds 3"
  [echo1000]="echo --connections 1000 --targets bare,nodews,gateway --duration 8 --rounds 3"
  [push]="push --connections 100 --targets bare,gatewayauth --duration 8 --warmup 8 --rounds 15"
  [crossnode]="push --targets redislocal,redisremote,natslocal,natsremote --duration 8 --warmup 8 --rounds 3"
  [handshake]="handshake --targets gateway,gatewayjwt,gatewayjwtrsa --duration 5 --warmup 2 --rounds 3"
  [handshakewarm]="handshake --targets gateway,gatewayjwt,gatewayjwtrsa --duration 5 --warmup 12 --rounds 3"
  [fanoutdeflate]="fanout --connections 10000 --senders 1 --targets localfanout,localfanoutdeflate --deflate --payload 4000 --duration 8 --rounds 3"
  [idle]="idle --connections 19500 --sources 4 --targets bare,nodews,gateway --rounds 3"
)
order=(echo100 echo1000 push crossnode handshake handshakewarm fanoutdeflate idle)
[ $# -gt 0 ] && order=("$@")
for name in "${order[@]}"; do
  echo "== $name: bench/run.sh ${runs[$name]}"
  # shellcheck disable=SC2086
  bench/run.sh ${runs[$name]} | tee "$out/$name.md"
done
