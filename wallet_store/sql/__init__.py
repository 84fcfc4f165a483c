"""What the SQL stores share: column lists, row mappers and statement parameters (``rows``,
``params``), and the filtered reads written once (``reads``, whose predicates come from
:mod:`wallet_store.domain.selection`), parametrized by a :class:`~wallet_store.sql.rows.Codec`
and a placeholder style, the only differences between the SQLite and PostgreSQL backends."""
