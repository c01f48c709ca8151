"""Levels of detail: recipes (``recipe``), building them (``build``), their results (``results``) and the
Smithsonian Voyager scene (``voyager``). Names load on first use."""

from __future__ import annotations

from llvscan._lazy import lazy_exports

__all__ = ["QUALITIES", "RECIPES", "USAGES", "LodLevel", "LodRecipe", "LodResult", "LodSet", "build_lods",
           "load_recipe", "voyager_scene"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "QUALITIES": "recipe", "RECIPES": "recipe", "USAGES": "recipe", "LodLevel": "recipe", "LodRecipe": "recipe",
    "load_recipe": "recipe", "LodResult": "results", "LodSet": "results", "build_lods": "build",
    "voyager_scene": "voyager",
})
