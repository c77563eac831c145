"""Figures of labelled sequences, in scikit-learn's Display convention.

:class:`SequenceLabelingDisplay` draws one recording: its channels, its true labels and each
prediction as colour bands over time, and the predicted probabilities of every class. Build it
``from_estimator`` (it predicts) or ``from_predictions`` (labels you already have), as
:class:`sklearn.metrics.ConfusionMatrixDisplay`; matplotlib is imported only to draw.
"""

from __future__ import annotations

import numpy as np

from ._data.validation import (
    _check_sequence,
    _reject_single_sequence,
    check_label_sequences,
)

__all__ = ["SequenceLabelingDisplay"]


class SequenceLabelingDisplay:
    """Signal, true and predicted label bands, and class probabilities of one recording.

    Build it with :meth:`from_estimator` or :meth:`from_predictions`; both draw at once. The
    figure has one panel per row, sharing the time axis: the channels (when ``X`` is given),
    the true labels, one band per prediction (titled with its timestep accuracy), and the
    probabilities (when given). Colour ``C{k}`` is ``classes[k]`` in every band and line; the
    channels are grey.

    Parameters
    ----------
    y_true : ndarray of shape (T,)
        The recording's true label at every timestep.
    y_pred : dict of str to ndarray of shape (T,)
        Predicted labels, by name (e.g. the model's); one band each, in this order.
    X : ndarray of shape (T, n_features), default=None
        The recording's channels; no signal panel when None.
    y_proba : ndarray of shape (T, n_classes), default=None
        Predicted probabilities, columns in the order of ``classes``; no probability panel
        when None.
    classes : array-like of shape (n_classes,), default=None
        Every label, in the order of the colours (an estimator's ``classes_``). None is the
        sorted labels found in ``y_true`` and ``y_pred``.
    sampling_rate : float, default=None
        Timesteps per second: the time axis is then in seconds; None counts timesteps.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        The figure the panels are on.
    ax_ : matplotlib.axes.Axes
        The top panel: the signal when ``X`` was given, else the true labels.
    axes_ : ndarray of matplotlib.axes.Axes
        Every panel, top to bottom.
    lines_ : list of matplotlib.lines.Line2D
        One line per channel of ``X`` (empty without ``X``).
    bands_ : dict of str to matplotlib.image.AxesImage
        The label bands: ``"true"`` and each prediction's name; the image's array holds each
        timestep's position in ``classes``.
    proba_lines_ : list of matplotlib.lines.Line2D
        One line per class, in the order of ``classes`` (empty without ``y_proba``).

    See Also
    --------
    sk_seqlabel.metrics.timestep_accuracy_score : The accuracy quoted in each band's name.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sk_seqlabel import TCNLabeler
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> from sk_seqlabel.plotting import SequenceLabelingDisplay
    >>> X, y = make_sequence_labeling(n_sequences=20, random_state=0)
    >>> clf = TCNLabeler(max_epochs=3, random_state=0).fit(X, y)
    >>> display = SequenceLabelingDisplay.from_estimator(clf, X, y, index=3)
    >>> list(display.bands_), display.axes_[-1].get_ylabel()
    (['true', 'TCNLabeler'], 'probability')
    >>> _ = display.ax_.set_title("Recording 3")  # the figure is yours to change, or save
    >>> import matplotlib.pyplot as plt
    >>> plt.close(display.figure_)
    """

    def __init__(self, y_true, y_pred, *, X=None, y_proba=None, classes=None, sampling_rate=None):
        self.y_true = y_true
        self.y_pred = y_pred
        self.X = X
        self.y_proba = y_proba
        self.classes = classes
        self.sampling_rate = sampling_rate

    @classmethod
    def from_estimator(cls, estimator, X, y, *, index=0, name=None, sampling_rate=None, ax=None):
        """Predict one recording with a fitted labeler (or pipeline) and plot it.

        Only ``X[index]`` is predicted; its labels and probabilities are what predicting all
        of ``X`` gives for it (a sequence's outputs do not depend on its batch mates).

        Parameters
        ----------
        estimator : fitted labeler or pipeline ending in one
            Its ``predict``, ``predict_proba`` (when it has one) and ``classes_`` are used.
        X : list of array-like of shape (T_i, n_features), or ndarray of shape \
(n_sequences, T, n_features)
            Recordings, as the estimator takes them.
        y : list of array-like of shape (T_i,), or ndarray of shape (n_sequences, T)
            Their true labels.
        index : int, default=0
            Which recording to plot.
        name : str, default=None
            The prediction band's name; None is the estimator's class name (a pipeline's last
            step's).
        sampling_rate : float, default=None
            Timesteps per second, for a time axis in seconds.
        ax : sequence of matplotlib Axes, default=None
            See :meth:`plot`.

        Returns
        -------
        display : SequenceLabelingDisplay
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(estimator)
        y_true = _pick_labels(y, index, "y")
        x = _pick_sequence(X, index)
        signal = _check_sequence(index, x)  # before predict, so an error names X[index]
        y_pred = np.asarray(estimator.predict([x])[0])
        proba = estimator.predict_proba([x])[0] if hasattr(estimator, "predict_proba") else None
        if name is None:
            final = estimator[-1] if hasattr(estimator, "steps") else estimator
            name = type(final).__name__
        display = cls(
            y_true,
            {name: y_pred},
            X=signal,
            y_proba=proba,
            classes=estimator.classes_,
            sampling_rate=sampling_rate,
        )
        return display.plot(ax=ax)

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_pred,
        *,
        X=None,
        y_proba=None,
        index=0,
        classes=None,
        name=None,
        sampling_rate=None,
        ax=None,
    ):
        """Plot one recording from labels (and probabilities) already predicted.

        Parameters
        ----------
        y_true : list of array-like of shape (T_i,), or ndarray of shape (n_sequences, T)
            True labels of every recording.
        y_pred : list of array-like of shape (T_i,), or dict of str to such lists
            Predicted labels (as ``predict`` returns them); a dict gives one band per entry,
            by name (several models on one figure).
        X : list of array-like of shape (T_i, n_features), default=None
            The recordings, for the signal panel.
        y_proba : list of array-like of shape (T_i, n_classes), default=None
            Predicted probabilities (as ``predict_proba`` returns them), columns in the order
            of ``classes``.
        index : int, default=0
            Which recording to plot.
        classes : array-like of shape (n_classes,), default=None
            Every label, in the order of the colours and of ``y_proba``'s columns; required
            with ``y_proba`` unless the labels found are exactly its columns. None is the
            sorted labels found.
        name : str, default=None
            The prediction band's name when ``y_pred`` is not a dict; None is "predicted".
        sampling_rate : float, default=None
            Timesteps per second, for a time axis in seconds.
        ax : sequence of matplotlib Axes, default=None
            See :meth:`plot`.

        Returns
        -------
        display : SequenceLabelingDisplay
        """
        truth = _pick_labels(y_true, index, "y_true")
        if not isinstance(y_pred, dict):
            y_pred = {"predicted" if name is None else name: y_pred}
        bands = {
            band: _pick_labels(labels, index, "y_pred" if len(y_pred) == 1 else f"y_pred[{band!r}]")
            for band, labels in y_pred.items()
        }
        x = None if X is None else _check_sequence(index, _pick_sequence(X, index))
        proba = None if y_proba is None else _pick_sequence(y_proba, index, "y_proba")
        display = cls(
            truth, bands, X=x, y_proba=proba, classes=classes, sampling_rate=sampling_rate
        )
        return display.plot(ax=ax)

    def plot(self, *, ax=None):
        """Draw the panels.

        Parameters
        ----------
        ax : sequence of matplotlib Axes, default=None
            One Axes per panel, top to bottom (signal, true labels, each prediction,
            probabilities; those that apply), ideally sharing the x axis. None makes a new
            figure with ``matplotlib.pyplot``.

        Returns
        -------
        display : SequenceLabelingDisplay
            ``self``, with the attributes ``figure_``, ``ax_``, ``axes_``, ``lines_``,
            ``bands_`` and ``proba_lines_``.
        """
        y_true, bands, x, proba, classes = self._checked()
        panels = (["signal"] if x is not None else []) + ["true", *bands]
        panels += ["probability"] if proba is not None else []
        axes = _panel_axes(panels, ax)
        seconds = self.sampling_rate is not None
        steps = np.arange(len(y_true)) / (self.sampling_rate if seconds else 1.0)
        end = len(y_true) / (self.sampling_rate if seconds else 1.0)
        colours = [f"C{k}" for k in range(len(classes))]
        rest = iter(axes)
        self.lines_ = [] if x is None else _draw_signal(next(rest), steps, x)
        self.bands_ = {
            band: _draw_band(next(rest), band, labels, y_true, classes, colours, end)
            for band, labels in {"true": y_true, **bands}.items()
        }
        self.proba_lines_ = [] if proba is None else _draw_proba(next(rest), steps, proba, colours)

        from matplotlib.patches import Patch

        axes[-1].set_xlabel("time (s)" if seconds else "timestep")
        axes[0].legend(
            handles=[Patch(color=c, label=str(k)) for c, k in zip(colours, classes, strict=True)],
            loc="upper left",
            bbox_to_anchor=(1.01, 1),
            frameon=False,
            fontsize="small",
        )
        self.axes_ = np.asarray(axes, dtype=object)
        self.ax_ = axes[0]
        self.figure_ = axes[0].figure
        return self

    def _checked(self):
        """The attributes as arrays, checked against each other (nothing is modified)."""
        y_true = np.asarray(self.y_true)
        if y_true.ndim != 1:
            raise ValueError(
                f"y_true must hold one label per timestep (1-D); got {y_true.ndim} dimensions."
            )
        if not isinstance(self.y_pred, dict) or not self.y_pred:
            raise TypeError(
                "y_pred must be a non-empty dict of band name to labels; got "
                f"{type(self.y_pred).__name__}."
            )
        bands = {str(band): np.asarray(labels) for band, labels in self.y_pred.items()}
        for band, labels in bands.items():
            if labels.shape != y_true.shape:
                raise ValueError(
                    f"y_pred[{band!r}] has {len(labels)} labels but y_true has {len(y_true)}."
                )
        x = None if self.X is None else np.asarray(self.X)
        if x is not None and (x.ndim != 2 or len(x) != len(y_true)):
            raise ValueError(
                f"X must have shape (T, n_features) with T = {len(y_true)} (the labels); got "
                f"shape {x.shape}."
            )
        found = np.unique(np.concatenate([y_true, *bands.values()]))
        classes = found if self.classes is None else np.asarray(self.classes)
        for band, labels in {"y_true": y_true, **bands}.items():
            missing = np.setdiff1d(np.unique(labels), classes)
            if len(missing):
                where = band if band == "y_true" else f"y_pred[{band!r}]"
                raise ValueError(
                    f"{where} holds label {missing.tolist()[0]!r}, which is not in classes "
                    f"{classes.tolist()!r}."
                )
        proba = None if self.y_proba is None else np.asarray(self.y_proba, dtype=float)
        if proba is not None and proba.shape != (len(y_true), len(classes)):
            hint = " Pass classes= (the estimator's classes_)." if self.classes is None else ""
            raise ValueError(
                f"y_proba must have shape (T, n_classes) = ({len(y_true)}, {len(classes)}); "
                f"got {proba.shape}.{hint}"
            )
        return y_true, bands, x, proba, classes


def _pick_labels(y, index, name):
    """``y[index]`` of a list of label sequences, checked."""
    sequences = check_label_sequences(y, name=name)
    _check_index(index, len(sequences), name)
    return sequences[index]


def _pick_sequence(X, index, name="X"):
    """``X[index]`` of a list of sequences (or a 3-D array), without converting the others."""
    if not (isinstance(X, np.ndarray) and X.ndim == 3):
        _reject_single_sequence(X, name, "sequences")
        if not hasattr(X, "__len__") or not hasattr(X, "__getitem__"):
            raise TypeError(f"Expected a list of sequences for {name}; got {type(X).__name__}.")
    _check_index(index, len(X), name)
    return X[index]


def _check_index(index, n, name):
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"index must be an int; got {type(index).__name__}.")
    if not 0 <= index < n:
        raise ValueError(f"index={index}, but {name} holds {n} sequences (0 to {n - 1}).")


def _panel_axes(panels, ax):
    """One Axes per panel: ``ax`` checked, or a new figure (signal and probabilities tall)."""
    if ax is not None:
        axes = np.ravel(np.asarray(ax, dtype=object))
        if len(axes) != len(panels):
            raise ValueError(
                f"ax holds {len(axes)} Axes, but this display draws {len(panels)} panels "
                f"({', '.join(panels)}); pass one Axes per panel, top to bottom."
            )
        return axes
    import matplotlib.pyplot as plt

    heights = [5 if panel in ("signal", "probability") else 1 for panel in panels]
    _, axes = plt.subplots(
        len(panels),
        1,
        sharex=True,
        squeeze=False,
        figsize=(11, 1.2 + 0.45 * sum(heights)),
        height_ratios=heights,
        layout="constrained",
    )
    return axes[:, 0]


def _draw_signal(signal_ax, steps, x):
    """The channels as lines, in shades of grey so that colour always means a class."""
    lines = []
    for j in range(x.shape[1]):
        grey = str(0.15 + 0.5 * j / x.shape[1])
        lines += signal_ax.plot(steps, x[:, j], linewidth=0.8, color=grey)
    signal_ax.set_ylabel(f"{x.shape[1]} channel{'s' if x.shape[1] > 1 else ''}")
    signal_ax.margins(x=0)
    return lines


def _draw_band(band_ax, band, labels, y_true, classes, colours, end):
    """One row of label colours up to ``end`` on the x axis (the image drawn); a prediction's
    name carries its accuracy."""
    from matplotlib.colors import ListedColormap

    position = {label: k for k, label in enumerate(classes.tolist())}
    codes = np.array([position[label] for label in labels.tolist()])
    image = band_ax.imshow(
        codes[None, :],
        cmap=ListedColormap(colours),
        vmin=-0.5,
        vmax=len(classes) - 0.5,
        aspect="auto",
        interpolation="nearest",
        extent=(0, end, 0, 1),
    )
    if band != "true":
        band = f"{band} ({100 * np.mean(labels == y_true):.1f}%)"
    band_ax.set_yticks([0.5], [band])
    band_ax.tick_params(axis="y", length=0)
    return image


def _draw_proba(proba_ax, steps, proba, colours):
    """Each class's probability as a line of its colour."""
    lines = []
    for k, colour in enumerate(colours):
        lines += proba_ax.plot(steps, proba[:, k], color=colour, linewidth=1)
    proba_ax.set_ylim(-0.02, 1.02)
    proba_ax.set_ylabel("probability")
    proba_ax.margins(x=0)
    return lines
