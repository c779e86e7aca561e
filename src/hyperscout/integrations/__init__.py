"""Front ends for machine-learning frameworks: thin layers over the Tuner and ``Trial.report``.

Each submodule imports its framework lazily and fails with an install hint when it is missing:

- :mod:`hyperscout.integrations.keras`: ``build_model(hp)`` hypermodels, searches that forward to
  ``model.fit``, and ``get_best_models``;
- :mod:`hyperscout.integrations.torch`: checkpoint helpers for PyTorch training loops;
- :mod:`hyperscout.integrations.sklearn`: ``SearchCV``, a scikit-learn search estimator.
"""
