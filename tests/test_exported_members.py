"""Every public package lists exactly its public names in ``__all__``."""

import importlib

import pytest

MODULES = ["llvscan", "llvscan.errors", "llvscan.mesh", "llvscan.mesh.decimate", "llvscan.mesh.distance",
           "llvscan.mesh.gltf", "llvscan.mesh.lods", "llvscan.mesh.render", "llvscan.imaging.inspect",
           "llvscan.mesh.write", "llvscan.imaging", "llvscan.catalog",
           "llvscan.collection", "llvscan.info"]


@pytest.mark.parametrize("name", MODULES)
def test_all_matches_public_members(name):
    module = importlib.import_module(name)
    public = {n for n, v in vars(module).items()
              if not n.startswith("_") and getattr(v, "__module__", name).startswith(name)
              and not isinstance(v, type(module))}
    public -= {"annotations"}
    declared = set(module.__all__)
    assert declared <= set(dir(module)), declared - set(dir(module))
    assert public <= declared | {"log"}, public - declared
