"""The digitisation standards' thresholds, as data, and the grading of measured metrics against them.

Three standards, each a ``Standard`` of ``Criterion`` rows (metric, unit, kind, one bound per level, best
level first):

- ``fadgi-2023``: FADGI Technical Guidelines for Digitizing Cultural Heritage Materials, 3rd edition (2023),
  star levels 4 → 1, as the secondary sources quote its *Bound Volumes: General Collections* column;
- ``metamorfoze-2.0``: Metamorfoze Preservation Imaging Guidelines, version 2.0 (draft June 2023, final
  April 2025), Full / Light / Extra Light;
- ``iso-19264``: ISO 19264-1:2021, levels A / B / C (the ISO text is paywalled: secondary sources only).

Every value carries its source and, where the source is secondary, a confidence note; where no source was
found the criterion is absent or the level is left out, never guessed. ``docs/imaging-qa-standards.md``
has the tables, the sources and what llvscan can and cannot measure from each target.

A level left out of a criterion's ``levels`` (always at the worst end) has no numeric requirement for that
metric: Metamorfoze Extra Light, for example, judges colour accuracy visually. Grading (``grade``):

- a metric reaches the best level whose bound its value meets (``≤``/``≥``, or ``<``/``>`` where the
  standard writes a strict bound: ``Criterion.strict``); a value that meets no bound reaches the best
  level without a requirement, or none at all ("fails");
- a metric that is missing, None or not finite is "not measured" — never a pass;
- the overall level is the lowest level any *measured* metric reaches, None when one fails every level
  or nothing was measured; ``complete`` says whether every criterion was measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Literal

from llvscan._json import JsonResult
from llvscan.errors import InvalidParameterError

__all__ = [
    "NOT_MEASURED",
    "STANDARDS",
    "Bound",
    "Criterion",
    "MetricGrade",
    "Standard",
    "StandardGrade",
    "grade",
]

#: A level's bound: one number for "max"/"min" criteria, (low, high) for "range" criteria.
Bound = float | tuple[float, float]

#: ``MetricGrade.level`` of a metric that was not measured.
NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Criterion(JsonResult):
    """One metric's requirement at each level of a standard, best level first.

    ``kind``: "max" (value ≤ bound), "min" (value ≥ bound) or "range" (low ≤ value ≤ high). ``strict``:
    the standard writes "<" / ">" (FADGI), so a value exactly on the bound does not meet it. ``levels``
    may stop before the standard's worst levels: those have no numeric requirement for this metric."""

    metric: str
    unit: str
    kind: Literal["max", "min", "range"]
    levels: tuple[tuple[str, Bound], ...]
    source: str
    note: str | None = None
    strict: bool = False

    def bound(self, level: str) -> Bound | None:
        """The bound at ``level``, None when this criterion sets none there."""
        for name, value in self.levels:
            if name == level:
                return value
        return None

    def meets(self, value: float, level: str) -> bool:
        """Whether ``value`` (finite) meets the bound at ``level`` (True where there is no bound)."""
        bound = self.bound(level)
        if bound is None:
            return True
        if self.kind == "range":
            assert isinstance(bound, tuple)
            low, high = bound
            return low < value < high if self.strict else low <= value <= high
        assert not isinstance(bound, tuple)
        if self.kind == "max":
            return value < bound if self.strict else value <= bound
        return value > bound if self.strict else value >= bound


@dataclass(frozen=True)
class Standard(JsonResult):
    """A digitisation standard: its levels (best first) and the criteria graded at each."""

    name: str  # "fadgi-2023" | "metamorfoze-2.0" | "iso-19264"
    title: str
    levels: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    source: str  # the document the values come from
    note: str | None = None

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metric names this standard grades, in table order."""
        return tuple(c.metric for c in self.criteria)

    def criterion(self, metric: str) -> Criterion:
        for c in self.criteria:
            if c.metric == metric:
                return c
        raise InvalidParameterError(f"{self.name} grades no metric {metric!r}: it grades {', '.join(self.metrics)}")


@dataclass(frozen=True)
class MetricGrade(JsonResult):
    """One metric graded: its value, the bound at every level of the standard (None: no requirement at that
    level), the best level it reaches (None: it fails every level; ``NOT_MEASURED``: no value)."""

    metric: str
    value: float | None
    unit: str
    kind: str
    strict: bool
    thresholds: tuple[tuple[str, Bound | None], ...]
    level: str | None
    status: Literal["met", "fails", "not measured"]
    note: str | None = None

    _json_properties = ("fails",)

    @property
    def measured(self) -> bool:
        return self.status != "not measured"

    @property
    def fails(self) -> bool:
        """True when the value meets no level's bound (a measured metric below the standard)."""
        return self.status == "fails"


