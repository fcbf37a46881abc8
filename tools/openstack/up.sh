#!/usr/bin/env bash
# `make openstack`: make sure MariaDB and RabbitMQ answer on 127.0.0.1 (on a fresh Debian machine as root, install
# and start them from Debian's packages), then bring the local OpenStack up or reuse the running one (stack.py).
set -euo pipefail
cd "$(dirname "$0")/../.."

. tools/lib.sh

ensure() {  # ensure NAME PORT PACKAGE PROGRAM START-COMMAND...
  local name=$1 port=$2 package=$3 program=$4; shift 4
  port_open "$port" && return 0
  if ! is_root_debian; then
    echo "$name is not running on 127.0.0.1:$port. Install and start it (sudo apt-get install -y $package), then" \
      "run make openstack again." >&2
    exit 1
  fi
  command -v "$program" >/dev/null || install_or_explain "$name" "$package"
  "$@"
  wait_port "$port" "$name" 60
}

start_mariadb() {  # Debian's package binds 127.0.0.1 and runs as the mysql user
  install -d -o mysql -g mysql /run/mysqld
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
}

ensure MariaDB 3306 mariadb-server mariadbd start_mariadb
ensure RabbitMQ 5672 rabbitmq-server rabbitmq-server rabbitmq-server -detached

# stack.py re-runs itself in the OpenStack venv (creating it first), away from the console's .venv.
exec .venv/bin/python tools/openstack/stack.py up
