#!/usr/bin/env python
"""Generate the llvscan sample collection::

    python sample_data/make_sample_data.py [--out DIR]     # default: sample_data/collection

The generator and the description of every file and its ground truth are in ``llvscan/sample.py`` (in
the package, so that ``llvscan bench`` can make the collection anywhere). This script keeps the path the
Makefile, the tests and the benchmarks load it by, with every builder (``cube_sphere``, ``paint_atlas``…).
"""

from __future__ import annotations

import pathlib

from llvscan import sample

globals().update({name: value for name, value in vars(sample).items() if not name.startswith("__")})

if __name__ == "__main__":
    raise SystemExit(sample.main(default_out=pathlib.Path(__file__).resolve().parent / "collection"))
