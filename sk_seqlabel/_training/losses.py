"""The per-timestep losses, one per task: what a step's output is scored against.

Every loss is called as ``loss(logits, target, sample_weight=None)`` with the module's raw
outputs ``logits`` (batch, time, n_outputs), the padded targets and, optionally, one weight per
timestep (batch, time); it returns the weighted mean over the steps that have a target. Which
steps those are is the target's own business: ``PAD_LABEL`` marks a step without a class
(padding, or a step the user left unlabelled), NaN a step without a value. The estimator's
task chooses the loss (:attr:`~sk_seqlabel._base.BaseSequenceEstimator._criterion`); the net
and the modules never know which one it is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .batching import PAD_LABEL

__all__ = [
    "TimestepBinaryCrossEntropy",
    "TimestepCrossEntropy",
    "TimestepRegressionLoss",
    "smoothing_loss",
]


def _weighted_mean(losses, weight):
    """``sum(w * loss) / sum(w)``, 0 (not NaN) when every weight is 0."""
    return (losses * weight).sum() / weight.sum().clamp(min=torch.finfo(weight.dtype).tiny)


class TimestepCrossEntropy(torch.nn.Module):
    """Cross-entropy over the steps with a label, plus MS-TCN's smoothing loss if asked.

    Parameters
    ----------
    class_weight : sequence of float, optional
        Weight of each class, applied per timestep, as scikit-learn's ``class_weight``. Given
        as plain numbers so that the net's stored keyword arguments hold no tensor.
    smoothing : float, default=0.0
        Weight of :func:`smoothing_loss`, added to the cross-entropy.
    smoothing_truncation : float, default=4.0
        Its truncation (tau).

    Examples
    --------
    >>> import torch
    >>> loss = TimestepCrossEntropy()
    >>> logits = torch.zeros(1, 3, 2)
    >>> round(float(loss(logits, torch.tensor([[0, 1, -100]]))), 4)  # log 2
    0.6931
    """

    def __init__(self, class_weight=None, smoothing=0.0, smoothing_truncation=4.0):
        super().__init__()
        weight = None if class_weight is None else torch.tensor(class_weight, dtype=torch.float32)
        self.register_buffer("weight", weight)
        self.smoothing = smoothing
        self.smoothing_truncation = smoothing_truncation

    def forward(self, logits, target, sample_weight=None):
        """The weighted mean ``sum(w * c[y] * loss) / sum(w * c[y])`` over labelled steps.

        ``c`` are the class weights (1 without), ``w`` the sample weights (1 without): the
        plain mean over labelled steps when both are 1.
        """
        target = target.to(logits.device, non_blocking=True)
        labelled = target != PAD_LABEL  # (batch, time)
        flat = logits.reshape(-1, logits.shape[-1]).float()
        losses = F.cross_entropy(
            flat, target.reshape(-1), weight=self.weight, ignore_index=PAD_LABEL, reduction="none"
        )
        weight = labelled.reshape(-1).to(flat.dtype)
        if self.weight is not None:
            weight = weight * self.weight[target.reshape(-1).clamp(min=0)]
        if sample_weight is not None:
            sample_weight = sample_weight.to(logits.device, non_blocking=True).reshape(-1)
            losses, weight = losses * sample_weight, weight * sample_weight
        # losses already carry the class weights (F.cross_entropy's weight=)
        loss = losses.sum() / weight.sum().clamp(min=torch.finfo(weight.dtype).tiny)
        if self.smoothing:
            loss = loss + self.smoothing * smoothing_loss(
                logits, labelled, self.smoothing_truncation
            )
        return loss


class TimestepBinaryCrossEntropy(torch.nn.Module):
    """Binary cross-entropy of one sigmoid per label, over the (step, label) entries given.

    The multi-label task's loss: targets are (batch, time, n_labels) floats, 0.0 or 1.0, NaN
    where an entry has no value (padding, or a label the user left out at that step).

    Parameters
    ----------
    class_weight : sequence of (float, float), optional
        Per label, the weights of its negative and positive entries (``[w0, w1]`` per label,
        as scikit-learn's ``compute_class_weight`` gives them for that label's column). Plain
        numbers, so that the net's stored keyword arguments hold no tensor.

    Examples
    --------
    >>> import torch
    >>> loss = TimestepBinaryCrossEntropy()
    >>> logits = torch.zeros(1, 2, 2)
    >>> target = torch.tensor([[[1.0, float("nan")], [0.0, 1.0]]])
    >>> round(float(loss(logits, target)), 4)  # log 2 over the three entries given
    0.6931
    """

    def __init__(self, class_weight=None):
        super().__init__()
        weight = None if class_weight is None else torch.tensor(class_weight, dtype=torch.float32)
        self.register_buffer("weight", weight)  # (n_labels, 2)

    def forward(self, logits, target, sample_weight=None):
        """``sum(w * c * loss) / sum(w * c)`` over entries with a value; 0 when none has one.

        ``c``: the entry's class weight (that of its label and value, 1 without), ``w``: its
        step's sample weight (1 without).
        """
        target = target.to(logits.device, non_blocking=True).reshape(logits.shape)
        has_value = ~torch.isnan(target)
        # NaN must not reach the arithmetic at all: 0 * NaN is NaN, backwards too.
        target = torch.where(has_value, target, torch.zeros_like(target))
        z = logits.float()
        losses = F.binary_cross_entropy_with_logits(z, target, reduction="none")
        weight = has_value.to(z.dtype)
        if self.weight is not None:
            positive = target > 0.5
            weight = weight * torch.where(positive, self.weight[:, 1], self.weight[:, 0])
        if sample_weight is not None:
            weight = weight * sample_weight.to(z.device, non_blocking=True)[..., None]
        return _weighted_mean(losses, weight)


def smoothing_loss(logits, real, truncation):
    """MS-TCN's smoothing loss: truncated squared change of log-probabilities between steps.

    The mean, over pairs of adjacent steps that are both real (``real`` (batch, time) bool),
    of ``min((log p_t - log p_{t-1})^2, truncation^2)`` per class, with the earlier step's
    log-probabilities detached, as in the paper. Zero when no pair is real.
    """
    log_p = torch.log_softmax(logits.float(), dim=-1)
    change = (log_p[:, 1:] - log_p[:, :-1].detach()) ** 2
    change = change.clamp(max=truncation**2).mean(dim=-1)  # (batch, time - 1)
    pairs = real[:, 1:] & real[:, :-1]
    return (change * pairs).sum() / pairs.sum().clamp(min=1)


#: The regression losses by scikit-learn's names (``loss=`` of the regressors).
REGRESSION_LOSSES = ("squared_error", "absolute_error", "huber")


class TimestepRegressionLoss(torch.nn.Module):
    """A regression loss over the (step, target) entries that have a value (not NaN).

    Targets are the standardised values (the estimator divides by each target's spread), so
    one ``huber`` ``epsilon`` suits every target.

    Parameters
    ----------
    loss : {"squared_error", "absolute_error", "huber"}, default="squared_error"
        The loss per entry, by scikit-learn's names: ``(z - y)^2``, ``|z - y|``, or Huber's
        (squared within ``epsilon`` of the target, linear beyond).
    epsilon : float, default=1.0
        Huber's threshold, in standard deviations of the target.

    Examples
    --------
    >>> import torch
    >>> loss = TimestepRegressionLoss()
    >>> z = torch.zeros(1, 3, 1)
    >>> float(loss(z, torch.tensor([[[1.0], [3.0], [float("nan")]]])))  # (1 + 9) / 2
    5.0
    """

    def __init__(self, loss="squared_error", epsilon=1.0):
        super().__init__()
        if loss not in REGRESSION_LOSSES:
            raise ValueError(f"loss must be one of {REGRESSION_LOSSES}; got {loss!r}.")
        self.loss = loss
        self.epsilon = epsilon

    def forward(self, logits, target, sample_weight=None):
        """The weighted mean loss over entries with a value; 0 when none has one."""
        target = target.to(logits.device, non_blocking=True)
        target = target.reshape(logits.shape)  # (batch, time) targets of one output
        has_value = ~torch.isnan(target)
        # NaN must not reach the arithmetic at all: 0 * NaN is NaN, and so would the
        # gradient be (where() alone lets it through backwards).
        target = torch.where(has_value, target, torch.zeros_like(target))
        z = logits.float()
        if self.loss == "squared_error":
            losses = (z - target) ** 2
        elif self.loss == "absolute_error":
            losses = (z - target).abs()
        else:
            losses = F.huber_loss(z, target, reduction="none", delta=self.epsilon)
        weight = has_value.to(z.dtype)
        if sample_weight is not None:
            weight = weight * sample_weight.to(z.device, non_blocking=True)[..., None]
        return _weighted_mean(losses, weight)
