import pytest

from llvscan import errors


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.InvalidParameterError, ValueError),
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
    for name in errors.__all__:
        assert name in errors.__doc__
