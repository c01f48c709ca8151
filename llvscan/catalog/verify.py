"""Fixity: recompute the checksum of every output a catalog lists and compare it with the record."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from llvscan._constants import CATALOG_NAME
from llvscan._json import JsonResult
from llvscan._paths import inside, sha256_file, tree_digest
from llvscan.catalog.db import Catalog
from llvscan.errors import CatalogError

__all__ = ["FixityProblem", "VerifyReport", "verify_outputs"]


@dataclass(frozen=True)
class FixityProblem(JsonResult):
    asset_id: str
    role: str
    path: str  # relative to the output folder (a source: to the collection root)
    problem: str  # "missing" | "altered" | "outside"
    expected_sha256: str
    actual_sha256: str | None = None


@dataclass(frozen=True)
class VerifyReport(JsonResult):
    _json_properties: ClassVar[tuple[str, ...]] = ("is_intact",)

    out_dir: str
    checked: int
    ok: int
    problems: list[FixityProblem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def is_intact(self) -> bool:
        return not self.problems


def verify_outputs(out_dir: str | Path, *, catalog_name: str = CATALOG_NAME, sources: bool = False) -> VerifyReport:
    """Recompute the sha256 of every derivative in ``out_dir``'s catalog: a file's own digest, a folder's
    manifest digest (as the run recorded them). Missing, altered and out-of-folder paths are reported.
    ``sources``: every source file too (role ``source:<role>``), under the collection its last run read."""
    started = time.perf_counter()
    out = Path(out_dir).resolve()
    db = out / catalog_name
    if not db.is_file():
        raise CatalogError("no catalog here: run `llvscan run COLLECTION --out DIR` first", path=db)
    with Catalog(db, readonly=True) as catalog:
        derivatives = catalog.derivatives()
        files = catalog.files() if sources else []
        runs = catalog.runs() if sources else []
    problems: list[FixityProblem] = []
    if files:
        root = Path(runs[-1].collection).resolve()
        for f in files:
            path = (root / f.rel_path).resolve()
            base = (f.asset_id, f"source:{f.role}", f.rel_path)
            if not inside(path, root):
                problems.append(FixityProblem(*base, "outside", f.sha256))
            elif not path.is_file():
                problems.append(FixityProblem(*base, "missing", f.sha256))
            elif (actual := sha256_file(path)) != f.sha256:
                problems.append(FixityProblem(*base, "altered", f.sha256, actual))
    for d in derivatives:
        path = (out / d.path).resolve()
        base = (d.asset_id, d.role, d.path)
        if not inside(path, out):
            problems.append(FixityProblem(*base, "outside", d.sha256))
        elif path.is_file():
            actual = sha256_file(path)
            if actual != d.sha256:
                problems.append(FixityProblem(*base, "altered", d.sha256, actual))
        elif path.is_dir():
            actual = tree_digest(path)[0]
            if actual != d.sha256:
                problems.append(FixityProblem(*base, "altered", d.sha256, actual))
        else:
            problems.append(FixityProblem(*base, "missing", d.sha256))
    checked = len(derivatives) + len(files)
    return VerifyReport(str(out), checked, checked - len(problems), problems,
                        round(time.perf_counter() - started, 3))
