"""The one way a result becomes JSON: ``to_dict()`` on every result dataclass (``JsonResult``).

A field declared with ``metadata=NOT_IN_JSON`` (arrays, meshes) is left out; properties named in
``_json_properties`` (``is_valid``, ``exit_code``…) are added. Paths become strings, numpy scalars
Python numbers, tuples lists, nested dataclasses dicts. ``json.dumps(result.to_dict())`` always works.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, ClassVar

__all__ = ["NOT_IN_JSON", "JsonResult", "to_jsonable"]

NOT_IN_JSON = {"json": False}


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (dict, list, str, int, float, bool, None)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.metadata.get("json", True)}
        for name in getattr(value, "_json_properties", ()):
            data[name] = to_jsonable(getattr(value, name))
        return data
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "item") and hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0:
        return value.item()  # numpy scalar
    return value


class JsonResult:
    """Mixed into result dataclasses: ``to_dict()`` gives their JSON form."""

    _json_properties: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = to_jsonable(self)
        return data
