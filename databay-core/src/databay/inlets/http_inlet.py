"""databay 0.3's import path of HttpInlet, which now ships in databay-http."""

from databay.compat import alias_module

alias_module(__name__, "databay_http.http_inlet", "databay-http", "http")
