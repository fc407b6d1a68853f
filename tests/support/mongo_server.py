"""The shipped MongoDB-wire test server (databay.testing.mongo), under the name the tests import."""

from databay.testing.mongo import URI_ENV, RestartableSecantusDB, mongodb_uri

__all__ = ["URI_ENV", "RestartableSecantusDB", "mongodb_uri"]