@dataclass(frozen=True)
class StandardGrade(JsonResult):
    """Metrics graded to a standard. ``level``: the lowest level any measured metric reaches; None when a
    measured metric fails every level or nothing was measured. ``complete`` is False when some criterion was
    not measured: the level is then a partial grade (``not_measured`` names what is missing)."""

    _json_properties = ("failed",)

    standard: str
    title: str
    levels: tuple[str, ...]
    level: str | None
    complete: bool
    metrics: tuple[MetricGrade, ...]
    not_measured: tuple[str, ...]
    ignored: tuple[str, ...]  # metrics given that this standard does not grade
    notes: tuple[str, ...]

    @property
    def failed(self) -> tuple[str, ...]:
        """The measured metrics that fail every level."""
        return tuple(m.metric for m in self.metrics if m.fails)


# --- the tables ------------------------------------------------------------------------------------------
# Sources (full references and confidence in docs/imaging-qa-standards.md):
_SKANDALSKI = ("skandalski.pl, 'Tabela porównawcza: FADGI/ISO/Metamorfoze' "
               "(https://skandalski.pl/tabela-fadgi-iso-metamorfoze/)")
_CZ_METHOD = ("Czech national digitisation methodology (draft), §9, quoting FADGI 2023 and Metamorfoze 2.0 "
              "(April 2025)")
_FADGI_2016 = ("FADGI Technical Guidelines, September 2016, 'Bound Volumes: General Collections' table "
               "(primary; the 2023 edition is not available to us)")
_PRESERVATIONIMAGING = ("H. van Dormolen, 'Version 2.0' (https://preservationimaging.com/version-2/): "
                        "specifications of Metamorfoze 2.0, draft June 2023")

_FADGI_LEVELS = ("4 stars", "3 stars", "2 stars", "1 star")
_MF_LEVELS = ("full", "light", "extra light")
_ISO_LEVELS = ("A", "B", "C")


def _levels(names: tuple[str, ...], *bounds: Bound) -> tuple[tuple[str, Bound], ...]:
    return tuple(zip(names, bounds, strict=False))


def _fadgi(*bounds: Bound) -> tuple[tuple[str, Bound], ...]:
    return _levels(_FADGI_LEVELS, *bounds)


def _mf(*bounds: Bound) -> tuple[tuple[str, Bound], ...]:
    return _levels(_MF_LEVELS, *bounds)


def _iso(*bounds: Bound) -> tuple[tuple[str, Bound], ...]:
    return _levels(_ISO_LEVELS, *bounds)


