"""The extended attributes cowsnap records and restores: the `user.` namespace and POSIX
ACLs, as snapper does. Others (`security.*`, `trusted.*`) belong to the system."""

from __future__ import annotations

import errno
import os

from cowsnap.model import Xattrs

DEFAULT_ACL = "system.posix_acl_default"
"""A directory's default ACL: every file and directory created in it is born with an ACL."""
ACLS = frozenset({"system.posix_acl_access", DEFAULT_ACL})
_UNSUPPORTED = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM, errno.EACCES}

Where = bytes | str | int
"""A path (followed only with `follow`) or an open file descriptor."""


def kept(name: str) -> bool:
    return name.startswith("user.") or name in ACLS


def read_xattrs(where: Where, *, follow: bool = False) -> Xattrs | None:
    """The kept attributes of `where`, sorted; None when they cannot be read."""
    try:
        listed = os.listxattr(where, follow_symlinks=follow)
        if not listed:
            return ()
        names = sorted(name for name in listed if kept(name))
        values = []
        for name in names:
            try:
                values.append((name, os.getxattr(where, name, follow_symlinks=follow)))
            except OSError as error:
                if error.errno != errno.ENODATA:
                    raise
        return tuple(values)
    except OSError as error:
        if error.errno in _UNSUPPORTED:
            return None
        raise


def write_xattrs(where: Where, want: Xattrs, have: Xattrs | None, *,
                 follow: bool = False) -> None:
    """Make `where`'s kept attributes exactly `want` (`have`: what it holds now);
    `follow` for a /proc/self/fd path."""
    if not want and not have:
        return
    wanted = dict(want)
    for name, _value in have or ():
        if name not in wanted:
            os.removexattr(where, name, follow_symlinks=follow)
    current = dict(have or ())
    for name, value in want:
        if current.get(name) != value:
            os.setxattr(where, name, value, follow_symlinks=follow)
