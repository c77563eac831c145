"""The regression task: values per timestep (a soft sensor, a remaining life, a joint angle).

Everything of a regressor that depends on its targets being values: checking them (NaN is a
step without a target), standardising them inside (a deep model trains badly on targets far
from unit scale, and users forget to scale them), the loss by scikit-learn's names,
``predict`` in the original units and the pooled R² of ``score``. The rest is
:class:`~sk_seqlabel._base.BaseSequenceEstimator`'s.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from sklearn.base import RegressorMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseSequenceEstimator, Targets
from ._data.targets import check_continuous_targets
from ._training.losses import REGRESSION_LOSSES, TimestepRegressionLoss
from .formats import is_multiindex_panel, split_panel
from .metrics import r2_score

__all__ = ["BaseSequenceRegressor"]


_REGRESSION_DOCS = """
    loss : {"squared_error", "absolute_error", "huber"}, default="squared_error"
        The loss per (timestep, target), by scikit-learn's names, averaged over the steps
        that have a target: the squared error, the absolute error (robust to outliers), or
        Huber's (squared within ``epsilon`` of the target, linear beyond). The targets are
        standardised first (see ``target_mean_``), so the loss weighs every target alike.
    epsilon : float, default=1.0
        Huber's threshold, in standard deviations of each target; only with
        ``loss="huber"``.
"""

_REGRESSION_ATTRIBUTE_DOCS = """
    n_outputs_ : int
        Targets per timestep.
    outputs_2d_ : bool
        Whether ``fit`` saw ``(T_i, n_targets)`` targets (``predict`` then returns that
        shape, else ``(T_i,)``).
    target_mean_, target_scale_ : ndarray of shape (n_outputs_,)
        Mean and standard deviation of each target over the training steps that have one
        (a constant target's scale is 1). The network learns ``(y - target_mean_) /
        target_scale_``; ``predict`` maps its outputs back to the original units.
"""


class BaseSequenceRegressor(RegressorMixin, BaseSequenceEstimator):
    """The regression task: fit / predict / score over sequences of values.

    A public regressor is a model of ``_models.py`` and this class
    (``class TCNRegressor(TCNModel, BaseSequenceRegressor)``); see
    :class:`~sk_seqlabel._base.BaseSequenceEstimator` for what each part defines.
    """

    _criterion = TimestepRegressionLoss
    _stage_input = "identity"
    _fitted_attributes = ("n_outputs", "outputs_2d", "target_mean", "target_scale")
    _task_docs = _REGRESSION_DOCS
    _attribute_docs = _REGRESSION_ATTRIBUTE_DOCS
    _parameter_constraints: dict = {
        **BaseSequenceEstimator._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # y is a list of (T_i,) or (T_i, n_targets) value sequences, or one 2-D/3-D array.
        tags.target_tags.two_d_labels = True
        tags.target_tags.multi_output = True
        tags.regressor_tags.poor_score = True
        return tags

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, groups=None):
        """Fit the model to sequences of values.

        Transactional, as the labelers' ``fit``: the fitted attributes are set only when
        training succeeds, and an interrupted fit keeps its last whole epoch.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features) or (T_i,), or ndarray of shape \
(n_sequences, T, n_features)
            Sequences of any lengths; DataFrames are accepted as elements.
        y : list of array-like of shape (T_i,) or (T_i, n_targets), or ndarray of shape \
(n_sequences, T) or (n_sequences, T, n_targets)
            One value (or one per target) per timestep; DataFrames and Series are accepted as
            elements. NaN marks a step without a target (for that target): it is input to
            the model but left out of the loss. The targets are standardised inside (see
            ``target_mean_``), so they need no scaling.
        sample_weight : array-like of shape (n_sequences,), or list of array-like of shape \
