"""Names databay renamed, still accepted with a warning."""

from __future__ import annotations

import warnings

__all__ = ["ignore_exceptions_from"]


def ignore_exceptions_from(ignore_exceptions: bool, catch_exceptions: bool | None, owner: str) -> bool:
    """The effective ``ignore_exceptions``, honouring the ``catch_exceptions`` name 0.2.0 renamed."""
    if catch_exceptions is None:
        return ignore_exceptions
    warnings.warn(
        f"{owner}'s 'catch_exceptions' was renamed to 'ignore_exceptions' in 0.2.0.", DeprecationWarning, stacklevel=3
    )
    return catch_exceptions
