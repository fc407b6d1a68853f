"""The manual's Processors example (Advanced Concepts → Processors), runnable with core alone.

The manual's snippet calls ``result.push(record)``; Python lists ``append``.
"""

from datetime import timedelta

from databay import Inlet, Link, Record
from databay.outlets import PrintOutlet


class NumbersInlet(Inlet):
    def pull(self, update):
        return [99.999, 200, 333.333]


# Example filtering
def only_large_numbers(records: list[Record]):
    result = []
    for record in records:
        if record.payload >= 100:
            result.append(record)
    return result


# Example transforming:
def round_to_integers(records: list[Record]):
    for record in records:
        record.payload = round(record.payload)
    return records


link = Link(NumbersInlet(), PrintOutlet(only_payload=True), timedelta(seconds=1),
            processors=[only_large_numbers, round_to_integers])
link.transfer()  # prints 0 200 and 0 333
