"""The one error qr/ raises: a code, link or poster that cannot be made as asked."""

from __future__ import annotations


class QrError(ValueError):
    """A code, link or poster that cannot be made as asked; the message says why, in one line."""


def file_problem(error: OSError) -> str:
    """Say which file could not be read or written, and why, in one line."""
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}"
