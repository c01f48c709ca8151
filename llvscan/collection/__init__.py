"""Collection runs: discover the assets of a folder and process them all into a catalog."""

from llvscan.collection.discover import Asset, AssetFile, Discovery, asset_id_for, discover_assets
from llvscan.collection.runner import RunOptions, RunSummary, process_asset, run_collection

__all__ = [
    "Asset",
    "AssetFile",
    "Discovery",
    "RunOptions",
    "RunSummary",
    "asset_id_for",
    "discover_assets",
    "process_asset",
    "run_collection",
]
