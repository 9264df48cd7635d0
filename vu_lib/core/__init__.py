"""Core: what every stage shares.

Enters: ``params/`` (YAML files). Leaves: the validated :class:`~vu_lib.core.params.Params`,
the project's exception types (:mod:`vu_lib.core.exceptions`) and small portable helpers
(:mod:`vu_lib.core.io`: atomic writes). Imports nothing else from ``vu_lib``.
"""
