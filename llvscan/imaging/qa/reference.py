"""Measured reference values of a chart, read from the file a user supplies.

A chart's published values (``charts.reference_lab``) describe an average chart; a measured reference
describes the very chart on the copy stand. ``read_reference`` reads one and returns it in the chart's patch
order as CIE L*a*b* (D50), the form ``colorimetry.measure_patches`` takes.

Formats
    - **CGATS.17 text** (X-Rite i1Profiler and i1iO, BabelColor PatchTool, Argyll ``.ti3``/``.txt``/``.cgats``):
      keywords, then ``BEGIN_DATA_FORMAT`` … ``END_DATA_FORMAT`` naming the fields and ``BEGIN_DATA`` …
      ``END_DATA`` with one row per patch. The values are ``LAB_L LAB_A LAB_B`` or, failing those,
      ``XYZ_X XYZ_Y XYZ_Z`` (0–100, or 0–1 when no Y exceeds 1.5), converted to L*a*b* with the CIE D50 white
      (ASTM E308: 96.422, 100, 82.521). The patch is named by ``SAMPLE_NAME`` or ``SAMPLE_ID``.
      An illuminant other than D50 (``ILLUMINANT``, ``ILLUMINATION_NAME``, ``WEIGHTING_FUNCTION "ILLUMINANT, …"``,
      ``MEASUREMENT_SOURCE "Illumination=…"``) or a 10° observer (``OBSERVER_ANGLE``) is refused; a file that
      names neither is taken as D50, 2° (what these tools write by default).
    - **CSV** with a header row naming the columns ``id``, ``L``, ``a``, ``b`` (also ``SAMPLE_ID``/``SAMPLE_NAME``/
      ``name``/``patch``, ``L*``/``LAB_L`` …; comma, semicolon or tab separated; decimal commas with ``;``).
    - CxF (ISO 17972) is not read: export CGATS from the measuring software.

Patch names accepted (for the chart given)
    - the chart's own ids (``chart.patch_ids``), case and spacing ignored; for the Classic also the names
      without the density ("white 9.5", "neutral 8", "black 2");
    - grid labels: for the SG ``A1`` … ``N10`` (letter = column, as ``charts`` defines them; ``A01`` too); for
      the Classic ``A1`` … ``D6`` (row letter, column number: A1 dark skin, D6 black) or ``A1`` … ``F4``
      (column letter, row number: A1 dark skin, F4 black), told apart by the labels present;
    - numbers 1 … N: row-major for the Classic (1 dark skin … 24 black); for the SG either row-major in
      ``charts``' order (1 = A1, 2 = B1 …) or X-Rite's file order (1 = A1, 2 = A2 … 10 = A10, 11 = B1), the one
      whose values match the published chart.

Every value must be finite, L* within 0–100 and a*, b* within ±200. After mapping, the values must resemble
the chart's published ones (median CIEDE2000 at most 10): a file for another chart or with patches in another
order is refused rather than graded against. Every problem is an ``AssetReadError`` naming the file and,
where there is one, the line.
"""

from __future__ import annotations

import csv
import logging
import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from llvscan.errors import AssetReadError

if TYPE_CHECKING:
    from llvscan.imaging.qa.charts import ChartSpec

__all__ = ["MAX_REFERENCE_BYTES", "PLAUSIBLE_MEDIAN_DELTA_E", "read_reference"]

log = logging.getLogger(__name__)

MAX_REFERENCE_BYTES = 16 * 1024 * 1024  # a 140-patch CGATS with spectra is ~100 kB
PLAUSIBLE_MEDIAN_DELTA_E = 10.0  # median CIEDE2000 to the published values above which the file is refused
_D50_WHITE = (96.422, 100.0, 82.521)  # CIE D50, 2° observer (ASTM E308), Y = 100
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))  # binary data, not text
_ID_FIELDS = ("SAMPLE_NAME", "SAMPLE_ID", "SAMPLEID", "SAMPLE_LOC")
_CSV_COLUMNS = {
    "id": {"id", "sample_id", "sampleid", "sample_name", "name", "patch", "sample", "patch_id"},
    "L": {"l", "l*", "lab_l", "cie_l", "l_star"},
    "a": {"a", "a*", "lab_a", "cie_a", "a_star"},
    "b": {"b", "b*", "lab_b", "cie_b", "b_star"},
}


