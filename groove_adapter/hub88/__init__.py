"""The Hub88 wallet face's parts that stand on their own: the wire models (:mod:`.wire`) and
the ``X-Hub88-Signature`` check (:mod:`.signature`).  The routes that call the engine come later.

Pure rules (amount conversion, the ``RS_*`` table) are in :mod:`wallet_store.domain.hub88`.
"""
