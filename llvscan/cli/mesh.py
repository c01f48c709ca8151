"""``llvscan mesh``: inspect 3D scans."""

from __future__ import annotations

from pathlib import Path

import click

from llvscan._constants import UP_AXES
from llvscan.cli.options import (
    console,
    each_path,
    echo_json,
    exits_on_error,
    json_option,
    new_table,
    show_reports,
    styled,
    units_option,
    up_option,
)

__all__ = ["decimate", "lods", "mesh", "render", "validate"]

_COLOURS = {"error": "red", "warning": "yellow", "info": "cyan"}


@click.group()
def mesh() -> None:
    """Validate and decimate meshes: OBJ+MTL, PLY, STL, glTF/GLB."""


def _render(report, strict: bool) -> None:
    bad = report.errors or (strict and report.warnings)
    verdict = ("invalid", "red") if bad else ("valid", "green")
    table = new_table(title=styled(f"{report.path} — ", verdict, f" ({report.seconds:.2f} s)"), show_header=False,
                      title_justify="left")
    units = report.units or f"{report.units_guess}? (undeclared)"
    size = " × ".join(f"{v:.4g}" for v in report.bbox_size)
    genus = "—" if report.genus is None else str(report.genus)
    rows = {
        "vertices / faces / edges": f"{report.vertices:,} / {report.faces:,} / {report.edges:,}"
                                    f" ({report.welded_vertices:,} distinct positions)",
        "bounding box": f"{size} {units}",
        "area / volume": f"{report.surface_area:.6g} / " + ("—" if report.volume is None else f"{report.volume:.6g}"),
        "watertight / orientable": f"{report.watertight} / {report.orientable}",
        "components / Euler / genus": f"{report.components} / {report.euler_characteristic} / {genus}",
        "holes": f"{report.boundary_loops} loops, {report.boundary_edges} boundary edges",
        "non-manifold edges / vertices": f"{report.non_manifold_edges} / {report.non_manifold_vertices}",
        "self-intersecting pairs": "not checked" if report.self_intersections is None
                                   else str(report.self_intersections),
        "min angle median / 1 %": f"{report.min_angle_median:.1f}° / {report.min_angle_p01:.1f}°",
        "UVs / colours / normals": f"{report.has_uv} / {report.has_vertex_colors} / {report.has_normals}",
    }
    for texture in report.textures:
        size_txt = f"{texture.width}×{texture.height}" if texture.width else texture.error
        rows[f"texture ({texture.material})"] = f"{Path(texture.path).name if texture.path else 'embedded'}: {size_txt}"
    if report.texel_density:
        rows["texel density"] = f"{report.texel_density:.3g} texels per {report.units or 'unit'}"
    for key, value in rows.items():
        table.add_row(key, value)
    for finding in report.findings:
        sample = (f" (e.g. {', '.join(map(str, finding.sample[:6]))})", "dim") if finding.sample else ""
        table.add_row(styled((finding.level, _COLOURS[finding.level])), styled(finding.message, sample))
    console().print(table)


@mesh.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1 on any warning).")
@click.option("--no-self-intersections", is_flag=True, help="Skip the self-intersection search.")
@json_option
@exits_on_error
def validate(paths: tuple[Path, ...], strict: bool, no_self_intersections: bool, as_json: bool) -> None:
    """Validate mesh files: counts, topology, geometry, texture, units.

    Exit 1 if any file is unreadable or has an error-level finding (with --strict, any warning).
    """
    from llvscan.mesh import ValidationThresholds, validate_mesh

    thresholds = ValidationThresholds(self_intersections=not no_self_intersections)
    results, failed = each_path(paths, lambda p: validate_mesh(p, thresholds=thresholds))
    reports = [r for r in results if not isinstance(r, dict)]
    failed |= any(r.errors or (strict and r.warnings) for r in reports)
    show_reports(results, as_json, lambda r: _render(r, strict))
    raise SystemExit(1 if failed else 0)


def _render_decimation(result, written: list[Path]) -> None:
    d = result.distance
    table = new_table(title=f"{written[0]} ({result.seconds:.2f} s)", show_header=False, title_justify="left")
    exact = ("exact", "green") if result.reached else (str(result.note), "yellow")
    table.add_row("faces", styled(f"{result.faces_in:,} → {result.faces_out:,} (target {result.target_faces:,}, ",
                                  exact, ")"))
    table.add_row("vertices", f"{result.vertices_out:,}")
    if d is not None:
        table.add_row("Hausdorff / mean distance", f"{d.hausdorff:.4g} / {d.mean:.4g} "
                      f"({d.hausdorff_pct:.4f} % / {d.mean_pct:.5f} % of the diagonal)")
        if d.texel_drift_median is not None:
            table.add_row("texel drift median / p95", f"{d.texel_drift_median:.3f} / {d.texel_drift_p95:.3f} texels "
                          f"of {d.texture_size[0]}×{d.texture_size[1]}")
    if result.flipped_faces is not None:
        table.add_row("faces turned against the input", f"{result.flipped_faces:,}")
    table.add_row("written", ", ".join(p.name for p in written))
    console().print(table)


