"""Atomic output: write under a temporary name, rename into place.

A crash or ``kill -9`` at any moment leaves either the previous complete output or none, plus a
dot-named temporary that the next write of the same output removes (its process is gone), never a
half-written file under the final name. Temporaries carry the host name and process id of their
writer (``.name.tmp-HOST-PID``): on shared storage only the writer's own host can tell whether that
process still runs, so other hosts leave them alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_dir", "clear_stale_in", "write_bytes_atomic", "write_json_atomic"]


_HOST = re.sub(r"[^A-Za-z0-9_.]+", "_", socket.gethostname()) or "host"


def _temp_sibling(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}-{_HOST}-{os.getpid()}")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, killed but not reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    try:  # Linux: a killed worker whose parent died too may linger as a zombie where nothing reaps it
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _clear_stale(path: Path) -> None:
    """Remove the temporaries that writers of ``path`` left when they were killed (their process is gone)."""
    prefix = f".{path.name}."
    if not path.parent.is_dir():
        return
    for sibling in path.parent.iterdir():
        rest = sibling.name[len(prefix):] if sibling.name.startswith(prefix) else ""
        tag, _, writer = rest.partition("-")
        host, _, pid = writer.rpartition("-")
        if tag not in ("tmp", "old") or not pid.isdigit() or host not in ("", _HOST):
            continue  # not a temporary, or another host's: only that host can tell if its writer lives
        if int(pid) != os.getpid() and _alive(int(pid)):
            continue
        if sibling.is_dir() and not sibling.is_symlink():
            shutil.rmtree(sibling, ignore_errors=True)
        else:
            sibling.unlink(missing_ok=True)


def write_bytes_atomic(path: Path, data: bytes, *, many: bool = False) -> None:
    """Write ``data`` to ``path`` via a temporary file, fsync, and an atomic rename.

    ``many``: one of many files written into one folder (a report's pages, manifests): the folder is
    not scanned for a killed writer's temporaries at each write (the caller does it once per folder,
    ``clear_stale_in``: scanning at every write costs n² in a folder of n files) and the file is not
    fsync'd (files that can be made again; a reader never sees a half-written one all the same)."""
    if not many:
        path.parent.mkdir(parents=True, exist_ok=True)
        _clear_stale(path)
    tmp = _temp_sibling(path, "tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        if not many:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def clear_stale_in(folder: Path) -> None:
    """Create ``folder`` if needed and remove every temporary that a killed writer left in it (one scan),
    before many ``write_bytes_atomic(..., many=True)`` calls."""
    folder.mkdir(parents=True, exist_ok=True)
    for sibling in folder.iterdir():
        name = sibling.name
        if not name.startswith(".") or (".tmp-" not in name and ".old-" not in name):
            continue
        _clear_stale(folder / name[1:name.rindex(".tmp-" if ".tmp-" in name else ".old-")])


def write_json_atomic(path: Path, payload: Any, *, many: bool = False) -> None:
    write_bytes_atomic(path, (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode("utf-8"), many=many)


@contextlib.contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield an empty temporary folder; on success it replaces ``final``, on error it is removed."""
    final.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale(final)
    tmp = _temp_sibling(final, "tmp")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = _temp_sibling(final, "old")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
