"""What the SQL stores share: column lists, row mappers and statement parameters (``rows``,
``params``), parametrized by a :class:`~wallet_store.sql.rows.Codec`, the only difference
between the SQLite and PostgreSQL backends."""
