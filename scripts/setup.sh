#!/usr/bin/env bash
# Set up the project on a Debian machine with Python 3.11: the system packages it needs (PostGIS), a
# virtualenv in .venv with the pinned Python dependencies (constraints.txt), and the project.
# Safe to run again: it skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}

apt_install() {
    local missing=()
    for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# PostgreSQL 15 + PostGIS for the embedded default database (it runs as the postgres user).
apt_install postgresql-15-postgis-3 curl
# Headless Chromium (and a CJK font) for the browser tests of the planners' maps and of the
# dispatch console (driven through chromium-driver by selenium).
apt_install chromium chromium-driver fonts-wqy-microhei

if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
    apt_install python3-venv
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

stamp=.venv/.installed
want=$(cat constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: installing Python dependencies (pinned in constraints.txt)"
    .venv/bin/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,bench]"
    echo "$want" > "$stamp"
fi
