#!/usr/bin/env bash
# Loop-mounted filesystem images for cowsnap: sourced by tests/run-all.sh (the
# test bed) and vagrant/provision.sh (a developer VM's btrfs volume).

# make_fs_image KIND IMAGE MOUNTPOINT [SIZE]: create a sparse image of KIND
# (btrfs, xfs with reflink, ext4), format it and loop-mount it.
make_fs_image() {
    local kind=$1 image=$2 mountpoint=$3 size=${4:-1G}
    truncate -s "$size" "$image"
    case "$kind" in
        btrfs) mkfs.btrfs -q -f "$image" >/dev/null 2>&1 ;;
        xfs) mkfs.xfs -q -f -m reflink=1 "$image" ;;
        ext4) mkfs.ext4 -q -F "$image" ;;
        *) echo "make_fs_image: unknown filesystem $kind" >&2; return 2 ;;
    esac
    mkdir -p "$mountpoint"
    mount -o loop "$image" "$mountpoint"
}

# unmount_fs_image MOUNTPOINT: unmount (lazily if busy); the loop device is
# released automatically (autoclear).
unmount_fs_image() {
    local mountpoint=$1
    if mountpoint -q "$mountpoint"; then
        umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint"
    fi
}
