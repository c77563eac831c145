"""The skorch net that trains a sequence module on padded batches.

Only the hooks that padding changes are overridden: the loss (flatten, ignore padded steps) and
a ragged inference loop (unpad back to input order). Batching is skorch's own iterator
mechanism with :func:`~sk_seqlabel._batching.bucketed_loader` plugged in; history, printing,
progress bars and early stopping are skorch callbacks.
"""

from __future__ import annotations

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from torch.utils.data import Subset

from ._batching import PAD_LABEL, bucketed_loader

__all__ = ["SequenceNet", "TimestepAccuracy"]


class TimestepAccuracy(Callback):
    """Record ``valid_acc``: accuracy over the real timesteps of the validation set.

    Computed from the validation batches' outputs as they pass (skorch's ``EpochScoring``
    would predict the validation set a second time and expects equal-length outputs).
    """

    def __init__(self, name="valid_acc"):
        self.name = name

    def on_epoch_begin(self, net, **kwargs):
        self._correct = self._total = 0

    def on_batch_end(self, net, batch, training, y_pred=None, **kwargs):
        if training or y_pred is None:
            return
        y = batch[1].to(y_pred.device)
        real = y != PAD_LABEL
        self._correct += int((y_pred.argmax(-1)[real] == y[real]).sum())
        self._total += int(real.sum())

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is not None and self._total:
            net.history.record(self.name, self._correct / self._total)


class SequenceNet(NeuralNet):
    """A skorch ``NeuralNet`` whose batches are padded sequences.

    The module is called as ``module(x=..., lengths=...)`` and returns logits
    (batch, time, n_classes); targets are (batch, time) with ``PAD_LABEL`` at padded steps.
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        # Cross-entropy with ignore_index=PAD_LABEL averages over real timesteps only, each
        # weighted by its class weight (criterion__weight), as scikit-learn's class_weight does.
        y_true = y_true.to(y_pred.device)
        return self.criterion_(y_pred.reshape(-1, y_pred.shape[-1]).float(), y_true.reshape(-1))

    def predict_proba_ragged(self, dataset, chunk_length):
        """Class probabilities for every sequence of ``dataset``, in its order.

        Sequences up to ``chunk_length`` steps go through length-bucketed batches; a longer one
        goes through the module's ``forward_chunked``, which gives the same result in memory
        bounded by the chunk rather than by the sequence.

        Parameters
        ----------
        dataset : SequenceDataset
        chunk_length : int
            The longest sequence predicted in one piece.

        Returns
        -------
        list of ndarray of shape (T_i, n_classes), dtype float32
        """
        out = [None] * len(dataset)
        is_long = dataset.lengths > chunk_length
        short = np.flatnonzero(~is_long)
        if len(short):
            # Not get_iterator: the validation iterator cuts long sequences into windows.
            loader = bucketed_loader(
                Subset(dataset, short), batch_size=self.batch_size, max_batch_timesteps=chunk_length
            )
            # Without shuffling the sampler's plan is fixed, so it lines up with the loader.
            for keys, batch in zip(loader.batch_sampler, loader, strict=True):
                logits = self.evaluation_step(batch, training=False)
                proba = torch.softmax(logits.float(), dim=-1).cpu().numpy()
                lengths = batch[0]["lengths"].tolist()
                for row, (i, length) in enumerate(zip(keys, lengths, strict=True)):
                    out[i] = proba[row, :length]
        if is_long.any():
            self.check_is_fitted()
            self._set_training(False)
            for i in np.flatnonzero(is_long):
                x = torch.from_numpy(dataset.X[i])
                logits = self.module_.forward_chunked(x, chunk_length)
                out[i] = torch.softmax(logits, dim=-1).numpy()
        return out