@mesh.command()
@click.argument("src", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("dst", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--faces", "target_faces", type=click.IntRange(1),
              help="Target face count (exact where topology allows).")
@click.option("--ratio", type=float, help="Target as a fraction of the input faces, in (0, 1].")
@click.option("--max-error", type=float, help="Stop before a collapse would move the surface more than this "
              "(mesh units); may be combined with --faces or --ratio.")
@click.option("--lock-boundary", is_flag=True, help="Never move open-boundary vertices.")
@click.option("--no-measure", is_flag=True, help="Skip the distance and texel-drift measurement.")
@json_option
@exits_on_error
def decimate(src: Path, dst: Path, target_faces: int | None, ratio: float | None, max_error: float | None,
             lock_boundary: bool, no_measure: bool, as_json: bool) -> None:
    """Decimate SRC into DST (.obj with .mtl and texture, or .glb), keeping UVs, seams and boundaries.

    Prints the faces reached and the measured error: Hausdorff and mean distance to the input, and the
    texel drift of the UVs.
    """
    from llvscan.mesh import decimate_file

    result, written = decimate_file(src, dst, target_faces=target_faces, ratio=ratio, max_error=max_error,
                                    lock_boundary=lock_boundary, measure=not no_measure)
    if as_json:
        echo_json({"src": str(src), "written": [str(p) for p in written], **result.to_dict()})
    else:
        _render_decimation(result, written)


def _render_lods(lods) -> None:
    table = new_table(title=f"{lods.out_dir}: recipe {lods.recipe}, {lods.faces_in:,} faces in ({lods.seconds:.1f} s)",
                      title_justify="left")
    for column in ("level", "usage / quality", "file", "faces", "texture", "MB", "Hausdorff %", "texel drift",
                   "SSIM", "carries"):
        table.add_column(column, justify="right" if column in ("faces", "MB", "Hausdorff %", "SSIM") else "left")
    for r in lods.levels:
        texture = f"{r.texture_size[0]}×{r.texture_size[1]}" if r.texture_size else "—"
        drift = "—" if r.texel_drift_median is None else f"{r.texel_drift_median:.2f} / {r.texel_drift_p95:.2f}"
        carries = [r.compression] if r.compression != "none" else []
        carries += ["fresh atlas"] if r.unwrapped else []
        carries += [f"{m.replace('_', ' ')} map" for m in r.baked]
        table.add_row(r.name, f"{r.usage} / {r.quality}", r.uri, f"{r.faces:,}", texture, f"{r.bytes / 1e6:.2f}",
                      f"{r.hausdorff_pct:.4f}", drift, "—" if r.ssim is None else f"{r.ssim:.3f}",
                      ", ".join(carries) or "—")
    console().print(table)
    for finding in lods.findings:
        console().print(styled((f"{finding.level}:", "red" if finding.level == "error" else "yellow"),
                               f" {finding.message}"))
    for note in lods.notes:
        console().print(styled(("note:", "yellow"), f" {note}"))
    console().print(f"scene: {lods.scene}" + (f", thumbnail: {lods.thumbnail}" if lods.thumbnail else ""))


@mesh.command()
@click.argument("src", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("out_dir", type=click.Path(path_type=Path, file_okay=False))
@click.option("--recipe", default="voyager", show_default=True,
              help="A preset (voyager, archive) or a TOML recipe file.")
@click.option("--name", help="Base name of the files written (default: the input's name).")
@up_option
@units_option
@click.option("--title", help="The object's title, for the Voyager scene.")
@json_option
@exits_on_error
def lods(src: Path, out_dir: Path, recipe: str, name: str | None, up_axis: str, units: str | None,
         title: str | None, as_json: bool) -> None:
    """Write the levels of detail of SRC into OUT_DIR: GLBs (or OBJ), textures, a thumbnail and a
    Voyager scene (scene.svx.json) with each level's measured error."""
    from llvscan.mesh import build_lods

    result = build_lods(src, recipe, out_dir, name=name, up_axis=up_axis, units=units,
                        metadata={"title": title} if title else None)
    if as_json:
        echo_json(result.to_dict())
    else:
        _render_lods(result)


@mesh.command()
@click.argument("src", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("dst", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--size", default=512, show_default=True, type=click.IntRange(16, 8192), help="Image edge in pixels.")
@click.option("--turntable", default=0, show_default=True, type=click.IntRange(0, 64),
              help="Frames of a turntable strip (0: one 3/4 view).")
@click.option("--azimuth", default=35.0, show_default=True, help="Degrees around the up axis.")
@click.option("--elevation", default=20.0, show_default=True, help="Degrees above the horizon.")
@click.option("--up", type=click.Choice(UP_AXES), default="y", show_default=True, help="The scan's up axis.")
@exits_on_error
def render(src: Path, dst: Path, size: int, turntable: int, azimuth: float, elevation: float, up: str) -> None:
    """Render SRC to a PNG thumbnail DST without a GPU: textured, z-buffered, lit 3/4 view."""
    from llvscan.mesh import save_thumbnail

    written = save_thumbnail(src, dst, size=size, turntable_frames=turntable, azimuth=azimuth, elevation=elevation,
                             up=up)
    console().print(f"wrote {written}")
