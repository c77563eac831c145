"""The public labelers: a model (``_models.py``) and the labeling task, with their keywords."""

from __future__ import annotations

from ._base import _REGISTRY, fill_shared_docs
from ._labeling import BaseSequenceLabeler
from ._models import ConvLSTMModel, LSTMModel, MultiStageTCNModel, TCNModel

__all__ = [
    "ConvLSTMLabeler",
    "LSTMLabeler",
    "MultiStageTCNLabeler",
    "TCNLabeler",
    "all_labelers",
]


def all_labelers():
    """Every labeler class, in the order defined: what the shared tests and the docs run.

    A labeler registers itself by subclassing a model of ``_models.py`` and
    :class:`~sk_seqlabel._labeling.BaseSequenceLabeler`, with its own ``__init__``.

    Returns
    -------
    list of type

    Examples
    --------
    >>> from sk_seqlabel.labelers import all_labelers
    >>> [cls.__name__ for cls in all_labelers()][:3]
    ['TCNLabeler', 'LSTMLabeler', 'ConvLSTMLabeler']
    """
    return [cls for cls in _REGISTRY.values() if issubclass(cls, BaseSequenceLabeler)]


@fill_shared_docs
class TCNLabeler(TCNModel, BaseSequenceLabeler):
    """Temporal convolutional network that labels every timestep.

    Residual blocks of two dilated convolutions (dilation ``2**i`` in block ``i``), each
    followed by layer normalisation over channels, ReLU and dropout, then a per-timestep linear
    layer. Padding never reaches a real timestep: each convolution sees zeros beyond each
    sequence's end, exactly as the sequence alone would.

    Parameters
    ----------
    {model}
    {shared}

    Attributes
    ----------
    {shared_attributes}
    receptive_field_ : int
        Input steps one output depends on: ``1 + 2 * (kernel_size - 1) * (2**n_blocks - 1)``.

    See Also
    --------
    LSTMLabeler : recurrent model with an unbounded field of view.
    ConvLSTMLabeler : convolution front end plus recurrence, for long sequences.

    Examples
    --------
    >>> from sk_seqlabel import TCNLabeler
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> X, y = make_sequence_labeling(n_sequences=40, random_state=0)
    >>> clf = TCNLabeler(n_filters=16, max_epochs=10, random_state=0).fit(X[:30], y[:30])
    >>> clf.receptive_field_
    121
    >>> [len(p) for p in clf.predict(X[30:33])] == [len(x) for x in X[30:33]]
    True
    >>> clf.score(X[30:], y[30:]) > 0.8
    True
    """

    _parameter_constraints = {
        **BaseSequenceLabeler._parameter_constraints,
        **TCNModel._model_constraints,
    }

    def __init__(
        self,
        *,
        n_filters=64,
        kernel_size=5,
        n_blocks=4,
        dropout=0.1,
        causal=False,
        max_epochs=30,
        lr=3e-3,
        batch_size=32,
        max_batch_timesteps="auto",
        max_train_length="auto",
        class_weight=None,
        missing_label=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        device="auto",
        precision="auto",
        n_threads="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        smoothing=0.0,
        smoothing_truncation=4.0,
        decoder="auto",
        min_segment_length="auto",
        decoder_lag=None,
        prior_weight=0.25,
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
        self.class_weight = class_weight
        self.missing_label = missing_label
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.smoothing = smoothing
        self.smoothing_truncation = smoothing_truncation
        self.decoder = decoder
        self.min_segment_length = min_segment_length
        self.decoder_lag = decoder_lag
        self.prior_weight = prior_weight


@fill_shared_docs
class LSTMLabeler(LSTMModel, BaseSequenceLabeler):
    """Stacked LSTM that labels every timestep.

    A (bidirectional) LSTM followed by a per-timestep linear layer. The reverse direction
    starts at each sequence's own last step, never in the padding: on a GPU through packed
    sequences (cuDNN), on a CPU by running it over each sequence reversed within its own length
    (exact, and far faster there than packing); both use the same weights, so a model trained
    on one device predicts identically on the other.

    Parameters
    ----------
    {model}
    {shared}

    Attributes
    ----------
    {shared_attributes}

    See Also
    --------
    TCNLabeler : convolutional, a bounded receptive field, fastest.
    ConvLSTMLabeler : convolution front end plus recurrence, for long sequences.

    Examples
    --------
    >>> from sk_seqlabel import LSTMLabeler
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> X, y = make_sequence_labeling(n_sequences=40, random_state=0)
    >>> clf = LSTMLabeler(hidden_size=16, max_epochs=10, random_state=0).fit(X[:30], y[:30])
    >>> [len(p) for p in clf.predict(X[30:33])] == [len(x) for x in X[30:33]]
    True
    >>> clf.score(X[30:], y[30:]) > 0.8
    True
    """

    _parameter_constraints = {
        **BaseSequenceLabeler._parameter_constraints,
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
        batch_size=32,
        max_batch_timesteps="auto",
        max_train_length="auto",
        class_weight=None,
        missing_label=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        device="auto",
        precision="auto",
        n_threads="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        smoothing=0.0,
        smoothing_truncation=4.0,
        decoder="auto",
        min_segment_length="auto",
        decoder_lag=None,
        prior_weight=0.25,
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
        self.class_weight = class_weight
        self.missing_label = missing_label
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.smoothing = smoothing
        self.smoothing_truncation = smoothing_truncation
        self.decoder = decoder
        self.min_segment_length = min_segment_length
        self.decoder_lag = decoder_lag
        self.prior_weight = prior_weight


@fill_shared_docs
class ConvLSTMLabeler(ConvLSTMModel, BaseSequenceLabeler):
    """Convolution front end, LSTM over a shortened sequence, one label per input timestep.

    A ``'same'`` 1-D convolution with ReLU extracts features at every timestep; max-pooling by
    ``pool_size`` shortens the sequence for the LSTM (so long recordings cost ``pool_size``
    times fewer recurrent steps); the LSTM output is repeated back to every timestep and joined
    with the full-resolution convolution features, which keep segment boundaries sharp.

    Not causal, even with ``bidirectional=False``: the convolution and pooling look ahead by up
    to ``kernel_size // 2 + pool_size - 1`` steps (and a reverse direction sees the whole
    sequence). For next-step prediction use ``TCNLabeler(causal=True)`` or
    ``LSTMLabeler(bidirectional=False)``.

    Parameters
    ----------
    {model}
    {shared}

    Attributes
    ----------
    {shared_attributes}

    See Also
    --------
    TCNLabeler : convolutional, a bounded receptive field, fastest.
    LSTMLabeler : recurrence at full resolution.

    Examples
    --------
    >>> from sk_seqlabel import ConvLSTMLabeler
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> X, y = make_sequence_labeling(n_sequences=40, random_state=0)
    >>> clf = ConvLSTMLabeler(hidden_size=16, max_epochs=10, random_state=0)
    >>> clf = clf.fit(X[:30], y[:30])
    >>> [len(p) for p in clf.predict(X[30:33])] == [len(x) for x in X[30:33]]
    True
    >>> clf.score(X[30:], y[30:]) > 0.8
    True
    """

    _parameter_constraints = {
        **BaseSequenceLabeler._parameter_constraints,
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
        batch_size=32,
        max_batch_timesteps="auto",
        max_train_length="auto",
        class_weight=None,
        missing_label=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        device="auto",
        precision="auto",
        n_threads="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        smoothing=0.0,
        smoothing_truncation=4.0,
        decoder="auto",
        min_segment_length="auto",
        decoder_lag=None,
        prior_weight=0.25,
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
        self.class_weight = class_weight
        self.missing_label = missing_label
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.smoothing = smoothing
        self.smoothing_truncation = smoothing_truncation
        self.decoder = decoder
        self.min_segment_length = min_segment_length
        self.decoder_lag = decoder_lag
        self.prior_weight = prior_weight


@fill_shared_docs
class MultiStageTCNLabeler(MultiStageTCNModel, BaseSequenceLabeler):
    """A TCN followed by refinement stages over its probabilities (as MS-TCN).

    Stage 1 is a :class:`TCNLabeler`'s network; each further stage is another TCN that sees
    only the previous stage's class probabilities, and learns from them which label sequences
    are plausible: it removes short flickers and implausible transitions at segment
    boundaries. In training every stage's output counts in the loss, as in MS-TCN (whose
    smoothing loss is not here).

    Parameters
    ----------
    {model}
    {shared}

    Attributes
    ----------
    {shared_attributes}
    receptive_field_ : int
        Input steps one output depends on: the stages' fields added up, less the overlaps.

    See Also
    --------
    TCNLabeler : one stage.

    Examples
    --------
    >>> from sk_seqlabel import MultiStageTCNLabeler
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> X, y = make_sequence_labeling(n_sequences=40, random_state=0)
    >>> clf = MultiStageTCNLabeler(n_filters=16, max_epochs=15, random_state=0)
    >>> clf = clf.fit(X[:30], y[:30])
    >>> clf.receptive_field_
    241
    >>> clf.score(X[30:], y[30:]) > 0.8
    True
    """

    _parameter_constraints = {
        **BaseSequenceLabeler._parameter_constraints,
        **MultiStageTCNModel._model_constraints,
    }

    def __init__(
        self,
        *,
        n_filters=64,
        kernel_size=5,
        n_blocks=4,
        n_stages=2,
        dropout=0.1,
        causal=False,
        max_epochs=30,
        lr=3e-3,
        batch_size=32,
        max_batch_timesteps="auto",
        max_train_length="auto",
        class_weight=None,
        missing_label=None,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=5,
        device="auto",
        precision="auto",
        n_threads="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
        smoothing=0.0,
        smoothing_truncation=4.0,
        decoder="auto",
        min_segment_length="auto",
        decoder_lag=None,
        prior_weight=0.25,
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
        self.class_weight = class_weight
        self.missing_label = missing_label
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.smoothing = smoothing
        self.smoothing_truncation = smoothing_truncation
        self.decoder = decoder
        self.min_segment_length = min_segment_length
        self.decoder_lag = decoder_lag
        self.prior_weight = prior_weight
