#!/usr/bin/env bash
# Installs what cowsnap and its tests need on Debian: apt packages (as root) and a
# virtualenv at .venv with cowsnap (btrfs extra when libbtrfsutil is there) and
# the test tools. Idempotent; shared by tests/run-all.sh and vagrant/provision.sh.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
packages=(btrfs-progs xfsprogs e2fsprogs libbtrfsutil-dev strace gcc make git util-linux python3-dev
          openssh-server openssh-client)

missing_packages() {
    local package
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || echo "$package"
    done
}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    mapfile -t needed < <(missing_packages)
    if ! python3 -m venv --help >/dev/null 2>&1; then
        needed+=(python3-venv)
    fi
    if [ "${#needed[@]}" -gt 0 ]; then
        echo "provision: apt-get install ${needed[*]}" >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null
    fi
else
    echo "provision: not root or no apt-get; skipping system packages" >&2
fi

if [ ! -x "$repo/.venv/bin/python" ]; then
    python3 -m venv "$repo/.venv"
fi
extras="test"
if [ -e /usr/include/btrfsutil.h ]; then
    extras="test,btrfs"
fi
"$repo/.venv/bin/pip" install -q --disable-pip-version-check -e "$repo[$extras]"
