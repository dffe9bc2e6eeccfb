#!/usr/bin/env bash
# Provisions the development VM: the same packages and virtualenv as the test
# command (tests/provision.sh), plus a persistent loop-mounted btrfs volume at
# /srv/btrfs made by the same code the test bed uses (tests/fsimages.sh).
set -euo pipefail

repo=${1:-/cowsnap}
# shellcheck source=tests/fsimages.sh
source "$repo/tests/fsimages.sh"
bash "$repo/tests/provision.sh"

image=/var/lib/cowsnap-btrfs.img
mountpoint=/srv/btrfs
if ! mountpoint -q "$mountpoint"; then
    if [ -e "$image" ]; then
        mkdir -p "$mountpoint"
        mount -o loop,user_subvol_rm_allowed "$image" "$mountpoint"
    else
        make_fs_image btrfs "$image" "$mountpoint" 8G
        mount -o remount,user_subvol_rm_allowed "$mountpoint"
    fi
fi
grep -q "$image" /etc/fstab \
    || echo "$image $mountpoint btrfs loop,user_subvol_rm_allowed 0 0" >> /etc/fstab
[ -d "$mountpoint/work" ] || btrfs subvolume create "$mountpoint/work"
chown vagrant: "$mountpoint/work" 2>/dev/null || true
ln -sf "$repo/.venv/bin/cowsnap" /usr/local/bin/cowsnap
