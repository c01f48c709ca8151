"""Collection runs: discover the assets of a folder and process them all into a catalog."""

from llvscan.collection.discover import Asset, AssetFile, Discovery, asset_id_for, discover_assets
from llvscan.collection.pool import Crash, WorkerPool
from llvscan.collection.process import AssetJob, process_asset
from llvscan.collection.recipe import ImageRecipe, MeshRecipe, RunRecipe, load_run_recipe
from llvscan.collection.runner import CATALOG_NAME, RunSummary, run_collection

__all__ = [
    "CATALOG_NAME",
    "Asset",
    "AssetFile",
    "AssetJob",
    "Crash",
    "Discovery",
    "ImageRecipe",
    "MeshRecipe",
    "RunRecipe",
    "RunSummary",
    "WorkerPool",
    "asset_id_for",
    "discover_assets",
    "load_run_recipe",
    "process_asset",
    "run_collection",
]
