#!/usr/bin/env bash
# A Temporal server as a team runs one, on this machine: the server from go.temporal.io/server at
# the version the Temporal CLI (v1.5.1) embeds, PostgreSQL persistence (Debian's postgresql, its own
# cluster under the state dir), TLS on the frontend from a CA this script makes, the `default`
# namespace and miglab's search attributes registered through the operator API.
#
#   scripts/temporal-cluster.sh start    build what is missing (cached), start PostgreSQL and the server
#   scripts/temporal-cluster.sh stop     stop both (the data stays)
#   scripts/temporal-cluster.sh status   what runs, and the settings to use it
#   scripts/temporal-cluster.sh build    only build the server and its SQL tool (cached on the version)
#
# Then: `. .miglab/cluster/env` (TEMPORAL_ADDRESS, TEMPORAL_TLS_SERVER_CA_CERT_PATH …, read by
# miglab's envconfig like any Temporal SDK) and `miglab run|start|worker …` as usual.
# Settings: MIGLAB_CLUSTER_DIR (default <state>/cluster), MIGLAB_CLUSTER_PORT (frontend, 7333; the
# server's other services take the next three ports and those 100 above), MIGLAB_CLUSTER_PG_PORT (55432).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state=${MIGLAB_STATE_DIR:-$root/.miglab}
dir=${MIGLAB_CLUSTER_DIR:-$state/cluster}
port=${MIGLAB_CLUSTER_PORT:-7333}
pg_port=${MIGLAB_CLUSTER_PG_PORT:-55432}
cli_version=v1.5.1
log() { echo "miglab cluster: $*" >&2; }
die() { echo "miglab cluster: $1" >&2; [ -n "${2:-}" ] && echo "  fix: $2" >&2; exit 2; }

go_bin=$(command -v go || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; } || true)

# The server is built inside a module that requires only the Temporal CLI: Go then picks the
# go.temporal.io/server the CLI embeds and every dependency at the CLI's own version, so the
# packages the CLI's build compiled are reused (about 10 s after the CLI's build, where `go install
# go.temporal.io/server/cmd/server@<version>`, with the server's own older dependencies, took 3 min).
build_module() {
  [ -n "$go_bin" ] || die "no Go to build the Temporal server" "install Go 1.25 or later (the tarball from go.dev, into /usr/local/go)"
  mod=$state/build/temporal-server
  mkdir -p "$mod"
  if [ ! -f "$mod/go.sum" ] || ! grep -q "temporalio/cli $cli_version" "$mod/go.mod"; then
    printf 'module miglab.local/temporal-server\n\ngo 1.25\n\nrequire github.com/temporalio/cli %s\n' "$cli_version" > "$mod/go.mod"
    # the packages to build, imported so that `go mod tidy` keeps what they need
    printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "go.temporal.io/server/cmd/server"\n\t_ "go.temporal.io/server/cmd/tools/sql"\n)\n' > "$mod/tools.go"
    rm -f "$mod/go.sum"
    (cd "$mod" && "$go_bin" mod tidy) || die "resolving the Temporal server's modules failed" "check that the Go module proxy answers (go env GOPROXY)"
  fi
  (cd "$mod" && "$go_bin" list -m -f '{{.Version}}' go.temporal.io/server)
}

# Built once per version into the state dir's bin.
build() {
  local v; v=$(build_module)
  [ -n "$v" ] || die "the Temporal CLI $cli_version embeds no go.temporal.io/server"
  server=$state/bin/temporal-server-$v
  sql_tool=$state/bin/temporal-sql-tool-$v
  if [ -x "$server" ] && [ -x "$sql_tool" ]; then return; fi
  log "building the Temporal server $v and its SQL tool with go install (once)"
  local tmp; tmp=$(mktemp -d)
  (cd "$state/build/temporal-server" && GOBIN=$tmp "$go_bin" install go.temporal.io/server/cmd/server go.temporal.io/server/cmd/tools/sql)
  mkdir -p "$state/bin"
  mv "$tmp/server" "$server" && mv "$tmp/sql" "$sql_tool" && rmdir "$tmp"
}

