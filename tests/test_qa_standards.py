"""The digitisation standards' tables and the grading against them.

Ground truth: the numbers below are typed from the sources in docs/imaging-qa-standards.md, not read from
llvscan's tables; the grading cases are worked by hand from those numbers (a value on a bound, just
inside, just outside, for each kind of criterion and each way of writing a bound).
"""

from __future__ import annotations

import itertools
import json
import math

import pytest

from llvscan._constants import QA_STANDARDS
from llvscan.errors import InvalidParameterError
from llvscan.imaging.qa.standards import NOT_MEASURED, STANDARDS, Criterion, grade

# The metric contract (notes/common.md) plus the four metrics the standards need beyond it.
CONTRACT = {"delta_e_mean", "delta_e_max", "delta_e_p90", "tone_delta_l_max", "white_balance_max", "noise_max",
            "gain_modulation_min", "gain_modulation_max", "nonuniformity", "mtf50", "mtf10", "sampling_efficiency",
            "sharpening", "misregistration", "resolution_ppi", "resolution_error"}
ADDED = {"gain_modulation_highlight_min", "gain_modulation_highlight_max", "nonuniformity_delta_l",
         "white_balance_de2000_max"}

CRITERIA = [(s.name, c) for s in STANDARDS.values() for c in s.criteria]


def _ids(item: tuple[str, Criterion]) -> str:
    return f"{item[0]}:{item[1].metric}"


# --- the tables ------------------------------------------------------------------------------------------
def test_the_standards_are_the_ones_the_cli_offers():
    assert tuple(STANDARDS) == QA_STANDARDS
    assert STANDARDS["fadgi-2023"].levels == ("4 stars", "3 stars", "2 stars", "1 star")
    assert STANDARDS["metamorfoze-2.0"].levels == ("full", "light", "extra light")
    assert STANDARDS["iso-19264"].levels == ("A", "B", "C")


def _table_problems(c: Criterion, levels: tuple[str, ...]) -> list[str]:
    """What is wrong with a criterion's table: each level's bound must be no looser than the next one's,
    and its levels must be the standard's, best first, stopping only at the worst end."""
    problems = []
    names = [level for level, _ in c.levels]
    if not names or names != list(levels[: len(names)]):
        problems.append(f"levels {names} are not a best-first prefix of {list(levels)}")
    bounds = [b for _, b in c.levels]
    if c.kind in ("max", "min"):
        if not all(isinstance(b, float) and math.isfinite(b) for b in bounds):
            problems.append(f"bounds {bounds} are not finite numbers")
        elif c.kind == "max" and not all(a <= b for a, b in itertools.pairwise(bounds)):
            problems.append(f"max bounds {bounds} tighten towards the worst level")
        elif c.kind == "min" and not all(a >= b for a, b in itertools.pairwise(bounds)):
            problems.append(f"min bounds {bounds} tighten towards the worst level")
    elif c.kind == "range":
        if not all(isinstance(b, tuple) and len(b) == 2 and b[0] < b[1] for b in bounds):
            problems.append(f"ranges {bounds} are not (low, high) pairs")
        else:
            lows, highs = [b[0] for b in bounds], [b[1] for b in bounds]  # type: ignore[index]
            if not all(a >= b for a, b in itertools.pairwise(lows)):
                problems.append(f"range lows {lows} rise towards the worst level")
            if not all(a <= b for a, b in itertools.pairwise(highs)):
                problems.append(f"range highs {highs} fall towards the worst level")
    else:
        problems.append(f"unknown kind {c.kind!r}")
    return problems


@pytest.mark.parametrize("item", CRITERIA, ids=[_ids(i) for i in CRITERIA])
def test_every_table_is_monotone_best_to_worst(item):
    """A typo in a table (a swapped pair, a misplaced decimal point) breaks this."""
    name, c = item
    assert _table_problems(c, STANDARDS[name].levels) == []
    assert c.unit and c.source
    assert c.metric in CONTRACT | ADDED