_FADGI = Standard(
    name="fadgi-2023",
    title="FADGI Technical Guidelines for Digitizing Cultural Heritage Materials, 3rd ed. (2023)",
    levels=_FADGI_LEVELS,
    source="FADGI 2023 as quoted by secondary sources (Bound Volumes: General Collections); see each criterion",
    note=("FADGI writes strict bounds ('< 2'). Values differ by material category; these are the Bound Volumes: "
          "General Collections column. Sampling rate (ppi) requirements depend on the category and are not graded."),
    criteria=(
        Criterion("delta_e_mean", "ΔE2000", "max", _fadgi(2.0, 3.5, 5.0, 6.5), _SKANDALSKI, strict=True,
                  note="medium confidence: 4★–2★ confirmed by " + _CZ_METHOD + "; 1★ from one source"),
        Criterion("delta_e_p90", "ΔE2000", "max", _fadgi(4.0, 7.0, 10.0, 13.0), _SKANDALSKI, strict=True,
                  note="medium confidence: 4★–2★ confirmed by " + _CZ_METHOD + "; 1★ from one source"),
        Criterion("tone_delta_l_max", "ΔL*", "max", _fadgi(1.5, 3.0, 4.5, 6.0), _SKANDALSKI, strict=True,
                  note="low confidence: one secondary source (FADGI 2016 had ≤2/≤5/≤8/≤8 ΔL* beside count levels)"),
        Criterion("white_balance_max", "ΔE(a*b*)", "max", _fadgi(2.0, 4.0, 6.0, 8.0), _SKANDALSKI, strict=True,
                  note="medium confidence: 4★–2★ confirmed by " + _CZ_METHOD + "; same values as FADGI 2016"),
        Criterion("noise_max", "L* std", "max", _fadgi(1.0, 2.0, 3.0, 4.0), _SKANDALSKI, strict=True,
                  note="medium confidence: one 2023 source, identical to FADGI 2016's (primary) <1/<2/<3/<4 ΔL* std"),
        Criterion("gain_modulation_highlight_min", "ratio", "range",
                  _fadgi((0.8, 1.1), (0.7, 1.2), (0.6, 1.3), (0.5, 1.4)), _SKANDALSKI,
                  note="low confidence: one secondary source; the highlight steps of the grey scale"),
        Criterion("gain_modulation_highlight_max", "ratio", "range",
                  _fadgi((0.8, 1.1), (0.7, 1.2), (0.6, 1.3), (0.5, 1.4)), _SKANDALSKI,
                  note="low confidence: one secondary source; the highlight steps of the grey scale"),
        Criterion("gain_modulation_min", "ratio", "range",
                  _fadgi((0.7, 1.3), (0.6, 1.4), (0.3, 1.6), (0.25, 1.7)), _SKANDALSKI,
                  note=("low confidence: one secondary source, which prints this row in the reverse column order "
                        "(1★ first); read here best-first, as its other rows and ISO 19264-1's A/B/C are")),
        Criterion("gain_modulation_max", "ratio", "range",
                  _fadgi((0.7, 1.3), (0.6, 1.4), (0.3, 1.6), (0.25, 1.7)), _SKANDALSKI,
                  note=("low confidence: one secondary source, which prints this row in the reverse column order "
                        "(1★ first); read here best-first, as its other rows and ISO 19264-1's A/B/C are")),
        Criterion("nonuniformity", "%", "max", _fadgi(1.0, 3.0, 5.0, 8.0), _FADGI_2016, strict=True,
                  note=("medium confidence: 2016 values; " + _CZ_METHOD + " says 2023 keeps <1 % (4★) to <8 % "
                        "(lowest) as 'lightness uniformity', standard deviation ÷ mean")),
        Criterion("sampling_efficiency", "%", "min", _fadgi(90.0, 80.0, 70.0, 60.0), _SKANDALSKI, strict=True,
                  note="medium–high confidence: same in " + _CZ_METHOD + " (4★–2★) and in FADGI 2016"),
        Criterion("sharpening", "ratio", "max", _fadgi(1.02, 1.05, 1.1), _CZ_METHOD, strict=True,
                  note=("medium–low confidence: one secondary source; no 2023 1★ value found, so not graded at 1★ "
                        "(FADGI 2016: <1.3)")),
        Criterion("misregistration", "px", "max", _fadgi(0.33, 0.5, 0.8), _CZ_METHOD, strict=True,
                  note="medium confidence: same as FADGI 2016 for 4★–2★; no 2023 1★ value found (2016: <1.2 px)"),
        Criterion("resolution_error", "%", "range", _fadgi((-1.0, 1.0), (-2.0, 2.0), (-3.0, 3.0), (-5.0, 5.0)),
                  _CZ_METHOD + "; 1★: " + _SKANDALSKI,
                  note=("reproduction scale accuracy (measured vs header ppi): medium confidence for 4★–2★; "
                        "1★ medium–low (one 2023 source, '≥ 190 ppi (200 ppi – 5 %)'; FADGI 2016: ±5 %)")),
    ),
)

