"""The one error qr/ raises: a code, link or poster that cannot be made as asked."""

from __future__ import annotations


class QrError(ValueError):
    """A code, link or poster that cannot be made as asked; the message says why, in one line."""
