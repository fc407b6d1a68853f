"""Forgets @databay.hookimpl on register_inlets, which pluggy would ignore without a word."""

import databay


class UnmarkedInlet(databay.Inlet):
    def pull(self, update):
        return [1]


def register_inlets(register):
    register(UnmarkedInlet)