@dataclass
class _Row:
    line: int
    ids: dict[str, str]  # id field → text
    values: tuple[str, str, str]  # in the file's units


class _Parsed:
    def __init__(self, rows: list[_Row], kind: str, id_fields: list[str]):
        self.rows, self.kind, self.id_fields = rows, kind, id_fields


def read_reference(path: str | Path, chart: ChartSpec) -> np.ndarray:
    """The reference L*a*b* (D50) of ``chart`` measured in ``path``: shape (N, 3), ``chart.patch_ids`` order."""
    path = Path(path)
    text = _read_text(path)
    if path.suffix.lower() == ".cxf" or text.lstrip().startswith("<"):
        raise AssetReadError("CxF/XML references are not supported: export the measurements as CGATS text "
                             "(.txt) or CSV", path=path)
    parsed = _parse_cgats(text, path) if "BEGIN_DATA_FORMAT" in text.upper() else _parse_csv(text, path)
    if not parsed.rows:
        raise AssetReadError("the file holds no patch rows", path=path)
    values = _values(parsed, path)
    first_error: AssetReadError | None = None
    for field in parsed.id_fields:
        ids = [(row.line, row.ids.get(field, "")) for row in parsed.rows]
        try:
            return _arrange(ids, values, chart, path)
        except _MappingError as exc:
            first_error = first_error or AssetReadError(str(exc), path=path)
    assert first_error is not None
    raise first_error


class _MappingError(Exception):
    """The ids of one column do not map onto the chart (another id column may)."""


