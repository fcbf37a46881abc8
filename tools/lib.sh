# Shell helpers the set-up scripts share (source it: `. "$(dirname "$0")/lib.sh"`).

is_root_debian() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

apt_install() {  # apt_install PACKAGES...  (refreshes the package lists only when there are none)
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

install_or_explain() {  # install_or_explain WHAT PACKAGES...: install as root on Debian, else say what to run
  local what=$1; shift
  if is_root_debian; then
    echo "Installing $what ($*) ..."; apt_install "$@"
  else
    echo "$what is missing. Run: sudo apt-get install -y $*   (then make again)" >&2; exit 1
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {  # wait_port PORT NAME [SECONDS]
  local tries=$(( ${3:-30} * 2 ))
  for _ in $(seq 1 "$tries"); do port_open "$1" && return 0; sleep 0.5; done
  echo "$2 did not start listening on 127.0.0.1:$1." >&2; return 1
}
