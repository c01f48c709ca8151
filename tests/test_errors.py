import pytest

from llvscan import errors


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.InvalidParameterError, ValueError),
        (errors.InvalidMeshError, ValueError),
        (errors.UnsafePathError, PermissionError),
        (errors.ResourceLimitError, ValueError),
        (errors.MissingDependencyError, ImportError),
        (errors.AssetReadError, OSError),
        (errors.MeshReadError, OSError),
        (errors.ImageReadError, OSError),
        (errors.OutputError, OSError),
        (errors.CatalogError, RuntimeError),
        (errors.ClusterError, ConnectionError),
    ],
)
def test_every_error_is_an_llvscan_error_and_its_builtin(cls, builtin):
    err = cls("broken", path="scans/a.obj", detail="upstream says no")
    assert isinstance(err, errors.LlvscanError)
    assert isinstance(err, builtin)
    assert str(err) == "scans/a.obj: broken (upstream says no)"


def test_message_without_path_or_detail():
    assert str(errors.LlvscanError("plain")) == "plain"


def test_mesh_and_image_read_errors_are_asset_read_errors():
    assert issubclass(errors.MeshReadError, errors.AssetReadError)
    assert issubclass(errors.ImageReadError, errors.AssetReadError)


def test_tree_in_docstring_names_every_class():
    classes = [name for name in errors.__all__ if isinstance(getattr(errors, name), type)]
    assert {"LlvscanError", "InvalidMeshError"} <= set(classes)  # functions (vips_error_text) are not in the tree
    for name in classes:
        assert name in errors.__doc__


def test_bad_mesh_data_is_not_an_invalid_parameter():
    assert not issubclass(errors.InvalidMeshError, errors.InvalidParameterError)


def test_vips_error_text_keeps_libvips_diagnosis_on_one_line():
    exc = Exception("unable to load from file b'/scans/[red]x.tif'\nVipsForeignLoad: \"/scans/[red]x.tif\" "
                    "is not a known file format\n\n")
    assert errors.vips_error_text(exc) == 'VipsForeignLoad: "/scans/[red]x.tif" is not a known file format'
    assert errors.vips_error_text(Exception("unable to call\n")) == "unable to call"  # nothing else to keep
    long = errors.vips_error_text(Exception("tiffload: " + "x" * 500), limit=40)
    assert len(long) == 40 and long.endswith("…")


def test_libvips_messages_are_cleaned_in_one_place():
    from llvscan.imaging import inspect, tiles

    assert not hasattr(tiles, "_vips_error")
    assert not hasattr(inspect, "_vips_error")
