"""Model files that load without executing code: JSON metadata and safetensors weights.

:func:`save` writes one ``.safetensors`` file: the weights (and a scaler's statistics) as
tensors, and in the file's metadata a JSON description of the estimator (its class, its
parameters, its fitted attributes), a format version and a SHA-256 checksum over both. Loading
reads tensors and JSON only, never pickle: nothing in the file can run code, classes are looked
up among this package's own by name, and a file altered anywhere (one byte is enough) or
holding keys this version does not know is refused with a ``ValueError``.

pickle and joblib keep working and keep everything (callbacks, training history); use them
between trusted machines with the same versions. Use these files to ship a model to machines
you do not control, or to keep it across package versions.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ._base import _REGISTRY, BaseSequenceLabeler
from ._device import resolve_device
from .preprocessing import SequenceScaler

__all__ = ["FORMAT_VERSION", "load", "save"]

#: Version of the file layout; a file of a newer version is refused.
FORMAT_VERSION = 1
_FORMAT = "sk_seqlabel"
#: What a labeler's decoder learned at fit, stored as tensors beside the weights.
_LABEL_COUNTS = (
    "start_count_",
    "transition_count_",
    "class_count_",
    "temperature_",
    "shortest_segment_",
)
#: Those of them that are one number.
_SCALARS = {"temperature_": float, "shortest_segment_": int}
_HEADER_KEYS = {"format", "format_version", "model", "sha256"}
_STEP_KEYS = {
    "labeler": {"kind", "class", "params", "fitted"},
    "scaler": {"kind", "class", "params", "fitted"},
    "pipeline": {"kind", "steps", "verbose"},
}


def save(estimator, path):
    """Save a fitted labeler, or a Pipeline of this package's steps, to a safe model file.

    Parameters
    ----------
    estimator : fitted labeler, SequenceScaler, or Pipeline of them
        Its parameters must be plain values: ``callbacks`` (used in training only) must be
        None and ``random_state`` an int or None.
    path : str or pathlib.Path
        Where to write; ``.safetensors`` is the usual ending.

    Raises
    ------
    ValueError
        For an estimator or parameter that such a file cannot hold.

    See Also
    --------
    load : read it back.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sk_seqlabel import TCNLabeler
    >>> from sk_seqlabel.datasets import make_sequence_labeling
    >>> from sk_seqlabel.persistence import load, save
    >>> X, y = make_sequence_labeling(n_sequences=10, random_state=0)
    >>> clf = TCNLabeler(n_filters=8, max_epochs=1, random_state=0).fit(X, y)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.safetensors"
    >>> save(clf, path)
    >>> loaded = load(path)
    >>> all((a == b).all() for a, b in zip(loaded.predict(X), clf.predict(X)))
    True
    """
    from safetensors.torch import save_file

    tensors = {}
    description = _describe(estimator, "", tensors)
    model = json.dumps(description, sort_keys=True)
    metadata = {
        "format": _FORMAT,
        "format_version": str(FORMAT_VERSION),
        "model": model,
        "sha256": _checksum(_signed(str(FORMAT_VERSION), model), tensors),
    }
    save_file(tensors, str(path), metadata=metadata)


def load(path, *, device=None):
    """Load a model saved by :func:`save`, without executing anything from the file.

    Parameters
    ----------
    path : str or pathlib.Path
    device : str, optional
        Where the labelers run: by default their own ``device`` parameter, or the CPU (with a
        warning) when that device is not here, e.g. a model trained on a GPU loaded on a
        machine without one.

    Returns
    -------
    estimator
        The fitted labeler, scaler or Pipeline; ``predict`` gives what the saved one gave.
        The training history is not kept.

    Raises
    ------
    ValueError
        When the file is not such a model file, was altered (checksum), is of a newer format
        version, or holds keys or classes this version does not know.

    Examples
    --------
    See :func:`save`.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            tensors = {name: file.get_tensor(name) for name in file.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable sk_seqlabel model file: {exc}") from None
    if metadata.get("format") != _FORMAT:
        raise ValueError(f"{path} is not an sk_seqlabel model file (no '{_FORMAT}' header).")
    if set(metadata) != _HEADER_KEYS:
        raise ValueError(
            f"{path} has header keys {sorted(set(metadata) - _HEADER_KEYS)} that this version "
            "does not know; refusing to load it."
        )
    version = metadata["format_version"]
    if not version.isdigit() or int(version) > FORMAT_VERSION:
        raise ValueError(
            f"{path} is of format version {version!r}; this sk_seqlabel reads versions up to "
            f"{FORMAT_VERSION}. Upgrade sk_seqlabel to load it."
        )
    if _checksum(_signed(version, metadata["model"]), tensors) != metadata["sha256"]:
        raise ValueError(
            f"{path} does not match its checksum: the file was altered or damaged after it "
            "was saved; refusing to load it."
        )
    return _build(json.loads(metadata["model"]), tensors, device, str(path))


# --------------------------------------------------------------------------- description
def _signed(version, model_json):
    """The header text the checksum covers: every field but the checksum itself."""
    return f"{_FORMAT}|{version}|{model_json}"


def _checksum(header, tensors):
    digest = hashlib.sha256(header.encode())
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def _describe(estimator, prefix, tensors):
    """The JSON description of ``estimator``; its tensors go into ``tensors``."""
    if isinstance(estimator, Pipeline):
        if estimator.memory is not None:
            raise ValueError("A Pipeline with memory= cannot be saved; set memory=None.")
        steps = [
            [name, _describe(step, f"{prefix}{name}.", tensors)] for name, step in estimator.steps
        ]
        return {"kind": "pipeline", "steps": steps, "verbose": bool(estimator.verbose)}
    if isinstance(estimator, SequenceScaler):
        check_is_fitted(estimator)
        scaler = estimator._scaler
        for attr in ("mean_", "var_", "scale_"):
            if getattr(scaler, attr, None) is not None:
                tensors[f"{prefix}{attr}"] = torch.from_numpy(np.asarray(getattr(scaler, attr)))
        fitted = {
            "n_features_in_": int(estimator.n_features_in_),
            "n_samples_seen_": int(np.max(scaler.n_samples_seen_)),
            "feature_names_in_": _names(estimator),
            "output": getattr(estimator, "_sklearn_output_config", {}).get("transform"),
        }
        params = _plain_params(estimator)
        return {"kind": "scaler", "class": "SequenceScaler", "params": params, "fitted": fitted}
    if isinstance(estimator, BaseSequenceLabeler) and type(estimator).__name__ in _REGISTRY:
        check_is_fitted(estimator)
        for name, value in estimator.net_.module_.state_dict().items():
            tensors[f"{prefix}module.{name}"] = value.detach().cpu().contiguous()
        for attr in _LABEL_COUNTS:
            tensors[f"{prefix}{attr}"] = torch.from_numpy(np.atleast_1d(getattr(estimator, attr)))
        classes = estimator.classes_
        fitted = {
            "classes_": {"dtype": classes.dtype.str, "values": classes.tolist()},
            "n_features_in_": int(estimator.n_features_in_),
            "feature_names_in_": _names(estimator),
        }
        return {
            "kind": "labeler",
            "class": type(estimator).__name__,
            "params": _plain_params(estimator),
            "fitted": fitted,
        }
    raise ValueError(
        f"{type(estimator).__name__} cannot be saved in a model file: only this package's "
        "labelers, SequenceScaler and Pipelines of them can. Use joblib for other objects."
    )


def _names(estimator):
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


def _plain_params(estimator):
    """``get_params(deep=False)`` as JSON values, or a ValueError naming what cannot be."""
    out = {}
    for key, value in estimator.get_params(deep=False).items():
        if key == "callbacks" and value:
            raise ValueError(
                "callbacks cannot be saved in a model file (they are code, and matter for "
                "training only); set_params(callbacks=None) before saving, or use joblib."
            )
        if isinstance(value, torch.device):
            value = str(value)
        if key == "class_weight" and isinstance(value, dict):
            value = {"items": [[_plain(k), _plain(v)] for k, v in value.items()]}
        else:
            value = _plain(value, key)
        out[key] = value
    return out


def _plain(value, key="a value"):
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"{key}={value!r} cannot be saved in a model file, which holds plain values only "
        "(for random_state: an int or None); change it or use joblib."
    )


