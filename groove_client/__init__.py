"""Client tools for a Groove wallet: ``certify`` (conformance suite) and ``simulate`` (load).

They talk to a wallet over HTTP only and import nothing of the server (``groove_adapter``,
``wallet_store``, ``config``): :mod:`groove_client.money` and :mod:`groove_client.jsonio` are
the client's own copies of the few exact-money and exact-JSON helpers they need.
"""
