"""A preservation bag: a BagIt bag of a run's assets, whole — sources, derivatives, PREMIS, METS — and its catalog.

``write_preservation_bag`` lays the payload out per asset, in the folder name the run gives the asset's outputs
(``<file stem>-<first 8 characters of its id>``)::

    data/catalog.sqlite                       a consistent copy of the catalog (SQLite backup API)
    data/<asset>/sources/<rel_path>           each source file, copied from the collection root
    data/<asset>/derivatives/<output path>    each output, at its path in the output folder (assets/…, iiif/…)
    data/<asset>/premis.xml                   PREMIS 3 (``premis_document``)
    data/<asset>/mets.xml                     METS, FLocat URLs relative to data/ (``mets_document``)

An asset goes in whole and as the catalog describes it, or not at all: a source whose SHA-256 differs from the
catalog's (changed since the run), a missing file, a path that leaves the collection root or the output
folder, or a name the BagIt manifests cannot carry, leaves the asset out with a ``BagProblem`` (or raises,
``strict=True``); the catalog copy still describes it. The bag declares the profile shipped beside this module
(``bagit-profile.json``, identifier ``PROFILE_IDENTIFIER``; no network is used: bags are checked against the
local copy). The bag is built in a temporary sibling of ``dest``, validated in full, then renamed into place:
an interrupted or failed export leaves the previous bag (or none), never half of one.

bagit's ``make_bag`` changes the working directory while it runs: do not make bags from two threads at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from llvscan import __version__
from llvscan._constants import CATALOG_NAME
from llvscan._json import JsonResult
from llvscan._paths import inside, slug, tree_digest
from llvscan._publish import atomic_dir
from llvscan.catalog.db import Catalog, copy_catalog
from llvscan.catalog.rows import AssetRow, DerivativeRow, EventRow, FileRow
from llvscan.errors import (
    AssetReadError,
    CatalogError,
    InvalidParameterError,
    MissingDependencyError,
    OutputError,
)
from llvscan.preservation._package import asset_documents, chosen_assets

__all__ = [
    "PROFILE_IDENTIFIER",
    "PROFILE_PATH",
    "BagProblem",
    "BagValidation",
    "PreservationBag",
    "load_profile",
    "validate_preservation_bag",
    "write_preservation_bag",
]

log = logging.getLogger(__name__)

#: The URI llvscan's bags name in ``BagIt-Profile-Identifier``: the profile's own identifier. Nothing is
#: fetched from it; the profile ships as ``PROFILE_PATH``.
PROFILE_IDENTIFIER = "https://llvscan.example/bagit-profile/v1.json"
PROFILE_PATH = Path(__file__).with_name("bagit-profile.json")

_CHUNK = 4 << 20
_OUTPUT_TREES = ("assets", "iiif")
# bagit-python writes a name's CR/LF as %0D/%0A in manifests and reads every %0D/%0A back as CR/LF, so a name
# that holds those three characters literally cannot round-trip (it does not escape "%" itself)
_UNREPRESENTABLE = re.compile("%0[ad]", re.IGNORECASE)


@dataclass(frozen=True)
class BagProblem(JsonResult):
    """Why an asset was left out of the bag."""

    asset_id: str
    path: str  # the file concerned: a source's path in the collection, or an output's in the output folder
    problem: str  # changed | missing | unsafe | unreadable | unrepresentable
    message: str


@dataclass(frozen=True)
class PreservationBag(JsonResult):
    dest: str
    assets: int  # assets in the bag
    files: int  # payload files (data/…)
    bytes: int  # payload bytes
    seconds: float
    problems: list[BagProblem] = field(default_factory=list)  # assets left out, and why


@dataclass(frozen=True)
class BagValidation(JsonResult):
    """A bag checked in full (every checksum of every manifest) and against llvscan's BagIt profile."""

    _json_properties: ClassVar[tuple[str, ...]] = ("is_valid",)

    path: str
    errors: list[str] = field(default_factory=list)  # BagIt: structure, completeness, checksums
    profile_errors: list[str] = field(default_factory=list)  # the profile (bagit-profile) and the catalog copy

    @property
    def is_valid(self) -> bool:
        return not self.errors and not self.profile_errors


