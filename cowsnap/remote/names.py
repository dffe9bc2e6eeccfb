"""Remotes by name (`[remote.NAME]` in config.toml) or by URL, and editing that file.

`cowsnap remote add` appends a table and `remove` deletes the lines of the table
it wrote, leaving the rest of the file (comments included) as it was.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cowsnap.config import REMOTE_NAME, Config, config_path, load_config, parse_config
from cowsnap.errors import ConfigError, RemoteError, UsageError
from cowsnap.store.atomic import write_atomic

_SCP_LIKE = re.compile(r"[^/:]+:.*")
"""`user@host:path` (git's scp-like ssh syntax)."""


@dataclass(frozen=True)
class Remote:
    url: str
    name: str | None = None
    max_content: int | None = None

    @property
    def shown(self) -> str:
        return self.name or self.url


def looks_like_url(text: str) -> bool:
    return "://" in text or (bool(_SCP_LIKE.fullmatch(text)) and not text.startswith("/"))


def local_path(url: str) -> Path | None:
    """The directory of a file:// URL or plain path remote; None for a network one."""
    if url.startswith("file://"):
        return Path(unquote(urlsplit(url).path))
    if looks_like_url(url):
        return None
    return Path(url)


def find_remote(argument: str, config: Config | None = None) -> Remote | None:
    """The remote `argument` names: a configured name, a URL, or an existing directory
    (a bare repository); None when it is none of these."""
    remotes = (config or load_config()).remotes
    if argument in remotes:
        settings = remotes[argument]
        return Remote(url=settings.url, name=argument, max_content=settings.max_content)
    if looks_like_url(argument):
        return Remote(url=argument)
    if os.path.isdir(argument):
        return Remote(url=os.path.abspath(argument))
    return None


def resolve_remote(argument: str) -> Remote:
    found = find_remote(argument)
    if found is None:
        raise RemoteError(f"no remote named {argument!r} (see `cowsnap remote list`), and it "
                          f"is neither a URL nor a directory")
    return found


def default_remote(config: Config | None = None) -> Remote:
    """The only configured remote; a UsageError when there are none or several."""
    remotes = (config or load_config()).remotes
    if len(remotes) != 1:
        have = f"{len(remotes)} are configured" if remotes else "none is configured"
        raise UsageError(f"name the remote ({have}; `cowsnap remote add NAME URL`)")
    name = next(iter(remotes))
    return Remote(url=remotes[name].url, name=name, max_content=remotes[name].max_content)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None


def _write(path: Path, text: str) -> None:
    parse_config(text, str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text.encode())
    except OSError as error:
        raise ConfigError(f"cannot write {path}: {error.strerror}") from None


def add_remote(name: str, url: str) -> Path:
    """Add `[remote.NAME]` to config.toml; return the file's path."""
    if not REMOTE_NAME.fullmatch(name):
        raise UsageError(f"{name!r} is not a remote name (letters, digits, '.', '_', '-')")
    if not looks_like_url(url):
        if not os.path.isdir(url):
            raise UsageError(f"{url!r} is neither a URL nor a directory")
        url = os.path.abspath(url)
    path = config_path()
    text = _read(path)
    if name in parse_config(text, str(path)).remotes:
        raise UsageError(f"a remote named {name!r} exists already (in {path})")
    separator = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n")
                                                                else "\n\n")
    _write(path, f"{text}{separator}[remote.{name}]\nurl = {json.dumps(url)}\n")
    return path


def remove_remote(name: str) -> Path:
    """Delete the `[remote.NAME]` table from config.toml; return the file's path."""
    path = config_path()
    text = _read(path)
    if name not in parse_config(text, str(path)).remotes:
        raise UsageError(f"no remote named {name!r}")
    lines = text.splitlines(keepends=True)
    header = re.compile(rf"\s*\[\s*remote\.{re.escape(name)}\s*\]\s*(#.*)?")
    starts = [index for index, line in enumerate(lines) if header.fullmatch(line.rstrip("\n"))]
    if len(starts) != 1:
        raise ConfigError(f"{path}: cannot find the [remote.{name}] table to remove; "
                          f"edit the file by hand")
    end = starts[0] + 1
    while end < len(lines) and not lines[end].lstrip().startswith("["):
        end += 1
    _write(path, "".join(lines[:starts[0]] + lines[end:]))
    return path
