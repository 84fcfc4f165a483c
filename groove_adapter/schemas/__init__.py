"""The wire, declared once: what each face accepts and answers.

One module per face (``rest``: Player Balance and private wallet API, ``flows``: transfers,
sends and purchases, ``groove``: the /groove query models, ``admin``: the admin bodies).
Request bodies are pydantic models the faces validate with; replies are ``TypedDict``\\ s the
faces' formatters return (so mypy checks each reply against its declaration).  ``/openapi.json``
is generated from both (:mod:`groove_adapter.openapi`), so the document cannot drift from what
the faces accept and answer.  Money is exact: a ``Decimal`` parsed from the JSON text, never a
float; replies carry it as a decimal string or an exact JSON number (:mod:`groove_adapter.jsonout`).
"""