class _Skip(Exception):
    def __init__(self, problem: BagProblem, text: str, file: Path):
        super().__init__(problem.message)
        self.problem = problem
        self.text = text  # the message without the path
        self.file = file  # the file concerned, in full


def load_profile() -> dict[str, Any]:
    """llvscan's BagIt profile (a fresh dict each call: bagit-profile fills in defaults in place)."""
    profile: dict[str, Any] = json.loads(PROFILE_PATH.read_text(encoding="utf-8"))
    return profile


def _require_bagit() -> Any:
    try:
        import bagit
    except ImportError as exc:
        raise MissingDependencyError("preservation bags need bagit: pip install bagit", detail=str(exc)) from exc
    return bagit


def _require_profile() -> Any:
    try:
        import bagit_profile
    except ImportError as exc:
        raise MissingDependencyError("checking a bag's profile needs bagit-profile: pip install bagit-profile",
                                     detail=str(exc)) from exc
    return bagit_profile


# -- copying --------------------------------------------------------------------------------------------------
def _copy_hashed(src: Path, dst: Path) -> str:
    """Copy ``src`` to ``dst`` (its modification time kept) and return the SHA-256 of what was copied: the
    bytes are read once, so what is checked is what lands in the bag."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with src.open("rb") as fin, dst.open("wb") as fout:
        while block := fin.read(_CHUNK):
            digest.update(block)
            fout.write(block)
    stat = src.stat()
    os.utime(dst, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return digest.hexdigest()


def _bag_name(asset: AssetRow, taken: set[str]) -> str:
    """The asset's folder in the bag: the name of its output folder, or its whole id should that be taken."""
    name = f"{slug(Path(asset.rel_path).stem)}-{asset.id[:8]}"
    if name in taken:
        name = f"{slug(Path(asset.rel_path).stem)}-{asset.id}"
    taken.add(name)
    return name


def _skip(asset: AssetRow, path: str, problem: str, message: str, base: Path) -> _Skip:
    return _Skip(BagProblem(asset.id, path, problem, f"{path}: {message}"), message, base / path)


def _check_name(asset: AssetRow, path: str, in_bag: str, base: Path) -> None:
    if _UNREPRESENTABLE.search(in_bag):
        raise _skip(asset, path, "unrepresentable", "the name holds '%0A' or '%0D', which bagit's manifests "
                    "cannot carry; rename the file and rerun llvscan", base)


def _add_source(asset: AssetRow, f: FileRow, root: Path, base: Path, folder: str) -> None:
    rel = f.rel_path
    if Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise _skip(asset, rel, "unsafe", "the path leaves the collection root", root)
    _check_name(asset, rel, f"{folder}/sources/{rel}", root)
    src = (root / rel).resolve()
    if not inside(src, root):
        raise _skip(asset, rel, "unsafe", "the file resolves outside the collection root", root)
    if not src.is_file():
        raise _skip(asset, rel, "missing", "the source file is gone; rerun llvscan to record it as missing", root)
    try:
        actual = _copy_hashed(src, base / "sources" / rel)
    except OSError as exc:
        raise _skip(asset, rel, "unreadable", f"cannot be copied ({exc.strerror or exc})", root) from exc
    if actual != f.sha256:
        raise _skip(asset, rel, "changed", f"changed since the run (SHA-256 {actual}, the catalog has {f.sha256}); "
                    "rerun llvscan on the collection, then export again", root)


def _add_derivative(asset: AssetRow, d: DerivativeRow, out: Path, base: Path, folder: str) -> None:
    _check_name(asset, d.path, f"{folder}/derivatives/{d.path}", out)
    src = (out / d.path).resolve()
    if Path(d.path).is_absolute() or not inside(src, out):
        raise _skip(asset, d.path, "unsafe", "the output resolves outside the output folder", out)
    target = base / "derivatives" / d.path
    try:
        if src.is_file():
            actual = _copy_hashed(src, target)
        elif src.is_dir():
            shutil.copytree(src, target, symlinks=False)
            actual = tree_digest(target)[0]
        else:
            raise _skip(asset, d.path, "missing", "no such output; rerun llvscan to make it again", out)
    except OSError as exc:
        raise _skip(asset, d.path, "unreadable", f"cannot be copied ({exc.strerror or exc})", out) from exc
    if actual != d.sha256:
        raise _skip(asset, d.path, "changed", "the output changed since the run (see `llvscan catalog verify`); "
                    "rerun llvscan, then export again", out)


