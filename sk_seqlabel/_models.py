"""The models: each a module and its hyperparameters, for every task that uses it.

A model class (a mixin, not an estimator) says which
:class:`~sk_seqlabel.modules.base.SequenceModule` to build, which keywords go to it
(``_module_params``), how they are checked (``_model_constraints``) and documented
(``_model_docs``), and what the model's measured speed choices and test configurations are.
A public estimator is a model plus a task (``_labeling.py``: labels, ``_regression.py``:
values): ``class TCNLabeler(TCNModel, BaseSequenceLabeler)``. The module never knows the
task: the task gives it its number of outputs (and, to a multi-stage model, how a stage
reads the previous one's outputs).
"""

from __future__ import annotations

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .modules.conv_lstm import ConvLSTM
from .modules.lstm import LSTM
from .modules.ms_tcn import MultiStageTCN
from .modules.tcn import TCN, receptive_field

__all__ = ["ConvLSTMModel", "LSTMModel", "MultiStageTCNModel", "TCNModel"]


class _ReceptiveField:
    @property
    def receptive_field_(self):
        """Input steps one output depends on (the fitted module's)."""
        check_is_fitted(self)
        return self.net_.module_.receptive_field


class TCNModel(_ReceptiveField):
    """:class:`~sk_seqlabel.modules.tcn.TCN`: dilated residual convolutions."""

    _module = TCN
    _streams_when = "always; causal=True emits each sample at once"
    _module_params = ("n_filters", "kernel_size", "n_blocks", "dropout", "causal")
    _model_constraints = {
        "n_filters": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "n_blocks": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "causal": ["boolean"],
    }
    _model_docs = """
    n_filters : int, default=64
        Channels of every block.
    kernel_size : int, default=5
        Taps of every convolution.
    n_blocks : int, default=4
        Residual blocks; the receptive field doubles with each.
    dropout : float, default=0.1
        Dropout after each convolution.
    causal : bool, default=False
        Pad on the left only, so the output at step ``t`` depends on steps ``<= t`` alone (for
        next-step prediction and streaming). Otherwise the field is centred on ``t``.
"""
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


class LSTMModel:
    """:class:`~sk_seqlabel.modules.lstm.LSTM`: stacked (bidirectional) LSTM layers."""

    # bf16 autocast was faster on a CPU with native bf16 (benchmarks/RESULTS.md, section 1),
    # but a sequence's probabilities then moved with its batch mates by more than the 1e-5 of
    # the batch-invariance tests, so "auto" stays fp32: bf16 is an explicit choice here.
    _module = LSTM
    _streams_when = "bidirectional=False"
    _module_params = ("hidden_size", "num_layers", "bidirectional", "dropout")
    _model_constraints = _RECURRENT_CONSTRAINTS
    _model_docs = """
    hidden_size : int, default=64
        Hidden units per direction and layer.
    num_layers : int, default=2
        Stacked LSTM layers.
    bidirectional : bool, default=True
        Run each layer in both time directions. With False the model is causal: the output at
        step ``t`` depends on steps ``<= t`` alone (next-step prediction, streaming).
    dropout : float, default=0.0
        Dropout between LSTM layers, as in :class:`torch.nn.LSTM`.
"""

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


class ConvLSTMModel:
    """:class:`~sk_seqlabel.modules.conv_lstm.ConvLSTM`: convolution, pooling, LSTM."""

    _module = ConvLSTM
    _streams_when = "bidirectional=False, after a delay"
    # Its steps are so cheap that a batch's fixed cost outweighs padding: fuller batches
    # trained and predicted faster (benchmarks/RESULTS.md, "Padding-aware batches").
    _batch_overhead_timesteps = None
    _module_params = (
        "n_filters",
        "kernel_size",
        "pool_size",
        "hidden_size",
        "num_layers",
        "bidirectional",
        "dropout",
    )
    _model_constraints = {
        **_RECURRENT_CONSTRAINTS,
        "n_filters": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "pool_size": [Interval(Integral, 1, None, closed="left")],
    }
    _model_docs = """
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
"""

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


class MultiStageTCNModel(_ReceptiveField):
    """:class:`~sk_seqlabel.modules.ms_tcn.MultiStageTCN`: a TCN, then refinement TCNs."""

    _module = MultiStageTCN
    _streams_when = "always; causal=True emits each sample at once"
    _module_params = ("n_filters", "kernel_size", "n_blocks", "n_stages", "dropout", "causal")
    # the task says how a refinement stage reads the previous stage's outputs
    _module_extras = ("stage_input",)
    _model_constraints = {
        **TCNModel._model_constraints,
        "n_stages": [Interval(Integral, 1, None, closed="left")],
    }
    _model_docs = """
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
        Every stage pads on the left only, so the output at step ``t`` depends on steps
        ``<= t`` alone.
"""

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
