"""Built-in helpers that plug into links and outlets."""

from databay.support.buffers import Buffer

__all__ = ["Buffer"]
