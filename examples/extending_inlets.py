"""Extending Inlets' final example: global metadata, local metadata and on_start, on ApsPlanner."""
from datetime import timedelta
import random

from databay import Inlet, Link
from databay.outlets import PrintOutlet
from databay.planners import ApsPlanner


class RandomIntInlet(Inlet):

    def pull(self, update):
        new_integer = random.randint(0, 100)

        if new_integer > 50:
            animal = 'cat'
        else:
            animal = 'parrot'

        record = self.new_record(payload=new_integer, metadata={'animal': animal})
        return record

    def on_start(self):
        random.seed(42)


random_cat_inlet = RandomIntInlet(metadata={'animal': 'cat'})

link = Link(random_cat_inlet,
            PrintOutlet(),
            interval=timedelta(seconds=5),
            tags='random_ints')

planner = ApsPlanner(link)
planner.start()
