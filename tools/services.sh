#!/usr/bin/env bash
# Make sure the console's services answer on 127.0.0.1: PostgreSQL (5432) and Redis (6379), plus GNU gettext.
# On a fresh Debian machine as root, installs and starts what is missing; elsewhere says exactly what to run.
# With the default HANEUL_DATABASE_URL it also creates the role and database `haneul` (password `haneul`).
set -euo pipefail

. "$(dirname "$0")/lib.sh"

# --- PostgreSQL ---------------------------------------------------------------------------------------------
if ! port_open 5432; then
  command -v pg_ctlcluster >/dev/null || install_or_explain PostgreSQL postgresql
  if is_root_debian; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || pg_ctlcluster "$version" main start
    wait_port 5432 PostgreSQL
  else
    echo "PostgreSQL is not running on 127.0.0.1:5432. Start it: sudo pg_ctlcluster <version> main start" >&2; exit 1
  fi
fi
if [ -z "${HANEUL_DATABASE_URL:-}" ]; then
  if ! PGPASSWORD=haneul psql -h 127.0.0.1 -U haneul -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    sql="DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='haneul') THEN
           CREATE ROLE haneul LOGIN PASSWORD 'haneul' CREATEDB; END IF; END\$\$;"
    if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
      (cd / && runuser -u postgres -- psql -q -c "$sql")
    else
      echo "Create the database role: sudo -u postgres psql -c \"CREATE ROLE haneul LOGIN PASSWORD 'haneul' CREATEDB\"" >&2
      exit 1
    fi
  fi
  if [ "$(PGPASSWORD=haneul psql -h 127.0.0.1 -U haneul -d postgres -Atqc "select 1 from pg_database where datname='haneul'")" != 1 ]; then
    PGPASSWORD=haneul createdb -h 127.0.0.1 -U haneul haneul
  fi
fi

# --- Redis ------------------------------------------------------------------------------------------------------
if ! port_open 6379; then
  command -v redis-server >/dev/null || install_or_explain Redis redis-server
  if is_root_debian; then
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/haneul.log
    wait_port 6379 Redis
  else
    echo "Redis is not running on 127.0.0.1:6379. Start it: redis-server --daemonize yes --bind 127.0.0.1" >&2; exit 1
  fi
fi

# --- gettext (msgfmt compiles the translations) ------------------------------------------------------------------
command -v msgfmt >/dev/null || install_or_explain "GNU gettext" gettext
exit 0