def _add_asset(asset: AssetRow, files: list[FileRow], derivatives: list[DerivativeRow], events: list[EventRow],
               *, root: Path, out: Path, tmp: Path, folder: str) -> None:
    base = tmp / folder
    try:
        for f in files:
            _add_source(asset, f, root, base, folder)
        for d in derivatives:
            _add_derivative(asset, d, out, base, folder)
        try:
            premis, mets = asset_documents(asset, files, derivatives, events, source_prefix=f"{folder}/sources/",
                                           derivative_prefix=f"{folder}/derivatives/")
        except InvalidParameterError as exc:
            raise _skip(asset, asset.rel_path, "unrepresentable", f"no METS document: {exc}", root) from exc
        base.mkdir(parents=True, exist_ok=True)
        (base / "premis.xml").write_bytes(premis)
        (base / "mets.xml").write_bytes(mets)
    except _Skip:
        shutil.rmtree(base, ignore_errors=True)
        raise


# -- entry points ---------------------------------------------------------------------------------------------
def _check_dest(out: Path, root: Path, dest: Path) -> None:
    for folder, what in ((out, "output folder"), (root, "collection root")):
        if dest == folder or inside(folder, dest):
            raise InvalidParameterError(f"the bag must not be the {what} or contain it (it is replaced as a "
                                        "whole): choose a new folder", path=dest)
    if inside(dest, root):
        raise InvalidParameterError("the bag must not lie inside the collection root (the next run would take "
                                    "its files for assets): choose a folder outside it", path=dest)
    for tree in _OUTPUT_TREES:
        if inside(dest, out / tree):
            raise InvalidParameterError(f"the bag must not lie inside the run's {tree}/ tree; choose a folder "
                                        "outside it", path=dest)
    if dest.exists() and not dest.is_dir():
        raise InvalidParameterError("the bag's destination is an existing file; choose a folder", path=dest)


