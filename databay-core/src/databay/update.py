"""The identity of one transfer, handed to every pull and push."""

from __future__ import annotations

__all__ = ["Update"]


class Update:
    """One transfer of a link: its tags and the transfer's incremental number.

    ``str(update)`` is ``tag1.tag2.N`` (just ``N`` when the link has no tags); it prefixes
    every log line about that transfer.
    """

    __slots__ = ("tags", "transfer_number")

    def __init__(self, tags: list[str], transfer_number: int):
        self.tags = tags
        self.transfer_number = transfer_number

    def __repr__(self) -> str:
        if self.tags:
            return f"{'.'.join(self.tags)}.{self.transfer_number}"
        return str(self.transfer_number)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Update):
            return NotImplemented
        return self.tags == other.tags and self.transfer_number == other.transfer_number

    __hash__ = None  # type: ignore[assignment]
