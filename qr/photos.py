"""Product photos for posters: a local file or an http(s) URL, or None when it cannot be had.

A poster never fails for want of a photo: an unreachable host, a missing file or
something that is not an image gives None, and the poster draws a placeholder.
A host that failed once is not asked again in the same run, so a batch of
posters does not wait on a dead server for every product.
"""

from __future__ import annotations

import io
import logging
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000  # larger photos are refused, not decoded (decompression bombs)


class PhotoLoader:
    """Loads photos by reference, remembering each result (and each dead host) for the run."""

    def __init__(self, *, timeout: float = 5.0, base: Path | None = None) -> None:
        self._timeout = timeout
        self._base = base or Path.cwd()
        self._photos: dict[str, Image.Image | None] = {}
        self._dead_hosts: set[str] = set()

    def load(self, ref: str | None) -> Image.Image | None:
        """Return the photo `ref` points to, as RGB, or None if it cannot be had."""
        if not ref or not ref.strip():
            return None
        ref = ref.strip()
        if ref not in self._photos:
            self._photos[ref] = self._load(ref)
        return self._photos[ref]

    def _load(self, ref: str) -> Image.Image | None:
        """Read and decode one photo; log why not when it fails."""
        parts = urlsplit(ref)
        try:
            if parts.scheme in ("http", "https"):
                if parts.netloc in self._dead_hosts:
                    return None
                data = self._fetch(ref, parts.netloc)
            elif parts.scheme == "file":
                data = _read(Path(urllib.request.url2pathname(parts.path)))
            else:
                data = _read(self._base / Path(ref).expanduser())
            if data is None:
                return None
            return _decode(data)
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            log.warning("photo %s: %s; a placeholder takes its place", ref, error)
            return None

    def _fetch(self, url: str, host: str) -> bytes | None:
        """Download `url` within the timeout, name resolution included."""
        result: list[bytes | str] = []
        answered: list[bool] = []

        def fetch() -> None:
            try:
                request = urllib.request.Request(url, headers={"User-Agent": "chatshop-posters"})
                with urllib.request.urlopen(request, timeout=self._timeout) as response:
                    result.append(response.read(MAX_BYTES + 1))
            except urllib.error.HTTPError as error:  # the host answered: only this photo is missing
                error.close()  # it holds the connection open
                answered.append(True)
                result.append(str(error))
            except (OSError, ValueError) as error:
                result.append(str(error))

        # A daemon thread: a lookup that hangs past the timeout is left behind, not waited for.
        worker = threading.Thread(target=fetch, name="photo-fetch", daemon=True)
        worker.start()
        worker.join(self._timeout + 1)
        outcome = result[0] if result else f"no answer in {self._timeout:g} s"
        if isinstance(outcome, str):
            if not answered:
                self._dead_hosts.add(host)
            log.warning("photo %s: %s; a placeholder takes its place", url, outcome)
            return None
        return outcome


def _read(path: Path) -> bytes:
    """Read a local photo, refusing huge files."""
    with path.open("rb") as file:
        return file.read(MAX_BYTES + 1)


def _decode(data: bytes) -> Image.Image:
    """Decode image bytes into an RGB picture (transparency over white)."""
    if len(data) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
    with Image.open(io.BytesIO(data)) as opened:
        if opened.width * opened.height > MAX_PIXELS:
            raise ValueError(f"{opened.width}x{opened.height} pixels is too large")
        opened.load()
        if opened.mode in ("RGBA", "LA", "P"):
            rgba = opened.convert("RGBA")
            flat = Image.new("RGB", rgba.size, "white")
            flat.paste(rgba, mask=rgba.getchannel("A"))
            return flat
        return opened.convert("RGB")