# --------------------------------------------------------------------------------------------------------
# Reading and parsing


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise AssetReadError("no such file", path=path)
    size = path.stat().st_size
    if size == 0:
        raise AssetReadError("empty file (0 bytes)", path=path)
    if size > MAX_REFERENCE_BYTES:
        raise AssetReadError(f"{size} bytes: a reference file is text of a few kilobytes; this one is over the "
                             f"{MAX_REFERENCE_BYTES // (1024 * 1024)} MiB limit", path=path)
    data = path.read_bytes()
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if b"\0" in data or controls > len(data) // 100:
        raise AssetReadError("binary data: a reference must be CGATS text or CSV", path=path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # i1Profiler on Windows writes ANSI


def _tokens(line: str, number: int, path: Path) -> list[str]:
    try:
        return shlex.split(line, comments=True)
    except ValueError as exc:
        raise AssetReadError(f"line {number}: {exc} (unbalanced quotes)", path=path) from None


def _parse_cgats(text: str, path: Path) -> _Parsed:
    """The first data table with L*a*b* or XYZ fields; keywords checked for illuminant and observer."""
    state = "header"
    fields: list[str] = []
    rows: list[tuple[int, list[str]]] = []
    keywords: list[tuple[int, str, str]] = []
    tables: list[tuple[list[str], list[tuple[int, list[str]]], list[tuple[int, str, str]]]] = []
    lines = text.splitlines()
    for number, raw in enumerate(lines, start=1):
        tokens = _tokens(raw, number, path)
        if not tokens:
            continue
        head = tokens[0].upper()
        if state == "data":
            if head == "END_DATA":
                tables.append((fields, rows, keywords))
                fields, rows, keywords, state = [], [], [], "header"
            elif len(tokens) != len(fields):
                raise AssetReadError(f"line {number}: {len(tokens)} values for the {len(fields)} fields of "
                                     f"BEGIN_DATA_FORMAT", path=path)
            else:
                rows.append((number, tokens))
        elif state == "format":
            if "END_DATA_FORMAT" in (t.upper() for t in tokens):
                fields += tokens[:[t.upper() for t in tokens].index("END_DATA_FORMAT")]
                state = "keywords"
            else:
                fields += tokens
        elif head == "BEGIN_DATA_FORMAT":
            fields, state = tokens[1:], "format"
        elif head == "BEGIN_DATA":
            if state != "keywords":
                raise AssetReadError(f"line {number}: BEGIN_DATA before any BEGIN_DATA_FORMAT", path=path)
            fields = [f.upper() for f in fields]
            if len(set(fields)) != len(fields):
                raise AssetReadError(f"line {number}: BEGIN_DATA_FORMAT names a field twice", path=path)
            state = "data"
        else:
            keywords.append((number, head, " ".join(tokens[1:])))
    if state == "data":
        raise AssetReadError(f"no END_DATA after line {len(lines)}: the file is truncated", path=path)
    if state == "format":
        raise AssetReadError("no END_DATA_FORMAT: the file is truncated", path=path)
    if not tables:
        raise AssetReadError("no BEGIN_DATA … END_DATA table: not a CGATS file", path=path)
    for fields, rows, keywords in tables:
        kind = "lab" if {"LAB_L", "LAB_A", "LAB_B"} <= set(fields) else (
            "xyz" if {"XYZ_X", "XYZ_Y", "XYZ_Z"} <= set(fields) else None)
        if kind is None:
            continue
        _check_conditions(keywords, path)
        _check_count(keywords, len(rows), path)
        id_fields = [f for f in _ID_FIELDS if f in fields]
        if not id_fields:
            raise AssetReadError(f"the data names no patch: BEGIN_DATA_FORMAT lacks SAMPLE_ID and SAMPLE_NAME "
                                 f"(fields: {' '.join(fields)})", path=path)
        names = ("LAB_L", "LAB_A", "LAB_B") if kind == "lab" else ("XYZ_X", "XYZ_Y", "XYZ_Z")
        where = [fields.index(n) for n in names]
        parsed_rows = [_Row(line, {f: tokens[fields.index(f)] for f in id_fields},
                            (tokens[where[0]], tokens[where[1]], tokens[where[2]])) for line, tokens in rows]
        return _Parsed(parsed_rows, kind, id_fields)
    found = " ".join(tables[0][0])
    raise AssetReadError(f"no LAB_L LAB_A LAB_B or XYZ_X XYZ_Y XYZ_Z fields in the data (fields: {found})",
                         path=path)


def _check_count(keywords: list[tuple[int, str, str]], count: int, path: Path) -> None:
    for line, key, value in keywords:
        if key == "NUMBER_OF_SETS" and value.strip().isdigit() and int(value) != count:
            raise AssetReadError(f"line {line}: NUMBER_OF_SETS says {int(value)} but the table has {count} rows "
                                 f"(a truncated or edited file)", path=path)


def _check_conditions(keywords: list[tuple[int, str, str]], path: Path) -> None:
    named = False
    for line, key, value in keywords:
        text = value.strip().upper()
        illuminant = None
        if key in ("ILLUMINANT", "ILLUMINATION_NAME", "ILLUMINATION"):
            illuminant = text
        elif key == "WEIGHTING_FUNCTION" and text.startswith("ILLUMINANT"):
            illuminant = text.split(",", 1)[-1]
        elif key == "MEASUREMENT_SOURCE":
            match = re.search(r"ILLUMINATION\s*=\s*(\S+)", text)
            illuminant = match.group(1) if match else None
        elif key == "OBSERVER_ANGLE" or (key == "WEIGHTING_FUNCTION" and text.startswith("OBSERVER")):
            if re.search(r"\b10\b", text):
                raise AssetReadError(f"line {line}: the values are for the 10° observer; llvscan compares with "
                                     f"the 2° observer of the ICC PCS: export the reference for D50, 2°", path=path)
            continue
        if illuminant is None:
            continue
        illuminant = re.sub(r"[\s\"']", "", illuminant)
        named = True
        if illuminant not in ("D50", "CIED50", "D5000K"):
            raise AssetReadError(f"line {line}: the values are for illuminant {illuminant}; llvscan compares in "
                                 f"D50 (the ICC profile connection space): export the reference for D50, 2°",
                                 path=path)
    if not named:
        log.info("%s: no illuminant named; the values are taken as D50, 2°", path)


def _parse_csv(text: str, path: Path) -> _Parsed:
    lines = text.splitlines()
    content = [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and not line.lstrip().startswith("#")]
    if not content:
        raise AssetReadError("no data: neither CGATS (BEGIN_DATA_FORMAT) nor CSV", path=path)
    sample = "\n".join(line for _, line in content[:20])
    try:
        dialect: type[csv.Dialect] = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    parsed = [(n, next(csv.reader([line], dialect))) for n, line in content]
    header_line, header = parsed[0]
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        key = name.strip().lower()
        for role, names in _CSV_COLUMNS.items():
            if key in names and role not in columns:
                columns[role] = index
    if len(columns) < 4:
        missing = [role for role in ("id", "L", "a", "b") if role not in columns]
        raise AssetReadError(f"line {header_line}: neither CGATS (no BEGIN_DATA_FORMAT) nor CSV with a header "
                             f"naming the columns id, L, a, b (missing: {', '.join(missing)})", path=path)
    decimal_comma = getattr(dialect, "delimiter", ",") != ","
    rows = []
    for line, cells in parsed[1:]:
        if len(cells) != len(header):
            raise AssetReadError(f"line {line}: {len(cells)} columns, the header has {len(header)}", path=path)
        values = tuple(cells[columns[r]].strip() for r in ("L", "a", "b"))
        if decimal_comma:
            values = tuple(v.replace(",", ".") for v in values)
        rows.append(_Row(line, {"id": cells[columns["id"]].strip()}, (values[0], values[1], values[2])))
    return _Parsed(rows, "lab", ["id"])


# --------------------------------------------------------------------------------------------------------
# Values


def _number(text: str, line: int, path: Path) -> float:
    if re.fullmatch(r"[+-]?\d+,\d+", text):
        text = text.replace(",", ".")
    try:
        value = float(text)
    except ValueError:
        raise AssetReadError(f"line {line}: {text!r} is not a number", path=path) from None
    if not math.isfinite(value):
        raise AssetReadError(f"line {line}: {text!r} is not a finite number", path=path)
    return value


def _values(parsed: _Parsed, path: Path) -> np.ndarray:
    values = np.array([[_number(v, row.line, path) for v in row.values] for row in parsed.rows], dtype=np.float64)
    if parsed.kind == "xyz":
        if (values < 0).any():
            line = parsed.rows[int(np.flatnonzero((values < 0).any(axis=1))[0])].line
            raise AssetReadError(f"line {line}: a negative XYZ value", path=path)
        if values[:, 1].max() <= 1.5:
            values = values * 100.0
            log.info("%s: XYZ read as 0–1 (no Y above 1.5)", path)
        values = _xyz_to_lab(values)
    for index, (lightness, a, b) in enumerate(values):
        line = parsed.rows[index].line
        if not -1e-9 <= lightness <= 100.0 + 1e-9:
            raise AssetReadError(f"line {line}: L* {lightness:g} is outside 0–100", path=path)
        if abs(a) > 200 or abs(b) > 200:
            raise AssetReadError(f"line {line}: a* {a:g}, b* {b:g} are outside ±200", path=path)
    return values


def _xyz_to_lab(xyz: np.ndarray) -> np.ndarray:
    ratio = xyz / np.array(_D50_WHITE)
    delta = 6.0 / 29.0
    f = np.where(ratio > delta ** 3, np.cbrt(ratio), ratio / (3 * delta ** 2) + 4.0 / 29.0)
    return np.stack([116.0 * f[:, 1] - 16.0, 500.0 * (f[:, 0] - f[:, 1]), 200.0 * (f[:, 1] - f[:, 2])], axis=1)


# --------------------------------------------------------------------------------------------------------
# Patch names → chart order


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text.casefold())


