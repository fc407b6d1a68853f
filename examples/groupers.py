"""The manual's Groupers example (Advanced Concepts → Groupers), runnable with core alone.

The manual's ``grouper_by_name`` keeps one record per name and never returns; this version
groups records by their payload's ``name`` as the text describes, and returns the batches.
"""

from datetime import timedelta

from databay import Inlet, Link, Record
from databay.outlets import PrintOutlet


class NamedInlet(Inlet):
    def pull(self, update):
        return [
            {'name': 'a', 'value': 1},
            {'name': 'a', 'value': 2},
            {'name': 'b', 'value': 3},
            {'name': 'b', 'value': 4},
        ]


def grouper_by_name(batches: list[list[Record]]):
    result = []
    for batch in batches:
        new_batches = {}
        for record in batch:
            new_batches.setdefault(record.payload['name'], []).append(record)
        result.extend(new_batches.values())
    return result


class BatchPrintOutlet(PrintOutlet):
    def push(self, records, update):
        print(update, [record.payload for record in records])


link = Link(NamedInlet(), BatchPrintOutlet(), timedelta(seconds=1), groupers=grouper_by_name)
link.transfer()  # two pushes: the 'a' batch, then the 'b' batch
