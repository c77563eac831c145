"""The public estimators: hyperparameters and the choice of module, nothing else."""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._base import _REGISTRY, BaseSequenceLabeler, fill_shared_docs
from .modules.conv_lstm import ConvLSTM
from .modules.lstm import LSTM
from .modules.ms_tcn import MultiStageTCN
from .modules.tcn import TCN, receptive_field

__all__ = [
    "ConvLSTMLabeler",
    "LSTMLabeler",
    "MultiStageTCNLabeler",
    "TCNLabeler",
    "all_labelers",
]


def all_labelers():
    """Every labeler class, in the order defined: what the shared tests and the docs run.

    A labeler registers itself by subclassing
    :class:`~sk_seqlabel._base.BaseSequenceLabeler` with a ``_module``.

    Returns
    -------
    list of type

    Examples
    --------
    >>> from sk_seqlabel.labelers import all_labelers
    >>> [cls.__name__ for cls in all_labelers()][:3]
    ['TCNLabeler', 'LSTMLabeler', 'ConvLSTMLabeler']
    """
    return list(_REGISTRY.values())


@fill_shared_docs
class TCNLabeler(BaseSequenceLabeler):
    """Temporal convolutional network that labels every timestep.

    Residual blocks of two dilated convolutions (dilation ``2**i`` in block ``i``), each
    followed by layer normalisation over channels, ReLU and dropout, then a per-timestep linear
    layer. Padding never reaches a real timestep: each convolution sees zeros beyond each
    sequence's end, exactly as the sequence alone would.

    Parameters
    ----------
    n_filters : int, default=64
        Channels of every block.
    kernel_size : int, default=5
        Taps of every convolution.
    n_blocks : int, default=4
        Residual blocks; the receptive field doubles with each.
    dropout : float, default=0.1
        Dropout after each convolution.
    causal : bool, default=False
        Pad on the left only, so the label at step ``t`` depends on steps ``<= t`` alone (for
        next-step prediction and streaming). Otherwise the field is centred on ``t``.
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

    _module = TCN
    _streams_when = "always; causal=True labels each sample at once"
    _module_params = ("n_filters", "kernel_size", "n_blocks", "dropout", "causal")
    _parameter_constraints = {
        **BaseSequenceLabeler._parameter_constraints,
        "n_filters": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "n_blocks": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "causal": ["boolean"],
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

    # bf16 autocast trained and predicted faster than fp32 on CPUs with native bf16
    # (benchmarks/RESULTS.md, sections 1 and 6). The reference loops found bf16 slower for
    # eager TCNs on an H100 (not measured here), so CUDA stays fp32 until measured.
    _bf16_faster_on = frozenset({"cpu"})

    @classmethod
    def _demo_params(cls, quick):
        if quick:
            return {"n_blocks": 2}, {"n_filters": [4, 8]}
        return {}, {"n_filters": [16, 32], "kernel_size": [3, 5]}

    @classmethod
    def _test_params(cls):
        return {
            "quick": dict(n_filters=16, kernel_size=3, n_blocks=2, max_epochs=2),
            "learns": dict(n_filters=32, kernel_size=3, n_blocks=3, max_epochs=15),
            "causal": dict(causal=True),
        }

    @property
    def receptive_field_(self):
        check_is_fitted(self)
        return self.net_.module_.receptive_field

    def _min_train_length(self):
        # Windows much longer than the field keep the share of steps that see a window's
        # edge (instead of the real neighbours) small.
        return 4 * receptive_field(self.kernel_size, self.n_blocks)


_RECURRENT_CONSTRAINTS = {
    "hidden_size": [Interval(Integral, 1, None, closed="left")],
    "num_layers": [Interval(Integral, 1, None, closed="left")],
    "bidirectional": ["boolean"],
    "dropout": [Interval(Real, 0, 1, closed="both")],
}


@fill_shared_docs
class LSTMLabeler(BaseSequenceLabeler):
    """Stacked LSTM that labels every timestep.

    A (bidirectional) LSTM followed by a per-timestep linear layer. The reverse direction
    starts at each sequence's own last step, never in the padding: on a GPU through packed
    sequences (cuDNN), on a CPU by running it over each sequence reversed within its own length
    (exact, and far faster there than packing); both use the same weights, so a model trained
    on one device predicts identically on the other.

    Parameters
    ----------
    hidden_size : int, default=64
        Hidden units per direction and layer.
    num_layers : int, default=2
        Stacked LSTM layers.
    bidirectional : bool, default=True
        Run each layer in both time directions. With False the model is causal: the label at
        step ``t`` depends on steps ``<= t`` alone (next-step prediction, streaming).
    dropout : float, default=0.0
        Dropout between LSTM layers, as in :class:`torch.nn.LSTM`.
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

    # bf16 autocast was faster on a CPU with native bf16 (benchmarks/RESULTS.md, section 1),
    # but a sequence's probabilities then moved with its batch mates by more than the 1e-5 of
    # the batch-invariance tests, so "auto" stays fp32: bf16 is an explicit choice here.
    _module = LSTM
    _streams_when = "bidirectional=False"

    @classmethod
    def _demo_params(cls, quick):
        if quick:
            return {"num_layers": 1}, {"hidden_size": [4, 8]}
        return {"num_layers": 1}, {"hidden_size": [32, 64], "lr": [3e-3, 1e-2]}

    @classmethod
    def _test_params(cls):
        return {
            "quick": dict(hidden_size=16, num_layers=2, max_epochs=2),
            "learns": dict(hidden_size=32, num_layers=1, max_epochs=20),
            "causal": dict(bidirectional=False),
            "one_way": dict(bidirectional=False),
        }

    _module_params = ("hidden_size", "num_layers", "bidirectional", "dropout")
    _parameter_constraints = {
        **BaseSequenceLabeler._parameter_constraints,
        **_RECURRENT_CONSTRAINTS,
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
class ConvLSTMLabeler(BaseSequenceLabeler):
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
    n_filters : int, default=32
        Channels of the convolution.
    kernel_size : int, default=8
        Width of the convolution, in timesteps.
    pool_size : int, default=4
        Max-pooling window and stride; a sequence of length ``T`` gives the LSTM
        ``ceil(T / pool_size)`` steps.
    hidden_size : int, default=64
        Hidden units per direction and layer of the LSTM.
    num_layers : int, default=1
        Stacked LSTM layers.
    bidirectional : bool, default=True
        Run each LSTM layer in both time directions.
    dropout : float, default=0.0
        Dropout between LSTM layers, as in :class:`torch.nn.LSTM`.
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

    _module = ConvLSTM
    _streams_when = "bidirectional=False, after a delay"
    # Its steps are so cheap that a batch's fixed cost outweighs padding: fuller batches
    # trained and predicted faster (benchmarks/RESULTS.md, "Padding-aware batches").
    _batch_overhead_timesteps = None

    @classmethod
    def _demo_params(cls, quick):
        if quick:
            return {"n_filters": 4, "hidden_size": 4}, {"pool_size": [2, 4]}
        return {"hidden_size": 32}, {"kernel_size": [5, 8], "pool_size": [2, 4]}

    @classmethod
    def _test_params(cls):
        return {
            "quick": dict(n_filters=8, hidden_size=16, max_epochs=2),
            "learns": dict(n_filters=32, hidden_size=32, max_epochs=15),
            "one_way": dict(bidirectional=False),
        }

    _module_params = (
        "n_filters",
        "kernel_size",
        "pool_size",
        "hidden_size",
        "num_layers",
        "bidirectional",
        "dropout",
    )
    _parameter_constraints = {
        **BaseSequenceLabeler._parameter_constraints,
        **_RECURRENT_CONSTRAINTS,
        "n_filters": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "pool_size": [Interval(Integral, 1, None, closed="left")],
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
class MultiStageTCNLabeler(BaseSequenceLabeler):
    """A TCN followed by refinement stages over its probabilities (as MS-TCN).

    Stage 1 is a :class:`TCNLabeler`'s network; each further stage is another TCN that sees
    only the previous stage's class probabilities, and learns from them which label sequences
    are plausible: it removes short flickers and implausible transitions at segment
    boundaries. In training every stage's output counts in the loss, as in MS-TCN (whose
    smoothing loss is not here).

    Parameters
    ----------
    n_filters : int, default=64
        Channels of every block of every stage.
    kernel_size : int, default=5
        Taps of every convolution.
    n_blocks : int, default=4
        Residual blocks per stage; the receptive field of a stage doubles with each.
    n_stages : int, default=2
        Stages in all; 1 is a plain TCN.
    dropout : float, default=0.1
        Dropout after each convolution.
    causal : bool, default=False
        Every stage pads on the left only, so the label at step ``t`` depends on steps
        ``<= t`` alone.
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

    _module = MultiStageTCN
    _streams_when = "always; causal=True labels each sample at once"
    _module_params = ("n_filters", "kernel_size", "n_blocks", "n_stages", "dropout", "causal")
    _parameter_constraints = {
        **TCNLabeler._parameter_constraints,
        "n_stages": [Interval(Integral, 1, None, closed="left")],
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

    @property
    def receptive_field_(self):
        check_is_fitted(self)
        return self.net_.module_.receptive_field

    def _min_train_length(self):
        # as for the TCN: windows much longer than the field, of all stages together
        return 4 * (self.n_stages * (receptive_field(self.kernel_size, self.n_blocks) - 1) + 1)

    @classmethod
    def _demo_params(cls, quick):
        if quick:
            return {"n_blocks": 2}, {"n_filters": [4, 8]}
        return {}, {"n_filters": [16, 32], "n_stages": [2, 3]}

    @classmethod
    def _test_params(cls):
        return {
            "quick": dict(n_filters=16, kernel_size=3, n_blocks=2, n_stages=2, max_epochs=2),
            "learns": dict(n_filters=32, kernel_size=3, n_blocks=3, n_stages=2, max_epochs=15),
            "causal": dict(causal=True),
        }
