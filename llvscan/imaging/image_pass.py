"""One pass over a master: its tiles, its inspection and its checksum from a single decode.

A collection run wants three things of every image: the tile set (``tile_image``), the inspection report
(``inspect_image``) and the sha256 of the file. Done apart, the master is decoded twice. Here it is decoded
once, in horizontal strips, by a feeder thread that

* measures each strip (the same ``_Accumulator`` that ``inspect_image`` uses, on the same pixels: the report
  is the one ``inspect_image`` gives, bit for bit),
* hands the strip's bytes to libvips as the next strip of an uncompressed BigTIFF streamed through a
  ``pyvips.SourceCustom`` (libvips has no tee; this is the cheapest pixel stream it reads without a copy of
  the whole image), from which the usual web pipeline (``tiles._web``) and ``dzsave`` make the tiles,
* and hashes the next slice of the file (sha256 of the file's bytes, read in step with the decode, from the
  page cache the decoder has just filled).

Memory stays flat: at most three strips (~4 MiB each) are alive besides libvips' own pipeline. Masters the
stream cannot carry unchanged (other than 1–4 bands of 8- or 16-bit integers, or coded LabQ / Radiance
pixels) are tiled and inspected apart, as before; ``ImagePass.single_decode`` says which way was taken.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llvscan._constants import (
    DEFAULT_IIIF_BASE_URL,
    DEFAULT_MAX_SIZE,
    DEFAULT_PIXEL_LIMIT,
    DEFAULT_QUALITY,
    DEFAULT_TILE_SIZE,
)
from llvscan._json import JsonResult
from llvscan.errors import ImageReadError
from llvscan.imaging import tiles
from llvscan.imaging.inspect import ImageReport, InspectionThresholds

__all__ = ["ImagePass", "tile_and_inspect"]

log = logging.getLogger(__name__)

_HASH_CHUNK = 4 << 20


@dataclass(frozen=True)
class ImagePass(JsonResult):
    """What one pass over a master gives: tiles, inspection report (None when not asked) and the file's sha256."""

    tiles: tiles.TileSet
    report: ImageReport | None
    sha256: str | None  # of the file's bytes; None when not asked
    single_decode: bool  # the pixels were decoded once (False: this master was tiled and inspected apart)
    seconds: float = 0.0


# -- the uncompressed BigTIFF the feeder streams ---------------------------------------------------------------

_SHORT, _LONG8 = 3, 16


def _bigtiff_header(width: int, height: int, bands: int, depth: int, rows_per_strip: int) -> tuple[bytes, int]:
    """The header and first IFD of a little-endian, uncompressed, chunky BigTIFF whose strips follow it in order;
    returns (header bytes, total file length)."""
    row_bytes = width * bands * depth // 8
    counts = [min(rows_per_strip, height - y) * row_bytes for y in range(0, height, rows_per_strip)]
    colour = 3 if bands >= 3 else 1
    tags: list[tuple[int, int, list[int] | None]] = [
        (256, _LONG8, [width]), (257, _LONG8, [height]), (258, _SHORT, [depth] * bands), (259, _SHORT, [1]),
        (262, _SHORT, [2 if colour == 3 else 1]), (273, _LONG8, None), (277, _SHORT, [bands]),
        (278, _LONG8, [rows_per_strip]), (279, _LONG8, counts), (284, _SHORT, [1])]
    if bands > colour:
        tags.append((338, _SHORT, [2] * (bands - colour)))  # unassociated alpha
    ifd_end = 16 + 8 + 20 * len(tags) + 8

    def size(kind: int, values: list[int] | None) -> int:
        return (2 if kind == _SHORT else 8) * (len(counts) if values is None else len(values))

    start = ifd_end + sum(n for kind, values in ((k, v) for _, k, v in tags) if (n := size(kind, values)) > 8)
    offsets, at = [], start
    for count in counts:
        offsets.append(at)
        at += count
    ifd, extra = struct.pack("<Q", len(tags)), b""
    for tag, kind, values in tags:
        values = offsets if values is None else values
        payload = struct.pack(f"<{len(values)}{'H' if kind == _SHORT else 'Q'}", *values)
        if len(payload) > 8:
            ifd += struct.pack("<HHQQ", tag, kind, len(values), ifd_end + len(extra))
            extra += payload
        else:
            ifd += struct.pack("<HHQ", tag, kind, len(values)) + payload.ljust(8, b"\0")
    head = b"II" + struct.pack("<HHHQ", 43, 8, 0, 16) + ifd + struct.pack("<Q", 0) + extra
    assert len(head) == start
    return head, at


