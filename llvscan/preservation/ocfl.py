"""An OCFL 1.1 storage root of a run: one object per asset, a new version whenever the asset's content changes.

``export_ocfl`` writes or updates the storage root at ``dest`` through ocfl-py (the reference implementation
of the OCFL validator). Each asset is the object ``urn:uuid:<asset id>`` whose logical content is:

- ``sources/<rel_path>``: the asset's source files, copied from the collection root (their sha256 must still
  be the one the catalog recorded, else the asset is left out and reported: rerun llvscan first);
- ``derivatives/<path>``: every output the catalog lists (a tile set file by file), checked the same way;
- ``metadata/premis.xml``, ``metadata/mets.xml``: ``premis_document`` and ``mets_document`` of its rows;
- ``metadata/catalog.json``: its rows (asset, files, derivatives, events, findings) as JSON.

**Layout**: extension 0003 (hash and id n-tuple): objects lie at ``abc/def/ghi/<percent-encoded id>/``,
where ``abcdefghi…`` is the sha256 of the id. The tree fans out evenly for millions of assets (0002 flat-direct
would put every object in one folder) and the directory name keeps the id readable, with ``:`` encoded so the
root can be copied to file systems that refuse it.

**Versions**: the sha512 of every logical file (computed while the source is checked against its sha256: one
read) is compared with the head version's state in the object's inventory; only a difference adds a version.
Because the PREMIS/METS documents are functions of the rows (no clock), an asset a rerun left alone gives
the same bytes and no new version; ocfl-py stores only the new or changed files (forward delta).

**Atomicity**: a version is built in a staging folder inside the root (``extensions/llvscan-staging/``, which
validators skip): a new object is created there whole; an existing object is first mirrored there (hard links
for its immutable version folders, copies of its root inventory, which ocfl-py rewrites) and ocfl-py adds the
version to the mirror. The finished object then replaces the live one with two renames (live → staging,
mirror → live). A reader thus sees the old object or the new one, never a half-written one; between the two
renames, and only there, the object is absent. An export that dies leaves its staging folder; the next export
restores any object the crash left absent (from the folder's ``old``) and removes the rest, then continues:
assets already exported are unchanged and left alone. One export at a time per root (an advisory lock).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from llvscan import __version__
from llvscan._constants import CATALOG_NAME
from llvscan._json import JsonResult
from llvscan._paths import inside
from llvscan.catalog.db import Catalog
from llvscan.catalog.rows import AssetRow, DerivativeRow, FileRow
from llvscan.errors import CatalogError, InvalidParameterError, MissingDependencyError, OutputError
from llvscan.preservation._package import asset_documents, chosen_assets

__all__ = ["OCFL_LAYOUT", "OcflExport", "OcflValidation", "export_ocfl", "validate_ocfl"]

log = logging.getLogger(__name__)

#: The storage layout extension of a root ``export_ocfl`` creates (an existing root keeps its own).
OCFL_LAYOUT = "0003-hash-and-id-n-tuple-storage-layout"
_STAGING = "extensions/llvscan-staging"
_CHUNK = 4 << 20


@dataclass(frozen=True)
class OcflExport(JsonResult):
    dest: str
    objects_created: int
    versions_added: int  # versions added to existing objects (a created object's v1 is not counted)
    unchanged: int
    seconds: float
    problems: list[str] = field(default_factory=list)  # assets left out or left as they were, and why


@dataclass(frozen=True)
class OcflValidation(JsonResult):
    _json_properties: ClassVar[tuple[str, ...]] = ("is_valid",)

    dest: str
    objects_checked: int
    valid_objects: int
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors


def _ocfl() -> Any:
    """ocfl-py, imported without letting it configure the process's logging: its import calls
    ``logging.basicConfig(level=INFO)``, which would print every library's INFO records on stderr."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        import ocfl
    except ImportError as exc:
        raise MissingDependencyError("the OCFL export needs ocfl-py: pip install 'ocfl-py>=2.1'",
                                     detail=str(exc)) from exc
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return ocfl


# -- the content of an object ---------------------------------------------------------------------------------
@dataclass
class _Content:
    """An object's logical state: each logical path → (sha512, a file to copy or bytes to write)."""

    files: dict[str, tuple[str, Path | bytes]] = field(default_factory=dict)

    def state(self) -> dict[str, str]:
        return {path: digest for path, (digest, _) in self.files.items()}


class _Skip(Exception):
    """This asset cannot be exported now; the message says why."""