@pytest.mark.parametrize(("kind", "levels"), [
    ("max", (("A", 3.0), ("B", 2.0))),                      # swapped
    ("max", (("A", 2.0), ("B", 30.0), ("C", 4.0))),         # a misplaced decimal point
    ("min", (("A", 80.0), ("B", 85.0))),
    ("range", (("A", (0.8, 1.1)), ("B", (0.85, 1.2)))),     # the low end tightens
    ("range", (("A", (0.8, 1.1)), ("B", (0.7, 1.05)))),     # the high end tightens
    ("range", (("A", (1.1, 0.8)),)),                        # low above high
    ("max", (("B", 2.0), ("C", 3.0))),                      # skips the best level
    ("max", (("A", 2.0), ("C", 3.0))),                      # a gap in the middle
    ("max", (("A", math.nan),)),
])
def test_the_table_check_catches_typos(kind, levels):
    broken = Criterion("delta_e_mean", "ΔE2000", kind, levels, "typo")
    assert _table_problems(broken, ("A", "B", "C"))


@pytest.mark.parametrize("name", list(STANDARDS))
def test_a_standard_grades_each_metric_once(name):
    metrics = STANDARDS[name].metrics
    assert len(metrics) == len(set(metrics))


@pytest.mark.parametrize(("name", "metric", "expected", "strict"), [
    # FADGI 2023, Bound Volumes: General Collections (secondary sources, "<" bounds)
    ("fadgi-2023", "delta_e_mean", (2.0, 3.5, 5.0, 6.5), True),
    ("fadgi-2023", "delta_e_p90", (4.0, 7.0, 10.0, 13.0), True),
    ("fadgi-2023", "white_balance_max", (2.0, 4.0, 6.0, 8.0), True),
    ("fadgi-2023", "sampling_efficiency", (90.0, 80.0, 70.0, 60.0), True),
    ("fadgi-2023", "misregistration", (0.33, 0.5, 0.8), True),
    ("fadgi-2023", "sharpening", (1.02, 1.05, 1.1), True),
    ("fadgi-2023", "nonuniformity", (1.0, 3.0, 5.0, 8.0), True),
    # Metamorfoze 2.0 ("≤" bounds)
    ("metamorfoze-2.0", "delta_e_mean", (3.0, 4.0), False),
    ("metamorfoze-2.0", "delta_e_max", (7.0, 14.0), False),
    ("metamorfoze-2.0", "white_balance_de2000_max", (3.0, 3.0, 5.0), False),
    ("metamorfoze-2.0", "sampling_efficiency", (85.0, 85.0, 85.0), False),
    ("metamorfoze-2.0", "misregistration", (0.35, 0.5, 0.5), False),
    ("metamorfoze-2.0", "nonuniformity_delta_l", (3.0, 3.0, 5.0), False),
    # ISO 19264-1:2021 (secondary source)
    ("iso-19264", "delta_e_mean", (4.0, 5.0, 5.0), False),
    ("iso-19264", "delta_e_max", (10.0, 15.0, 15.0), False),
    ("iso-19264", "noise_max", (1.6, 2.0, 2.2), False),
    ("iso-19264", "sampling_efficiency", (85.0, 80.0, 70.0), False),
])
def test_the_tables_hold_the_published_values(name, metric, expected, strict):
    c = STANDARDS[name].criterion(metric)
    assert tuple(b for _, b in c.levels) == expected
    assert c.strict is strict


def test_the_highlight_gain_modulation_is_80_to_110_percent_at_every_metamorfoze_level():
    c = STANDARDS["metamorfoze-2.0"].criterion("gain_modulation_highlight_max")
    assert [b for _, b in c.levels] == [(0.8, 1.1)] * 3


# --- grading: bounds -------------------------------------------------------------------------------------
def _level(standard: str, metric: str, value: float) -> str | None:
    result = grade(standard, {metric: value})
    (m,) = [g for g in result.metrics if g.metric == metric]
    return m.level