class _Feed:
    """Decodes ``raw`` strip by strip in one thread and serves the strips to libvips as an uncompressed BigTIFF
    (``source``); a second thread measures them and hashes the file along."""

    def __init__(self, raw: Any, accumulator: Any, checksum: Path | None) -> None:
        import pyvips

        self.raw, self.acc, self.checksum = raw, accumulator, checksum
        self.rows = accumulator.strip_rows
        depth = 8 if raw.format == "uchar" else 16
        self.head, self.total = _bigtiff_header(raw.width, raw.height, raw.bands, depth, self.rows)
        self.strips: queue.Queue[bytes | None] = queue.Queue(maxsize=2)  # to libvips
        self.measure: queue.Queue[bytes | None] = queue.Queue(maxsize=2)  # to the measuring thread
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.sha256: str | None = None
        self.pos, self.start, self.strip, self.ended = 0, len(self.head), memoryview(b""), False
        self.source = pyvips.SourceCustom()
        self.source.on_read(self._read)
        self.source.on_seek(self._seek)
        self.threads = [threading.Thread(target=self._decode, name="llvscan-image-decode", daemon=True),
                        threading.Thread(target=self._measure, name="llvscan-image-measure", daemon=True)]

    def __enter__(self) -> _Feed:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Wait for the measurements (libvips may have finished first); on failure, stop the threads."""
        if exc[0] is not None:
            self.stop.set()
        self.threads[1].join()
        self.stop.set()
        self.threads[0].join()

    def _fail(self, exc: BaseException) -> None:
        self.error = self.error or exc
        self.stop.set()

    def _decode(self) -> None:
        import pyvips

        try:
            width, height, rows = self.raw.width, self.raw.height, self.rows
            region = pyvips.Region.new(self.raw)
            for y in range(0, height, rows):
                data = region.fetch(0, y, width, min(rows, height - y))  # one thread: a threaded decode costs more
                if not (self._put(self.measure, data) and self._put(self.strips, data)):
                    return
        except BaseException as exc:  # handed to the caller, which raises it once libvips gives up
            self._fail(exc)
        self._put(self.measure, None)
        self._put(self.strips, None)

    def _measure(self) -> None:
        try:  # numba's parallel kernels on all cores, beside libvips' threads (measured faster than one core)
            digest, chunk = hashlib.sha256(), 0
            with self.checksum.open("rb") if self.checksum else contextlib.nullcontext() as fh:
                if fh is not None:
                    strips = -(-self.raw.height // self.rows)
                    chunk = max(_HASH_CHUNK, -(-self.checksum.stat().st_size // strips))  # type: ignore[union-attr]
                while (data := self._get(self.measure)) is not None:
                    self.acc.add(data)
                    if fh is not None:
                        digest.update(fh.read(chunk))
                if self.stop.is_set() or self.error is not None:
                    return
                if fh is not None:
                    while block := fh.read(_HASH_CHUNK):
                        digest.update(block)
                    self.sha256 = digest.hexdigest()
        except BaseException as exc:
            self._fail(exc)

    def _get(self, q: queue.Queue[bytes | None]) -> bytes | None:
        while not self.stop.is_set():
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue
        return None

    def _put(self, q: queue.Queue[bytes | None], item: bytes | None) -> bool:
        while not self.stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    # libvips' side: SourceCustom callbacks, in a libvips worker thread
    def _read(self, n: int) -> bytes | memoryview:
        pos = self.pos
        if pos < len(self.head):
            out: bytes | memoryview = self.head[pos:pos + n]
        else:
            while pos >= self.start + len(self.strip) and not self.ended:
                item = self._get(self.strips)
                if item is None:
                    self.ended = True
                    break
                self.start += len(self.strip)
                self.strip = memoryview(item)
            offset = pos - self.start
            if offset < 0:  # a seek back into a strip already handed on: not a sequential reader
                self._fail(ImageReadError("the pixel stream was read out of order"))
                return b""
            out = self.strip[offset:offset + n]
        self.pos = pos + len(out)
        return out

    def _seek(self, offset: int, whence: int) -> int:
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else self.total + offset
        return self.pos


def _streamable(raw: Any) -> bool:
    return raw.coding == "none" and raw.format in ("uchar", "ushort") and 1 <= raw.bands <= 4


def _stream_image(feed: _Feed, raw: Any) -> Any:
    """The streamed pixels as libvips reads them, with the master's interpretation and ICC profile."""
    import pyvips

    image = pyvips.Image.new_from_source(feed.source, "", access="sequential", fail_on="error")
    image = image.copy(interpretation=raw.interpretation, xres=raw.xres, yres=raw.yres)
    for name in ("icc-profile-data", "resolution-unit", "orientation"):  # what the savers may write
        if kind := raw.get_typeof(name):
            image.set_type(kind, name, raw.get(name))
        elif image.get_typeof(name):
            image.remove(name)
    return image


