"""``llvscan mesh``: inspect 3D scans."""

from __future__ import annotations

from pathlib import Path

import click

from llvscan.cli.options import console, each_path, echo_json, exits_on_error, json_option


@click.group()
def mesh() -> None:
    """Validate (and, to come, decimate) meshes: OBJ+MTL, PLY, STL, glTF/GLB."""


def _render(report) -> None:
    from rich.table import Table

    verdict = "[green]valid[/]" if report.is_valid else "[red]invalid[/]"
    table = Table(title=f"{report.path} — {verdict}", show_header=False, title_justify="left")
    size = " × ".join(f"{v:.4g}" for v in report.bbox_size)
    rows = {
        "vertices / faces": f"{report.vertices:,} / {report.faces:,} ({report.welded_vertices:,} welded)",
        "bounding box": f"{size} {report.units or '(units undeclared)'}",
        "surface area": f"{report.surface_area:.6g}",
        "volume": "—" if report.volume is None else f"{report.volume:.6g}",
        "watertight": str(report.watertight),
        "boundary / non-manifold / inconsistent edges":
            f"{report.boundary_edges} / {report.non_manifold_edges} / {report.inconsistent_edges}",
        "degenerate faces": str(report.degenerate_faces),
        "UVs / vertex colours": f"{report.has_uv} / {report.has_vertex_colors}",
    }
    for key, value in rows.items():
        table.add_row(key, value)
    colours = {"error": "red", "warning": "yellow", "info": "cyan"}
    for finding in report.findings:
        table.add_row(f"[{colours[finding.level]}]{finding.level}[/]", finding.message)
    console().print(table)


@mesh.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
@exits_on_error
def validate(paths: tuple[Path, ...], as_json: bool) -> None:
    """Validate mesh files: counts, topology, bounding box. Exit 1 if any is invalid or unreadable."""
    from llvscan.mesh import validate_mesh

    results, failed = each_path(paths, validate_mesh)
    failed |= any(not r.is_valid for r in results if not isinstance(r, dict))
    if as_json:
        echo_json([r if isinstance(r, dict) else r.to_dict() for r in results])
    else:
        for r in results:
            if isinstance(r, dict):
                console(stderr=True).print(f"[red]error:[/] {r['error']}")
            else:
                _render(r)
    raise SystemExit(1 if failed else 0)