@pytest.mark.parametrize(("value", "expected"), [
    (0.0, "full"), (3.0, "full"), (3.0 + 1e-9, "light"), (4.0, "light"),
    # Extra Light sets no numeric colour accuracy: any value reaches it
    (4.0 + 1e-9, "extra light"), (40.0, "extra light"),
])
def test_a_max_bound_with_le_includes_the_bound(value, expected):
    assert _level("metamorfoze-2.0", "delta_e_mean", value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (1.999, "4 stars"), (2.0, "3 stars"), (3.49, "3 stars"), (3.5, "2 stars"), (6.49, "1 star"),
    (6.5, None), (99.0, None),
])
def test_a_strict_max_bound_excludes_the_bound(value, expected):
    """FADGI writes "< 2": a mean ΔE2000 of exactly 2.0 is not four-star."""
    assert _level("fadgi-2023", "delta_e_mean", value) == expected


@pytest.mark.parametrize(("standard", "value", "expected"), [
    ("metamorfoze-2.0", 85.0, "full"), ("metamorfoze-2.0", 100.0, "full"), ("metamorfoze-2.0", 84.99, None),
    ("fadgi-2023", 90.01, "4 stars"), ("fadgi-2023", 90.0, "3 stars"), ("fadgi-2023", 60.01, "1 star"),
    ("fadgi-2023", 60.0, None),
    ("iso-19264", 85.0, "A"), ("iso-19264", 84.9, "B"), ("iso-19264", 70.0, "C"), ("iso-19264", 69.9, None),
])
def test_a_min_bound(standard, value, expected):
    assert _level(standard, "sampling_efficiency", value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (1.0, "A"), (0.8, "A"), (1.1, "A"), (0.7999, "B"), (1.1001, "B"), (0.7, "B"), (1.2, "B"),
    (0.6, "C"), (1.3, "C"), (0.5999, None), (1.3001, None),
])
def test_a_range_bound_includes_both_ends(value, expected):
    assert _level("iso-19264", "gain_modulation_highlight_min", value) == expected


def test_a_negative_and_a_positive_resolution_error_grade_alike():
    """Reproduction scale accuracy is ±: 1.5 % too coarse and 1.5 % too fine are both three-star."""
    assert _level("fadgi-2023", "resolution_error", -1.5) == _level("fadgi-2023", "resolution_error", 1.5) == "3 stars"
    assert _level("fadgi-2023", "resolution_error", 0.0) == "4 stars"
    assert _level("fadgi-2023", "resolution_error", -7.0) is None


def test_a_criterion_without_a_one_star_value_does_not_fail_one_star():
    """No 2023 one-star misregistration limit was found: 1.0 px is below two-star but not a failure."""
    assert _level("fadgi-2023", "misregistration", 0.79) == "2 stars"
    assert _level("fadgi-2023", "misregistration", 1.0) == "1 star"
    assert _level("fadgi-2023", "sharpening", 1.3) == "1 star"


# --- grading: the overall level --------------------------------------------------------------------------
def test_the_overall_level_is_the_worst_metric():
    result = grade("metamorfoze-2.0", {"delta_e_mean": 2.0, "delta_e_max": 10.0, "sampling_efficiency": 90.0})
    levels = {m.metric: m.level for m in result.metrics if m.measured}
    assert levels == {"delta_e_mean": "full", "delta_e_max": "light", "sampling_efficiency": "full"}
    assert result.level == "light"


def test_one_failing_metric_fails_the_whole_grade():
    result = grade("fadgi-2023", {"delta_e_mean": 1.0, "noise_max": 4.5, "sharpening": 1.03})
    assert result.level is None
    assert result.failed == ("noise_max",)
    (noise,) = [m for m in result.metrics if m.metric == "noise_max"]
    assert noise.fails and noise.status == "fails" and noise.level is None
    assert dict(noise.thresholds) == {"4 stars": 1.0, "3 stars": 2.0, "2 stars": 3.0, "1 star": 4.0}
    (sharpening,) = [m for m in result.metrics if m.metric == "sharpening"]
    assert sharpening.level == "3 stars"
    assert dict(sharpening.thresholds) == {"4 stars": 1.02, "3 stars": 1.05, "2 stars": 1.1, "1 star": None}


