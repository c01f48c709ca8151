"""Measured chart references (llvscan.imaging.qa.reference): CGATS and CSV files written here from known
values, read back in the chart's order; every kind of broken file refused with its file and line named."""

from __future__ import annotations

from pathlib import Path

import colour
import numpy as np
import pytest

from llvscan.errors import AssetReadError
from llvscan.imaging.qa.charts import CHARTS, reference_lab
from llvscan.imaging.qa.reference import MAX_REFERENCE_BYTES, _xyz_to_lab, read_reference

CLASSIC, SG = CHARTS["colorchecker-classic"], CHARTS["colorchecker-sg"]
D50_ASTM = colour.XYZ_to_xy(np.array([96.422, 100.0, 82.521]) / 100)


def measured(spec, seed: int = 1) -> np.ndarray:
    """A plausible measurement of this very chart: the published values plus up to ±0.8 per coordinate."""
    return reference_lab(spec.name) + np.random.default_rng(seed).uniform(-0.8, 0.8, (len(spec.patch_ids), 3))


def cgats(rows: list[list[str]], fields: list[str], header: str = "") -> str:
    lines = ["CGATS.17", 'ORIGINATOR "llvscan test"', header,
             f"NUMBER_OF_FIELDS {len(fields)}", "BEGIN_DATA_FORMAT", "\t".join(fields), "END_DATA_FORMAT",
             f"NUMBER_OF_SETS {len(rows)}", "BEGIN_DATA"]
    lines += ["\t".join(row) for row in rows]
    lines.append("END_DATA")
    return "\n".join(line for line in lines if line) + "\n"


def lab_rows(ids: list[str], values: np.ndarray, order=None) -> list[list[str]]:
    order = range(len(ids)) if order is None else order
    return [[_quoted(ids[i]), *(f"{v:.4f}" for v in values[i])] for i in order]


def _quoted(text: str) -> str:
    return f'"{text}"' if not text.strip() or any(c.isspace() for c in text) else text


