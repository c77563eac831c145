"""scikit-learn classifiers that label every timestep of variable-length time series."""

from .labelers import ConvLSTMLabeler, LSTMLabeler, TCNLabeler
from .preprocessing import SequenceScaler

__all__ = ["ConvLSTMLabeler", "LSTMLabeler", "SequenceScaler", "TCNLabeler"]
__version__ = "0.1.0"
