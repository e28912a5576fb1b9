#!/usr/bin/env bash
# Install what this machine is missing, and nothing twice. Without options, what `make run` runs:
#   a Python 3.13 virtualenv in .venv, the pinned packages of requirements.txt, Debian's redis-server.
#   --dev      also requirements-dev.txt: the test, lint and benchmark tools (make test, bench, load),
#              and Debian's redis-sentinel (the failover test and `make failover`: devstack/sentinel.py)
#   --browser  also Debian's chromium, which only the browser tests drive (make test, screenshots)
# Safe to run on every make target: a no-op once everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
browser=0
for option in "$@"; do
  case $option in
    --dev) dev=1 ;;
    --browser) browser=1 ;;
    *) echo "usage: $0 [--dev] [--browser]" >&2; exit 2 ;;
  esac
done

step() { printf '==> %s\n' "$*"; }
started=$SECONDS

usable() {  # runs, and is 3.13 (pyenv's shim exists but fails unless 3.13 is selected)
  [[ -n $1 && -x $1 ]] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null
}

find_python() {
  local candidate
  for candidate in /usr/bin/python3.13 /usr/local/bin/python3.13 "$(command -v python3.13 2>/dev/null)"; do
    usable "$candidate" && { echo "$candidate"; return; }
  done
  # Debian 12 machines here carry 3.13 under pyenv (the pyenv shim fails unless selected).
  if command -v pyenv >/dev/null 2>&1 || [[ -d ${PYENV_ROOT:-$HOME/.pyenv} ]]; then
    local root
    root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
    candidate=$(ls -d "$root"/versions/3.13.*/bin/python3.13 2>/dev/null | sort -V | tail -n 1)
    usable "$candidate" && { echo "$candidate"; return; }
  fi
  return 1
}

apt_install() {
  step "Installing Debian packages: $* (a minute or two)"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- Python 3.13 virtualenv ---------------------------------------------------------
if [[ ! -x .venv/bin/python ]] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))'; then
  if ! python=$(find_python); then
    apt_install python3.13 python3.13-venv || true
    python=$(find_python) || { echo "error: Python 3.13 not found and could not be installed" >&2; exit 1; }
  fi
  step "Creating .venv with $python"
  rm -rf .venv
  "$python" -m venv .venv
fi

# --- Python packages (re-installed only when the requirement files change) ----------------
# The development set includes the run set (requirements-dev.txt starts with -r requirements.txt).
run_want=$(sha256sum requirements.txt | cut -d' ' -f1)
dev_want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
stamp_is() { [[ -f $1 && $(cat "$1") == "$2" ]]; }
# uv installs the pinned set: about 8 s with its cache warm and 11 s cold here, against pip's 31 s
# with a warm cache (docs/decisions/0010-test-suite-speed.md). uv itself comes from PyPI through pip.
UV_REQUIREMENT="uv==0.13.10"
install_packages() {  # requirement file, stamp file, stamp value, modules that must import afterwards
  step "Installing Python packages from $1 (about 10 s)"
  local t=$SECONDS
  if [[ $(.venv/bin/uv --version 2>/dev/null) != "uv ${UV_REQUIREMENT#uv==} "* ]]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "$UV_REQUIREMENT" 2>&1 \
      | grep -v "is neither a file nor a directory" || true
  fi
  # Bytecode compiled now, as pip does: the test run's processes would each compile it otherwise.
  .venv/bin/uv pip install --quiet --system-certs --compile-bytecode --python .venv/bin/python -r "$1"
  .venv/bin/python -c "import $4" || { echo "error: package install failed; see above" >&2; exit 1; }
  echo "$3" > "$2"
  echo "    done in $((SECONDS - t)) s"
}
run_modules="django, django_mongodb_backend, mongoeco, channels, rest_framework"
if (( dev )); then
  stamp_is .venv/.requirements-dev.sha256 "$dev_want" \
    || install_packages requirements-dev.txt .venv/.requirements-dev.sha256 "$dev_want" "$run_modules, pytest, httpx"
elif ! stamp_is .venv/.requirements-dev.sha256 "$dev_want"; then
  stamp_is .venv/.requirements.sha256 "$run_want" \
    || install_packages requirements.txt .venv/.requirements.sha256 "$run_want" "$run_modules"
fi

# --- Redis (Debian's redis-server; skipped when REDIS_URL points elsewhere) ---------------
if [[ -z ${REDIS_URL:-} ]] && ! command -v redis-server >/dev/null 2>&1; then
  apt_install redis-server
  # The package may start a system-wide instance on 6379; the project runs its own.
fi
# --- Redis Sentinel (Debian's redis-sentinel, --dev: the failover test starts three of them) -------
if (( dev )) && ! command -v redis-sentinel >/dev/null 2>&1; then
  apt_install redis-sentinel
fi

# --- Chromium (Debian's, for the browser journeys in tests/e2e; never `playwright install`) ---
if (( browser )) && [[ ! -x /usr/bin/chromium ]]; then
  apt_install chromium fonts-liberation  # a sans-serif with Arial's metrics for the screenshots
fi

if (( SECONDS - started > 1 )); then
  step "Setup finished in $((SECONDS - started)) s"
fi
