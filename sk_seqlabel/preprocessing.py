"""Transformers over lists of sequences (lists in, lists out)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import get_config
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ._data.validation import check_feature_names, check_sequences, sequence_feature_names

__all__ = ["SequenceScaler"]


# auto_wrap_output_keys=None: scikit-learn's automatic wrapping of transform output would
# build one DataFrame from the whole list; set_output and the wrapping are done here instead.
class SequenceScaler(
    OneToOneFeatureMixin, TransformerMixin, BaseEstimator, auto_wrap_output_keys=None
):
    """Standardise features with statistics pooled over all timesteps of all sequences.

    Each feature is shifted by its mean and divided by its standard deviation, both computed
    over every timestep of every training sequence (not per sequence), as
    :class:`sklearn.preprocessing.StandardScaler` does on the stacked timesteps.

    Fitted on DataFrames with string column names, it records them in ``feature_names_in_``
    and refuses, at transform, DataFrames whose columns differ or come in another order. With
    ``set_output(transform="pandas")`` it returns DataFrames, so that a pipeline's next step
    sees the names too.

    Parameters
    ----------
    with_mean : bool, default=True
        Subtract the mean.
    with_std : bool, default=True
        Divide by the standard deviation.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Mean of each feature over all training timesteps (None when neither mean nor
        standard deviation is used).
    scale_ : ndarray of shape (n_features,)
        Standard deviation each feature is divided by (None when ``with_std=False``).
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in fit; set only when the sequences were DataFrames whose column
        names are all strings.

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

    DataFrames keep their column names through ``set_output``:

    >>> import pandas as pd
    >>> X_df = [pd.DataFrame({"acc": [0.0, 2.0], "gyro": [1.0, 3.0]})]
    >>> scaler = SequenceScaler().set_output(transform="pandas").fit(X_df)
    >>> scaler.feature_names_in_
    array(['acc', 'gyro'], dtype=object)
    >>> scaler.transform(X_df)[0]
       acc  gyro
    0 -1.0  -1.0
    1  1.0   1.0
    """

    _parameter_constraints: dict = {"with_mean": ["boolean"], "with_std": ["boolean"]}

    def __init__(self, *, with_mean=True, with_std=True):
        self.with_mean = with_mean
        self.with_std = with_std

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # As the labelers: a list of sequences or a 3-D array, never one 2-D array.
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        # transform returns float32 whatever the input dtype.
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

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
        names = sequence_feature_names(X)
        # Arrays out, whatever the global transform_output: the wrapping is done in transform.
        scaler = StandardScaler(with_mean=self.with_mean, with_std=self.with_std)
        scaler.set_output(transform="default")
        scaler.fit(np.concatenate(X_list))
        self.mean_, self.scale_ = scaler.mean_, scaler.scale_
        self.n_features_in_ = X_list[0].shape[1]
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):  # refitted on arrays: forget the old names
            del self.feature_names_in_
        self._scaler = scaler
        return self

    def set_output(self, *, transform=None):
        """Choose what :meth:`transform` and ``fit_transform`` return.

        Parameters
        ----------
        transform : {"default", "pandas"} or None, default=None
            "default": a list of float32 arrays (a 3-D array when X is 3-D). "pandas": a list
            of DataFrames whose columns are :meth:`get_feature_names_out` and whose index is
            that of the input DataFrame, if it was one (also for 3-D X). None: unchanged.

        Returns
        -------
        self : object
        """
        if transform is None:
            return self
        if transform not in ("default", "pandas"):
            raise ValueError(
                f"{type(self).__name__} can output 'default' or 'pandas'; got "
                f"transform={transform!r}."
            )
        if not hasattr(self, "_sklearn_output_config"):
            self._sklearn_output_config = {}
        self._sklearn_output_config["transform"] = transform
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
            A list of DataFrames instead after ``set_output(transform="pandas")``.
        """
        container = self._output_container()
        out = self._apply(X, "transform")
        if container == "pandas":
            columns = self.get_feature_names_out()
            out = [
                pd.DataFrame(x, columns=columns, index=index, copy=False)
                for x, index in zip(out, _input_indexes(X, len(out)), strict=True)
            ]
        return out

    def _output_container(self):
        config = getattr(self, "_sklearn_output_config", {})
        container = config.get("transform", get_config()["transform_output"])
        if container not in ("default", "pandas"):
            raise ValueError(
                f"{type(self).__name__} can output 'default' or 'pandas'; the configured "
                f"transform output is {container!r}."
            )
        return container

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
        name = type(self).__name__
        X_list, was_3d = check_sequences(X, n_features=self.n_features_in_, estimator_name=name)
        check_feature_names(
            getattr(self, "feature_names_in_", None), sequence_feature_names(X), name
        )
        out = [fn(x, copy=True).astype(np.float32, copy=False) for x in X_list]
        return np.stack(out) if was_3d else out


def _input_indexes(X, n):
    """The index of each sequence passed as a DataFrame or Series; None for the others."""
    if isinstance(X, np.ndarray) and X.ndim == 3:
        return [None] * n
    return [x.index if isinstance(x, (pd.DataFrame, pd.Series)) else None for x in X]