def write_preservation_bag(out_dir: str | os.PathLike[str], collection_root: str | os.PathLike[str],
                           dest: str | os.PathLike[str], *, assets: Iterable[str] | None = None,
                           source_organization: str | None = None, external_identifier: str | None = None,
                           strict: bool = False) -> PreservationBag:
    """Write a preservation bag of the run in ``out_dir`` (over the collection at ``collection_root``) to
    ``dest``, replacing a bag there only once the new one is complete and valid.

    ``assets``: the asset ids or collection paths to include (default: every asset of the catalog).
    ``source_organization``: the bag-info ``Source-Organization`` (none when not given).
    ``external_identifier``: the bag-info ``External-Identifier``; default a UUID URN derived from the run and the
    assets included. ``strict``: raise ``AssetReadError`` on the first asset that cannot go in whole, instead of
    leaving it out with a ``BagProblem``. Manifests: SHA-256 and SHA-512, payload and tags.
    """
    started = time.perf_counter()
    out, root, target = Path(out_dir).resolve(), Path(collection_root).resolve(), Path(dest).resolve()
    db = out / CATALOG_NAME
    if not db.is_file():
        raise CatalogError("no catalog here: run `llvscan run COLLECTION --out DIR` first", path=db)
    if not root.is_dir():
        raise InvalidParameterError("the collection root is not a folder", path=root)
    _check_dest(out, root, target)
    bagit = _require_bagit()
    _require_profile()
    with Catalog(db, readonly=True):  # its schema is one this llvscan reads, before anything is created
        pass
    problems: list[BagProblem] = []
    included: list[str] = []
    try:
        with atomic_dir(target) as tmp:
            copy_catalog(db, tmp / CATALOG_NAME)
            with Catalog(tmp / CATALOG_NAME, readonly=True) as catalog:  # the snapshot the bag carries
                rows = chosen_assets(catalog.assets(), assets)
                files: dict[str, list[FileRow]] = defaultdict(list)
                derivatives: dict[str, list[DerivativeRow]] = defaultdict(list)
                events: dict[str, list[EventRow]] = defaultdict(list)
                for f in catalog.files():
                    files[f.asset_id].append(f)
                for d in catalog.derivatives():
                    derivatives[d.asset_id].append(d)
                for e in catalog.events():
                    events[e.asset_id].append(e)
                runs = catalog.runs()
            taken: set[str] = set()
            for asset in rows:
                t0 = time.perf_counter()
                folder = _bag_name(asset, taken)
                try:
                    _add_asset(asset, files[asset.id], derivatives[asset.id], events[asset.id],
                               root=root, out=out, tmp=tmp, folder=folder)
                except _Skip as skip:
                    if strict:
                        raise AssetReadError(skip.text, path=skip.file) from skip
                    log.warning("left out of the bag: %s", skip.problem.message)
                    problems.append(skip.problem)
                    continue
                included.append(asset.id)
                log.debug("bagged %s in %.3f s", asset.rel_path, time.perf_counter() - t0)
            last = runs[-1] if runs else None
            seed = f"llvscan:{last.collection}:{last.id}:{last.started_at}" if last else f"llvscan:{out}"
            identifier = external_identifier or \
                f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, seed + ':' + ','.join(sorted(included)))}"
            info = {
                "Bagging-Date": dt.datetime.now(dt.UTC).date().isoformat(),
                "Bag-Software-Agent": f"llvscan {__version__}",
                "BagIt-Profile-Identifier": PROFILE_IDENTIFIER,
                "External-Identifier": identifier,
                "External-Description": f"llvscan preservation bag: {len(included)} assets with their sources, "
                                        "derivatives, PREMIS and METS, and the run's catalog",
            }
            if source_organization:
                info["Source-Organization"] = source_organization
            try:
                bag = bagit.make_bag(str(tmp), info, processes=1, checksums=["sha256", "sha512"])
            except (bagit.BagError, OSError) as exc:
                raise OutputError("cannot make the bag", path=target, detail=str(exc)) from exc
            check = validate_preservation_bag(tmp)
            if not check.is_valid:
                raise OutputError("the new bag does not validate, so the previous one is kept",
                                  path=target, detail="; ".join([*check.errors, *check.profile_errors][:5]))
            size, _, count = str(bag.info["Payload-Oxum"]).partition(".")
    except PermissionError as exc:
        raise OutputError("cannot write the bag", path=target, detail=str(exc)) from exc
    seconds = round(time.perf_counter() - started, 3)
    log.info("bagged %d assets of %s into %s in %.1f s (%d left out)", len(included), out, target, seconds,
             len(problems))
    return PreservationBag(str(target), len(included), int(count), int(size), seconds, problems)


def validate_preservation_bag(dest: str | os.PathLike[str]) -> BagValidation:
    """Check the bag at ``dest``: BagIt in full (every file against every manifest, so a changed byte is found
    even when the size is unchanged) and llvscan's profile (bag-info tags, manifest algorithms, tag files, no
    fetch.txt, not serialised, BagIt version) through bagit-profile, plus the one rule a profile cannot say:
    the payload holds the catalog copy. Raises ``AssetReadError`` only when ``dest`` is not a folder."""
    path = Path(dest)
    if not path.is_dir():
        raise AssetReadError("no bag here: not a folder", path=path)
    bagit = _require_bagit()
    bagit_profile = _require_profile()
    try:
        bag = bagit.Bag(str(path))
    except bagit.BagError as exc:
        return BagValidation(str(path), [f"not a bag: {exc}"], [])
    errors: list[str] = []
    try:
        bag.validate(processes=1, fast=False)
    except bagit.BagValidationError as exc:
        errors = [str(d) for d in exc.details] or [str(exc)]
    except bagit.BagError as exc:
        errors = [str(exc)]
    profile = bagit_profile.Profile(PROFILE_IDENTIFIER, profile=load_profile())
    profile_errors: list[str] = []
    try:
        profile.validate_serialization(str(path))
    except bagit_profile.ProfileValidationError as exc:
        profile_errors.append(str(exc.value))
    profile.validate(bag)
    profile_errors += [str(getattr(e, "value", e)) for e in profile.report.errors]
    if not (path / "data" / CATALOG_NAME).is_file():
        profile_errors.append(f"data/{CATALOG_NAME}: missing; an llvscan bag carries its catalog")
    return BagValidation(str(path), errors, profile_errors)
