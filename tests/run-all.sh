#!/usr/bin/env bash
# The whole test suite, provisioned: system packages, the virtualenv, loop-mounted
# btrfs / XFS (reflink=1) / ext4 images; then ruff, mypy and pytest. Unmounts and
# removes the images on exit, whatever happened. Extra arguments go to pytest.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tests/fsimages.sh
source "$repo/tests/fsimages.sh"
bash "$repo/tests/provision.sh"
bin="$repo/.venv/bin"

scratch=$(mktemp -d /var/tmp/cowsnap-tests.XXXXXX)
# Tests that drop privileges (to nobody) must be able to reach the mounts below.
chmod 0755 "$scratch"
cleanup() {
    local kind
    for kind in btrfs xfs ext4; do
        unmount_fs_image "$scratch/$kind" || true
    done
    rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" = 0 ]; then
    for kind in btrfs xfs ext4; do
        make_fs_image "$kind" "$scratch/$kind.img" "$scratch/$kind" 1G
    done
    export COWSNAP_TEST_BTRFS="$scratch/btrfs"
    export COWSNAP_TEST_XFS="$scratch/xfs"
    export COWSNAP_TEST_EXT4="$scratch/ext4"
else
    echo "run-all: not root; tests needing btrfs, XFS, ext4 or root will skip" >&2
fi

cd "$repo"
status=0
"$bin/ruff" check cowsnap tests bench || status=1
"$bin/mypy" cowsnap || status=1
"$bin/pytest" -q -p no:cacheprovider "$@" || status=$?
exit "$status"
