"""databay 0.3's import path of HttpInlet, which now ships in a plugin distribution."""

from databay.compat import alias_module

alias_module(__name__, "HttpInlet")