def _digests(path: Path) -> tuple[str, str]:
    """(sha256, sha512) of a file, in one read."""
    sha256, sha512 = hashlib.sha256(), hashlib.sha512()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            sha256.update(block)
            sha512.update(block)
    return sha256.hexdigest(), sha512.hexdigest()


def _logical(prefix: str, rel: str) -> str:
    parts = rel.replace("\\", "/").split("/")
    if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise _Skip(f"{rel!r} is not a plain relative path")
    return prefix + "/".join(parts)


def _add_sources(content: _Content, root: Path, files: list[FileRow]) -> None:
    for f in files:
        path = (root / f.rel_path).resolve()
        if not inside(path, root) or not path.is_file():
            raise _Skip(f"source {f.rel_path}: missing from the collection root")
        sha256, sha512 = _digests(path)
        if sha256 != f.sha256:
            raise _Skip(f"source {f.rel_path}: changed since the catalog recorded it; rerun llvscan first")
        content.files[_logical("sources/", f.rel_path)] = (sha512, path)


def _add_derivatives(content: _Content, out: Path, derivatives: list[DerivativeRow]) -> None:
    for d in derivatives:
        path = out / d.path
        if path.is_symlink() or not inside(path.resolve(), out):
            raise _Skip(f"output {d.path}: a link or outside the output folder")
        if path.is_file():
            sha256, sha512 = _digests(path)
            if sha256 != d.sha256:
                raise _Skip(f"output {d.path}: altered since the run (catalog verify shows it); rerun llvscan")
            content.files[_logical("derivatives/", d.path)] = (sha512, path)
        elif path.is_dir():  # a tile set: its row holds the sha256 of its sorted "relpath sha256" manifest
            lines = []
            for member in sorted(p for p in path.rglob("*") if p.is_file() or p.is_symlink()):
                rel = member.relative_to(path).as_posix()
                if member.is_symlink():
                    raise _Skip(f"output {d.path}/{rel}: a link")
                sha256, sha512 = _digests(member)
                lines.append(f"{rel} {sha256}\n")
                content.files[_logical("derivatives/", f"{d.path}/{rel}")] = (sha512, member)
            if hashlib.sha256("".join(lines).encode()).hexdigest() != d.sha256:
                raise _Skip(f"output {d.path}: altered since the run (catalog verify shows it); rerun llvscan")
        else:
            raise _Skip(f"output {d.path}: missing from the output folder")


def _add_bytes(content: _Content, logical: str, data: bytes) -> None:
    content.files[logical] = (hashlib.sha512(data).hexdigest(), data)


def _asset_content(catalog: Catalog, asset: AssetRow, root: Path, out: Path) -> _Content:
    files, derivatives = catalog.files(asset.id), catalog.derivatives(asset.id)
    events, findings = catalog.events(asset.id), catalog.findings(asset.id)
    content = _Content()
    _add_sources(content, root, files)
    _add_derivatives(content, out, derivatives)
    premis, mets = asset_documents(asset, files, derivatives, events, source_prefix="sources/",
                                   derivative_prefix="derivatives/")
    _add_bytes(content, "metadata/premis.xml", premis)
    _add_bytes(content, "metadata/mets.xml", mets)
    rows = {"asset": asset.to_dict(), "files": [f.to_dict() for f in files],
            "derivatives": [d.to_dict() for d in derivatives], "events": [e.to_dict() for e in events],
            "findings": [f.to_dict() for f in findings]}
    text = json.dumps(rows, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    _add_bytes(content, "metadata/catalog.json", text.encode("utf-8"))
    return content


def _head_state(objdir: Path) -> dict[str, str] | None:
    """The head version's logical path → sha512 (None when the inventory is unreadable or not sha512)."""
    try:
        inventory = json.loads((objdir / "inventory.json").read_text(encoding="utf-8"))
        if inventory.get("digestAlgorithm") != "sha512":
            return None
        state = inventory["versions"][inventory["head"]]["state"]
        return {path: digest.lower() for digest, paths in state.items() for path in paths}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


# -- staging and publishing ---------------------------------------------------------------------------------
def _fill_source(content: _Content, src: Path) -> None:
    """Lay the logical state out as a folder for ocfl-py: hard links to the files where possible."""
    for logical, (_, origin) in content.files.items():
        target = src / logical
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(origin, bytes):
            target.write_bytes(origin)
            continue
        try:
            os.link(origin, target)
        except OSError:  # another file system, or links refused
            shutil.copyfile(origin, target)


def _mirror(live: Path, mirror: Path) -> None:
    """A copy of the object ``live`` that ocfl-py may extend: version folders hard-linked (OCFL never changes
    them), the root's files copied (ocfl-py rewrites the root inventory in place)."""
    mirror.mkdir()
    for entry in live.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, mirror / entry.name, copy_function=_link_or_copy)
        else:
            shutil.copy2(entry, mirror / entry.name)


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _publish(staged: Path, live: Path, old: Path) -> None:
    """Put the finished object ``staged`` in place of ``live`` (if any) with renames."""
    if live.exists():
        os.rename(live, old)
    else:
        live.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staged, live)


