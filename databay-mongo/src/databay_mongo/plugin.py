"""databay plugin registration for databay-mongo."""

from databay import hookimpl
from databay.hookspecs import Register


@hookimpl
def register_outlets(register: Register) -> None:
    from databay_mongo.mongo_outlet import MongoOutlet

    register(MongoOutlet)
