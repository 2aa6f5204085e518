"""Exception hierarchy shared by every package that builds on geo.

Every error message names the file (or object), the feature at fault and the fix,
so the command line can print it as a single line and exit with code 2.
"""

import re


class ReformAtlasError(Exception):
    """Base class of every error the command line reports without a traceback."""


class DataError(ReformAtlasError, ValueError):
    """Input data is missing, unreadable or malformed."""


class CRSError(ReformAtlasError, ValueError):
    """A geometry has no CRS, or not the CRS an operation needs."""


class FetchError(ReformAtlasError, OSError):
    """Downloading a data file failed (network, checksum or disk)."""


#: Longest message :func:`message_line` returns, in characters.
MAX_MESSAGE_CHARS = 2000

# C0 controls, DEL, C1 controls, line/paragraph separators and bidirectional overrides:
# characters that would break the one-line message or rewrite the terminal or the page.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    r"""Return ``text`` with control characters written as escapes (``\n``, ``\x1b``, ``\u202e``).

    Use it on any text from outside (file names, cell values) put into a message.
    """
    return _UNSAFE.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"
                                            if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"),
                       text)  # fmt: skip


def message_line(error: BaseException | str, *, limit: int = MAX_MESSAGE_CHARS) -> str:
    """One safe line for ``error``: control characters escaped, at most ``limit`` characters.

    The command line prints every error through it; the app can show the same line.
    """
    text = escape_controls(str(error)) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Advice in a library's message about calling the library itself (GDAL's driver prefix),
#: which no user of a command can follow: cut from quoted reasons.
_LIBRARY_ADVICE = re.compile(r"[.;]*\s*It might help to specify the correct driver.*$", re.DOTALL)


def library_reason(error: BaseException) -> str:
    """Return the reason a library gives for ``error``, to quote inside a message.

    Its first line, without advice about the library's own API (GDAL's "specify the
    correct driver"), control characters escaped, at most 300 characters.
    """
    text = _LIBRARY_ADVICE.sub("", str(error).strip())
    lines = text.splitlines()
    return message_line(lines[0].strip() if lines else type(error).__name__, limit=300)


def os_reason(err: OSError) -> str:
    """``strerror`` of an OS error (no path: messages name the file themselves)."""
    return err.strerror or type(err).__name__
