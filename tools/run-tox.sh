#!/usr/bin/env bash
# Run tox with everything it needs, on a machine with only python3:
# system packages from bindep.txt (installed with apt when missing) and
# tox itself (in ./.bootstrap). Arguments go to tox unchanged, e.g.
#   tools/run-tox.sh -e demo
#   tools/run-tox.sh -e pep8,py3,functional
set -euo pipefail
cd "$(dirname "$0")/.."

boot=.bootstrap
python=${PYTHON:-python3}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "run-tox: need root (or sudo) for: $*" >&2
        exit 1
    fi
}

apt_install() {
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@"
}

if ! command -v "$python" >/dev/null 2>&1; then
    apt_install python3 python3-venv
fi
if [ ! -x "$boot/bin/tox" ] || [ ! -x "$boot/bin/bindep" ]; then
    rm -rf "$boot"
    if ! "$python" -m venv "$boot" >/dev/null 2>&1; then
        # Debian splits venv (ensurepip) out of python3.
        rm -rf "$boot"
        apt_install python3-venv
        "$python" -m venv "$boot"
    fi
    "$boot/bin/pip" install -q --upgrade pip
    "$boot/bin/pip" install -q 'tox>=4.0.0' 'bindep>=2.11.0'
fi

missing=$("$boot/bin/bindep" -b test || true)
if [ -n "$missing" ]; then
    echo "run-tox: installing system packages:" $missing
    # shellcheck disable=SC2086
    apt_install $missing
fi

exec "$boot/bin/tox" "$@"
