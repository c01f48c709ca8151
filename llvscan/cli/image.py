"""``llvscan image``: gigapixel masters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from llvscan._constants import QA_STANDARDS as STANDARD_NAMES
from llvscan._constants import QA_TARGETS as TARGETS
from llvscan.cli.options import (
    base_url_option,
    console,
    each_path,
    echo_json,
    exits_on_error,
    json_option,
    max_size_option,
    new_table,
    print_error,
    quality_option,
    show_reports,
    styled,
    tile_size_option,
)

__all__ = ["header", "image", "inspect", "qa", "tile"]


@click.group()
def image() -> None:
    """Tile masters into IIIF / Deep Zoom pyramids, inspect them, grade capture targets."""


@image.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--layout", type=click.Choice(["iiif3", "iiif2", "dz", "zoomify", "ptiff", "szi"]), default="iiif3",
              show_default=True, help="iiif3 / iiif2: IIIF Image API level 0 static tiles; dz: Deep Zoom (.dzi); "
              "zoomify; ptiff: tiled pyramidal TIFF (IIPImage, Cantaloupe); szi: Deep Zoom in one zip file.")
@click.option("--identifier", help="IIIF identifier (default: the name of DST).")
@base_url_option
@tile_size_option
@quality_option
@max_size_option
@json_option
@exits_on_error
def tile(src: Path, dst: Path, layout: str, identifier: str | None, base_url: str, tile_size: int,
         quality: int, max_size: int, as_json: bool) -> None:
    """Tile the image SRC into the folder DST (replaced atomically when complete)."""
    from llvscan.imaging import tile_image

    result = tile_image(src, dst, layout=layout, base_url=base_url, identifier=identifier,
                        tile_size=tile_size, quality=quality, max_size=max_size)
    if as_json:
        echo_json(result)
        return
    console().print(f"{result.layout}: {result.width}×{result.height} px → {result.path} "
                    f"({result.files:,} files, {result.bytes / 1e6:.1f} MB, {result.seconds:.2f} s)"
                    + (f"\nIIIF id: {result.service_id}" if result.service_id else ""))


@image.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
@exits_on_error
def header(paths: tuple[Path, ...], as_json: bool) -> None:
    """Read image headers (size, bands, depth, ICC profile, dpi) without decoding pixels."""
    from llvscan.imaging import read_header

    results, failed = each_path(paths, read_header)
    if as_json:
        echo_json(results)
    else:
        table = new_table("path", "size", "bands", "format", "colour", "ICC", "dpi", "loader")
        for r in results:
            if not isinstance(r, dict):
                table.add_row(r.path, f"{r.width}×{r.height}", str(r.bands), r.band_format, r.interpretation,
                              r.icc_profile or styled(("none", "yellow")), str(r.xres_dpi or "—"), r.loader)
        if table.row_count:
            console().print(table)
        for r in results:
            if isinstance(r, dict):
                print_error(r["error"])
    raise SystemExit(1 if failed else 0)


_LEVEL_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


def _render_inspection(report) -> None:
    verdict = ("error", "red") if report.errors else (("warnings", "yellow") if report.warnings else ("ok", "green"))
    table = new_table(title=styled(f"{report.path} — ", verdict, f" ({report.seconds:.2f} s)"), show_header=False,
                      title_justify="left")
    dpi = "—" if report.xres_dpi is None else f"{report.xres_dpi:g} × {report.yres_dpi or report.xres_dpi:g}"
    profile = report.icc_profile or ("none", "yellow")
    table.add_row("size / bands / depth", f"{report.width:,} × {report.height:,} px, {report.bands} bands "
                  f"({report.interpretation}{', alpha' if report.has_alpha else ''}), {report.bit_depth}-bit "
                  f"{report.band_format}")
    table.add_row("format / compression", f"{report.format} / {report.compression or '—'}")
    table.add_row("ICC profile / dpi", styled(profile, f"{' (sRGB)' if report.is_srgb else ''} / {dpi}"))
    if report.exif:
        e = report.exif
        exposure = "" if e.exposure_time_s is None else (
            f"1/{round(1 / e.exposure_time_s)} s" if 0 < e.exposure_time_s < 1 else f"{e.exposure_time_s:g} s")
        parts = [" ".join(p for p in (e.make, e.model) if p), e.lens_model, exposure,
                 f"f/{e.f_number:g}" if e.f_number else "", f"ISO {e.iso}" if e.iso else "", e.datetime_original]
        table.add_row("camera", ", ".join(p for p in parts if p))
    if report.has_xmp:
        table.add_row("XMP creator / rights", f"{report.xmp_creator or '—'} / {report.xmp_rights or '—'}")
    for band in report.band_statistics:
        table.add_row(f"{band.name} ({report.statistics_depth}-bit)",
                      f"{band.min}–{band.max}, mean {band.mean:.2f} ± {band.std:.2f}, at 0: "
                      f"{band.clipped_low_percent:.2f} %, at top: {band.clipped_high_percent:.2f} %")
    lap, sigma = report.laplacian_variance, report.noise_sigma
    table.add_row("sharpness / noise", ("—" if lap is None else f"Laplacian variance {lap:.4g}") + " / "
                  + ("—" if sigma is None else f"sigma {sigma:.3g} (0–255)"))
    for finding in report.findings:
        table.add_row(styled((finding.level, _LEVEL_COLOURS[finding.level])), finding.message)
    console().print(table)


@image.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
@exits_on_error
def inspect(paths: tuple[Path, ...], as_json: bool) -> None:
    """Inspect images: metadata, per-band statistics, clipping, sharpness and noise, with findings.

    Exit 1 if any file is unreadable or has an error-level finding.
    """
    from llvscan.imaging.inspect import inspect_image

    results, failed = each_path(paths, inspect_image)
    failed |= any(r.errors for r in results if not isinstance(r, dict))
    show_reports(results, as_json, _render_inspection)
    raise SystemExit(1 if failed else 0)


class _Corners(click.ParamType):
    name = "X,Y X,Y X,Y X,Y"

    def convert(self, value: Any, param: Any, ctx: Any) -> list[tuple[float, float]]:
        from llvscan.errors import InvalidParameterError
        from llvscan.imaging.qa.grade import parse_corners

        try:
            return parse_corners(value, source="--corners") if isinstance(value, str) else list(value)
        except InvalidParameterError as exc:
            self.fail(exc.message, param, ctx)


def _bounds(item) -> str:
    """A metric's bound at each level, as the standard writes it ("4 stars < 2, 3 stars < 3.5, …")."""
    signs = {"max": "<" if item.strict else "≤", "min": ">" if item.strict else "≥"}
    parts = []
    for level, bound in item.thresholds:
        if bound is None:
            continue
        text = f"{bound[0]:g}–{bound[1]:g}" if isinstance(bound, (tuple, list)) else f"{signs[item.kind]} {bound:g}"
        parts.append(f"{level} {text}")
    return ", ".join(parts)