_METAMORFOZE = Standard(
    name="metamorfoze-2.0",
    title="Metamorfoze Preservation Imaging Guidelines, version 2.0",
    levels=_MF_LEVELS,
    source=("Metamorfoze Preservation Imaging Guidelines: Image Quality, version 2.0 (H. van Dormolen; draft June "
            "2023, published April 2025), as quoted by secondary sources; see each criterion"),
    note=("Colour accuracy and white balance use CIEDE2000 (SL=1); white balance is CIEDE2000 without the "
          "lightness term. Illumination limits are for an image field up to DIN A3."),
    criteria=(
        Criterion("delta_e_mean", "ΔE2000", "max", _mf(3.0, 4.0), _PRESERVATIONIMAGING,
                  note="high confidence (also " + _CZ_METHOD + "); Extra Light: no numeric colour accuracy"),
        Criterion("delta_e_max", "ΔE2000", "max", _mf(7.0, 14.0), _PRESERVATIONIMAGING,
                  note="high confidence (also " + _CZ_METHOD + "); Extra Light: no numeric colour accuracy"),
        Criterion("white_balance_de2000_max", "ΔE2000 (a*b*)", "max", _mf(3.0, 3.0, 5.0), _PRESERVATIONIMAGING,
                  note=("high confidence (also " + _CZ_METHOD + "); CIEDE2000 with ΔL* = 0, which weighs a* "
                        "about 1.5× for neutrals: not the Euclidean Δa*b* of white_balance_max")),
        Criterion("tone_delta_l_max", "ΔL*", "max", _mf(2.0, 2.0, 4.0), _SKANDALSKI,
                  note="medium–low confidence: one secondary source (exposure / OECF ΔL*)"),
        Criterion("noise_max", "L* std", "max", _mf(1.6, 1.6, 2.0), _SKANDALSKI,
                  note="low confidence: one secondary source"),
        Criterion("gain_modulation_highlight_min", "ratio", "range", _mf((0.8, 1.1), (0.8, 1.1), (0.8, 1.1)),
                  _PRESERVATIONIMAGING, note="high confidence: '80 % – 110 %' in the highlights at every level"),
        Criterion("gain_modulation_highlight_max", "ratio", "range", _mf((0.8, 1.1), (0.8, 1.1), (0.8, 1.1)),
                  _PRESERVATIONIMAGING, note="high confidence: '80 % – 110 %' in the highlights at every level"),
        Criterion("gain_modulation_min", "ratio", "range", _mf((0.7, 1.2), (0.7, 1.2), (0.6, 1.3)), _SKANDALSKI,
                  note="low confidence: one secondary source (gain modulation outside the highlights)"),
        Criterion("gain_modulation_max", "ratio", "range", _mf((0.7, 1.2), (0.7, 1.2), (0.6, 1.3)), _SKANDALSKI,
                  note="low confidence: one secondary source (gain modulation outside the highlights)"),
        Criterion("nonuniformity_delta_l", "ΔL*", "max", _mf(3.0, 3.0, 5.0), _CZ_METHOD,
                  note=("medium–high confidence (the same limits are coded in an open Metamorfoze checker); field "
                        "up to A3. Larger fields, Full/Light: ≤4 (A2), ≤5 (A1), ≤6 (A0); Extra Light: not specified")),
        Criterion("sampling_efficiency", "%", "min", _mf(85.0, 85.0, 85.0), _CZ_METHOD,
                  note="medium–high confidence (also " + _SKANDALSKI + "); MTF10 per ISO 16067-1"),
        Criterion("sharpening", "ratio", "max", _mf(1.05, 1.05, 1.05), _CZ_METHOD,
                  note="medium confidence: 'maximum modulation ≤ 1.05' at every level; one secondary source"),
        Criterion("misregistration", "px", "max", _mf(0.35, 0.5, 0.5), _CZ_METHOD,
                  note="medium confidence: one secondary source"),
        Criterion("resolution_error", "%", "range", _mf((-2.0, 2.0), (-2.0, 2.0)), _CZ_METHOD,
                  note=("medium confidence: claimed vs obtained sampling rate ≤ 2 % for Full and Light; no Extra "
                        "Light value found (not graded there)")),
    ),
)

_ISO = Standard(
    name="iso-19264",
    title="ISO 19264-1:2021 Photography — Archiving systems — Imaging systems quality analysis — Part 1",
    levels=_ISO_LEVELS,
    source=("ISO 19264-1:2021 Annex B (aims and tolerances) is paywalled; every value here is from "
            + _SKANDALSKI + " and is low–medium confidence"),
    note=("Not found in any open source, so not graded: colour misregistration, sharpening, illuminance "
          "non-uniformity, reproduction scale. The ΔE formula of the quoted limits is not confirmed "
          "(A's mean ≤ 4 / max ≤ 10 equal Metamorfoze 1.0's CIE 1976 limits); llvscan grades ΔE2000 against them."),
    criteria=(
        Criterion("delta_e_mean", "ΔE2000", "max", _iso(4.0, 5.0, 5.0), _SKANDALSKI,
                  note="low–medium confidence; formula (ΔE2000 or ΔE*ab) not confirmed"),
        Criterion("delta_e_max", "ΔE2000", "max", _iso(10.0, 15.0, 15.0), _SKANDALSKI,
                  note="low–medium confidence; formula (ΔE2000 or ΔE*ab) not confirmed"),
        Criterion("tone_delta_l_max", "ΔL*", "max", _iso(2.0, 3.0, 4.0), _SKANDALSKI, note="low–medium confidence"),
        Criterion("white_balance_max", "ΔE(a*b*)", "max", _iso(3.0, 4.0, 5.0), _SKANDALSKI,
                  note="low–medium confidence"),
        Criterion("noise_max", "L* std", "max", _iso(1.6, 2.0, 2.2), _SKANDALSKI, note="low–medium confidence"),
        Criterion("gain_modulation_highlight_min", "ratio", "range", _iso((0.8, 1.1), (0.7, 1.2), (0.6, 1.3)),
                  _SKANDALSKI, note="low–medium confidence; A's 0.8–1.1 matches Metamorfoze's highlight limits"),
        Criterion("gain_modulation_highlight_max", "ratio", "range", _iso((0.8, 1.1), (0.7, 1.2), (0.6, 1.3)),
                  _SKANDALSKI, note="low–medium confidence; A's 0.8–1.1 matches Metamorfoze's highlight limits"),
        Criterion("gain_modulation_min", "ratio", "range", _iso((0.7, 1.3), (0.6, 1.4), (0.3, 1.6)), _SKANDALSKI,
                  note="low confidence (gain modulation outside the highlights)"),
        Criterion("gain_modulation_max", "ratio", "range", _iso((0.7, 1.3), (0.6, 1.4), (0.3, 1.6)), _SKANDALSKI,
                  note="low confidence (gain modulation outside the highlights)"),
        Criterion("sampling_efficiency", "%", "min", _iso(85.0, 80.0, 70.0), _SKANDALSKI,
                  note="low–medium confidence"),
    ),
)

