#!/usr/bin/env bash
# Builds the gateway, the bare baselines and the load tool in Release, then runs the load tool.
#   bench/run.sh echo --connections 100      round trips through $default → echo, vs a bare Kestrel echo
#   bench/run.sh push --connections 100 --targets bare,gateway,gatewayauth   POST /@connections/{id} → client, vs a bare push app (gatewayauth: with an API key)
#   bench/run.sh batch --connections 100 --targets gateway,redisremote   1,000 pushes as one POST /@batch vs 1,000 single POST /@connections/{id} (time per set, server CPU per push)
#   bench/run.sh presence --connections 10000 --targets gateway   a presence join or leave with 10,000 members vs a publish to the same 10,000 subscribers (time to the last delivery, server CPU per operation)
#   bench/run.sh push --targets bare,gatewayauth --rate 20000   the same at a fixed rate (latency at half of the bare app's maximum)
#   bench/run.sh idle --connections 19500 --sources 4   memory per idle connection, vs the bare echo (from 127.0.0.1-4; past 10,000, helper processes hold the rest)
#   bench/run.sh push --targets redislocal,redisremote   same node vs another node through Redis (two nodes + redis-server)
#   bench/run.sh push --targets redislocal,redisremote,natslocal,natsremote   the same through Redis and through NATS (two nodes + nats-server -js), in one run
#   bench/run.sh fanout --connections 300 --senders 4 --targets localfanout,redisfanout,natsfanout   one topic, subscribers on one node vs spread over three through Redis and NATS
#   bench/run.sh fanout --connections 10000 --senders 1 --targets bare,localfanout   one topic to 10,000 subscribers vs the bare echo's messages/s
#   bench/run.sh resume --targets redislocal,redisremote --connections 2000 --requests 1000   from a dropped socket to the resumed frame (first retry at 0 ms),
#       on the node holding the session and on the other one (the session moves each time); memory per waiting session and per byte kept for it
#   bench/run.sh users --targets redis3,nats3 --connections 1000 --requests 2000   GET /@users/{id} (every node asked) on three nodes, 1,000 JWT connections of 100 users spread over them,
#       vs GET /@connections/{id} of another node's connection (one node asked) and GET /@connections?scope=node (none): p50/p90/p99, requests/s, CPU per request
#   bench/run.sh handshake --targets bare,gateway,gatewayjwt,gatewayjwtrsa   opening handshakes/s, with and without JWT validation
#   bench/run.sh echo --targets bare,gateway,gatewayhttp   adds echo through an http integration to a loopback backend
#   bench/run.sh soak --duration 600 --connections 200   ten minutes of churn around steady clients: memory, leftovers, losses
#   bench/run.sh echo --targets bare,nodews,gateway   echo CPU per round trip against both bare baselines (Kestrel, and Node's ws: bench/NodeEcho)
#   bench/run.sh idle --connections 5000 --targets gateway,gatewayh2   memory per idle WebSocket over HTTP/1.1 vs over HTTP/2 (h2c, 100 streams per TCP connection)
#   bench/run.sh echo --connections 100 --targets gateway,gatewayh2   echo CPU per round trip over HTTP/1.1 vs over HTTP/2 (all 100 sockets on one TCP connection)
#   bench/run.sh idle --connections 10000 --targets gateway,gatewaysse   memory per idle connection, WebSocket vs the Server-Sent Events stream (GET /sse)
#   bench/run.sh push --connections 100 --targets gateway,gatewaysse   POST /@connections/{id} → client, over a WebSocket vs over the event stream
#   bench/run.sh cluster --connections 100000 --targets redis6,nats6   six nodes on each engine in one run, 100,000 idle connections held by six lean
#       load processes (raw sockets, one per node, from 12 loopback source addresses: --sources): connect time, memory per connection (VmRSS
#       after a full GC on every node), then --rounds times a POST /@broadcast, a publish to one topic all subscribe to, and one publish to each
#       of 1,000 topics matched by wildcards: time to the last delivery, deliveries/s, every delivery counted per connection, CPU of the nodes,
#       the engine and the load processes (needs about 3 GB of memory, and the open-files limit of 20,000 per process that run.sh raises to)
# Options: --duration S --warmup S --rounds R --senders K --payload BYTES --targets bare,gateway --requests N (users) --gateway-env "DOTNET_gcServer=0;…"
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/bench/artifacts"
# Published as the container image publishes the server: framework-dependent, compiled ahead of time (ReadyToRun) for
# this machine's runtime identifier, so a fresh process does not spend its first seconds in the JIT. The bare apps and
# the load tool are published the same way, so every target starts alike.
rid=$(dotnet --info | awk '/^ *RID:/ { print $2; exit }')
for project in src/Gateway.Server bench/BareEcho bench/BarePush bench/EchoBackend bench/Gateway.LoadTest; do
  name=$(basename "$project")
  dotnet publish "$project" -c Release -r "$rid" --self-contained false -p:PublishReadyToRun=true -o "$out/$name" --nologo -v quiet >/dev/null || { echo "building $project failed" >&2; dotnet build "$project" -c Release --nologo -v quiet >&2; exit 1; }
done
# The bare Node `ws` echo (target nodews) needs its one npm package.
if [ ! -d bench/NodeEcho/node_modules ] || [ bench/NodeEcho/package-lock.json -nt bench/NodeEcho/node_modules/.installed ]; then
  (cd bench/NodeEcho && npm ci --no-audit --no-fund --loglevel=error >/dev/null && touch node_modules/.installed)
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec dotnet "$out/Gateway.LoadTest/Gateway.LoadTest.dll" "$@" --artifacts "$out"
