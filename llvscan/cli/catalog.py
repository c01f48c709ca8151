"""``llvscan catalog``: read the catalog a run wrote."""

from __future__ import annotations

from pathlib import Path

import click

from llvscan._constants import CATALOG_NAME
from llvscan.cli.options import console, echo_json, exits_on_error, json_option, new_table, print_error, styled

__all__ = ["catalog", "export", "show", "verify"]


def _catalog_path(out: Path) -> Path:
    return out / CATALOG_NAME if out.is_dir() else out


@click.group()
def catalog() -> None:
    """Inspect the SQLite catalog of a run's output folder."""


@catalog.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--failed", is_flag=True, help="List only the assets that failed or were found invalid, and the "
              "capture sessions whose targets fail the standard, and why.")
@json_option
@exits_on_error
def show(out: Path, failed: bool, as_json: bool) -> None:
    """Summarise the catalog in OUT (a run's output folder or a catalog file)."""
    from llvscan.catalog import Catalog
    from llvscan.catalog.rows import AssetProblem

    with Catalog(_catalog_path(out), readonly=True) as cat:
        summary = cat.summary()
        problems = cat.problems() if failed else []
    if failed:
        failing = [s for s in summary.sessions if s.passed is False]
        if as_json:  # a failing session is one more problem, of kind "session"
            echo_json([*problems, *(AssetProblem(s.session, "session", "fails", s.problems) for s in failing)])
        else:
            for p in problems:
                console().print(styled((p.status, "red"), f" {p.path}: {'; '.join(p.errors)}"))
            for s in failing:
                console().print(styled(("session fails", "red"), f" {_session_text(s)}: {'; '.join(s.problems)}"))
        return
    if as_json:
        echo_json(summary)
        return
    table = new_table(title=f"{summary.path} (schema {summary.schema_version})", show_header=False)
    table.add_row("runs", str(summary.runs))
    table.add_row("assets", f"{summary.assets} — " + ", ".join(f"{k} {v}" for k, v in summary.by_kind.items()))
    table.add_row("status", ", ".join(f"{k} {v}" for k, v in summary.by_status.items()))
    table.add_row("invalid", str(summary.invalid))
    table.add_row("derivatives / events", f"{summary.derivatives} / {summary.events}")
    for failure in summary.failures:
        table.add_row(styled((failure.status, "red")), failure.error)
    for s in summary.sessions:
        verdict = {True: ("passes", "green"), False: ("fails", "red"), None: ("no target", "yellow")}[s.passed]
        table.add_row("session", styled(f"{_session_text(s)}: ", verdict,
                                        "".join(f"; {p}" for p in s.problems)))
    console().print(table)


def _last_collection(out: Path) -> Path:
    from llvscan.catalog import Catalog

    with Catalog(_catalog_path(out), readonly=True) as cat:
        runs = cat.runs()
    if not runs:
        raise click.UsageError(f"{out}: the catalog has no run; give --collection")
    return Path(runs[-1].collection)


def _session_text(s) -> str:
    grade = f"{s.standard} {s.level or 'below every level'}" if s.standard else "not graded"
    return f"{s.session} ({len(s.targets)} target(s), {s.images} image(s), {grade})"


@catalog.command()
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.option("--sources", is_flag=True, help="Check the source files in the collection too (the masters and scans "
              "the catalog describes).")
@json_option
@exits_on_error
def verify(out: Path, sources: bool, as_json: bool) -> None:
    """Recompute the checksum of every output the catalog in OUT lists; exit 1 on any missing or altered."""
    from llvscan.catalog import verify_outputs

    report = verify_outputs(out, sources=sources)
    if as_json:
        echo_json(report)
    else:
        for p in report.problems:
            console().print(styled((f"{p.problem}:", "red"), f" {p.path} ({p.role} of asset {p.asset_id[:8]})"))
        verdict = ("intact", "green") if report.is_intact else (f"{len(report.problems)} problem(s)", "red")
        console().print(styled(f"{report.checked} outputs checked in {report.seconds:.2f} s: ", verdict))
    raise SystemExit(0 if report.is_intact else 1)


@catalog.command()
@click.argument("out", type=click.Path(path_type=Path, file_okay=False))
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--format", "fmt", required=True,
              type=click.Choice(["json", "csv", "parquet", "iiif", "bagit", "ocfl"]),
              help="json: catalog.json; csv/parquet: assets + derivatives tables; iiif: Presentation 3 manifests "
                   "and a collection; bagit: a BagIt bag (profile declared and checked) of every asset's sources, "
                   "outputs, PREMIS and METS, and the catalog; ocfl: an OCFL 1.1 "
                   "storage root (created or updated), one object per asset: sources, outputs, PREMIS and METS.")
@click.option("--collection", "collection_root", type=click.Path(path_type=Path, file_okay=False),
              help="bagit, ocfl: the collection the run read (default: the one its last run names).")
@click.option("--base-url", default=None,
              help="IIIF export: the URL DEST will be served at; ids are BASE/collection.json and "
                   "BASE/manifests/NAME.json (default: the run's IIIF base URL with /iiif replaced by /manifests).")
@json_option
@exits_on_error
def export(out: Path, dest: Path, fmt: str, base_url: str | None, collection_root: Path | None,
           as_json: bool) -> None:
    """Export the catalog in OUT (and, for bagit, its outputs) into the folder DEST, replacing it; for ocfl,
    create or update the storage root DEST (a new version of each asset whose files changed)."""
    if fmt == "ocfl":
        from llvscan.preservation import export_ocfl

        done = export_ocfl(out, collection_root or _last_collection(out), dest)
        if as_json:
            echo_json(done)
        else:
            console().print(f"ocfl: {done.objects_created} object(s) created, {done.versions_added} version(s) "
                            f"added, {done.unchanged} unchanged, in {done.seconds:.2f} s → {done.dest}")
            for text in done.problems:
                print_error(text, label="problem", colour="yellow")
        raise SystemExit(1 if done.problems else 0)
    if fmt == "bagit":
        from llvscan.preservation import write_preservation_bag

        bag = write_preservation_bag(out, collection_root or _last_collection(out), dest)
        if as_json:
            echo_json(bag)
        else:
            console().print(f"bagit: {bag.files} file(s) of {bag.assets} asset(s), {bag.bytes / 1e6:.1f} MB, "
                            f"validated with its profile, in {bag.seconds:.2f} s → {bag.dest}")
            for left_out in bag.problems:
                print_error(left_out.message, label="left out", colour="yellow")
        raise SystemExit(1 if bag.problems else 0)
    from llvscan.catalog.export import export_catalog

    result = export_catalog(out, dest, format=fmt, base_url=base_url)
    if as_json:
        echo_json(result)
    else:
        console().print(f"{result.format}: {result.files} file(s) for {result.assets} asset(s) "
                        f"written to {result.path} in {result.seconds:.2f} s")
