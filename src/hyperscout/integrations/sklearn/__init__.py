"""scikit-learn front end: :class:`SearchCV`, a search estimator driven by hyperscout's strategies.

Drop-ins with the signatures of scikit-learn's and skopt's searches, so that a user changes
only the import: :class:`GridSearchCV`, :class:`RandomizedSearchCV`,
:class:`HalvingGridSearchCV`, :class:`HalvingRandomSearchCV` (scikit-learn's schedule: the
same candidates per iteration, ``n_candidates_``, ``n_resources_`` ...) and
:class:`BayesSearchCV` (skopt's arguments, hyperscout's Gaussian process). Each runs a
``SearchCV`` and records its trials in a hyperscout study (``trials_``).

``SearchCV`` keeps the conventions of scikit-learn's ``GridSearchCV``: ``fit`` cross-validates
every configuration the strategy proposes and refits the best one on the whole data; the
results are ``cv_results_`` (``GridSearchCV``'s keys), ``best_params_``, ``best_score_``,
``best_index_`` and ``best_estimator_``; ``predict``, ``predict_proba``, ``decision_function``,
``transform``, ``score`` ... go to the refitted estimator; ``get_params``, ``set_params`` and
``clone`` work as for any estimator. What differs is who proposes the configurations: a
hyperscout strategy (a Gaussian process, random draws, the grid, successive halving or
Hyperband), and each trial is also recorded in a hyperscout study (in memory by default).

The search space maps estimator parameters (``"C"``, or ``"clf__C"`` inside a pipeline) to:

- a list (or tuple, or 1-D array) of values, as in ``param_grid``: a choice among them, any
  objects (``None``, estimators, tuples) included;
- a range declared without a name, which the key gives: :func:`Int`, :func:`Float`,
  :func:`Choice`, :func:`Boolean`, :func:`Fixed` (the arguments of ``hp.Int`` ... without
  the name);
- a ``scipy.stats`` distribution, as in ``RandomizedSearchCV``'s ``param_distributions``:
  ``uniform``, ``loguniform`` and ``randint`` become ranges, any other (``expon``, ``norm``
  ...) is drawn through its quantiles;
- a hyperscout parameter object named like its key.

``space`` may be a list of such dicts (``param_grid=[{...}, {...}]``): a grid is picked, then
its parameters. It may instead be a function of ``hp`` that returns the parameters of one
trial, for conditional spaces (``hp.conditional_scope``) and values built from others.

>>> from sklearn.datasets import load_iris
>>> from sklearn.neighbors import KNeighborsClassifier
>>> X, y = load_iris(return_X_y=True)
>>> search = SearchCV(
...     KNeighborsClassifier(),
...     {"n_neighbors": Int(1, 30), "weights": ["uniform", "distance"]},
...     strategy="random", n_trials=5, cv=3, seed=0,
... ).fit(X, y)
>>> sorted(search.best_params_), len(search.cv_results_["params"])
(['n_neighbors', 'weights'], 5)
>>> float(search.best_score_) > 0.9
True
"""

from __future__ import annotations

from hyperscout.integrations.sklearn._checks import STRATEGIES as STRATEGIES
from hyperscout.integrations.sklearn._dropin import (
    BayesSearchCV,
    GridSearchCV,
    RandomizedSearchCV,
)
from hyperscout.integrations.sklearn._halving import HalvingGridSearchCV, HalvingRandomSearchCV
from hyperscout.integrations.sklearn._run import SEARCH_METRIC as SEARCH_METRIC
from hyperscout.integrations.sklearn._run import AllFitsFailedError
from hyperscout.integrations.sklearn._search import SearchCV
from hyperscout.integrations.sklearn._space import (
    Boolean,
    Choice,
    Fixed,
    Float,
    Int,
    ParameterSpec,
)

__all__ = [
    "AllFitsFailedError",
    "BayesSearchCV",
    "Boolean",
    "Choice",
    "Fixed",
    "Float",
    "GridSearchCV",
    "HalvingGridSearchCV",
    "HalvingRandomSearchCV",
    "Int",
    "ParameterSpec",
    "RandomizedSearchCV",
    "SearchCV",
]