def _name_index(chart: ChartSpec) -> dict[str, int]:
    names: dict[str, int] = {}
    for index, pid in enumerate(chart.patch_ids):
        names[_squash(pid)] = index
        short = pid.split("(", 1)[0]
        if short != pid:
            names.setdefault(_squash(short), index)
    return names


_GRID = re.compile(r"([A-Za-z])\s*0*(\d+)")


def _grid_orders(labels: list[tuple[str, int]], chart: ChartSpec) -> list[tuple[str, dict[tuple[str, int], int]]]:
    """Candidate meanings of grid labels: (description, label → index)."""
    rows, columns = chart.rows, chart.columns
    letters = {letter for letter, _ in labels}
    numbers = {number for _, number in labels}

    def letters_upto(count: int) -> set[str]:
        return {chr(ord("A") + i) for i in range(count)}

    column_letter = letters <= letters_upto(columns) and numbers <= set(range(1, rows + 1))
    row_letter = letters <= letters_upto(rows) and numbers <= set(range(1, columns + 1))
    orders = []
    if column_letter:
        orders.append(("column letter, row number", {
            (chr(ord("A") + c), r + 1): r * columns + c for r in range(rows) for c in range(columns)}))
    if row_letter and chart.name == "colorchecker-classic":  # the SG's labels are column letters only
        orders.append(("row letter, column number", {
            (chr(ord("A") + r), c + 1): r * columns + c for r in range(rows) for c in range(columns)}))
    return orders


