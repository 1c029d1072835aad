#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers, and prints the admin connection URL to use.
#
#   1. DATABASE_URL set: use it as it is.
#   2. Something answers on 127.0.0.1:5432: use it (trust auth, user postgres).
#   3. An installed cluster exists: start it.
#   4. No server installed: install Debian's `postgresql` package (as root) and start its cluster.
#   5. Otherwise (not root, or no cluster could be started): initdb a private cluster under .pg/
#      (git-ignored) on 127.0.0.1:55432 and start it.
#
# Messages go to standard error; standard output carries only the URL.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
say() { echo "ensure-db: $*" >&2; }

if [ -n "${DATABASE_URL:-}" ]; then
  echo "$DATABASE_URL"
  exit 0
fi

default_url="postgres://postgres@127.0.0.1:5432/postgres"

answers() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_for() { # host port
  for _ in $(seq 1 60); do
    answers "$1" "$2" && return 0
    sleep 0.5
  done
  return 1
}

if answers 127.0.0.1 5432; then
  echo "$default_url"
  exit 0
fi

start_installed_cluster() {
  command -v pg_lsclusters >/dev/null 2>&1 || return 1
  local line
  line=$(pg_lsclusters --no-header 2>/dev/null | head -n 1)
  [ -n "$line" ] || return 1
  local version cluster
  version=$(awk '{print $1}' <<<"$line")
  cluster=$(awk '{print $2}' <<<"$line")
  say "starting PostgreSQL cluster $version/$cluster"
  pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start >&2 2>&1 || true
  wait_for 127.0.0.1 5432
}

if start_installed_cluster; then
  echo "$default_url"
  exit 0
fi

if ! command -v pg_lsclusters >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql postgresql-contrib >&2
  # Debian's cluster asks for peer/password auth; local development and tests use trust on loopback.
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    [ -f "$hba" ] || continue
    if ! grep -q "returns: trust loopback" "$hba"; then
      sed -i '1i # returns: trust loopback\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
    fi
  done
  if start_installed_cluster; then
    echo "$default_url"
    exit 0
  fi
fi

# A private cluster owned by the current user.
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
  say "no PostgreSQL server found and none could be installed; set DATABASE_URL"
  exit 1
fi
data="$here/.pg/data"
port=55432
run_as=()
if [ "$(id -u)" = 0 ]; then
  # initdb refuses to run as root; the cluster belongs to the postgres system user.
  id postgres >/dev/null 2>&1 || useradd --system --home "$here/.pg" postgres
  mkdir -p "$here/.pg"
  chown postgres "$here/.pg"
  run_as=(runuser -u postgres --)
fi
if [ ! -f "$data/PG_VERSION" ]; then
  say "creating a private cluster in $data"
  "${run_as[@]}" "$pgbin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >&2
fi
if ! answers 127.0.0.1 "$port"; then
  say "starting the private cluster on 127.0.0.1:$port"
  "${run_as[@]}" "$pgbin/pg_ctl" -D "$data" -l "$here/.pg/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k /tmp" start >&2
fi
wait_for 127.0.0.1 "$port"
echo "postgres://postgres@127.0.0.1:$port/postgres"
