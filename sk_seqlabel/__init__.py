"""scikit-learn estimators that label (or regress) every timestep of variable-length series.

The package in layers, top to bottom; each builds on those below it::

    deployment          streaming.py (live streams), export.py (ONNX), persistence.py
                        (model files that load without executing code): fitted estimators in
    other ecosystems    adapters/sktime.py (any labeler as an sktime detector)
    scikit-learn face   labelers.py (TCNLabeler, ...), regressors.py (TCNRegressor, ...): each a
                        model (_models.py: a module and its keywords) and a task
                        (_labeling.py: classes, decoding, predict_proba; _regression.py:
                        standardised values, R²) on _base.py (what every estimator shares:
                        checks, the net, fit, the inference path, fitted state, the
                        registry; start_stream hands over to streaming.py),
                        preprocessing.py, metrics.py, plotting.py
    training machinery  _training/net.py (the skorch net: masked loss, the one inference
                        context), _training/batching.py (length buckets, padding, unpadding),
                        _training/device.py (DevicePolicy: every device decision)
    decoding            _decoding/ (DecoderSpec and functions over arrays; kernels.py compiled)
    pure PyTorch        modules/ (base.py holds the contract: forward(x, lengths), chunked
                        inference, look-ahead, streaming state, declared capabilities)
    data in             _data/validation.py (check X and y, convert formats), _data/lazy.py
                        (recordings that load on access), formats.py (sktime panels, long
                        tables), datasets.py (real data and generators)

The command line (``python -m sk_seqlabel``) is ``__main__.py`` and ``_demo.py``. Modules
whose names start with ``_`` are private; the public names are those below and in the
public modules' ``__all__``.
"""

from ._base import all_estimators
from .labelers import ConvLSTMLabeler, LSTMLabeler, MultiStageTCNLabeler, TCNLabeler
from .preprocessing import SequenceScaler
from .regressors import ConvLSTMRegressor, LSTMRegressor, MultiStageTCNRegressor, TCNRegressor

__all__ = [
    "ConvLSTMLabeler",
    "ConvLSTMRegressor",
    "LSTMLabeler",
    "LSTMRegressor",
    "MultiStageTCNLabeler",
    "MultiStageTCNRegressor",
    "SequenceScaler",
    "TCNLabeler",
    "TCNRegressor",
    "all_estimators",
]
__version__ = "0.1.0"
