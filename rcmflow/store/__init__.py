"""The database floor. Import from the modules by job:

- `store.models`: the schema as SQLAlchemy models (times in UTC, named constraints);
- `store.database`: connecting (SQLite pragmas, WAL, BEGIN IMMEDIATE) and `Database`;
- `store.records`: instance and track records, and the write path's prepared statements;
- `store.status`: the status listing in SQL;
- `store.chain`: the history's hash chain (how an event is hashed, appended, read back);
- `store.ledger`: the action ledger's statements (`ActionContext.ledger` is `core.ledger`);
- `store.migrations`: the Alembic migrations that `rcmflow init` runs.

Store functions take a connection and never commit: the engine owns the transaction
(one write transaction per command).
"""
