"""A bounded HTTP download: a total deadline and a size cap for one file.

:class:`BoundedDownloader` is the downloader :mod:`inputs.fetch` hands to pooch (and uses
itself for zip archives). Errors are :class:`~geo.errors.FetchError` lines naming the
file, the address, the problem and the fix.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from geo.errors import FetchError

__all__ = [
    "CHUNK_SIZE",
    "BoundedDownloader",
    "Limits",
    "ProgressBar",
    "disk_error",
    "one_line",
    "write_stream",
]


#: The hint appended to every network error.
NETWORK_FIX = "check your network connection or pass --base-url to a mirror"

CHUNK_SIZE = 1 << 16
_USER_AGENT = "reform-atlas/0.1 (data fetch; Python urllib)"


class ProgressBar(tqdm):
    """A tqdm bar without tqdm's monitor thread, which would outlive the fetch.

    The bars here are updated often enough without it, and a process with a thread
    left running can no longer fork (:mod:`cli.forked`).
    """

    monitor_interval = 0


@dataclass(frozen=True)
class Limits:
    """How much one file may take: bytes, total seconds, seconds per read."""

    max_bytes: int
    deadline_s: float
    timeout_s: float


class BoundedDownloader:
    """A pooch downloader with a total deadline and a size cap, for one file.

    Own code, not pooch's ``HTTPDownloader``: that one (requests) has a timeout per
    read only and no size limit, so a mirror dripping a byte every 20 s keeps a small
    file downloading for the better part of an hour, and a body without a length can
    fill the disk. Here the body is read one network chunk at a time
    (``HTTPResponse.read1``) and the transfer stops as soon as the deadline has passed
    (checked after every read; no read waits longer than ``timeout_s``) or more than
    ``max_bytes`` arrive. It also reads ``file://`` mirrors, which pooch does not.

    After a call, ``digest`` and ``size`` hold the SHA-256 and length of what was written.
    """

    def __init__(self, relpath: str, limits: Limits, *, progress: bool = False):
        self.relpath, self.limits, self.progress = relpath, limits, progress
        self.digest: str | None = None
        self.size = 0

    def __call__(self, url: str, output_file: str | os.PathLike[str], pooch_obj: object = None) -> None:
        """Stream ``url`` into ``output_file`` within the limits (pooch's downloader protocol)."""
        started = time.monotonic()
        try:
            request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
            with urllib.request.urlopen(request, timeout=self.limits.timeout_s) as response:
                total = self._announced(response, url)
                with ProgressBar(
                    total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=self.relpath,
                    leave=False, file=sys.stderr, disable=not self.progress,
                ) as bar:  # fmt: skip
                    read = self._reader(response, url, started)
                    self.digest, self.size = write_stream(
                        read, Path(output_file), bar.update, max_bytes=self.limits.max_bytes
                    )
        except FetchError:
            raise
        except urllib.error.HTTPError as exc:
            exc.close()
            msg = (
                f"cannot download {self.relpath} from {url}: HTTP {exc.code} {one_line(exc.reason)}; "
                f"check that the address or mirror serves this file, or pass --base-url to "
                f"another mirror"
            )
            raise FetchError(msg) from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # URLError (DNS, refused, unreachable), TimeoutError, ConnectionError, SSL errors,
            # http.client.HTTPException (IncompleteRead, RemoteDisconnected) and bad URLs.
            msg = f"cannot download {self.relpath} from {url}: {_reason(exc)}; {NETWORK_FIX}"
            raise FetchError(msg) from exc
        self._check_complete(url, total)

    def _announced(self, response, url: str) -> int | None:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > self.limits.max_bytes:
            msg = (
                f"cannot download {self.relpath} from {url}: the server announces {total:,} bytes, "
                f"more than the expected {self.limits.max_bytes:,}; pass --base-url to a mirror "
                "holding the pinned files"
            )
            raise FetchError(msg)
        return total

    def _reader(self, response, url: str, started: float) -> Callable[[int], bytes]:
        read_one = getattr(response, "read1", response.read)  # file:// responses have no read1

        def read(n: int) -> bytes:
            if time.monotonic() - started > self.limits.deadline_s:
                msg = (
                    f"cannot download {self.relpath} from {url}: not finished after "
                    f"{self.limits.deadline_s:g} s (deadline for this file); {NETWORK_FIX}"
                )
                raise FetchError(msg)
            return read_one(n)

        return read

    def _check_complete(self, url: str, total: int | None) -> None:
        if self.size > self.limits.max_bytes:
            msg = (
                f"cannot download {self.relpath} from {url}: the server sent more than the "
                f"expected {self.limits.max_bytes:,} bytes; pass --base-url to a mirror holding "
                "the pinned files"
            )
            raise FetchError(msg)
        if total is not None and self.size != total:
            msg = (
                f"cannot download {self.relpath} from {url}: connection closed after {self.size} of "
                f"{total} bytes; {NETWORK_FIX}"
            )
            raise FetchError(msg)


def write_stream(
    read: Callable[[int], bytes],
    path: Path,
    on_chunk: Callable[[int], object] | None,
    *,
    max_bytes: int,
) -> tuple[str, int]:
    """Copy chunks from ``read`` into ``path``; return their SHA-256 and size.

    Stops after the first chunk beyond ``max_bytes`` (the size then exceeds it). Only
    disk errors are converted here (to :class:`FetchError`); read errors propagate.
    """
    digest = hashlib.sha256()
    size = 0
    out = _open_new(path)
    with out:
        while chunk := read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
            if size > max_bytes:
                break
            _write(out, chunk, path)
            if on_chunk is not None:
                on_chunk(len(chunk))
    return digest.hexdigest(), size


def _open_new(path: Path) -> BinaryIO:
    try:
        return open(path, "wb")  # pooch's temporary file exists already (empty)
    except OSError as exc:
        raise disk_error(path, exc) from exc


def _write(out: BinaryIO, chunk: bytes, path: Path) -> None:
    try:
        out.write(chunk)
    except OSError as exc:
        raise disk_error(path, exc) from exc


def disk_error(path: Path, exc: OSError) -> FetchError:
    """Return the one-line error for a file or folder of ``--dest`` that cannot be written."""
    msg = (
        f"cannot write {path}: {_reason(exc)}; check that --dest is a writable folder "
        f"with enough free space"
    )
    return FetchError(msg)


def _reason(exc: BaseException) -> str:
    """Return a short one-line reason for a network or disk error."""
    if isinstance(exc, urllib.error.URLError):
        if isinstance(exc.reason, str):
            return one_line(exc.reason)
        exc = exc.reason
    if isinstance(exc, OSError) and exc.strerror:
        return one_line(exc.strerror)
    return one_line(exc) or type(exc).__name__


def one_line(value: object) -> str:
    """``value`` as text on one line (runs of white space as one space)."""
    return " ".join(str(value).split())
