"""Registers ClashInlet, as databay-clasha does: the plain name is ambiguous, `clashb:ClashInlet` is not."""

import databay


class ClashInlet(databay.Inlet):
    """Produces one record, "clashb"."""

    def pull(self, update):
        return ["clashb"]


@databay.hookimpl
def register_inlets(register):
    register(ClashInlet)
