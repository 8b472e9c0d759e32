"""The infrastructure: configuration, the database (engines, transactions, migrations) and
its models, worker processes for heavy work, password hashing, metrics and logging.

Above the core. May import the core; knows nothing of Flask's requests or of Socket.IO.
"""