#: The standards by name (the names ``--standard`` takes).
STANDARDS: dict[str, Standard] = {s.name: s for s in (_FADGI, _METAMORFOZE, _ISO)}


# --- grading ---------------------------------------------------------------------------------------------
def _value(metric: str, raw: object) -> tuple[float | None, str | None]:
    """A metric's value as a finite float, or None with the reason."""
    if raw is None:
        return None, None
    if isinstance(raw, bool) or not isinstance(raw, Real):
        raise InvalidParameterError(f"metric {metric!r} must be a number or None, not {type(raw).__name__}")
    value = float(raw)
    if not math.isfinite(value):
        return None, f"{metric} is {value}: treated as not measured"
    return value, None


def _grade_metric(criterion: Criterion, levels: tuple[str, ...], raw: object) -> tuple[MetricGrade, str | None]:
    """The metric graded, and why its value was set aside (not finite), if it was."""
    value, why = _value(criterion.metric, raw)
    thresholds = tuple((level, criterion.bound(level)) for level in levels)
    note = "; ".join(n for n in (why, criterion.note) if n) or None
    if value is None:
        level: str | None = NOT_MEASURED
        status: Literal["met", "fails", "not measured"] = "not measured"
    else:
        level = next((name for name in levels if criterion.meets(value, name)), None)
        status = "fails" if level is None else "met"
    return MetricGrade(metric=criterion.metric, value=value, unit=criterion.unit, kind=criterion.kind,
                       strict=criterion.strict, thresholds=thresholds, level=level, status=status, note=note), why


def grade(standard: str, metrics: Mapping[str, float | None]) -> StandardGrade:
    """Grade ``metrics`` (by the names in ``Standard.metrics``; None, missing or NaN = not measured) to
    ``standard`` ("fadgi-2023", "metamorfoze-2.0" or "iso-19264").

    Raises InvalidParameterError for an unknown standard or a metric value that is not a number."""
    try:
        spec = STANDARDS[standard]
    except KeyError:
        raise InvalidParameterError(f"unknown standard {standard!r}: use one of {', '.join(STANDARDS)}") from None
    results = [_grade_metric(c, spec.levels, metrics.get(c.metric)) for c in spec.criteria]
    graded = tuple(g for g, _ in results)
    notes = [why for _, why in results if why]
    measured = [g for g in graded if g.measured]
    not_measured = tuple(g.metric for g in graded if not g.measured)
    if not measured:
        level = None
        notes.append(f"no metric that {standard} grades was measured")
    elif any(g.fails for g in measured):
        level = None
    else:
        level = max((g.level for g in measured), key=lambda name: spec.levels.index(str(name)))
    if measured and not_measured:
        notes.append(f"partial grade: not measured: {', '.join(not_measured)}")
    ignored = tuple(sorted(set(metrics) - set(spec.metrics)))
    return StandardGrade(standard=spec.name, title=spec.title, levels=spec.levels, level=level,
                         complete=not not_measured, metrics=graded, not_measured=not_measured, ignored=ignored,
                         notes=tuple(notes))