def write(tmp_path: Path, text: str, name: str = "reference.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _sg_labels_in_xrite_order() -> list[str]:
    return [f"{chr(ord('A') + c)}{r + 1}" for c in range(14) for r in range(10)]


# --------------------------------------------------------------------------------------------------------
# What is read


def test_sg_cgats_with_sample_names_in_any_row_order(tmp_path):
    values = measured(SG)
    shuffled = np.random.default_rng(5).permutation(140)
    rows = [[str(n + 1), _quoted(SG.patch_ids[i]), *(f"{v:.4f}" for v in values[i])] for n, i in enumerate(shuffled)]
    header = 'ILLUMINATION_NAME "D50"\nOBSERVER_ANGLE "2"\nMEASUREMENT_SOURCE "Illumination=D50 ObserverAngle=2"'
    got = read_reference(write(tmp_path, cgats(rows, ["SAMPLE_ID", "SAMPLE_NAME", "LAB_L", "LAB_A", "LAB_B"],
                                               header)), SG)
    np.testing.assert_allclose(got, values, atol=5e-5)
    assert got.shape == (140, 3) and not got.flags.writeable


@pytest.mark.parametrize("order", ["row-major", "xrite"])
def test_sg_numbers_alone_in_either_vendor_order(tmp_path, order):
    values = measured(SG)
    labels = list(SG.patch_ids) if order == "row-major" else _sg_labels_in_xrite_order()
    indices = [SG.patch_ids.index(label) for label in labels]
    rows = [[str(n + 1), *(f"{v:.4f}" for v in values[i])] for n, i in enumerate(indices)]
    got = read_reference(write(tmp_path, cgats(rows, ["SAMPLE_ID", "LAB_L", "LAB_A", "LAB_B"])), SG)
    np.testing.assert_allclose(got, values, atol=5e-5)


@pytest.mark.parametrize("style", ["names", "short names", "row letters", "column letters", "numbers"])
def test_classic_patch_names_in_every_accepted_style(tmp_path, style):
    values = measured(CLASSIC)
    if style == "names":
        ids = [f"  {pid.upper()} " for pid in CLASSIC.patch_ids]
    elif style == "short names":
        ids = [pid.split("(")[0].strip().title() for pid in CLASSIC.patch_ids]
    elif style == "row letters":  # A1 … A6 the first row, D6 black
        ids = [f"{'ABCD'[i // 6]}{i % 6 + 1}" for i in range(24)]
    elif style == "column letters":  # A1 … F1 the first row, F4 black
        ids = [f"{'ABCDEF'[i % 6]}{i // 6 + 1}" for i in range(24)]
    else:
        ids = [str(i + 1) for i in range(24)]
    rows = lab_rows(ids, values, order=np.random.default_rng(2).permutation(24))
    got = read_reference(write(tmp_path, cgats(rows, ["SAMPLE_NAME", "LAB_L", "LAB_A", "LAB_B"])), CLASSIC)
    np.testing.assert_allclose(got, values, atol=5e-5)


@pytest.mark.parametrize("scale", [100.0, 1.0])
def test_xyz_is_converted_to_d50_lab(tmp_path, scale):
    values = measured(CLASSIC)
    xyz = colour.Lab_to_XYZ(values, D50_ASTM) * scale
    rows = [[str(i + 1), *(f"{v:.8f}" for v in xyz[i])] for i in range(24)]
    text = cgats(rows, ["SAMPLE_ID", "XYZ_X", "XYZ_Y", "XYZ_Z"], 'WEIGHTING_FUNCTION "ILLUMINANT, D50"')
    np.testing.assert_allclose(read_reference(write(tmp_path, text), CLASSIC), values, atol=1e-4)


def test_xyz_to_lab_agrees_with_a_vendor_file():
    """Rows of a BabelColor PatchTool CGATS export of an SG (i1Pro 2, D50, 2°): XYZ and the Lab it wrote."""
    xyz = np.array([[86.300551, 89.941931, 72.292519], [13.587984, 7.284288, 8.394524],
                    [39.746714, 29.954541, 2.595924], [1.042002, 1.079839, 0.960035]])
    lab = np.array([[95.973, -0.79, 1.691], [32.446, 51.375, -9.834], [61.615, 37.566, 70.685],
                    [9.64, 0.028, -1.111]])
    np.testing.assert_allclose(_xyz_to_lab(xyz), lab, atol=0.006)


def test_argyll_ti3_style_file(tmp_path):
    values = measured(CLASSIC)
    xyz = colour.Lab_to_XYZ(values, D50_ASTM) * 100
    rows = [[f"{i + 1}", "50.0", "50.0", "50.0", *(f"{v:.6f}" for v in xyz[i])] for i in range(24)]
    text = cgats(rows, ["SAMPLE_ID", "RGB_R", "RGB_G", "RGB_B", "XYZ_X", "XYZ_Y", "XYZ_Z"],
                 'DESCRIPTOR "Argyll Calibration Target chart information 3"\nKEYWORD "DEVICE_CLASS"\n'
                 'DEVICE_CLASS "INPUT"').replace("CGATS.17", "CTI3")
    np.testing.assert_allclose(read_reference(write(tmp_path, text, "chart.ti3"), CLASSIC), values, atol=1e-4)


@pytest.mark.parametrize(("delimiter", "decimal"), [(",", "."), (";", ","), ("\t", ".")])
def test_csv_with_a_header(tmp_path, delimiter, decimal):
    values = measured(SG)
    header = delimiter.join(["Patch", "L*", "a*", "b*"])
    lines = [header] + [delimiter.join([pid, *(f"{v:.4f}".replace(".", decimal) for v in row)])
                        for pid, row in zip(SG.patch_ids, values, strict=True)]
    path = write(tmp_path, "# measured 2026-11-30\n" + "\n".join(lines) + "\n", "reference.csv")
    np.testing.assert_allclose(read_reference(path, SG), values, atol=5e-5)


# --------------------------------------------------------------------------------------------------------
# What is refused


def _classic_text(header: str = "", edit=None) -> str:
    rows = lab_rows(list(CLASSIC.patch_ids), measured(CLASSIC))
    if edit is not None:
        rows = edit(rows)
    return cgats(rows, ["SAMPLE_NAME", "LAB_L", "LAB_A", "LAB_B"], header)


def _set(row: int, column: int, value: str):
    def edit(rows):
        rows[row][column] = value
        return rows
    return edit


# the data rows start on line 9 of _classic_text()
BROKEN = {
    "missing patch": (lambda: _classic_text(edit=lambda r: r[:5] + r[6:]),
                      r"1 of the 24 patches of X-Rite ColorChecker Classic are missing: 'bluish green'"),
    "duplicate id": (lambda: _classic_text(edit=_set(3, 0, "\"dark skin\"")),
                     r"line 12: 'dark skin' is patch 'dark skin' again \(first on line 9\)"),
    "not a number": (lambda: _classic_text(edit=_set(2, 1, "4x.2")), r"line 11: '4x.2' is not a number"),
    "nan": (lambda: _classic_text(edit=_set(4, 2, "nan")), r"line 13: 'nan' is not a finite number"),
    "L above 100": (lambda: _classic_text(edit=_set(18, 1, "100.5")), r"line 27: L\* 100.5 is outside 0–100"),
    "L below 0": (lambda: _classic_text(edit=_set(23, 1, "-2")), r"line 32: L\* -2 is outside 0–100"),
    "a out of range": (lambda: _classic_text(edit=_set(0, 2, "250")), r"line 9: a\* 250, b\* .* outside ±200"),
    "unknown patch": (lambda: _classic_text(edit=_set(7, 0, "teal")), r"line 16: 'teal' is not a patch of"),
    "number out of range": (lambda: _classic_text(edit=lambda r: [[str(i + 1), *row[1:]] for i, row in
                                                               enumerate(_set(7, 0, "x")(r))]).replace(
        "\n8\t", "\n25\t"), r"line 16: patch number 25 is not within 1–24"),
    "mixed ids": (lambda: _classic_text(edit=_set(7, 0, "25")), r"mix numbers, names and grid labels"),
    "empty name": (lambda: _classic_text(edit=_set(1, 0, '" "')), r"line 10: a row without a patch name"),
    "short row": (lambda: _classic_text(edit=lambda r: [*r[:3], r[3][:3], *r[4:]]),
                  r"line 12: 3 values for the 4 fields"),
    "count differs": (lambda: _classic_text().replace("NUMBER_OF_SETS 24", "NUMBER_OF_SETS 25"),
                      r"line 7: NUMBER_OF_SETS says 25 but the table has 24 rows"),
    "truncated": (lambda: _classic_text().replace("END_DATA\n", "").rstrip("\n").rsplit("\n", 3)[0],
                  r"no END_DATA after line 29: the file is truncated"),
    "no format end": (lambda: "CGATS.17\nBEGIN_DATA_FORMAT\nSAMPLE_ID LAB_L\n", r"no END_DATA_FORMAT"),
    "data before format": (lambda: "CGATS.17\nBEGIN_DATA\n1 2 3\nEND_DATA\nBEGIN_DATA_FORMAT\n",
                           r"line 2: BEGIN_DATA before any BEGIN_DATA_FORMAT"),
    "no lab": (lambda: _classic_text().replace("LAB_L\tLAB_A\tLAB_B", "RGB_R\tRGB_G\tRGB_B"),
               r"no LAB_L LAB_A LAB_B or XYZ_X XYZ_Y XYZ_Z fields"),
    "no ids": (lambda: _classic_text().replace("SAMPLE_NAME", "STRIP"), r"lacks SAMPLE_ID and SAMPLE_NAME"),
    "quotes": (lambda: _classic_text(edit=_set(2, 0, '"blue sky')), r"line 11: No closing quotation"),
    "illuminant D65": (lambda: _classic_text('ILLUMINANT "D65"'),
                       r"line 3: the values are for illuminant D65; llvscan compares in D50"),
    "weighting D65": (lambda: _classic_text('WEIGHTING_FUNCTION "ILLUMINANT, D65"'), r"illuminant D65"),
    "source F2": (lambda: _classic_text('MEASUREMENT_SOURCE "Illumination=F2 ObserverAngle=2"'),
                  r"illuminant F2"),
    "observer 10": (lambda: _classic_text('OBSERVER_ANGLE "10"'), r"line 3: the values are for the 10° observer"),
    "another order": (lambda: _classic_text(edit=lambda r: [[a[0], *b[1:]] for a, b in zip(r, r[::-1], strict=True)]),
                      r"do not look like X-Rite ColorChecker Classic \(median ΔE2000 [0-9.]+"),
    "plain text": (lambda: "these are my colours: red, green\nand blue\n", r"neither CGATS .* nor CSV"),
    "csv without header": (lambda: "1,50,0,0\n2,60,0,0\n", r"line 1: neither CGATS"),
    "csv short row": (lambda: "id,L,a,b\n" + "\n".join(f"{i + 1},50,0" for i in range(24)),
                      r"line 2: 3 columns, the header has 4"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_reference_files_are_refused_with_file_and_line(tmp_path, case):
    make, message = BROKEN[case]
    path = write(tmp_path, make())
    with pytest.raises(AssetReadError, match=message) as caught:
        read_reference(path, CLASSIC)
    assert str(caught.value).startswith(f"{path}: ")


def test_a_reference_for_another_chart_is_refused(tmp_path):
    path = write(tmp_path, _classic_text())
    with pytest.raises(AssetReadError, match=r"'dark skin' is not a patch of X-Rite ColorChecker Digital SG"):
        read_reference(path, SG)
    numbers = cgats(lab_rows([str(i + 1) for i in range(24)], measured(CLASSIC)),
                    ["SAMPLE_ID", "LAB_L", "LAB_A", "LAB_B"])
    with pytest.raises(AssetReadError, match=r"116 of the 140 patches .* are missing"):
        read_reference(write(tmp_path, numbers), SG)


def test_ambiguous_classic_grid_labels_are_refused(tmp_path):
    ids = [f"{'ABCD'[i // 4]}{i % 4 + 1}" for i in range(16)]  # A1 … D4: row or column letters?
    rows = lab_rows(ids, measured(CLASSIC)[:16])
    with pytest.raises(AssetReadError, match="ambiguous"):
        read_reference(write(tmp_path, cgats(rows, ["SAMPLE_NAME", "LAB_L", "LAB_A", "LAB_B"])), CLASSIC)


def test_files_that_are_not_text_or_too_big_are_refused_before_parsing(tmp_path):
    with pytest.raises(AssetReadError, match="no such file"):
        read_reference(tmp_path / "absent.txt", CLASSIC)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(AssetReadError, match="empty file"):
        read_reference(empty, CLASSIC)
    junk = tmp_path / "junk.txt"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(AssetReadError, match="binary data"):
        read_reference(junk, CLASSIC)
    png = tmp_path / "chart.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + b"\0" * 64)
    with pytest.raises(AssetReadError, match="binary data"):
        read_reference(png, CLASSIC)
    huge = tmp_path / "huge.txt"
    with open(huge, "wb") as handle:
        handle.write(b"CGATS.17\n")
        handle.truncate(MAX_REFERENCE_BYTES + 1)  # sparse: nothing is read
    with pytest.raises(AssetReadError, match="over the 16 MiB limit"):
        read_reference(huge, CLASSIC)
    cxf = write(tmp_path, '<?xml version="1.0"?><cc:CxF xmlns:cc="http://colorexchangeformat.com/CxF3-core"/>',
                "chart.cxf")
    with pytest.raises(AssetReadError, match="CxF/XML references are not supported"):
        read_reference(cxf, CLASSIC)


def test_every_truncation_is_either_refused_or_complete(tmp_path):
    """Cut the file at every 7th byte: an AssetReadError, or (cut after END_DATA) the full reference."""
    values = measured(CLASSIC)
    text = cgats(lab_rows(list(CLASSIC.patch_ids), values), ["SAMPLE_NAME", "LAB_L", "LAB_A", "LAB_B"])
    data = text.encode()
    complete = 0
    for cut in range(1, len(data), 7):
        path = tmp_path / "cut.txt"
        path.write_bytes(data[:cut])
        try:
            got = read_reference(path, CLASSIC)
        except AssetReadError:
            continue
        np.testing.assert_allclose(got, values, atol=5e-5)
        assert data[:cut].rstrip().endswith(b"END_DATA")
        complete += 1
    assert complete <= 2
