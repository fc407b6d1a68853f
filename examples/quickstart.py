"""Quick start with core alone: a random integer every second, printed, for five transfers."""

import logging
import time
from datetime import timedelta

from databay import Link
from databay.inlets import RandomIntInlet
from databay.outlets import PrintOutlet

logging.getLogger('databay').setLevel(logging.DEBUG)

link = Link(RandomIntInlet(min=0, max=100), PrintOutlet(only_payload=True),
            interval=timedelta(seconds=1), tags='random_ints')

for _ in range(5):  # a planner (databay-aps / databay-schedule) would do this on the interval
    link.transfer()
    time.sleep(link.interval.total_seconds())
