"""scikit-learn classifiers that label every timestep of variable-length time series."""

from .labelers import ConvLSTMLabeler, LSTMLabeler, MultiStageTCNLabeler, TCNLabeler
from .preprocessing import SequenceScaler

__all__ = [
    "ConvLSTMLabeler",
    "LSTMLabeler",
    "MultiStageTCNLabeler",
    "SequenceScaler",
    "TCNLabeler",
]
__version__ = "0.1.0"
