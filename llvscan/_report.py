"""What every inspection report shares: findings at three levels, and the verdict they give."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from llvscan._json import JsonResult

__all__ = ["Finding", "HasFindings"]


@dataclass(frozen=True)
class Finding:
    level: str  # "error" | "warning" | "info"
    code: str  # stable machine name, e.g. "non_manifold_edges"
    message: str
    count: int = 0
    measure: float | None = None
    sample: list[int] = field(default_factory=list)


class HasFindings(JsonResult):
    """Mixed into report dataclasses with a ``findings`` field: errors make the input invalid."""

    _json_properties: ClassVar[tuple[str, ...]] = ("is_valid",)
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    @property
    def is_valid(self) -> bool:
        return not self.errors
