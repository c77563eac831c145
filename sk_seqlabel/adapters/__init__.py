"""Adapters to other ecosystems' estimator interfaces.

Each adapter lives in its own module, named after the ecosystem, and is imported only when
asked for, so that ``import sk_seqlabel`` does not import the other library:

- :mod:`sk_seqlabel.adapters.sktime`: :class:`~sk_seqlabel.adapters.sktime.SeqLabelDetector`,
  any labeler as an sktime detector (supervised segmentation).
"""

__all__: list[str] = []
