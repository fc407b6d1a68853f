"""databay-mongo: MongoOutlet, writing records to MongoDB with pymongo."""

from databay_mongo.mongo_outlet import MongoCollectionNotFound, MongoOutlet, MongoOutletError, ensure_connection

__all__ = ["MongoOutlet", "MongoOutletError", "MongoCollectionNotFound", "ensure_connection"]
