"""The skorch net that trains a sequence module on padded batches.

Overridden hooks: the loss (flatten, ignore padded steps), a ragged inference loop (unpad back
to input order), the forward pass (under bf16 autocast when ``precision="bf16"``) and the epoch
loop's per-batch loss recording (one host synchronisation per epoch instead of one per batch).
Batching is skorch's own iterator mechanism with
:func:`~sk_seqlabel._batching.bucketed_loader` plugged in; history, printing, progress bars
and early stopping are skorch callbacks.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from torch.utils.data import Subset

from ._batching import PAD_LABEL, bucketed_loader

__all__ = ["SequenceNet", "TimestepAccuracy"]


#: Batches between two hand-backs of freed heap memory to the OS on the CPU.
TRIM_EVERY = 16


def _load_malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc (macOS, musl, Windows)
        return None


_MALLOC_TRIM = _load_malloc_trim()


def release_freed_memory():
    """Hand the heap memory that glibc's malloc holds free back to the OS; no-op elsewhere.

    Written by hand because no library does it: every new batch shape makes oneDNN's CPU
    convolutions allocate and free buffers of new sizes, and glibc keeps the freed ones
    (raising its mmap threshold up to 32 MB, then serving them from a heap it trims only at
    the top). Training a TCN on 20 recordings of 500,000 steps grew the process by 1.6 GB
    that way, 1.5 MB per batch, all of it free memory that ``malloc_trim`` gave back.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


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
        # Device tensors, summed on the device: read once at the epoch's end, not per batch.
        self._correct = self._correct + ((y_pred.argmax(-1) == y) & real).sum()
        self._total = self._total + real.sum()

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is not None and int(self._total):
            net.history.record(self.name, int(self._correct) / int(self._total))


class SequenceNet(NeuralNet):
    """A skorch ``NeuralNet`` whose batches are padded sequences.

    The module is called as ``module(x=..., lengths=...)`` and returns logits
    (batch, time, n_classes); targets are (batch, time) with ``PAD_LABEL`` at padded steps.
    """

    def __init__(self, module, *args, precision="fp32", **kwargs):
        super().__init__(module, *args, **kwargs)
        #: "fp32" or "bf16": the dtype of the forward pass's matrix products (autocast).
        self.precision = precision

    def autocast(self):
        """The context the module's forward pass runs in: bf16 autocast or nothing."""
        if self.precision == "bf16":
            return torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def infer(self, x, **fit_params):
        with self.autocast():
            return super().infer(x, **fit_params)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch loop, reading the batch losses off the device once per epoch.

        skorch records ``loss.item()`` after every batch, which makes the host wait for the
        GPU at every step. Here, with ``verbose=0``, each batch's record holds the detached
        loss tensor until the epoch ends, when all of them become floats in one transfer;
        callbacks that read a batch's loss during the epoch get that 0-d tensor (``float()``
        of it works). For the progress bar of ``verbose>0`` it is a float at once. Each
        batch is weighted by its real timesteps (``*_batch_size``), so the epoch's loss is the
        mean over timesteps, as each batch's loss is.
        """
        if iterator is None:
            return
        batches, losses = [], []
        trim = torch.device(self.device).type == "cpu"
        for batch in iterator:
            if trim and len(batches) % TRIM_EVERY == TRIM_EVERY - 1:
                release_freed_memory()
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            loss = step["loss"].detach()
            if self.verbose:
                loss = loss.item()
            losses.append(loss)
            self.history.record_batch(prefix + "_loss", loss)
            # lengths are still on the host here: summing them waits for nothing
            self.history.record_batch(prefix + "_batch_size", int(batch[0]["lengths"].sum()))
            batches.append(self.history[-1]["batches"][-1])
            self.notify("on_batch_end", batch=batch, training=training, **step)
        if losses and torch.is_tensor(losses[0]):
            for record, loss in zip(batches, torch.stack(losses).tolist(), strict=True):
                record[prefix + "_loss"] = loss
        self.history.record(prefix + "_batch_count", len(batches))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        # Cross-entropy with ignore_index=PAD_LABEL averages over real timesteps only, each
        # weighted by its class weight (criterion__weight), as scikit-learn's class_weight does.
        y_true = y_true.to(y_pred.device)
        return self.criterion_(y_pred.reshape(-1, y_pred.shape[-1]).float(), y_true.reshape(-1))

    def predict_ragged(self, dataset, chunk_length, round_lengths=False, labels=False):
        """Class probabilities (or indices) for every sequence of ``dataset``, in its order.

        Sequences up to ``chunk_length`` steps go through length-bucketed batches; longer ones
        go through the module's ``forward_chunked``, which gives the same result in memory
        bounded by ``chunk_length`` padded steps rather than by the sequences.

        Parameters
        ----------
        dataset : SequenceDataset
        chunk_length : int
            The longest sequence predicted in one piece.
        round_lengths : bool, default=False
            Pad batches to lengths that repeat (see ``bucketed_loader``).
        labels : bool, default=False
            Return the index of the most probable class at each step instead of the
            probabilities: the argmax of the logits, taken on the device, so only one int32 per
            step comes back to the host and no softmax is computed.

        Returns
        -------
        list of ndarray of shape (T_i, n_classes), dtype float32, or of shape (T_i,), dtype
        int32 with ``labels``
        """

        def finish(logits):
            if labels:
                return logits.argmax(dim=-1).to(torch.int32).cpu().numpy()
            return torch.softmax(logits.float(), dim=-1).cpu().numpy()

        out = [None] * len(dataset)
        is_long = dataset.lengths > chunk_length
        short = np.flatnonzero(~is_long)
        if len(short):
            # Not get_iterator: the validation iterator cuts long sequences into windows.
            loader = bucketed_loader(
                Subset(dataset, short),
                batch_size=self.batch_size,
                max_batch_timesteps=chunk_length,
                round_lengths=round_lengths,
            )
            # Without shuffling the sampler's plan is fixed, so it lines up with the loader.
            trim = torch.device(self.device).type == "cpu"
            for n, (keys, batch) in enumerate(zip(loader.batch_sampler, loader, strict=True)):
                if trim and n % TRIM_EVERY == TRIM_EVERY - 1:
                    release_freed_memory()
                logits = self.evaluation_step(batch, training=False)  # autocast in infer
                result = finish(logits)
                lengths = batch[0]["lengths"].tolist()
                for row, (i, length) in enumerate(zip(keys, lengths, strict=True)):
                    out[i] = result[row, :length]
        if is_long.any():
            self.check_is_fitted()
            self._set_training(False)
            long = np.flatnonzero(is_long)
            with self.autocast():
                logits = self.module_.forward_chunked(
                    [torch.from_numpy(dataset.X[i]) for i in long], chunk_length
                )
            for i, sequence_logits in zip(long, logits, strict=True):
                out[i] = finish(sequence_logits)
        return out