# --------------------------------------------------------------------------- building
def _build(description, tensors, device, path):
    kind = description.get("kind") if isinstance(description, dict) else None
    if kind not in _STEP_KEYS or set(description) != _STEP_KEYS[kind]:
        raise ValueError(f"{path} describes a model this version does not know; refusing it.")
    if kind == "pipeline":
        steps = [
            (name, _build(step, _sub(tensors, f"{name}."), device, path))
            for name, step in description["steps"]
        ]
        return Pipeline(steps, verbose=description["verbose"])
    params = dict(description["params"])
    fitted = description["fitted"]
    if kind == "scaler":
        return _build_scaler(params, fitted, tensors)
    cls = _REGISTRY.get(description["class"])
    if cls is None:
        raise ValueError(
            f"{path} holds a {description['class']!r}, which this version of sk_seqlabel does "
            "not have; refusing it."
        )
    # A file written before decoding existed: its model predicted the arg-max.
    params.setdefault("decoder", "argmax")
    if isinstance(params.get("class_weight"), dict):
        params["class_weight"] = dict(params["class_weight"]["items"])
    try:
        estimator = cls(**params)
    except TypeError as exc:
        raise ValueError(f"{path}: parameters this version does not know ({exc}).") from None
    estimator._validate_params()
    estimator = _fit_from_file(estimator, fitted, _sub(tensors, "module."), device)
    # Files written before decoding existed have no label counts; such a model predicts
    # with decoder="argmax" only (the labeler's _decoder_spec says so).
    for attr in _LABEL_COUNTS:
        if attr in tensors:
            value = tensors[attr].numpy()
            setattr(estimator, attr, _SCALARS[attr](value[0]) if attr in _SCALARS else value)
    return estimator


