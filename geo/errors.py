"""Exception hierarchy shared by every Reform Atlas package.

Every error message names the file (or object), the feature at fault and the fix,
so the command line can print it as a single line and exit with code 2.
"""


class ReformAtlasError(Exception):
    """Base class of every error the command line reports without a traceback."""


class DataError(ReformAtlasError, ValueError):
    """Input data is missing, unreadable or malformed."""


class CRSError(ReformAtlasError, ValueError):
    """A geometry has no CRS, or not the CRS an operation needs."""


class FetchError(ReformAtlasError, OSError):
    """Downloading a data file failed (network, checksum or disk)."""