def test_missing_metrics_make_a_partial_grade():
    result = grade("iso-19264", {"delta_e_mean": 3.0, "delta_e_max": 9.0})
    assert result.level == "A"
    assert result.complete is False
    assert set(result.not_measured) == set(STANDARDS["iso-19264"].metrics) - {"delta_e_mean", "delta_e_max"}
    assert any(n.startswith("partial grade") for n in result.notes)
    for m in result.metrics:
        if m.metric in result.not_measured:
            assert m.level == NOT_MEASURED and m.value is None and not m.fails


def test_every_metric_measured_makes_a_complete_grade():
    best = {"delta_e_mean": 1.0, "delta_e_max": 3.0, "tone_delta_l_max": 0.5, "white_balance_max": 0.5,
            "noise_max": 0.5, "gain_modulation_highlight_min": 0.95, "gain_modulation_highlight_max": 1.02,
            "gain_modulation_min": 0.9, "gain_modulation_max": 1.1, "sampling_efficiency": 95.0}
    result = grade("iso-19264", best)
    assert result.complete is True and result.not_measured == () and result.level == "A"
    assert grade("iso-19264", {**best, "noise_max": 2.1}).level == "C"


def test_nothing_measured_is_no_grade():
    result = grade("fadgi-2023", {})
    assert result.level is None and result.complete is False
    assert result.not_measured == STANDARDS["fadgi-2023"].metrics


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_value_is_not_measured_never_a_pass(bad):
    result = grade("metamorfoze-2.0", {"delta_e_mean": bad, "delta_e_max": 5.0})
    (mean,) = [m for m in result.metrics if m.metric == "delta_e_mean"]
    assert mean.value is None and mean.level == NOT_MEASURED and mean.status == "not measured"
    assert "delta_e_mean" in result.not_measured
    assert any("delta_e_mean is" in n and "not measured" in n for n in result.notes)
    assert result.level == "full"  # from delta_e_max alone, and marked partial
    assert result.complete is False
    alone = grade("metamorfoze-2.0", {"delta_e_mean": bad})
    assert alone.level is None


def test_metrics_the_standard_does_not_grade_are_listed_not_graded():
    result = grade("iso-19264", {"delta_e_mean": 1.0, "mtf50": 0.3, "misregistration": 5.0})
    assert result.ignored == ("misregistration", "mtf50")
    assert result.level == "A"


def test_an_unknown_standard_names_the_known_ones():
    with pytest.raises(InvalidParameterError, match=r"unknown standard 'fadgi-2016'.*fadgi-2023.*metamorfoze-2.0"):
        grade("fadgi-2016", {"delta_e_mean": 1.0})


@pytest.mark.parametrize("bad", ["2.0", True, [1.0]])
def test_a_value_that_is_not_a_number_is_refused(bad):
    with pytest.raises(InvalidParameterError, match="delta_e_mean"):
        grade("fadgi-2023", {"delta_e_mean": bad})


def test_an_unknown_metric_of_a_standard_is_refused():
    with pytest.raises(InvalidParameterError, match="grades no metric 'mtf50'"):
        STANDARDS["iso-19264"].criterion("mtf50")


def test_the_grade_serialises_to_json():
    result = grade("fadgi-2023", {"delta_e_mean": 2.5, "noise_max": math.nan, "delta_e_p90": 13.0})
    data = json.loads(json.dumps(result.to_dict()))
    assert data["level"] is None and data["failed"] == ["delta_e_p90"]
    mean = next(m for m in data["metrics"] if m["metric"] == "delta_e_mean")
    assert mean["level"] == "3 stars" and mean["fails"] is False
    assert mean["thresholds"][0] == ["4 stars", 2.0]
    assert json.loads(json.dumps(STANDARDS["metamorfoze-2.0"].to_dict()))["levels"] == ["full", "light",
                                                                                        "extra light"]