(T_i,), optional
            Non-negative weights of the loss: one per sequence (all its timesteps), or one per
            timestep.
        groups : array-like of shape (n_sequences,), optional
            A group per sequence: with early stopping, the validation sequences are whole
            groups, never parts of one.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, groups)

    def _encode_targets(self, y, X_list):
        """Values checked against the sequences and standardised per target."""
        values, outputs_2d, _ = check_continuous_targets(
            y, X_list, estimator_name=type(self).__name__
        )
        pooled = np.concatenate(values)
        mean = np.nanmean(pooled, axis=0, dtype=np.float64)
        scale = np.nanstd(pooled, axis=0, dtype=np.float64)
        # A target with one value (or one step) has no spread: leave its scale alone, as
        # scikit-learn's StandardScaler does.
        scale[~(scale > np.finfo(np.float32).eps * np.maximum(1.0, np.abs(mean)))] = 1.0
        # A target without a single value has no mean to subtract; it trains nothing.
        mean = np.nan_to_num(mean)
        return Targets(
            values=[((v - mean) / scale).astype(np.float32) for v in values],
            n_outputs=pooled.shape[1],
            state={
                "n_outputs": pooled.shape[1],
                "outputs_2d": outputs_2d,
                "target_mean": mean,
                "target_scale": scale,
            },
        )

    def _criterion_params(self):
        return {"loss": self.loss, "epsilon": self.epsilon}

    # ------------------------------------------------------------------ predict
    def predict(self, X):
        """Values at every timestep, in the units of the training targets.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features), or ndarray of shape \
(n_sequences, T, n_features)

        Returns
        -------
        y_pred : list of ndarray of shape (T_i,) or (T_i, n_outputs_), or ndarray of shape \
(n_sequences, T[, n_outputs_]) when X is 3-D
            float32, in input order; 2-D per sequence when the training targets were
            (``outputs_2d_``). A sequence's values do not depend on the other sequences
            passed with it.
        """
        self._check_ready()
        if is_multiindex_panel(X):
            return self._predict_panel(X, "values")
        values, was_3d = self._predict_outputs(X, "values")
        return np.stack(values) if was_3d else values

    def _predict_outputs(self, X, output):
        """``"values"``: the network's outputs mapped back to the targets' units."""
        logits, was_3d = self._predict_ragged(X, output="logits")
        return [self._values_from_outputs(z) for z in logits], was_3d

    def _values_from_outputs(self, z):
        """(T, n_outputs) standardised outputs to the targets' units and shape."""
        values = (z * self.target_scale_ + self.target_mean_).astype(np.float32)
        return values if self.outputs_2d_ else values[:, 0]

    #: What a stream may give per sample (``start_stream(output=...)``).
    _stream_output_kinds = ("values",)

    @property
    def _n_net_outputs(self):
        return self.n_outputs_

    def _stream_outputs(self, logits, output):
        """A stream's values from the module's outputs (a (n, n_outputs) tensor)."""
        return self._values_from_outputs(logits.float().cpu().numpy())

    #: The name of the ONNX graph's output.
    _export_output = "values"

    def _export_head(self, logits):
        """The ONNX graph's output: the standardised outputs in the targets' units."""
        scale = torch.as_tensor(self.target_scale_, dtype=torch.float32)
        mean = torch.as_tensor(self.target_mean_, dtype=torch.float32)
        return logits.float() * scale + mean

    def start_stream(self, *, output="values"):
        """Predict live streams as their samples arrive, exactly as offline.

        Causal models give each sample's values at once, models with a bounded look-ahead
        after it (``delay``); a bidirectional LSTM or ConvLSTM, which needs the whole future,
        refuses.

        Parameters
        ----------
        output : {"values"}, default="values"
            What each update returns per stream: (n_new,) or (n_new, n_outputs_) values.

        Returns
        -------
        LabelStream
            See :func:`sk_seqlabel.streaming.start_stream`, which also takes a Pipeline.
        """
        from .streaming import LabelStream

        return LabelStream(self, output=output)

    def score(self, X, y, sample_weight=None):
        """R² pooled over all timesteps of all sequences that have a target.

        scikit-learn's ``r2_score`` over the concatenated steps, averaged over targets
        (``multioutput="uniform_average"``); steps whose target is NaN are left out, with a
        :class:`~sk_seqlabel.metrics.SkippedTimestepsWarning` saying how many.

        Parameters
        ----------
        X : list of array-like of shape (T_i, n_features)
        y : list of array-like of shape (T_i,) or (T_i, n_targets)
        sample_weight : array-like of shape (n_sequences,), or list of array-like of shape \
(T_i,), optional
            One weight per sequence or per timestep.

        Returns
        -------
        score : float
        """
        if is_multiindex_panel(X):
            X, y, _ = split_panel(X, y)
        return r2_score(y, self.predict(X), sample_weight=sample_weight)
