"""The skorch net that trains a sequence module on padded batches.

Overridden hooks: the loss (flatten, ignore padded steps), a ragged inference loop (unpad back
to input order) behind one context that every prediction goes through
(:meth:`SequenceNet.inference`; skorch's own ``predict_proba``, ``predict``, ``forward`` and
``forward_iter`` of this net take it too, per sequence), the forward pass (under bf16
autocast when the policy says so, inputs copied without blocking, lengths left on the host),
the module's initialisation (the device policy's code paths), the fit loop (an interrupted fit
is recorded and rolled back to the last whole epoch), the epoch loop's per-batch loss
recording (one host synchronisation per epoch instead of one per batch) and the iterators (a
fit's loaders are kept until it ends, so that :class:`PlannedProgressBar` knows each epoch's
batches before it starts). Batching is skorch's
own iterator mechanism with :func:`~sk_seqlabel._training.batching.bucketed_loader` plugged in;
history, printing, progress bars and early stopping are skorch callbacks.

Everything a fitted net keeps outside the module, optimizer and criterion (callbacks, history,
keyword arguments) is plain Python: skorch maps only those three to the CPU when a model
trained on a GPU is unpickled on a machine without one.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import sys
import threading
import weakref
import zlib

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, ProgressBar
from torch.utils.data import Subset

from .batching import PAD_LABEL, SequenceDataset, bucketed_loader, check_split_weights
from .device import torch_settings

__all__ = ["PlannedProgressBar", "SequenceNet", "TimestepAccuracy"]

#: Calls of :meth:`SequenceNet.inference` in progress, per net: ``[count, module mode before
#: the first]``. Kept outside the net so that a fitted net holds nothing of a call (and stays
#: picklable: a lock is not).
_inference_calls: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_inference_lock = threading.Lock()


#: Key of the pickled net's state that holds the CRC-32 of its serialised weights.
WEIGHTS_CRC32 = "_sk_seqlabel_weights_crc32"
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
        y = batch[1].to(y_pred.device, non_blocking=True)
        if y.is_floating_point():  # several 0/1 labels per step: entries given, pooled
            given = ~torch.isnan(y)
            self._correct = self._correct + (((y_pred > 0) == (y > 0.5)) & given).sum()
            self._total = self._total + given.sum()
            return
        real = y != PAD_LABEL
        # Device tensors, summed on the device: read once at the epoch's end, not per batch.
        self._correct = self._correct + ((y_pred.argmax(-1) == y) & real).sum()
        self._total = self._total + real.sum()

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        correct, total = int(self._correct), int(self._total)
        # Back to Python numbers: a device tensor kept here would make a GPU-trained model
        # impossible to unpickle on a CPU-only machine (skorch maps only module, optimizer and
        # criterion).
        self._correct = self._total = 0
        if dataset_valid is not None and total:
            net.history.record(self.name, correct / total)


class PlannedProgressBar(ProgressBar):
    """skorch's progress bar over the batches each epoch's plan makes, on terminals only.

    skorch's ``batches_per_epoch="auto"`` divides the number of sequences by ``batch_size``;
    batches capped by padded timesteps, and training windows that move each epoch, make
    another number. Here the total is what the epoch's loaders will yield
    (:meth:`SequenceNet.planned_batches`), known before the epoch starts. When the bar's stream
    (standard error) is not a terminal or a notebook, nothing is drawn: a log file then holds
    skorch's epoch table, one line per epoch, and no carriage-return fragments.
    """

    def _get_batches_per_epoch(self, net, dataset_train, dataset_valid):
        return net.planned_batches()

    def _draws(self):
        return self._use_notebook() or sys.stderr.isatty()

    def on_epoch_begin(self, net, **kwargs):
        if self._draws():
            super().on_epoch_begin(net, **kwargs)
        else:
            self.pbar_ = None

    def on_batch_end(self, net, **kwargs):
        if self.pbar_ is not None:
            super().on_batch_end(net, **kwargs)

    def on_epoch_end(self, net, **kwargs):
        if self.pbar_ is not None:
            super().on_epoch_end(net, **kwargs)


class SequenceNet(NeuralNet):
    """A skorch ``NeuralNet`` whose batches are padded sequences.

    The module is called as ``module(x=..., lengths=...)`` and returns logits
    (batch, time, n_outputs); the targets are what the task's criterion scores them against
    (:mod:`~sk_seqlabel._training.losses`), with its marker at padded steps.

    Parameters
    ----------
    module, *args, **kwargs
        As for :class:`skorch.NeuralNet`.
    policy : DevicePolicy
        How to run on the device (:class:`~sk_seqlabel._training.device.DevicePolicy`): precision,
        code paths, pinned memory, threads: that of ``fit``. A prediction may run under
        another (:meth:`inference`) and leaves this one as it was.

    Attributes
    ----------
    interrupted_ : bool
        True when the last fit was stopped by a ``KeyboardInterrupt`` (not by early
        stopping); the module then holds the weights of the last whole epoch (or, with early
        stopping, of the best one), and the history ends with that epoch, marked
        ``interrupted``.
    """

    #: The loaders of the fit in progress, by ``training``; None outside :meth:`fit_loop`.
    _fit_loaders = None

    def __init__(self, module, *args, policy, **kwargs):
        super().__init__(module, *args, **kwargs)
        self.policy = policy

    @property
    def precision(self):
        """What ``fit`` ran in: "fp32", "bf16" or "bf16 (LSTM layers in fp32)"."""
        return self.precision_of(self.policy)

    def precision_of(self, policy):
        """What the forward pass runs in under ``policy`` (as :attr:`precision` words it)."""
        has_lstm = hasattr(self.module_, "low_precision_recurrence")
        if policy.precision == "bf16" and policy.recurrent_precision == "fp32" and has_lstm:
            return "bf16 (LSTM layers in fp32)"
        return policy.precision

    def autocast(self, policy=None):
        """The context the module's forward pass runs in: bf16 autocast or nothing."""
        policy = policy or self.policy
        if policy.precision == "bf16":
            return torch.autocast(torch.device(self.device).type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def configure_module(self, policy):
        """Give the module the policy's code paths and recurrent precision (speed only)."""
        self.module_.configure_runtime(
            conv_path=policy.conv_path,
            lstm_path=policy.lstm_path,
            low_precision_recurrence=policy.recurrent_precision == "bf16",
            flush_denormal=policy.flush_denormal,
            flatten_weights=policy.flatten_lstm_weights,
        )

    def initialize_module(self):
        super().initialize_module()
        self.configure_module(self.policy)
        return self

    def __getstate__(self):
        """skorch's state, with a CRC-32 of the serialised module, optimizer and criterion.

        skorch serialises those three (the weights) into one bytes object, so the checksum
        covers exactly what :meth:`__setstate__` will read, and is checked before it is read.
        It detects accidents (a damaged copy, a flipped byte) only: anyone who can edit a
        pickle can run code with it anyway. For that job a CRC does what SHA-256 does, at
        a half to a fifth of its cost (benchmarks/RESULTS.md, section 19).
        """
        state = super().__getstate__()
        state[WEIGHTS_CRC32] = zlib.crc32(state["__cuda_dependent_attributes__"])
        return state

    def __setstate__(self, state):
        # Pickles written before the checksum existed have none, and load as they did.
        expected = state.pop(WEIGHTS_CRC32, None)
        if expected is not None and zlib.crc32(state["__cuda_dependent_attributes__"]) != expected:
            raise ValueError(
                "The pickled weights of this sk_seqlabel model do not match their CRC-32 "
                "checksum: the pickle was damaged or altered after it was written; refusing "
                "to load it. Load an intact copy (or refit)."
            )
        super().__setstate__(state)

    def infer(self, x, **fit_params):
        # Not skorch's to_tensor: the input is copied without blocking (from pinned memory on
        # CUDA), and the lengths go where the module declares it reads them.
        x_dict = {
            "x": x["x"].to(self.device, non_blocking=True),
            "lengths": self.module_.place_lengths(x["lengths"], self.device),
            **fit_params,
        }
        with self.autocast():
            return self.module_(**x_dict)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's fit loop, with an interrupted fit rolled back to its last whole epoch.

        skorch ends a fit quietly on ``KeyboardInterrupt`` (early stopping raises it too). A
        user's interrupt mid-epoch leaves the weights of a partial epoch and a partial history
        row; here the row is dropped, the last whole epoch's weights restored (early
        stopping's ``load_best`` then picks the best epoch as usual), the last row marked
        ``interrupted`` and :attr:`interrupted_` set, so the estimator can warn.
        """
        self.interrupted_ = False
        self._epoch_weights = None
        self._fit_loaders = {}
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            if not self._stopped_early():
                self._roll_back_to_last_epoch()
            raise
        finally:
            # The loaders hold the training data: a fitted (pickled) net must not.
            self._epoch_weights = self._fit_loaders = None

    def get_iterator(self, dataset, training=False):
        iterator = super().get_iterator(dataset, training=training)
        if self._fit_loaders is not None:  # inside fit_loop; prediction writes nothing
            self._fit_loaders[training] = iterator
        return iterator

    def planned_batches(self):
        """The number of batches the coming epoch of the fit in progress makes.

        Training and validation together, as each loader's plan for that epoch says (its
        ``len``, exact also when the training batches are reshuffled); 0 outside a fit.
        """
        return sum(len(loader) for loader in (self._fit_loaders or {}).values())

    def on_train_begin(self, net, **kwargs):
        super().on_train_begin(net, **kwargs)
        self._keep_epoch_weights()

    def on_epoch_end(self, net, **kwargs):
        super().on_epoch_end(net, **kwargs)
        self._keep_epoch_weights()

    def _keep_epoch_weights(self):
        # The weights at the start and after each whole epoch, for an interrupt mid-epoch.
        self._epoch_weights = {k: v.detach().clone() for k, v in self.module_.state_dict().items()}

    def _stopped_early(self):
        return any(
            isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience for _, cb in self.callbacks_
        )

    def _roll_back_to_last_epoch(self):
        self.interrupted_ = True
        if self.history and "train_loss" not in self.history[-1]:
            self.history.pop()  # the partial epoch
        if self._epoch_weights is not None:
            self.module_.load_state_dict(self._epoch_weights)
        if self.history:
            self.history.record("interrupted", True)

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch's split, refused before training when one side's loss weights are all 0."""
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        class_weight = self.get_params_for("criterion").get("class_weight")
        check_split_weights(dataset_train, dataset_valid, class_weight)
        return dataset_train, dataset_valid

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
        trim = self.policy.release_host_memory
        try:
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
                # lengths are on the host (see infer): summing them waits for nothing
                self.history.record_batch(prefix + "_batch_size", int(batch[0]["lengths"].sum()))
                batches.append(self.history[-1]["batches"][-1])
                self.notify("on_batch_end", batch=batch, training=training, **step)
        finally:
            # Also when interrupted: the history must hold floats, never device tensors.
            if losses and torch.is_tensor(losses[0]):
                for record, loss in zip(batches, torch.stack(losses).tolist(), strict=True):
                    record[prefix + "_loss"] = loss
        self.history.record(prefix + "_batch_count", len(batches))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        # The task's criterion (_training/losses.py) skips steps without a target and weighs
        # the others (X["weight"]: one sample weight per timestep). In training, the module's
        # intermediate outputs (pop_auxiliary_logits: MS-TCN's earlier stages) add the same
        # loss each.
        weight = X.get("weight") if isinstance(X, dict) else None
        extra = self.module_.pop_auxiliary_logits() if training else []
        return sum(
            self.criterion_(logits, y_true, sample_weight=weight) for logits in [y_pred, *extra]
        )

    @contextlib.contextmanager
    def inference(self, policy=None):
        """The context of every prediction: what a call needs, set and then restored.

        The one way in for :meth:`predict_ragged` (so the estimator's ``predict`` and
        ``predict_proba``), skorch's entry points of this net and live streams. Inside it the
        module is in eval mode with the call's code paths (``policy``), gradients are off,
        and the policy's torch settings (threads, no TF32) and precision (autocast) apply.
        When the last of the calls in progress on this net leaves (calls in several threads
        may overlap), the module's mode and code paths are as they were before the first: a
        prediction never changes the fitted net (the policy of ``fit`` stays :attr:`policy`).

        Parameters
        ----------
        policy : DevicePolicy, optional
            How to run this call; default: the policy the net was fitted with.

        Yields
        ------
        DevicePolicy
            The policy in effect.
        """
        self.check_is_fitted()
        policy = policy or self.policy
        with _inference_lock:
            # Counted per net, not saved per call: a thread that left first would otherwise
            # switch dropout back on under another that is still predicting.
            calls = _inference_calls.setdefault(self, [0, self.module_.training])
            calls[0] += 1
            self.configure_module(policy)
            self.module_.eval()
        try:
            with policy.torch_settings(), torch.no_grad(), self.autocast(policy):
                yield policy
        finally:
            with _inference_lock:
                calls[0] -= 1
                if calls[0] == 0:
                    del _inference_calls[self]
                    self.configure_module(self.policy)
                    self.module_.train(calls[1])

    def predict_ragged(self, dataset, policy=None, output="proba", batch_overhead=None):
        """Class probabilities (or indices) for every sequence of ``dataset``, in its order.

        Sequences up to ``policy.inference_batch_timesteps`` steps go through length-bucketed
        batches; longer ones go through the module's ``forward_chunked``, which gives the same
        result in memory bounded by that many padded steps rather than by the sequences.

        Parameters
        ----------
        dataset : SequenceDataset
        policy : DevicePolicy, optional
            How to run this call (chunk length, length rounding, precision, code paths,
            threads); default: the policy of ``fit``. Used for this call only
            (:meth:`inference`).
        output : {"proba", "log_proba", "logits", "labels"}, default="proba"
            Probabilities, their logarithms (``log_softmax``, exact for tiny probabilities:
            what decoding needs), the module's raw outputs, or the index of the most probable
            class at each step: the argmax of the logits, taken on the device, so only one
            int32 per step comes back to the host and no softmax is computed.
        batch_overhead : int, optional
            Cost of one batch in padded timesteps, weighed against padding when planning the
            batches (:func:`~sk_seqlabel._training.batching.plan_batches`); default: that of
            training.

        Returns
        -------
        list of ndarray of shape (T_i, n_classes), dtype float32, or of shape (T_i,), dtype
        int32 for ``output="labels"``
        """
        if batch_overhead is None:
            batch_overhead = self.get_params_for("iterator_train").get("batch_overhead")
        with self.inference(policy) as policy:
            return self._predict_ragged(dataset, policy, output, batch_overhead)

    # skorch's own prediction entry points, on the same path as the estimator's. skorch's
    # versions batch through ``iterator_valid``, which cuts long sequences into training
    # windows, and concatenate the batches, which ragged outputs cannot be.
    def get_dataset(self, X, y=None):
        """``X`` as a :class:`~sk_seqlabel._training.batching.SequenceDataset`.

        Takes a ``SequenceDataset`` (or another torch ``Dataset``, as skorch does) or a list
        of ``(T_i, n_features)`` arrays; anything else is for the estimator, which checks and
        converts every input format.
        """
        if isinstance(X, torch.utils.data.Dataset):
            return X
        if isinstance(X, (list, tuple)) and y is None:
            sequences = [np.asarray(x) for x in X]
            if all(s.ndim == 2 and np.issubdtype(s.dtype, np.number) for s in sequences):
                return SequenceDataset([s.astype(np.float32, copy=False) for s in sequences])
        raise TypeError(
            f"{type(self).__name__} takes a SequenceDataset or a list of (T_i, n_features) "
            f"numeric arrays; got {type(X).__name__}. The estimator (its predict_proba, "
            "predict) checks and converts every input format."
        )

    def forward_iter(self, X, training=False, device="cpu"):
        """Yield the module's logits of each sequence of ``X``, shape (T_i, n_classes).

        Per sequence in input order (not per batch: batches are an internal plan), computed
        as the estimator computes them (:meth:`predict_ragged`).
        """
        if training:
            raise ValueError(
                "forward_iter(training=True) is not supported: a prediction runs in eval mode."
            )
        for logits in self.predict_ragged(self.get_dataset(X), output="logits"):
            yield torch.from_numpy(logits).to(device)

    def forward(self, X, training=False, device="cpu"):
        """The module's logits of each sequence of ``X``: a list of (T_i, n_classes) tensors."""
        return list(self.forward_iter(X, training=training, device=device))

    def predict_proba(self, X):
        """Probabilities per sequence, (T_i, n_classes) arrays: the estimator's numbers."""
        return self.predict_ragged(self.get_dataset(X), output="proba")

    def predict(self, X):
        """Most probable class index per step, (T_i,) int arrays (the arg-max, undecoded)."""
        return self.predict_ragged(self.get_dataset(X), output="labels")

    def _predict_ragged(self, dataset, policy, output, batch_overhead):
        def finish(logits):
            if output == "labels":
                return logits.argmax(dim=-1).to(torch.int32).cpu().numpy()
            if output == "log_proba":
                return torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
            if output == "logits":
                return logits.float().cpu().numpy()
            return torch.softmax(logits.float(), dim=-1).cpu().numpy()

        chunk_length = policy.inference_batch_timesteps
        out = [None] * len(dataset)
        is_long = dataset.lengths > chunk_length
        short = np.flatnonzero(~is_long)
        if len(short):
            # Not get_iterator: the validation iterator cuts long sequences into windows.
            loader = bucketed_loader(
                Subset(dataset, short),
                batch_size=self.batch_size,
                max_batch_timesteps=chunk_length,
                round_lengths=policy.round_lengths,
                pin_memory=policy.pin_memory,
                batch_overhead=batch_overhead,
            )
            # Without shuffling the sampler's plan is fixed, so it lines up with the loader.
            trim = policy.release_host_memory
            for n, (keys, batch) in enumerate(zip(loader.batch_sampler, loader, strict=True)):
                if trim and n % TRIM_EVERY == TRIM_EVERY - 1:
                    release_freed_memory()
                result = finish(self.infer(batch[0]))
                lengths = batch[0]["lengths"].tolist()
                for row, (i, length) in enumerate(zip(keys, lengths, strict=True)):
                    out[i] = result[row, :length]
        long = np.flatnonzero(is_long)
        # Longest first, the module's chunked_rows at a time: recordings that load on access
        # are then held a group at a time, never all at once; a recurrent module runs a
        # group's sequences side by side (the longest together fill its rows best).
        long = long[np.argsort(-dataset.lengths[long], kind="stable")]
        group_size = self.module_.chunked_rows
        for first in range(0, len(long), group_size):
            group = long[first : first + group_size]
            with torch_settings(self.module_.chunked_threads):
                logits = self.module_.forward_chunked(
                    [torch.from_numpy(dataset.X[i]) for i in group], chunk_length
                )
            for i, sequence_logits in zip(group, logits, strict=True):
                out[i] = finish(sequence_logits)
        return out
