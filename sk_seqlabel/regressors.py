"""The public regressors: a model (``_models.py``) and the regression task, with their keywords.

The same networks as the labelers (and the same guarantees: exact padding, causal variants,
chunked inference of long recordings, live streams, model files, ONNX export) with one output
per target at every timestep instead of one per class.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re

from ._base import _REGISTRY, fill_shared_docs
from ._models import ConvLSTMModel, LSTMModel, MultiStageTCNModel, TCNModel
from ._regression import BaseSequenceRegressor

__all__ = [
    "ConvLSTMRegressor",
    "LSTMRegressor",
    "MultiStageTCNRegressor",
    "TCNRegressor",
    "all_regressors",
]


def all_regressors():
    """Every regressor class, in the order defined: what the shared tests and the docs run.

    Returns
    -------
    list of type

    Examples
    --------
    >>> from sk_seqlabel.regressors import all_regressors
    >>> [cls.__name__ for cls in all_regressors()][:2]
    ['TCNRegressor', 'LSTMRegressor']
    """
    return [cls for cls in _REGISTRY.values() if issubclass(cls, BaseSequenceRegressor)]


def _document_own_defaults(cls):
    """State the class's own defaults in the shared keyword docs it was given.

    The shared docs (``fill_shared_docs``) state the labelers' defaults; where a regressor's
    ``__init__`` default differs, its ``default=`` is rewritten, so the docstring states the
    signature's value and nothing else.
    """

    def own_default(match, default):
        try:
            documented = ast.literal_eval(match.group(2))
        except (ValueError, SyntaxError):
            return match.group(0)
        return match.group(0) if documented == default else match.group(1) + repr(default)

    for name, param in inspect.signature(cls.__init__).parameters.items():
        if param.default is not inspect.Parameter.empty:
            cls.__doc__ = re.sub(
                rf"^(    {name} : .*default=)([^,\n]+)$",
                functools.partial(own_default, default=param.default),
                cls.__doc__,
                flags=re.MULTILINE,
            )
    return cls


@_document_own_defaults
@fill_shared_docs
class TCNRegressor(TCNModel, BaseSequenceRegressor):
    """Temporal convolutional network that predicts values at every timestep.

    Residual blocks of dilated convolutions (as :class:`~sk_seqlabel.TCNLabeler`), then a
    per-timestep linear layer with one output per target. With ``causal=True`` the value at
    step ``t`` depends on steps ``<= t`` alone (a soft sensor that runs live, next-value
    prediction).

    Parameters
    ----------
    {model}
    {shared}

    Attributes
    ----------
    {shared_attributes}
    receptive_field_ : int
        Input steps one output depends on.

    See Also
    --------
    TCNLabeler : the same network, one class per step.
    LSTMRegressor : recurrent, an unbounded field of view.

    Examples
    --------
    >>> from sk_seqlabel.regressors import TCNRegressor
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> import numpy as np
    >>> X, _ = make_sequence_labeling(n_sequences=30, random_state=0)
    >>> y = [np.cumsum(x[:, 0]) / 10 for x in X]  # a running sum: needs the past
    >>> reg = TCNRegressor(max_epochs=3, random_state=0).fit(X[:20], y[:20])
    >>> [p.shape for p in reg.predict(X[20:22])] == [yi.shape for yi in y[20:22]]
    True
    """

    _parameter_constraints = {
        **BaseSequenceRegressor._parameter_constraints,
        **TCNModel._model_constraints,
    }

    def __init__(
        self,
        *,
        n_filters=64,
        kernel_size=5,
        n_blocks=4,
        # No dropout by default: it kept the fit of values from reaching the noise floor
        # (benchmarks/RESULTS.md, section 24).
        dropout=0.0,
        causal=False,
        max_epochs=30,
        lr=3e-3,
        # More optimizer steps per epoch than the labelers' 32 sequences a batch: values need
        # precise fits, and fewer steps left the synthetic task's MSE several times its floor
        # (benchmarks/RESULTS.md, section 24).
        batch_size=8,
        max_batch_timesteps="auto",
        max_train_length="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        device="auto",
        precision="auto",
        n_threads="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        loss="squared_error",
        epsilon=1.0,
    ):
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.n_blocks = n_blocks
        self.dropout = dropout
        self.causal = causal
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.max_batch_timesteps = max_batch_timesteps
        self.max_train_length = max_train_length
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.loss = loss
        self.epsilon = epsilon


@_document_own_defaults
@fill_shared_docs
class LSTMRegressor(LSTMModel, BaseSequenceRegressor):
    """Stacked LSTM that predicts values at every timestep.

    A (bidirectional) LSTM, as :class:`~sk_seqlabel.LSTMLabeler`, then a per-timestep
    linear layer with one output per target.

    Parameters
    ----------
    {model}
    {shared}

    Attributes
    ----------
    {shared_attributes}

    See Also
    --------
    TCNRegressor : convolutional, a bounded receptive field, fastest.
    LSTMLabeler : the same network, one class per step.

    Examples
    --------
    >>> from sk_seqlabel.regressors import LSTMRegressor
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> import numpy as np
    >>> X, _ = make_sequence_labeling(n_sequences=30, random_state=0)
    >>> y = [np.cumsum(x[:, 0]) / 10 for x in X]  # a running sum: needs the past
    >>> reg = LSTMRegressor(max_epochs=3, random_state=0).fit(X[:20], y[:20])
    >>> [p.shape for p in reg.predict(X[20:22])] == [yi.shape for yi in y[20:22]]
    True
    """

    _parameter_constraints = {
        **BaseSequenceRegressor._parameter_constraints,
        **LSTMModel._model_constraints,
    }

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=2,
        bidirectional=True,
        dropout=0.0,
        max_epochs=30,
        lr=3e-3,
        # More optimizer steps per epoch than the labelers' 32 sequences a batch: values need
        # precise fits, and fewer steps left the synthetic task's MSE several times its floor
        # (benchmarks/RESULTS.md, section 24).
        batch_size=8,
        max_batch_timesteps="auto",
        max_train_length="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        device="auto",
        precision="auto",
        n_threads="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        loss="squared_error",
        epsilon=1.0,
    ):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.max_batch_timesteps = max_batch_timesteps
        self.max_train_length = max_train_length
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.loss = loss
        self.epsilon = epsilon


@_document_own_defaults
@fill_shared_docs
class ConvLSTMRegressor(ConvLSTMModel, BaseSequenceRegressor):
    """Convolution front end and LSTM that predict values at every timestep.

    As :class:`~sk_seqlabel.ConvLSTMLabeler`: a convolution, max-pooling by ``pool_size``,
    an LSTM over the shortened sequence, joined back with the full-resolution features,
    then one output per target at every input step.

    Parameters
    ----------
    {model}
    {shared}

    Attributes
    ----------
    {shared_attributes}

    See Also
    --------
    LSTMRegressor : recurrence at full resolution.
    ConvLSTMLabeler : the same network, one class per step.

    Examples
    --------
    >>> from sk_seqlabel.regressors import ConvLSTMRegressor
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> import numpy as np
    >>> X, _ = make_sequence_labeling(n_sequences=30, random_state=0)
    >>> y = [np.cumsum(x[:, 0]) / 10 for x in X]  # a running sum: needs the past
    >>> reg = ConvLSTMRegressor(max_epochs=3, random_state=0).fit(X[:20], y[:20])
    >>> [p.shape for p in reg.predict(X[20:22])] == [yi.shape for yi in y[20:22]]
    True
    """

    _parameter_constraints = {
        **BaseSequenceRegressor._parameter_constraints,
        **ConvLSTMModel._model_constraints,
    }

    def __init__(
        self,
        *,
        n_filters=32,
        kernel_size=8,
        pool_size=4,
        hidden_size=64,
        num_layers=1,
        bidirectional=True,
        dropout=0.0,
        max_epochs=30,
        lr=3e-3,
        # As the other regressors, for one default across them; the ConvLSTM itself gained
        # little from it (benchmarks/RESULTS.md, section 24).
        batch_size=8,
        max_batch_timesteps="auto",
        max_train_length="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        device="auto",
        precision="auto",
        n_threads="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        loss="squared_error",
        epsilon=1.0,
    ):
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.pool_size = pool_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.max_batch_timesteps = max_batch_timesteps
        self.max_train_length = max_train_length
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.loss = loss
        self.epsilon = epsilon


@_document_own_defaults
@fill_shared_docs
class MultiStageTCNRegressor(MultiStageTCNModel, BaseSequenceRegressor):
    """A TCN followed by refinement stages over its values (as MS-TCN).

    As :class:`~sk_seqlabel.MultiStageTCNLabeler`, except that each refinement stage sees
    the previous stage's (standardised) values themselves, not probabilities; in training
    every stage's output counts in the loss.

    Parameters
    ----------
    {model}
    {shared}

    Attributes
    ----------
    {shared_attributes}
    receptive_field_ : int
        Input steps one output depends on.

    See Also
    --------
    TCNRegressor : one stage.
    MultiStageTCNLabeler : the same network, one class per step.

    Examples
    --------
    >>> from sk_seqlabel.regressors import MultiStageTCNRegressor
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> import numpy as np
    >>> X, _ = make_sequence_labeling(n_sequences=30, random_state=0)
    >>> y = [np.cumsum(x[:, 0]) / 10 for x in X]  # a running sum: needs the past
    >>> reg = MultiStageTCNRegressor(max_epochs=3, random_state=0).fit(X[:20], y[:20])
    >>> [p.shape for p in reg.predict(X[20:22])] == [yi.shape for yi in y[20:22]]
    True
    """

    _parameter_constraints = {
        **BaseSequenceRegressor._parameter_constraints,
        **MultiStageTCNModel._model_constraints,
    }

    def __init__(
        self,
        *,
        n_filters=64,
        kernel_size=5,
        n_blocks=4,
        n_stages=2,
        # No dropout by default: it kept the fit of values from reaching the noise floor
        # (benchmarks/RESULTS.md, section 24).
        dropout=0.0,
        causal=False,
        max_epochs=30,
        lr=3e-3,
        # More optimizer steps per epoch than the labelers' 32 sequences a batch: values need
        # precise fits, and fewer steps left the synthetic task's MSE several times its floor
        # (benchmarks/RESULTS.md, section 24).
        batch_size=8,
        max_batch_timesteps="auto",
        max_train_length="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        device="auto",
        precision="auto",
        n_threads="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        loss="squared_error",
        epsilon=1.0,
    ):
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.n_blocks = n_blocks
        self.n_stages = n_stages
        self.dropout = dropout
        self.causal = causal
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.max_batch_timesteps = max_batch_timesteps
        self.max_train_length = max_train_length
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.loss = loss
        self.epsilon = epsilon
