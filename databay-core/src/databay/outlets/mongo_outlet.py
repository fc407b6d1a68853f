"""databay 0.3's import path of MongoOutlet, which now ships in databay-mongo."""

from databay.compat import alias_module

alias_module(__name__, "databay_mongo.mongo_outlet", "databay-mongo", "mongo")
