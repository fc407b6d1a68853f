"""databay-mongo: MongoOutlet, writing records to MongoDB with pymongo."""

from databay_mongo.mongo_outlet import (
    MongoCollectionNotFound,
    MongoDocumentError,
    MongoOutlet,
    MongoOutletError,
    ensure_connection,
)

__all__ = ["MongoOutlet", "MongoOutletError", "MongoDocumentError", "MongoCollectionNotFound", "ensure_connection"]
