"""The database: models, engine and transactions, schema migrations, events.
"""
