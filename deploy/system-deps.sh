#!/usr/bin/env bash
# Installs the Debian packages Haven needs on a fresh machine, and nothing when they are
# already there. Usage: deploy/system-deps.sh run|test
#   run:  python3-venv (Debian's python3 has no venv/ensurepip without it)
#   test: also PostgreSQL's server binaries (the tests start throw-away clusters) and
#         Chromium (the portal's browser tests drive Debian's build through Playwright)
#         and Prometheus (promtool tests the alert rules; a real server scrapes Haven in a test)
set -euo pipefail
purpose="${1:-run}"
packages=()

if ! python3 -c "import ensurepip, venv" >/dev/null 2>&1; then
  packages+=("python3-venv")
fi
if [ "$purpose" = "test" ]; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    packages+=("postgresql")
  fi
  if [ ! -x /usr/bin/chromium ]; then
    packages+=("chromium")
  fi
  if ! command -v promtool >/dev/null 2>&1; then
    packages+=("prometheus")  # promtool checks the alert rules; the e2e test scrapes a real Haven
  fi
fi

[ "${#packages[@]}" -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "system-deps: need root (or sudo) to install: ${packages[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "system-deps: installing ${packages[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