def tile_and_inspect(
    src: str | Path,
    dst: str | Path,
    *,
    layout: str = "iiif3",
    base_url: str = DEFAULT_IIIF_BASE_URL,
    identifier: str | None = None,
    tile_size: int = DEFAULT_TILE_SIZE,
    quality: int = DEFAULT_QUALITY,
    max_size: int = DEFAULT_MAX_SIZE,
    pixel_limit: int = DEFAULT_PIXEL_LIMIT,
    inspect: bool = True,
    thresholds: InspectionThresholds | None = None,
    checksum: bool = True,
    **dzsave_options: Any,
) -> ImagePass:
    """``tile_image(src, dst, …)``, ``inspect_image(src, …)`` (when ``inspect``) and the sha256 of ``src``
    (when ``checksum``) from one decode of the pixels. The options are those of ``tile_image`` and
    ``inspect_image``; so are the errors (a master that fails to decode raises ``ImageReadError``)."""
    import pyvips

    from llvscan.imaging import inspect as inspection

    started = time.perf_counter()
    src, dst = Path(src), Path(dst)
    tiles._check_options(layout, tile_size, quality, max_size)
    header = tiles.read_header(src, pixel_limit=pixel_limit)

    def tile(open_web: Callable[[], Any]) -> tiles.TileSet:
        return tiles._tile(open_web, src, dst, header, layout=layout, base_url=base_url, identifier=identifier,
                           tile_size=tile_size, quality=quality, max_size=max_size, dzsave_options=dzsave_options)

    if not inspect:
        tileset = tile(lambda: tiles._open_for_web(src))
        return ImagePass(tileset, None, _sha256(src) if checksum else None, True,
                         round(time.perf_counter() - started, 3))
    thresholds = thresholds or InspectionThresholds()
    try:
        raw = pyvips.Image.new_from_file(str(src), access="sequential", fail_on="error")
        metadata = inspection._metadata(raw, src, header)
    except pyvips.Error as exc:
        raise inspection._decode_error(src, exc) from exc
    if not _streamable(raw):
        log.debug("%s: %s %s×%d pixels are tiled and inspected apart", src, raw.coding, raw.format, raw.bands)
        tileset = tile(lambda: tiles._open_for_web(src))
        report = inspection.inspect_image(src, pixel_limit=pixel_limit, thresholds=thresholds)
        return ImagePass(tileset, report, _sha256(src) if checksum else None, False,
                         round(time.perf_counter() - started, 3))

    accumulator = inspection._Accumulator(raw)
    with inspection._vips_warnings_to_debug(), _Feed(raw, accumulator, src if checksum else None) as feed:
        try:
            tileset = tile(lambda: tiles._web(_stream_image(feed, raw)))
        except ImageReadError as exc:
            if isinstance(feed.error, pyvips.Error):
                raise inspection._decode_error(src, feed.error) from feed.error
            if feed.error is not None:
                raise feed.error from exc
            raise
    if feed.error is not None:  # libvips finished, yet the feeder failed (e.g. after the last strip)
        if isinstance(feed.error, pyvips.Error):
            raise inspection._decode_error(src, feed.error) from feed.error
        raise feed.error
    report = inspection._report(metadata, accumulator.result(), thresholds, started)
    return ImagePass(tileset, report, feed.sha256, True, round(time.perf_counter() - started, 3))


def _sha256(path: Path) -> str:
    from llvscan._paths import sha256_file

    return sha256_file(path)
