"""Collection runs: discover the assets of a folder and process them all into a catalog.

Names load on first use: ``llvscan.collection.recipe`` (a run recipe) imports neither numpy, numba nor
pyvips; discovery and processing load what they need when they are first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llvscan._lazy import lazy_exports

if TYPE_CHECKING:
    from llvscan.collection.discover import Asset, AssetFile, Discovery, asset_id_for, discover_assets
    from llvscan.collection.pool import Crash, WorkerPool
    from llvscan.collection.process import AssetJob, process_asset
    from llvscan.collection.recipe import ImageRecipe, MeshRecipe, QaRecipe, RunRecipe, load_run_recipe
    from llvscan.collection.runner import CATALOG_NAME, RunSummary, run_collection
    from llvscan.collection.warm import WarmResult, WarmTask, warm_kernels

__all__ = [
    "CATALOG_NAME",
    "Asset",
    "AssetFile",
    "AssetJob",
    "Crash",
    "Discovery",
    "ImageRecipe",
    "MeshRecipe",
    "QaRecipe",
    "RunRecipe",
    "RunSummary",
    "WarmResult",
    "WarmTask",
    "WorkerPool",
    "asset_id_for",
    "discover_assets",
    "load_run_recipe",
    "process_asset",
    "run_collection",
    "warm_kernels",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    **dict.fromkeys(("Asset", "AssetFile", "Discovery", "asset_id_for", "discover_assets"), "discover"),
    **dict.fromkeys(("Crash", "WorkerPool"), "pool"),
    **dict.fromkeys(("AssetJob", "process_asset"), "process"),
    **dict.fromkeys(("ImageRecipe", "MeshRecipe", "QaRecipe", "RunRecipe", "load_run_recipe"), "recipe"),
    **dict.fromkeys(("CATALOG_NAME", "RunSummary", "run_collection"), "runner"),
    **dict.fromkeys(("WarmResult", "WarmTask", "warm_kernels"), "warm"),
})