def _recover(root: Path) -> list[str]:
    """Undo what a killed export left: restore each object that is absent from its place (moved to its staging
    folder's ``old`` just before the crash) and remove the staging folders."""
    notes: list[str] = []
    staging = root / _STAGING
    if not staging.is_dir():
        return notes
    for work in sorted(p for p in staging.iterdir() if p.is_dir()):
        try:
            target = root / (work / "target").read_text(encoding="utf-8")
        except OSError:
            target = None
        if target is not None and (work / "old").is_dir() and not target.exists():
            os.rename(work / "old", target)
            notes.append(f"{target.relative_to(root)}: restored after an interrupted export")
        shutil.rmtree(work, ignore_errors=True)
        if target is not None and not target.exists():
            _prune(target.parent, root)  # the empty tuple folders made for an object never published
    return notes


def _prune(folder: Path, root: Path) -> None:
    while folder != root and inside(folder, root) and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[Path]:
    """The staging folder of ``root``, held by this export alone (an advisory lock); removed afterwards."""
    staging = root / _STAGING
    staging.mkdir(parents=True, exist_ok=True)
    lock = (staging / "lock").open("a")
    try:
        import fcntl

        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # not POSIX: no lock
        pass
    except OSError as exc:
        lock.close()
        raise OutputError("another export is writing this OCFL root; wait for it to finish", path=root,
                          detail=str(exc)) from exc
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # a killed export leaves it: the next one recovers from it
        lock.close()


def _open_root(dest: Path) -> Any:
    """The ocfl.StorageRoot at ``dest``, created (atomically, with layout 0003) when absent or empty."""
    ocfl = _ocfl()
    if dest.exists() and not dest.is_dir():
        raise InvalidParameterError("the OCFL destination is an existing file; choose a folder", path=dest)
    if not dest.exists() or not any(dest.iterdir()):
        tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            ocfl.StorageRoot(str(tmp), layout_name=OCFL_LAYOUT).initialize(spec_version="1.1")
            os.replace(tmp, dest)  # onto an empty folder or none
        except (OSError, ocfl.StorageRootException) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise OutputError("cannot create the OCFL storage root", path=dest, detail=str(exc)) from exc
    if not any(p.name.startswith("0=ocfl_") for p in dest.iterdir()):
        raise InvalidParameterError("the destination is neither empty nor an OCFL storage root (no 0=ocfl_1.x "
                                    "declaration); choose an empty folder or an existing root", path=dest)
    store = ocfl.StorageRoot(str(dest))
    try:
        store.open_root_fs()
        store.check_root_structure()
    except ocfl.StorageRootException as exc:
        raise InvalidParameterError("not a usable OCFL storage root", path=dest, detail=str(exc)) from exc
    if store.layout is None:
        raise InvalidParameterError("the OCFL storage root declares no storage layout (ocfl_layout.json); "
                                    "llvscan cannot tell where objects go", path=dest)
    return store


def _catalog_paths(source: Path) -> tuple[Path, Path]:
    """(catalog file, output folder) of a catalog file or a run's output folder."""
    db = source if source.is_file() else source / CATALOG_NAME
    if not db.is_file():
        raise CatalogError("no catalog here: run `llvscan run COLLECTION --out DIR` first", path=db)
    return db, db.parent


