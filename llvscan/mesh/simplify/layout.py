"""The packed row layouts shared by the decimator (``decimate.py``) and its kernels (``_kernels.py``).

One vertex or one face is one or two cache lines: the heap visits the surface in cost order, i.e. at
random, so memory latency, not arithmetic, is what a collapse costs. Every column is named here and
nowhere else.

* ``vi`` (N, VI_COLUMNS) int32 — per vertex: face-list start and count, last change (-1: removed),
  flags, one of its wedges, a scratch mark.
* ``vq`` (N, VQ_COLUMNS) float64 — per vertex: position (3), plane quadric A00 A01 A02 A11 A12 A22
  b0 b1 b2 c (10), face area.
* ``fc`` (M, FC_COLUMNS) int32 — per face: vertices (3), wedges (3), alive.
* ``wq`` (W, wq_columns(K)) float64 — per wedge: its attribute quadric (``WQ_FIXED + 4K`` floats: App (6),
  B (3K, column j at 6 + 3j), alpha, bp (3), bs (K), c), then its K attributes.
"""

from __future__ import annotations

__all__ = [
    "AREA", "FC_COLUMNS", "F_ALIVE", "F_VERTICES", "F_WEDGES", "Q0", "VI_COLUMNS", "VQ_COLUMNS", "V_COUNT",
    "V_FLAGS", "V_LAST", "V_MARK", "V_START", "V_WEDGE", "WQ_FIXED", "wq_attributes", "wq_columns",
]

V_START, V_COUNT, V_LAST, V_FLAGS, V_WEDGE, V_MARK = 0, 1, 2, 3, 4, 5
VI_COLUMNS = 8

Q0 = 3  # first quadric column of vq; positions are columns 0-2
AREA = 13
VQ_COLUMNS = 16

F_VERTICES = 0  # three columns
F_WEDGES = 3  # three columns
F_ALIVE = 6
FC_COLUMNS = 8

WQ_FIXED = 11  # attribute-quadric floats that do not grow with K: App (6), alpha (1), bp (3), c (1)


def wq_attributes(k_attr: int) -> int:
    """First column of a wedge's attributes in ``wq`` (after its quadric)."""
    return WQ_FIXED + 4 * k_attr


def wq_columns(k_attr: int) -> int:
    """Columns of ``wq`` for ``k_attr`` attributes per wedge."""
    return WQ_FIXED + 5 * k_attr