def _sub(tensors, prefix):
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def _build_scaler(params, fitted, tensors):
    estimator = SequenceScaler(**params)
    scaler = StandardScaler(with_mean=params["with_mean"], with_std=params["with_std"])
    for attr in ("mean_", "var_", "scale_"):
        setattr(scaler, attr, tensors[attr].numpy() if attr in tensors else None)
    scaler.n_features_in_ = fitted["n_features_in_"]
    scaler.n_samples_seen_ = fitted["n_samples_seen_"]
    scaler.set_output(transform="default")
    estimator._scaler = scaler
    estimator.mean_, estimator.scale_ = scaler.mean_, scaler.scale_
    estimator.n_features_in_ = fitted["n_features_in_"]
    if fitted["feature_names_in_"] is not None:
        estimator.feature_names_in_ = np.array(fitted["feature_names_in_"], dtype=object)
    if fitted["output"] is not None:
        estimator.set_output(transform=fitted["output"])
    return estimator


def _fit_from_file(estimator, fitted, weights, device):
    """Set a labeler's fitted attributes and net from the file, as ``fit`` would have."""
    if device is None:
        try:
            device = resolve_device(estimator.device)
        except ValueError as exc:
            warnings.warn(f"{exc} Loading on the CPU instead.", UserWarning, stacklevel=4)
            device = "cpu"
    else:
        device = resolve_device(device)
    classes = fitted["classes_"]
    classes_ = np.array(classes["values"], dtype=np.dtype(classes["dtype"]))
    net = estimator._make_net(
        estimator._device_policy(device),
        n_features=fitted["n_features_in_"],
        n_classes=len(classes_),
        class_weight=None,  # a loss weight: used only by a new fit, which computes its own
        shuffle_seed=0,
        split_seed=0,
    )
    net.initialize()
    try:
        net.module_.load_state_dict(weights)
    except RuntimeError as exc:
        raise ValueError(f"The weights do not fit {type(estimator).__name__}: {exc}") from None
    estimator.classes_ = classes_
    estimator.n_features_in_ = fitted["n_features_in_"]
    if fitted["feature_names_in_"] is not None:
        estimator.feature_names_in_ = np.array(fitted["feature_names_in_"], dtype=object)
    estimator.net_ = net
    return estimator