# PostgreSQL's own programs (Debian keeps them out of PATH) and the user its server runs as.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
need_postgres() {
  if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    if [ "$(id -u)" = 0 ]; then
      log "installing Debian's postgresql"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null; }
      pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    else
      die "PostgreSQL is not installed" "sudo apt-get install postgresql"
    fi
  fi
}

pg_running() { [ -f "$dir/pg/postmaster.pid" ] && as_pg "$pg_bin/pg_ctl" -D "$dir/pg" status >/dev/null 2>&1; }
server_pid() { [ -f "$dir/server.pid" ] && kill -0 "$(cat "$dir/server.pid")" 2>/dev/null && cat "$dir/server.pid"; }

start_postgres() {
  need_postgres
  mkdir -p "$dir"
  # PostgreSQL refuses to run as root: as root it runs as Debian's postgres user, who must reach the folder
  if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$dir"; then
    die "the postgres user cannot reach $dir (a folder on its path is closed to others)" "set MIGLAB_CLUSTER_DIR to a folder it can reach, or chmod o+x the folders on the path"
  fi
  if [ ! -f "$dir/pg-password" ]; then (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$dir/pg-password"); fi
  if [ ! -f "$dir/pg/PG_VERSION" ]; then
    log "a PostgreSQL cluster in $dir/pg"
    mkdir -p "$dir/pg" "$dir/pg-sock"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir/pg" "$dir/pg-sock" && install -o postgres -m 600 "$dir/pg-password" "$dir/pg-pwfile"
    [ "$(id -u)" = 0 ] || cp "$dir/pg-password" "$dir/pg-pwfile"
    # the one role, `temporal`, is the superuser: the server and the schema tool log in with its password
    as_pg "$pg_bin/initdb" -D "$dir/pg" -U temporal --pwfile="$dir/pg-pwfile" --auth=scram-sha-256 -E UTF8 >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    rm -f "$dir/pg-pwfile"
  fi
  if ! pg_running; then
    log "starting PostgreSQL on 127.0.0.1:$pg_port"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir/pg-sock"
    as_pg "$pg_bin/pg_ctl" -D "$dir/pg" -l "$dir/pg-sock/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/pg-sock" start >/dev/null \
      || { tail -20 "$dir/pg-sock/postgres.log" >&2; die "PostgreSQL did not start" "read $dir/pg-sock/postgres.log"; }
  fi
}

# Each database made and brought to the schema this server version ships (idempotent: done once per version).
setup_schema() {
  local pw; pw=$(cat "$dir/pg-password")
  local sqlt=("$sql_tool" --plugin postgres12 --ep 127.0.0.1 -p "$pg_port" -u temporal --pw "$pw")
  local db schema
  for db in temporal temporal_visibility; do
    schema=postgresql/v12/$([ "$db" = temporal ] && echo temporal || echo visibility)
    [ -f "$dir/schema-$db-$(basename "$server")" ] && continue
    log "schema of $db ($schema)"
    "${sqlt[@]}" --db "$db" create-database >>"$dir/schema.log" 2>&1 || grep -q "already exists" "$dir/schema.log" || { tail "$dir/schema.log" >&2; die "creating database $db failed"; }
    "${sqlt[@]}" --db "$db" setup-schema -v 0.0 >>"$dir/schema.log" 2>&1 || { tail "$dir/schema.log" >&2; die "setting up $db failed"; }
    "${sqlt[@]}" --db "$db" update-schema --schema-name "$schema" >>"$dir/schema.log" 2>&1 || { tail "$dir/schema.log" >&2; die "updating $db's schema failed"; }
    touch "$dir/schema-$db-$(basename "$server")"
  done
}

# A CA of this cluster's own, and the frontend's certificate for 127.0.0.1 and localhost signed by it.
make_tls() {
  local t=$dir/tls
  [ -f "$t/server.pem" ] && return
  mkdir -p "$t" && chmod 700 "$t"
  log "TLS: a CA and the frontend's certificate in $t"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=miglab cluster CA" \
    -keyout "$t/ca.key" -out "$t/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" -keyout "$t/server.key" -out "$t/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$t/server.ext"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial -days 3650 -extfile "$t/server.ext" -out "$t/server.pem" 2>/dev/null
  rm -f "$t/server.csr" "$t/server.ext"
}

write_config() {
  local pw; pw=$(cat "$dir/pg-password")
  mkdir -p "$dir/config"
  cat > "$dir/config/miglab.yaml" <<EOF
# written by scripts/temporal-cluster.sh
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:
      sql: &pg
        pluginName: postgres12
        databaseName: temporal
        connectAddr: "127.0.0.1:$pg_port"
        connectProtocol: tcp
        user: temporal
        password: "$pw"
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    visibility:
      sql:
        <<: *pg
        databaseName: temporal_visibility
        maxConns: 4
        maxIdleConns: 4
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  tls:
    frontend:
      server:
        certFile: $dir/tls/server.pem
        keyFile: $dir/tls/server.key
      # the server's own services reach the frontend through TLS too
      client:
        serverName: localhost
        rootCaFiles: [$dir/tls/ca.pem]
services:
  frontend:
    rpc: { grpcPort: $port, membershipPort: $((port + 100)), bindOnLocalHost: true }
  history:
    rpc: { grpcPort: $((port + 1)), membershipPort: $((port + 101)), bindOnLocalHost: true }
  matching:
    rpc: { grpcPort: $((port + 2)), membershipPort: $((port + 102)), bindOnLocalHost: true }
  worker:
    rpc: { grpcPort: $((port + 3)), membershipPort: $((port + 103)), bindOnLocalHost: true }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "localhost:$port"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: $dir/config/dynamic.yaml
  pollInterval: 10s
EOF
  cat > "$dir/config/dynamic.yaml" <<'EOF'
# a search attribute added through the operator API is usable at once, not after the cache's minute
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
# Nexus needs the HTTP API, which this server does not open
system.enableNexus:
  - value: false
EOF
  cat > "$dir/env" <<EOF
# miglab (and the temporal CLI) read these like any Temporal SDK: . $dir/env
export TEMPORAL_ADDRESS=127.0.0.1:$port
export TEMPORAL_NAMESPACE=default
export TEMPORAL_TLS=true
export TEMPORAL_TLS_SERVER_CA_CERT_PATH=$dir/tls/ca.pem
export TEMPORAL_TLS_SERVER_NAME=localhost
EOF
}

start() {
  build
  start_postgres
  setup_schema
  make_tls
  write_config
  if pid=$(server_pid); then
    log "the server runs already (pid $pid)"
  else
    log "starting the Temporal server on 127.0.0.1:$port (TLS), log $dir/server.log"
    # its own session: a stop of the shell that started it does not take it down
    setsid "$server" --root "$dir" --config config --env miglab --allow-no-auth start >"$dir/server.log" 2>&1 < /dev/null &
    echo $! > "$dir/server.pid"
  fi
  # The namespace and the search attributes, through the frontend (TLS) as any client would.
  # shellcheck disable=SC1091
  . "$dir/env"
  node "$root/bin/miglab.js" server prepare --wait 90 || { tail -30 "$dir/server.log" >&2; die "the server did not become ready" "read $dir/server.log"; }
  status
}

stop() {
  if pid=$(server_pid); then
    log "stopping the Temporal server (pid $pid)"
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/server.pid"
  if [ -n "$pg_bin" ] && pg_running; then
    log "stopping PostgreSQL"
    as_pg "$pg_bin/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null
  fi
}

status() {
  local s=stopped p=stopped
  pid=$(server_pid) && s="running (pid $pid)"
  [ -n "$pg_bin" ] && pg_running && p="running (127.0.0.1:$pg_port, data $dir/pg)"
  echo "Temporal server: $s, 127.0.0.1:$port with TLS (CA $dir/tls/ca.pem), log $dir/server.log"
  echo "PostgreSQL: $p"
  [ -f "$dir/env" ] && echo "use it: . $dir/env"
  return 0
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  build) build; echo "$server"; echo "$sql_tool" ;;
  *) die "usage: $0 start|stop|status|build" "e.g. $0 start, then . ${dir}/env" ;;
esac
