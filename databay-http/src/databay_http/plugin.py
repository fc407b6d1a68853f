"""databay plugin registration for databay-http."""

from databay import hookimpl
from databay.hookspecs import Register


@hookimpl
def register_inlets(register: Register) -> None:
    from databay_http.http_inlet import HttpInlet

    register(HttpInlet)
