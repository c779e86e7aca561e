"""What a fitted search offers: the methods and attributes of its refitted best estimator."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, TypeVar, cast

_F = TypeVar("_F", bound=Callable[..., Any])


def _delegates(attr: str) -> Callable[[Any], bool]:
    """True when the refitted estimator (before fit: the estimator) has ``attr``."""

    def check(search: Any) -> bool:
        if not search.refit:
            raise AttributeError(
                f"{type(search).__name__} has no {attr} with refit=False: no estimator is "
                "refitted. Build one from best_params_."
            )
        inner = getattr(search, "best_estimator_", search.estimator)
        getattr(inner, attr)  # AttributeError when it lacks it
        return True

    return check


def _available_if(check: Callable[[Any], bool]) -> Callable[[_F], _F]:
    """scikit-learn's ``available_if``: the method exists only while ``check`` passes."""
    try:
        from sklearn.utils.metaestimators import available_if
    except ImportError:  # pragma: no cover - without scikit-learn, SearchCV() asks for it
        return lambda method: method
    return cast(Callable[[_F], _F], available_if(check))


def _tags_of(tags: Any, estimator: Any) -> Any:
    """A search's scikit-learn tags: its estimator's kind (classifier ...) and input tags."""
    from sklearn.utils import get_tags

    inner = get_tags(estimator)
    tags.estimator_type = inner.estimator_type
    tags.classifier_tags = copy.deepcopy(inner.classifier_tags)
    tags.regressor_tags = copy.deepcopy(inner.regressor_tags)
    tags.transformer_tags = copy.deepcopy(inner.transformer_tags)
    tags.target_tags = copy.deepcopy(inner.target_tags)
    tags.input_tags.pairwise = inner.input_tags.pairwise
    tags.input_tags.sparse = inner.input_tags.sparse
    tags.input_tags.allow_nan = inner.input_tags.allow_nan
    return tags


class _FittedSearch:
    """SearchCV's methods that go to the refitted best estimator: ``predict``, ``score`` ...

    A method exists only while the refitted estimator (before fit: the estimator) has it.
    """

    # Declared for the type checker: SearchCV defines fit and sets these attributes.
    fit: Callable[..., Any]
    refit: bool | str | Callable[[dict[str, Any]], int]
    best_estimator_: Any
    scorer_: Any
    multimetric_: bool

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "cv_results_")

    def _fitted_estimator(self, method: str) -> Any:
        from sklearn.utils.validation import check_is_fitted

        _delegates(method)(self)
        check_is_fitted(self)
        return self.best_estimator_

    @_available_if(_delegates("predict"))
    def predict(self, X: Any) -> Any:
        """``predict`` of the refitted best estimator."""
        return self._fitted_estimator("predict").predict(X)

    @_available_if(_delegates("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        """``predict_proba`` of the refitted best estimator."""
        return self._fitted_estimator("predict_proba").predict_proba(X)

    @_available_if(_delegates("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> Any:
        """``predict_log_proba`` of the refitted best estimator."""
        return self._fitted_estimator("predict_log_proba").predict_log_proba(X)

    @_available_if(_delegates("decision_function"))
    def decision_function(self, X: Any) -> Any:
        """``decision_function`` of the refitted best estimator."""
        return self._fitted_estimator("decision_function").decision_function(X)

    @_available_if(_delegates("score_samples"))
    def score_samples(self, X: Any) -> Any:
        """``score_samples`` of the refitted best estimator."""
        return self._fitted_estimator("score_samples").score_samples(X)

    @_available_if(_delegates("transform"))
    def transform(self, X: Any) -> Any:
        """``transform`` of the refitted best estimator."""
        return self._fitted_estimator("transform").transform(X)

    @_available_if(_delegates("transform"))
    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Search on ``X``, then ``transform`` it with the refitted best estimator."""
        return self.fit(X, y, **fit_params).transform(X)

    @_available_if(_delegates("inverse_transform"))
    def inverse_transform(self, X: Any) -> Any:
        """``inverse_transform`` of the refitted best estimator."""
        return self._fitted_estimator("inverse_transform").inverse_transform(X)

    def score(self, X: Any, y: Any = None) -> float:
        """The score of the refitted best estimator: by ``scoring`` (``refit``'s metric when
        there are several), else the estimator's own ``score``."""
        estimator = self._fitted_estimator("fit")
        scorer = self.scorer_
        if isinstance(scorer, dict):
            return float(scorer[self.refit](estimator, X, y))
        value = scorer(estimator, X, y)
        if self.multimetric_:
            value = value[self.refit]
        return float(value)

    @property
    def classes_(self) -> Any:
        """The class labels of the refitted best estimator."""
        return self._fitted_estimator("classes_").classes_

    @property
    def n_features_in_(self) -> int:
        """The number of features seen by ``fit`` (refitted searches only)."""
        if not self.__sklearn_is_fitted__() or not hasattr(self, "best_estimator_"):
            raise AttributeError(
                f"{type(self).__name__} has no n_features_in_ before fit, or with refit=False."
            )
        return int(self.best_estimator_.n_features_in_)
