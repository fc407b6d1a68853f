"""databay-http: HttpInlet, pulling data from a URL with aiohttp."""

from databay_http.http_inlet import HttpInlet, HttpInletError, HttpStatusError, InvalidJsonError, ResponseTooLargeError

__all__ = ["HttpInlet", "HttpInletError", "HttpStatusError", "InvalidJsonError", "ResponseTooLargeError"]