def export_ocfl(catalog_path_or_out_dir: str | os.PathLike[str], collection_root: str | os.PathLike[str],
                dest: str | os.PathLike[str], *, assets: Iterable[str] | None = None,
                user_address: str | None = None) -> OcflExport:
    """Write or update the OCFL 1.1 storage root ``dest`` from a run's catalog (see the module docstring).

    ``assets``: asset ids or collection paths to export (default: every asset the catalog holds). Assets
    marked missing, and assets whose files no longer match the catalog, are left as they are and reported
    in ``problems``. A rerun after an interruption continues where it stopped. ``user_address``: a URI for the
    versions' user (llvscan); OCFL validators warn (W008) when there is none.
    """
    started = time.perf_counter()
    ocfl = _ocfl()
    db, out = _catalog_paths(Path(catalog_path_or_out_dir).resolve())
    root = Path(collection_root).resolve()
    target = Path(dest).resolve()
    if not root.is_dir():
        raise InvalidParameterError("the collection root is not a folder", path=root)
    if inside(target, out) or inside(target, root) or inside(out, target) or inside(root, target):
        raise InvalidParameterError("the OCFL root must lie outside the output folder and the collection, "
                                    "and contain neither", path=target)
    store = _open_root(target)
    created = versions = unchanged = 0
    problems: list[str] = []
    with Catalog(db, readonly=True) as catalog, _locked(target) as staging:
        for note in _recover(target):  # what a killed export left
            log.warning("%s", note)
        runs = catalog.runs()
        run_id = runs[-1].id if runs else None
        for asset in chosen_assets(catalog.assets(), assets):
            if asset.status == "missing":
                problems.append(f"{asset.rel_path}: missing from the collection; its object is left as it is")
                continue
            identifier = f"urn:uuid:{asset.id}"
            live = target / store.object_path(identifier)
            try:
                content = _asset_content(catalog, asset, root, out)
            except (_Skip, OSError) as exc:
                problems.append(f"{asset.rel_path}: {exc}; its object is left as it is")
                continue
            exists = (live / "inventory.json").is_file()
            if not exists and (live.exists() or live.is_symlink()):
                problems.append(f"{asset.rel_path}: {live.relative_to(target)} exists but holds no OCFL object "
                                "(no inventory.json); move it away and export again")
                continue
            if exists and _head_state(live) == content.state():
                unchanged += 1
                continue
            work = staging / uuid.uuid4().hex
            work.mkdir()
            (work / "target").write_text(live.relative_to(target).as_posix(), encoding="utf-8")
            metadata = ocfl.VersionMetadata(
                created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), name=f"llvscan {__version__}",
                address=user_address,
                message=f"llvscan {__version__}, run {run_id}: {asset.rel_path}")
            try:
                _fill_source(content, work / "src")
                obj = ocfl.Object(identifier=identifier)
                if exists:
                    _mirror(live, work / "obj")
                    obj.add_version_with_content(objdir=str(work / "obj"), srcdir=str(work / "src"),
                                                 metadata=metadata)
                else:
                    obj.create(srcdir=str(work / "src"), metadata=metadata, objdir=str(work / "obj"))
                _publish(work / "obj", live, work / "old")
            except ocfl.ObjectException as exc:
                problems.append(f"{asset.rel_path}: its OCFL object at {live.relative_to(target)} cannot be "
                                f"updated ({exc}); it is left as it is")
                continue
            except OSError as exc:
                raise OutputError(f"cannot write the OCFL object of {asset.rel_path}", path=live,
                                  detail=str(exc)) from exc
            finally:
                if (work / "old").is_dir() and not live.exists():  # failed between the two renames
                    os.rename(work / "old", live)
                shutil.rmtree(work, ignore_errors=True)
            if exists:
                versions += 1
            else:
                created += 1
            log.info("%s: %s", asset.rel_path, "new version" if exists else "object created")
    return OcflExport(str(target), created, versions, unchanged, round(time.perf_counter() - started, 3), problems)


# -- validation -------------------------------------------------------------------------------------------------
def validate_ocfl(dest: str | os.PathLike[str], *, check_digests: bool = True) -> OcflValidation:
    """Validate the storage root ``dest`` and every object in it with ocfl-py's validator (digests of every
    content file recomputed unless ``check_digests`` is False). Raises only when ``dest`` is not a folder."""
    ocfl = _ocfl()
    root = Path(dest).resolve()
    if not root.is_dir():
        raise InvalidParameterError("no OCFL storage root here: not a folder", path=root)
    store = ocfl.StorageRoot(str(root))
    store.validate(validate_objects=True, check_digests=check_digests, log_warnings=True, log_errors=True,
                   max_errors=10_000)
    errors: list[str] = []
    warnings: list[str] = []

    def sort(line: str, where: str = "") -> None:
        line = line.strip()
        if line:
            (warnings if line.startswith("[W") else errors).append(where + line)

    for message in store.log.messages if store.log is not None else []:
        sort(message)
    for dirpath, messages in store.errors:  # each object's messages, "[[path]][E…] …" a line
        prefix = f"[[{dirpath}]]"
        for line in str(messages).splitlines():
            sort(line.removeprefix(prefix), f"{dirpath}: ")
    if store.good_objects != store.num_objects and not errors:
        errors.append(f"{store.num_objects - store.good_objects} object(s) invalid")
    return OcflValidation(str(root), store.num_objects, store.good_objects, errors, warnings)