def _numeric_orders(chart: ChartSpec) -> list[tuple[str, list[int]]]:
    count = len(chart.patch_ids)
    orders = [("row-major", list(range(count)))]
    if chart.name == "colorchecker-sg":  # X-Rite's SG files count down each letter: A1, A2 … A10, B1 …
        orders.append(("X-Rite's A1, A2 … order", [
            (n % chart.rows) * chart.columns + n // chart.rows for n in range(count)]))
    return orders


def _candidates(ids: list[tuple[int, str]], chart: ChartSpec) -> list[tuple[str, list[int]]]:
    """Every reading of the ids as chart indices (one per row), best guess first; _MappingError if none."""
    count = len(chart.patch_ids)
    texts = [text.strip() for _, text in ids]
    if any(not t for t in texts):
        line = ids[texts.index("")][0]
        raise _MappingError(f"line {line}: a row without a patch name")
    if all(t.isdigit() for t in texts):
        numbers = [int(t) for t in texts]
        for (line, _), number in zip(ids, numbers, strict=True):
            if not 1 <= number <= count:
                raise _MappingError(f"line {line}: patch number {number} is not within 1–{count} "
                                    f"({chart.title})")
        return [(name, [order[n - 1] for n in numbers]) for name, order in _numeric_orders(chart)]
    names = _name_index(chart)
    if all(_squash(t) in names for t in texts):
        return [("patch names", [names[_squash(t)] for t in texts])]
    grid = [_GRID.fullmatch(t) for t in texts]
    if all(grid):
        labels = [(m.group(1).upper(), int(m.group(2))) for m in grid if m]
        orders = _grid_orders(labels, chart)
        if not orders:
            raise _MappingError(f"the labels {texts[0]} … {texts[-1]} do not fit the {chart.rows}×{chart.columns} "
                                f"grid of {chart.title}")
        if len(orders) > 1:  # only A–D × 1–4 on the Classic: a complete file has E, F, 5 or 6 somewhere
            raise _MappingError(f"the grid labels could be row or column letters and not all {count} patches "
                                f"are present: the layout is ambiguous")
        return [(name, [mapping[label] for label in labels]) for name, mapping in orders]
    unknown = next(((line, t) for (line, _), t in zip(ids, texts, strict=True)
                    if not t.isdigit() and _squash(t) not in names and not _GRID.fullmatch(t)), None)
    if unknown is None:
        raise _MappingError("the patch names mix numbers, names and grid labels: use one kind")
    raise _MappingError(f"line {unknown[0]}: {unknown[1]!r} is not a patch of {chart.title} (use its patch "
                        f"names, grid labels such as A1, or numbers 1–{count})")


def _arrange(ids: list[tuple[int, str]], values: np.ndarray, chart: ChartSpec, path: Path) -> np.ndarray:
    from llvscan.imaging.qa.charts import reference_lab
    from llvscan.imaging.qa.colorimetry import delta_e_2000

    count = len(chart.patch_ids)
    published = reference_lab(chart.name)
    best: tuple[float, str, np.ndarray] | None = None
    for name, indices in _candidates(ids, chart):
        seen: dict[int, int] = {}
        for (line, text), index in zip(ids, indices, strict=True):
            if index in seen:
                raise _MappingError(f"line {line}: {text!r} is patch {chart.patch_ids[index]!r} again (first on "
                                    f"line {seen[index]})")
            seen[index] = line
        missing = [chart.patch_ids[i] for i in range(count) if i not in seen]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5
                                                               else "")
            raise _MappingError(f"{len(missing)} of the {count} patches of {chart.title} are missing: {shown}")
        arranged = np.empty((count, 3))
        arranged[indices] = values
        median = float(np.median(delta_e_2000(arranged, published)))
        if best is None or median < best[0]:
            best = (median, name, arranged)
    assert best is not None
    median, name, arranged = best
    if median > PLAUSIBLE_MEDIAN_DELTA_E:
        raise AssetReadError(f"the values do not look like {chart.title} (median ΔE2000 {median:.1f} to the "
                             f"published values, read as {name}): a file for another chart, or patches in "
                             f"another order", path=path)
    log.info("%s: %d patches read as %s (median ΔE2000 %.2f to the published values)", path, count, name, median)
    arranged.setflags(write=False)
    return arranged
