"""The manual's Buffers example (Advanced Concepts → Buffers), runnable with core alone:
4 + 4 records are held, the third transfer's 3 more exceed count_threshold=10 and all 11 go out.
"""

from datetime import timedelta

from databay import Inlet, Link
from databay.outlets import PrintOutlet
from databay.support.buffers import Buffer


class BurstInlet(Inlet):
    def __init__(self, sizes, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sizes = iter(sizes)

    def pull(self, update):
        return list(range(next(self.sizes)))


buffer = Buffer(count_threshold=10)
link = Link(BurstInlet([4, 4, 3]), PrintOutlet(only_payload=True), timedelta(seconds=1), processors=buffer)
for _ in range(3):
    link.transfer()  # nothing, nothing, then all 11 records