def _render_grade(report) -> None:
    verdict = (report.level or "below every level", "green" if report.passed else "red")
    partial = " (partial: not every criterion measured)" if report.grade and not report.grade.complete else ""
    table = new_table("metric", "value", "level", "thresholds", title=styled(
        f"{report.path} — {report.target}, {report.standard}: ", verdict, f"{partial} ({report.seconds:.2f} s)"),
        title_justify="left")
    if report.chart is not None:
        table.add_row("chart", f"{len(report.chart.patches)} patches, found {report.chart.method}", "", "")
    for edge in report.edges:
        table.add_row("edge", f"{edge.roi}, {edge.angle_deg:.1f}°", "", "")
    if report.colour is not None:
        c = report.colour
        table.add_row("colour", f"{c.profile_description or 'no profile'}, {c.bits}-bit {c.colour_space}", "", "")
    if report.reference:
        table.add_row("reference", report.reference, "", "")
    for item in report.grade.metrics if report.grade else []:
        value = "—" if item.value is None else f"{item.value:.3g} {item.unit}"
        colour = {"met": "green", "fails": "red"}.get(item.status, "yellow")
        table.add_row(item.metric, value, styled((item.level or item.status, colour)), _bounds(item))
    for finding in report.findings:
        table.add_row(styled((finding.level, _LEVEL_COLOURS[finding.level])), finding.message, "", "")
    if report.overlay:
        table.add_row("overlay", report.overlay, "", "")
    console().print(table)


@image.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--target", type=click.Choice(TARGETS), default="auto", show_default=True,
              help="The target photographed: auto looks for a ColorChecker SG, then a Classic, then slanted edges.")
@click.option("--standard", type=click.Choice(STANDARD_NAMES), default="fadgi-2023", show_default=True,
              help="The standard to grade to.")
@click.option("--level", "required_level", help="The level the target must reach to pass (e.g. '3 stars', "
              "'light', 'B'); default: any level of the standard.")
@click.option("--reference", type=click.Path(path_type=Path, dir_okay=False),
              help="Measured reference values of this very chart (CGATS text or CSV: id,L,a,b) instead of the "
              "published ones.")
@click.option("--corners", type=_Corners(), help="The chart's four outer corners in pixels, skipping the search "
              "(needs --target colorchecker-classic or colorchecker-sg).")
@click.option("--overlay", type=click.Path(path_type=Path),
              help="Write the image with every sampled patch drawn (PNG); with several PATHS, a folder.")
@json_option
@exits_on_error
def qa(paths: tuple[Path, ...], target: str, standard: str, required_level: str | None, reference: Path | None,
       corners: list[tuple[float, float]] | None, overlay: Path | None, as_json: bool) -> None:
    """Grade capture-target images (ColorChecker, slanted edge) to FADGI, Metamorfoze or ISO 19264-1.

    Exit 1 if any target is unreadable, cannot be found, or does not reach the level.
    """
    from llvscan.imaging.qa import grade_target

    def grade_one(path: Path):
        out = overlay if overlay is None or len(paths) == 1 else overlay / f"{path.stem}.qa.png"
        return grade_target(path, target=target, standard=standard, required_level=required_level,
                            reference=reference, corners=corners, overlay=out)

    results, failed = each_path(paths, grade_one)
    failed |= any(not r.passed for r in results if not isinstance(r, dict))
    show_reports(results, as_json, _render_grade)
    raise SystemExit(1 if failed else 0)
