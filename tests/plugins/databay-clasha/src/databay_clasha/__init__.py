"""Registers ClashInlet, as databay-clashb does: the plain name is ambiguous, `clasha:ClashInlet` is not."""

import databay


class ClashInlet(databay.Inlet):
    """Produces one record, "clasha"."""

    def pull(self, update):
        return ["clasha"]


@databay.hookimpl
def register_inlets(register):
    register(ClashInlet)
