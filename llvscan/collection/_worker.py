"""Entry point of a ``WorkerPool`` worker: ``python -m llvscan.collection._worker FD MODULE:FUNCTION QUIET``."""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection

from llvscan.collection.pool import serve

if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])), sys.argv[2], sys.argv[3] == "1")
