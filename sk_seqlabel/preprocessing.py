"""Transformers over lists of sequences (lists in, lists out)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ._validation import check_sequences

__all__ = ["SequenceScaler"]


class SequenceScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Standardise features with statistics pooled over all timesteps of all sequences.

    Each feature is shifted by its mean and divided by its standard deviation, both computed
    over every timestep of every training sequence (not per sequence), as
    :class:`sklearn.preprocessing.StandardScaler` does on the stacked timesteps.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the mean.
    with_std : bool, default=True
        Divide by the standard deviation.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
    scale_ : ndarray of shape (n_features,)
    n_features_in_ : int

    See Also
    --------
    sklearn.preprocessing.StandardScaler : the same on one 2-D array.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_seqlabel import SequenceScaler
    >>> X = [np.array([[0.0], [2.0]]), np.array([[4.0], [6.0], [8.0]])]
    >>> scaler = SequenceScaler().fit(X)
    >>> scaler.mean_
    array([4.])
    >>> [x.ravel().round(2).tolist() for x in scaler.transform(X)]
    [[-1.41, -0.71], [0.0, 0.71, 1.41]]
    """

    _parameter_constraints: dict = {"with_mean": ["boolean"], "with_std": ["boolean"]}

    def __init__(self, *, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute the pooled mean and standard deviation.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features), or ndarray of shape \
(n_sequences, T, n_features)
        y : ignored

        Returns
        -------
        self : object
        """
        X_list, _ = check_sequences(X, estimator_name=type(self).__name__)
        scaler = StandardScaler(with_mean=self.with_mean, with_std=self.with_std)
        scaler.fit(np.concatenate(X_list))
        self.mean_, self.scale_ = scaler.mean_, scaler.scale_
        self.n_features_in_ = X_list[0].shape[1]
        self._scaler = scaler
        return self

    def transform(self, X):
        """Standardise every sequence.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features), or ndarray of shape \
(n_sequences, T, n_features)

        Returns
        -------
        list of ndarray of shape (T_i, n_features), float32, or a 3-D array when X is 3-D
        """
        return self._apply(X, "transform")

    def inverse_transform(self, X):
        """Undo :meth:`transform`.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features), or ndarray of shape \
(n_sequences, T, n_features)

        Returns
        -------
        list of ndarray of shape (T_i, n_features), float32, or a 3-D array when X is 3-D
        """
        return self._apply(X, "inverse_transform")

    def _apply(self, X, method):
        check_is_fitted(self)
        fn = getattr(self._scaler, method)
        X_list, was_3d = check_sequences(
            X, n_features=self.n_features_in_, estimator_name=type(self).__name__
        )
        out = [fn(x, copy=True).astype(np.float32, copy=False) for x in X_list]
        return np.stack(out) if was_3d else out
