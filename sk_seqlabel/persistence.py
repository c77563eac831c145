"""Model files that load without executing code: JSON metadata and safetensors weights.

:func:`save` writes one ``.safetensors`` file: the weights (and a scaler's statistics) as
tensors, and in the file's metadata a JSON description of the estimator (its class, its
parameters, its fitted attributes), a format version, a SHA-256 checksum over both and,
with ``key=``, an HMAC-SHA256 signature over both. Loading reads tensors and JSON only, never
pickle: nothing in the file can run code. Before anything is built, the whole description is
checked against a strict schema (every field's type and range, the labeler's own parameter
constraints, no key this version does not know) and every tensor against the model the
description declares (names, shapes and dtypes, the network's read off a copy of the module
built on torch's "meta" device, which allocates nothing); a file that fails any check is
refused with a ``ValueError`` naming the field.

The checksum only detects accidents (a damaged copy, a truncated download): anyone who edits
a file can recompute it. The schema then still bounds what an edited file can do (no code,
no allocation beyond the file's own tensors), but only a signature made with a key the
editor does not have tells that the model is the one that was saved.

pickle and joblib keep working and keep everything (callbacks, training history); use them
between trusted machines with the same versions. Use these files to ship a model to machines
you do not control, or to keep it across package versions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import json
import threading
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import (
    InvalidParameterError,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted

from ._base import _REGISTRY
from ._data.validation import check_class_weight
from ._labeling import BaseSequenceLabeler
from ._regression import BaseSequenceRegressor
from ._training.device import SUPPORTED_DEVICE_TYPES, resolve_device
from .preprocessing import SequenceScaler

__all__ = ["FORMAT_VERSION", "load", "save"]

#: Version of the file layout; a file of a newer version is refused.
FORMAT_VERSION = 1
_FORMAT = "sk_seqlabel"
#: What a labeler's decoder learned at fit, stored as tensors beside the weights: the dtype
#: ``fit`` gives each, and its shape for ``n`` classes.
_LABEL_COUNTS = {
    "start_count_": (torch.int64, lambda n: (n,)),
    "transition_count_": (torch.int64, lambda n: (n, n)),
    "class_count_": (torch.int64, lambda n: (n,)),
    "temperature_": (torch.float64, lambda n: (1,)),
    "shortest_segment_": (torch.int64, lambda n: (1,)),
}
#: The same after a multi-label fit, for ``n`` labels: a two-state chain per label.
_MULTILABEL_COUNTS = {
    "start_count_": (torch.int64, lambda n: (n, 2)),
    "transition_count_": (torch.int64, lambda n: (n, 2, 2)),
    "class_count_": (torch.int64, lambda n: (n, 2)),
    "temperature_": (torch.float64, lambda n: (n,)),
    "shortest_segment_": (torch.int64, lambda n: (n,)),
}
#: Those of them that are one number (for one class per step).
_SCALARS = {"temperature_": float, "shortest_segment_": int}
_HEADER_KEYS = {"format", "format_version", "model", "sha256"}
_SIGNATURE_KEY = "hmac_sha256"
_STEP_KEYS = {
    "labeler": {"kind", "class", "params", "fitted"},
    "regressor": {"kind", "class", "params", "fitted"},
    "scaler": {"kind", "class", "params", "fitted"},
    "pipeline": {"kind", "steps", "verbose"},
}
_LABELER_FITTED = {"classes_", "n_features_in_", "feature_names_in_"}
#: What a labeler fitted with several 0/1 labels per step adds (its counts are then per label).
_MULTILABEL_FITTED = {"target_type_", "label_names_"}
_REGRESSOR_FITTED = {"n_features_in_", "feature_names_in_", "n_outputs_", "outputs_2d_"}
#: What a regressor learned of its targets, stored as float64 tensors of shape (n_outputs,).
_TARGET_SCALING = ("target_mean_", "target_scale_")
#: Most targets a file may declare (each costs a row of the head's weights, no more).
_MAX_OUTPUTS = 2**16
_SCALER_FITTED = {"n_features_in_", "n_samples_seen_", "feature_names_in_", "output"}
#: Labeler parameters added after format version 1 came out, with the value that makes a
#: file written before them predict what it predicted then (before decoding: the arg-max;
#: before ``prior_weight``: Viterbi divided the whole prior out, weight 1). Any other
#: parameter missing from a file is refused.
_ADDED_PARAMS = {
    "decoder": "argmax",
    "min_segment_length": "auto",
    "decoder_lag": None,
    "prior_weight": 1.0,
    "missing_label": None,  # before partial labels: None and NaN were refused, so none held
}
#: Pipelines inside pipelines, at most: deeper nesting is refused, not recursed into.
MAX_NESTING = 8
#: Largest ``classes_`` array a file may declare, in bytes (a forged string dtype such as
#: "<U100000000" would otherwise allocate gigabytes for a few labels).
_MAX_CLASSES_BYTES = 2**20
#: dtype kinds of ``classes_`` a file can hold, with the JSON types of their values.
_CLASS_KINDS = {
    "b": (bool,),
    "i": (int,),
    "u": (int,),
    "f": (float,),
    "U": (str,),
    "O": (str, int, float, bool),
    "M": (int,),  # datetime64: the int64 count of its unit since the epoch
    "m": (int,),  # timedelta64: the int64 count of its unit
}


def save(estimator, path, *, key=None):
    """Save a fitted labeler, or a Pipeline of this package's steps, to a safe model file.

    Parameters
    ----------
    estimator : fitted labeler, SequenceScaler, or Pipeline of them
        Its parameters must be plain values: ``callbacks`` (used in training only) must be
        None and ``random_state`` an int or None.
    path : str or pathlib.Path
        Where to write; ``.safetensors`` is the usual ending.
    key : bytes, optional
        A secret key: the file then also holds an HMAC-SHA256 signature over all of its
        content, which :func:`load` checks when given the same key. Without one, the file
        holds only a checksum, which anyone who edits the file can recompute.

    Raises
    ------
    ValueError
        For an estimator, parameter or label type that such a file cannot hold, or an empty
        key.
    TypeError
        For a key that is not bytes.

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

    Signed with a key, a file loads only with that key:

    >>> save(clf, path, key=b"a secret shared with the machines that load it")
    >>> loaded = load(path, key=b"a secret shared with the machines that load it")
    >>> load(path, key=b"another key")
    Traceback (most recent call last):
    ...
    ValueError: ... is not signed with this key: ...
    """
    from safetensors.torch import save_file

    key = _check_key(key)
    tensors = {}
    description = _describe(estimator, "", tensors)
    model = json.dumps(description, sort_keys=True)
    header = _signed(str(FORMAT_VERSION), model)
    metadata = {
        "format": _FORMAT,
        "format_version": str(FORMAT_VERSION),
        "model": model,
        "sha256": _digest(header, tensors),
    }
    if key is not None:
        metadata[_SIGNATURE_KEY] = _digest(header, tensors, key)
    save_file(tensors, str(path), metadata=metadata)


def load(path, *, device=None, key=None):
    """Load a model saved by :func:`save`, without executing anything from the file.

    What it guarantees: nothing from the file runs (it reads JSON and tensors, and builds
    only this package's labelers, ``SequenceScaler`` and Pipelines); the file is checked
    whole before anything is built, so an altered or malformed file is refused with a
    ``ValueError`` naming what is wrong, and no network is allocated beyond the size of the
    weights the file holds. With ``key``, the file is also proven to be one saved with that
    key. Without a key, the checksum proves only that the file was not damaged by accident:
    someone who edits the file (weights included) can recompute it, and the file then loads
    as long as it is a well-formed model.

    Parameters
    ----------
    path : str or pathlib.Path
    device : str, optional
        Where the labelers run: by default their own ``device`` parameter, or the CPU (with a
        warning) when that device is not here, e.g. a model trained on a GPU loaded on a
        machine without one.
    key : bytes, optional
        The key the file was signed with (see :func:`save`); a file that is unsigned or
        signed with another key is then refused.

    Returns
    -------
    estimator
        The fitted labeler, scaler or Pipeline; ``predict`` gives what the saved one gave.
        The training history is not kept.

    Raises
    ------
    ValueError
        When the file is not such a model file, was altered (checksum), is not signed with
        ``key``, is of a newer format version, or holds a field, key, class, parameter value
        or tensor this version does not accept (the message names it).
    TypeError
        For a key that is not bytes.

    Examples
    --------
    See :func:`save`.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    key = _check_key(key)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as file:
            metadata = file.metadata() or {}
            tensors = {name: file.get_tensor(name) for name in file.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable sk_seqlabel model file: {exc}") from None
    if metadata.get("format") != _FORMAT:
        raise ValueError(f"{path} is not an sk_seqlabel model file (no '{_FORMAT}' header).")
    if not _HEADER_KEYS <= set(metadata) <= _HEADER_KEYS | {_SIGNATURE_KEY}:
        known = _HEADER_KEYS | {_SIGNATURE_KEY}
        raise ValueError(
            f"{path} has header keys {sorted(set(metadata) - known)} that this version does "
            f"not know, or lacks {sorted(_HEADER_KEYS - set(metadata))}; refusing to load it."
        )
    version = metadata["format_version"]
    if not version.isdigit() or int(version) > FORMAT_VERSION:
        raise ValueError(
            f"{path} is of format version {version!r}; this sk_seqlabel reads versions up to "
            f"{FORMAT_VERSION}. Upgrade sk_seqlabel to load it."
        )
    header = _signed(version, metadata["model"])
    if key is not None:
        if _SIGNATURE_KEY not in metadata:
            raise ValueError(
                f"{path} is not signed, but a key was given: refusing it. Save it with "
                "save(..., key=key), or load it without a key if you trust where it came from."
            )
        if not hmac.compare_digest(_digest(header, tensors, key), metadata[_SIGNATURE_KEY]):
            raise ValueError(
                f"{path} is not signed with this key: it was altered after it was signed, or "
                "signed with another key; refusing it."
            )
    if not hmac.compare_digest(_digest(header, tensors), metadata["sha256"]):
        raise ValueError(
            f"{path} does not match its checksum: the file was altered or damaged after it "
            "was saved; refusing to load it."
        )
    try:
        description = json.loads(metadata["model"])
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(
            f"{path}: the model description is not JSON this version reads ({exc})."
        ) from None
    spec = _check_step(description, tensors, "model", 0, str(path))
    return _build(spec, device)


# --------------------------------------------------------------------------- signing
def _check_key(key):
    if key is None:
        return None
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(
            f"key must be bytes; got {type(key).__name__}. Encode a text key first, for "
            "example key.encode()."
        )
    if not key:
        raise ValueError("key is empty; use a secret of at least 32 random bytes.")
    return bytes(key)


def _signed(version, model_json):
    """The header text the checksum covers: every field but the checksum itself."""
    return f"{_FORMAT}|{version}|{model_json}"


def _digest(header, tensors, key=None):
    """SHA-256 (or, with ``key``, HMAC-SHA256) over the header text and every tensor."""
    digest = hashlib.sha256() if key is None else hmac.new(key, digestmod=hashlib.sha256)
    digest.update(header.encode())
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


# --------------------------------------------------------------------------- description
def _describe(estimator, prefix, tensors, depth=0):
    """The JSON description of ``estimator``; its tensors go into ``tensors``."""
    if isinstance(estimator, Pipeline):
        if estimator.memory is not None:
            raise ValueError("A Pipeline with memory= cannot be saved; set memory=None.")
        if depth >= MAX_NESTING:
            raise ValueError(
                f"Pipelines nested more than {MAX_NESTING} deep cannot be saved in a model file."
            )
        for name, _ in estimator.steps:
            problem = _step_name_problem(name)
            if problem is not None:
                raise ValueError(f"Pipeline step {name!r} {problem}; rename it to save it.")
        steps = [
            [name, _describe(step, f"{prefix}{name}.", tensors, depth + 1)]
            for name, step in estimator.steps
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
        _add_weights(estimator, prefix, tensors)
        for attr in _LABEL_COUNTS:
            tensors[f"{prefix}{attr}"] = torch.from_numpy(np.atleast_1d(getattr(estimator, attr)))
        fitted = {
            "classes_": _classes_to_json(estimator.classes_),
            "n_features_in_": int(estimator.n_features_in_),
            "feature_names_in_": _names(estimator),
        }
        if estimator._multilabel:
            names = getattr(estimator, "label_names_", None)
            fitted["target_type_"] = estimator.target_type_
            fitted["label_names_"] = None if names is None else [str(n) for n in names]
        return {
            "kind": "labeler",
            "class": type(estimator).__name__,
            "params": _plain_params(estimator),
            "fitted": fitted,
        }
    if isinstance(estimator, BaseSequenceRegressor) and type(estimator).__name__ in _REGISTRY:
        _add_weights(estimator, prefix, tensors)
        for attr in _TARGET_SCALING:
            tensors[f"{prefix}{attr}"] = torch.from_numpy(np.asarray(getattr(estimator, attr)))
        fitted = {
            "n_features_in_": int(estimator.n_features_in_),
            "feature_names_in_": _names(estimator),
            "n_outputs_": int(estimator.n_outputs_),
            "outputs_2d_": bool(estimator.outputs_2d_),
        }
        return {
            "kind": "regressor",
            "class": type(estimator).__name__,
            "params": _plain_params(estimator),
            "fitted": fitted,
        }
    raise ValueError(
        f"{type(estimator).__name__} cannot be saved in a model file: only this package's "
        "labelers, regressors, SequenceScaler and Pipelines of them can. Use joblib for other "
        "objects."
    )


def _add_weights(estimator, prefix, tensors):
    """A fitted labeler's or regressor's module weights, as "module.*" tensors on the CPU."""
    check_is_fitted(estimator)
    for name, value in estimator.net_.module_.state_dict().items():
        tensors[f"{prefix}module.{name}"] = value.detach().cpu().contiguous()


def _step_name_problem(name):
    """Why ``name`` cannot name a pipeline step in a file (tensors are named "step.attr")."""
    if not isinstance(name, str) or not name:
        return "is not a non-empty string"
    if "." in name or "__" in name:
        return "contains '.' or '__'"
    return None


def _classes_to_json(classes):
    """``classes_`` as ``{"dtype", "values"}``; dates and durations as their int64 counts."""
    kind = classes.dtype.kind
    if kind not in _CLASS_KINDS:
        raise ValueError(
            f"Labels of dtype {classes.dtype} cannot be saved in a model file, which holds "
            "bools, numbers, strings, datetime64 and timedelta64; convert the labels (for "
            "bytes: decode them to str) and refit, or use joblib."
        )
    if classes.nbytes > _MAX_CLASSES_BYTES:
        raise ValueError(
            f"classes_ takes {classes.nbytes} bytes; a model file holds at most "
            f"{_MAX_CLASSES_BYTES}. Use joblib for this model."
        )
    values = classes.view(np.int64) if kind in "Mm" else classes
    values = [_plain(v, "a label") for v in values.tolist()]
    return {"dtype": classes.dtype.str, "values": values}


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


# --------------------------------------------------------------------------- checking
# Everything in a file is checked here, before anything is built. Each check returns the
# field in the form the builders below take; nothing after it reads the raw description.
@dataclasses.dataclass(frozen=True)
class _PipelineSpec:
    steps: list  # [(name, spec), ...]
    verbose: bool


@dataclasses.dataclass(frozen=True)
class _ScalerSpec:
    params: dict
    n_features_in: int
    n_samples_seen: int
    feature_names_in: list | None
    output: str | None
    statistics: dict  # "mean_", "var_", "scale_" -> ndarray, those the parameters use


@dataclasses.dataclass(frozen=True)
class _LabelerSpec:
    cls: type
    params: dict
    classes: np.ndarray
    n_features_in: int
    feature_names_in: list | None
    weights: dict  # the module's state_dict
    label_counts: dict | None  # None: a file written before decoding existed
    multilabel: dict | None = None  # target_type, label_names of a multi-label fit


@dataclasses.dataclass(frozen=True)
class _RegressorSpec:
    cls: type
    params: dict
    n_features_in: int
    feature_names_in: list | None
    weights: dict  # the module's state_dict
    learnt: dict  # n_outputs, outputs_2d, target_mean, target_scale (without the "_")


def _refused(file, where, problem):
    return ValueError(f"{file}: {where} {problem}; refusing to load it.")


def _json_type(value):
    names = {dict: "an object", list: "a list", str: "a string", bool: "a bool", int: "an int"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _check_keys(obj, expected, where, file):
    if not isinstance(obj, dict):
        raise _refused(file, where, f"must be a JSON object; got {_json_type(obj)}")
    unknown, missing = sorted(set(obj) - expected), sorted(expected - set(obj))
    if unknown:
        raise _refused(file, where, f"has keys this version does not know: {unknown}")
    if missing:
        raise _refused(file, where, f"lacks the keys {missing}")


def _check_int(value, low, where, file):
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise _refused(file, where, f"must be an int >= {low}; got {value!r}")
    return value


def _check_step(description, tensors, where, depth, file):
    """The checked form of one step (a labeler, a scaler or a pipeline) and its tensors."""
    kind = description.get("kind") if isinstance(description, dict) else None
    if not isinstance(kind, str) or kind not in _STEP_KEYS:
        raise _refused(
            file,
            where,
            f"is not a step this version knows (kind {kind!r}, not one of {sorted(_STEP_KEYS)})",
        )
    _check_keys(description, _STEP_KEYS[kind], where, file)
    if kind == "pipeline":
        return _check_pipeline(description, tensors, where, depth, file)
    if kind == "scaler":
        return _check_scaler(description, tensors, where, file)
    if kind == "regressor":
        return _check_regressor(description, tensors, where, file)
    return _check_labeler(description, tensors, where, file)


def _check_pipeline(description, tensors, where, depth, file):
    if depth >= MAX_NESTING:
        raise _refused(file, where, f"nests pipelines more than {MAX_NESTING} deep")
    steps, verbose = description["steps"], description["verbose"]
    if not isinstance(verbose, bool):
        raise _refused(file, f"{where}.verbose", f"must be a bool; got {verbose!r}")
    if not isinstance(steps, list) or not steps:
        raise _refused(file, f"{where}.steps", "must be a non-empty list of [name, step]")
    checked = []
    for i, step in enumerate(steps):
        at = f"{where}.steps[{i}]"
        if not isinstance(step, list) or len(step) != 2:
            raise _refused(file, at, "must be a [name, step] pair")
        name, sub = step
        problem = _step_name_problem(name)
        if problem is not None or name in dict(checked):
            raise _refused(file, f"{at}[0]", f"{name!r} {problem or 'names two steps'}")
        checked.append(
            (name, _check_step(sub, _sub(tensors, f"{name}."), f"{at}[1]", depth + 1, file))
        )
    unused = sorted(t for t in tensors if t.partition(".")[0] not in dict(checked) or "." not in t)
    if unused:
        raise _refused(file, where, f"holds tensors that no step has: {unused[:5]}")
    for i, (_, spec) in enumerate(checked[:-1]):
        if _has_labeler(spec):
            raise _refused(
                file, f"{where}.steps[{i}]", "is a labeler, which only the last step can be"
            )
    for i in range(1, len(checked)):
        given, taken = _features(checked[i - 1][1])[1], _features(checked[i][1])[0]
        if given != taken:
            raise _refused(
                file,
                f"{where}.steps[{i}]",
                f"takes {taken} features, but the step before it gives {given}",
            )
    return _PipelineSpec(checked, verbose)


def _has_labeler(spec):
    if isinstance(spec, _PipelineSpec):
        return any(_has_labeler(s) for _, s in spec.steps)
    return isinstance(spec, (_LabelerSpec, _RegressorSpec))


def _features(spec):
    """(features in, features out) of a checked step; a labeler gives labels (None)."""
    if isinstance(spec, _PipelineSpec):
        return _features(spec.steps[0][1])[0], _features(spec.steps[-1][1])[1]
    if isinstance(spec, _ScalerSpec):
        return spec.n_features_in, spec.n_features_in
    return spec.n_features_in, None


def _check_params(cls, params, where, file, added=None):
    """The parameters of ``cls``: exactly its ``get_params()`` keys, each passing its
    ``_parameter_constraints`` (read from the class, so new keywords need no change here)."""
    added = added or {}
    if not isinstance(params, dict):
        raise _refused(file, where, f"must be a JSON object; got {_json_type(params)}")
    names = set(cls._get_param_names())
    unknown = sorted(set(params) - names)
    missing = sorted(names - set(params) - set(added))
    if unknown:
        raise _refused(file, where, f"has parameters {cls.__name__} does not have: {unknown}")
    if missing:
        raise _refused(file, where, f"lacks the parameters {missing} of {cls.__name__}")
    params = {**{k: v for k, v in added.items() if k in names}, **params}
    for key, value in params.items():
        if key == "class_weight" and isinstance(value, dict):
            params[key] = _class_weight_from_json(value, f"{where}.class_weight", file)
        elif value is not None and not isinstance(value, (bool, int, float, str)):
            raise _refused(file, f"{where}.{key}", f"is {_json_type(value)}, not a plain value")
    try:
        validate_parameter_constraints(cls._parameter_constraints, params, caller_name=cls.__name__)
    except InvalidParameterError as exc:
        raise _refused(file, where, f"holds a value {cls.__name__} refuses ({exc})") from None
    return params


def _class_weight_from_json(value, where, file):
    _check_keys(value, {"items"}, where, file)
    items = value["items"]
    pairs = items if isinstance(items, list) else [None]
    for pair in pairs:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not isinstance(pair[0], (bool, int, float, str))
            or isinstance(pair[1], bool)
            or not isinstance(pair[1], (int, float))
        ):
            raise _refused(file, f"{where}.items", "must be a list of [label, weight] pairs")
    weights = dict(pairs)
    if len(weights) != len(pairs):
        raise _refused(file, f"{where}.items", "names a label twice")
    return weights


def _check_feature_names(names, n_features, where, file):
    if names is None:
        return None
    if (
        not isinstance(names, list)
        or len(names) != n_features
        or not all(isinstance(n, str) for n in names)
        or len(set(names)) != len(names)
    ):
        raise _refused(file, where, f"must be null or {n_features} distinct strings")
    return names


def _check_tensor(tensor, dtype, shape, where, file):
    if tensor.dtype != dtype or tuple(tensor.shape) != tuple(shape):
        raise _refused(
            file,
            where,
            f"is a {tensor.dtype} tensor of shape {tuple(tensor.shape)}; this "
            f"model needs {dtype} of shape {tuple(shape)}",
        )


def _check_tensor_names(tensors, expected, where, file):
    unknown, missing = sorted(set(tensors) - set(expected)), sorted(set(expected) - set(tensors))
    if unknown:
        raise _refused(file, where, f"holds tensors this model does not have: {unknown[:5]}")
    if missing:
        raise _refused(file, where, f"lacks the tensors {missing[:5]}")


def _check_scaler(description, tensors, where, file):
    if description["class"] != "SequenceScaler":
        raise _refused(
            file,
            f"{where}.class",
            f"is {description['class']!r}; a scaler step can only be 'SequenceScaler'",
        )
    params = _check_params(SequenceScaler, description["params"], f"{where}.params", file)
    fitted = description["fitted"]
    _check_keys(fitted, _SCALER_FITTED, f"{where}.fitted", file)
    n = _check_int(fitted["n_features_in_"], 1, f"{where}.fitted.n_features_in_", file)
    seen = _check_int(fitted["n_samples_seen_"], 1, f"{where}.fitted.n_samples_seen_", file)
    names = _check_feature_names(
        fitted["feature_names_in_"], n, f"{where}.fitted.feature_names_in_", file
    )
    output = fitted["output"]
    if not (output is None or (isinstance(output, str) and output in ("default", "pandas"))):
        raise _refused(
            file, f"{where}.fitted.output", f"is {output!r}, not null, 'default' or 'pandas'"
        )
    # What StandardScaler keeps: the mean and variance unless both are off, the scale with std.
    expected = {"mean_", "var_"} if params["with_mean"] or params["with_std"] else set()
    expected |= {"scale_"} if params["with_std"] else set()
    _check_tensor_names(tensors, expected, where, file)
    for name in expected:
        _check_tensor(tensors[name], torch.float64, (n,), f"{where} tensor {name!r}", file)
        values = tensors[name].numpy()
        low_ok = values > 0 if name == "scale_" else values >= 0 if name == "var_" else True
        if not (np.isfinite(values).all() and np.all(low_ok)):
            raise _refused(
                file, f"{where} tensor {name!r}", "holds values a fitted scaler cannot have"
            )
    statistics = {name: tensors[name].numpy() for name in expected}
    return _ScalerSpec(params, n, seen, names, output, statistics)


def _check_estimator_params(description, task, where, file):
    """``(cls, params)`` of a labeler's or regressor's step: a registered class of that task,
    with parameters it accepts."""
    name = description["class"]
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None or not issubclass(cls, task):
        raise ValueError(
            f"{file} holds a {name!r}, which this version of sk_seqlabel does not have as a "
            f"{description['kind']}; refusing it."
        )
    added = _ADDED_PARAMS if task is BaseSequenceLabeler else None
    params = _check_params(cls, description["params"], f"{where}.params", file, added)
    if params["callbacks"] is not None:
        raise _refused(file, f"{where}.params.callbacks", "must be null (save writes no callbacks)")
    device = params["device"]
    try:
        if not isinstance(device, str) or (
            device != "auto" and torch.device(device).type not in SUPPORTED_DEVICE_TYPES
        ):
            raise ValueError
    except (RuntimeError, ValueError):
        raise _refused(
            file, f"{where}.params.device", f"is {device!r}, not a device this package runs on"
        ) from None
    return cls, params


def _check_weights(cls, params, tensors, n_features, n_outputs, where, file):
    """The module's weights in ``tensors`` ("module.*"), exactly what ``params`` build."""
    weights = _sub(tensors, "module.")
    expected = _expected_state(cls, params, n_features, n_outputs, len(weights), where, file)
    _check_tensor_names(weights, expected, f"{where} (weights 'module.*')", file)
    for key, (dtype, shape) in expected.items():
        _check_tensor(weights[key], dtype, shape, f"{where} weight {key!r}", file)
    return weights


def _check_regressor(description, tensors, where, file):
    cls, params = _check_estimator_params(description, BaseSequenceRegressor, where, file)
    fitted = description["fitted"]
    _check_keys(fitted, _REGRESSOR_FITTED, f"{where}.fitted", file)
    n = _check_int(fitted["n_features_in_"], 1, f"{where}.fitted.n_features_in_", file)
    names = _check_feature_names(
        fitted["feature_names_in_"], n, f"{where}.fitted.feature_names_in_", file
    )
    n_outputs = _check_int(fitted["n_outputs_"], 1, f"{where}.fitted.n_outputs_", file)
    if n_outputs > _MAX_OUTPUTS:
        raise _refused(file, f"{where}.fitted.n_outputs_", f"exceeds {_MAX_OUTPUTS}")
    outputs_2d = fitted["outputs_2d_"]
    if not isinstance(outputs_2d, bool) or (n_outputs > 1 and not outputs_2d):
        raise _refused(
            file, f"{where}.fitted.outputs_2d_", f"is {outputs_2d!r}, which fit cannot give"
        )
    weights = _check_weights(cls, params, tensors, n, n_outputs, where, file)
    scaling = {k: v for k, v in tensors.items() if not k.startswith("module.")}
    _check_tensor_names(scaling, set(_TARGET_SCALING), where, file)
    learnt = {"n_outputs": n_outputs, "outputs_2d": outputs_2d}
    for key in _TARGET_SCALING:
        _check_tensor(scaling[key], torch.float64, (n_outputs,), f"{where} tensor {key!r}", file)
        values = scaling[key].numpy()
        if not (np.isfinite(values).all() and (key != "target_scale_" or (values > 0).all())):
            raise _refused(file, f"{where} tensor {key!r}", "holds values fit cannot give")
        learnt[key.rstrip("_")] = values.copy()
    return _RegressorSpec(cls, params, n, names, weights, learnt)


def _check_labeler(description, tensors, where, file):
    cls, params = _check_estimator_params(description, BaseSequenceLabeler, where, file)
    fitted = description["fitted"]
    multilabel = isinstance(fitted, dict) and "target_type_" in fitted
    _check_keys(
        fitted,
        _LABELER_FITTED | (_MULTILABEL_FITTED if multilabel else set()),
        f"{where}.fitted",
        file,
    )
    classes = _check_classes(fitted["classes_"], f"{where}.fitted.classes_", file)
    n = _check_int(fitted["n_features_in_"], 1, f"{where}.fitted.n_features_in_", file)
    names = _check_feature_names(
        fitted["feature_names_in_"], n, f"{where}.fitted.feature_names_in_", file
    )
    if isinstance(params["class_weight"], dict):
        try:
            check_class_weight(params["class_weight"], classes)
        except ValueError as exc:
            raise _refused(
                file, f"{where}.params.class_weight", f"does not fit classes_ ({exc})"
            ) from None
    weights = _check_weights(cls, params, tensors, n, len(classes), where, file)
    multilabel_state = (
        _check_multilabel_fitted(fitted, classes, where, file) if multilabel else None
    )
    counts = {k: v for k, v in tensors.items() if not k.startswith("module.")}
    # A file written before decoding existed has no label counts: all of them, or none.
    _check_tensor_names(counts, set(_LABEL_COUNTS) if counts else set(), where, file)
    shapes = _MULTILABEL_COUNTS if multilabel else _LABEL_COUNTS
    for key, (dtype, shape) in shapes.items() if counts else ():
        _check_tensor(counts[key], dtype, shape(len(classes)), f"{where} tensor {key!r}", file)
        values = counts[key].numpy()
        if not (
            np.isfinite(values).all()
            and (values > 0 if key == "temperature_" else values >= 0).all()
        ):
            raise _refused(file, f"{where} tensor {key!r}", "holds values fit cannot give")
    scalars = {} if multilabel else _SCALARS  # per label after a multi-label fit
    label_counts = (
        {k: scalars[k](v.numpy()[0]) if k in scalars else v.numpy() for k, v in counts.items()}
        if counts
        else None
    )
    return _LabelerSpec(cls, params, classes, n, names, weights, label_counts, multilabel_state)


def _check_multilabel_fitted(fitted, classes, where, file):
    """The multi-label fields of a labeler's ``fitted``: what ``fit`` gives them."""
    if fitted["target_type_"] != "multilabel-indicator":
        raise _refused(
            file,
            f"{where}.fitted.target_type_",
            f"is {fitted['target_type_']!r}, not a target type",
        )
    if classes.dtype.kind not in "iu" or not np.array_equal(classes, np.arange(len(classes))):
        raise _refused(
            file, f"{where}.fitted.classes_", "is not 0..n_labels-1 (a multi-label fit's)"
        )
    names = fitted["label_names_"]
    if names is not None and (
        not isinstance(names, list)
        or len(names) != len(classes)
        or not all(isinstance(n, str) for n in names)
    ):
        raise _refused(
            file, f"{where}.fitted.label_names_", f"must be null or {len(classes)} strings"
        )
    return {
        "target_type": "multilabel-indicator",
        "label_names": None if names is None else np.array(names, dtype=object),
    }


def _check_classes(value, where, file):
    _check_keys(value, {"dtype", "values"}, where, file)
    try:
        dtype = np.dtype(value["dtype"]) if isinstance(value["dtype"], str) else None
    except (TypeError, ValueError):
        dtype = None
    if dtype is None or dtype.kind not in _CLASS_KINDS or dtype.fields or dtype.subdtype:
        raise _refused(
            file,
            f"{where}.dtype",
            f"is {value['dtype']!r}, not a label dtype this version "
            "reads (bool, int, float, str, object, datetime64, timedelta64)",
        )
    values = value["values"]
    if not isinstance(values, list) or len(values) < 2:
        raise _refused(file, f"{where}.values", "must be a list of at least 2 labels")
    types = _CLASS_KINDS[dtype.kind]
    wrong = [
        v for v in values if not isinstance(v, types) or (isinstance(v, bool) and bool not in types)
    ]
    if wrong:
        raise _refused(file, f"{where}.values", f"holds {wrong[0]!r}, not a label of dtype {dtype}")
    if dtype.itemsize * len(values) > _MAX_CLASSES_BYTES:
        raise _refused(file, where, f"would take more than {_MAX_CLASSES_BYTES} bytes")
    dates = dtype.kind in "Mm"
    try:
        classes = np.array(values, dtype=np.int64).view(dtype) if dates else np.array(values, dtype)
        same = (classes.view(np.int64) if dates else classes).tolist() == values
    except (OverflowError, TypeError, ValueError):
        same = False
    if not same:
        raise _refused(file, f"{where}.values", f"do not fit dtype {dtype} unchanged")
    try:
        increasing = bool(np.all(classes[1:] > classes[:-1]))
    except TypeError:
        increasing = False
    if not increasing:
        raise _refused(file, f"{where}.values", "must be distinct and sorted, as fit gives them")
    return classes


class _TooManyTensors(Exception):
    pass


@contextlib.contextmanager
def _tensors_at_most(limit):
    """Stop a module's construction (this thread's) once it registers more than ``limit``
    submodules, parameters and buffers.

    Even on the meta device, a forged ``n_blocks=10**9`` would have Python build blocks for
    hours; a real module of the file registers about as many as the file has tensors.
    """
    thread, count = threading.get_ident(), 0

    def hook(*args):
        nonlocal count
        if threading.get_ident() == thread:
            count += 1
            if count > limit:
                raise _TooManyTensors

    registrations = torch.nn.modules.module
    handles = [
        registrations.register_module_module_registration_hook(hook),
        registrations.register_module_parameter_registration_hook(hook),
        registrations.register_module_buffer_registration_hook(hook),
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _expected_state(cls, params, n_features, n_outputs, n_tensors, where, file):
    """Name -> (dtype, shape) of the state_dict the declared hyperparameters build.

    Built on torch's meta device: shapes and dtypes without memory, so a forged
    ``hidden_size=100000`` is refused here instead of allocating its weights.
    """
    module_params = {p: params[p] for p in cls._module_params}
    if "stage_input" in cls._module_extras:  # what the task, not the file, decides
        module_params["stage_input"] = cls._stage_input
    # Generous: a module registers each submodule, parameter and buffer once, and the file
    # holds one tensor per parameter and persistent buffer.
    limit = 8 * n_tensors + 64
    try:
        with _tensors_at_most(limit), torch.device("meta"):
            module = cls._module(n_features, n_outputs, **module_params)
    except _TooManyTensors:
        raise _refused(
            file,
            f"{where}.params",
            f"declare a {cls._module.__name__} {module_params} far "
            f"larger than the {n_tensors} weights the file holds",
        ) from None
    except Exception as exc:  # whatever a forged value makes the module's code raise
        raise _refused(
            file,
            f"{where}.params",
            f"declare a {cls._module.__name__} {module_params} that "
            f"cannot be built ({type(exc).__name__}: {exc})",
        ) from None
    return {k: (v.dtype, tuple(v.shape)) for k, v in module.state_dict().items()}


def _sub(tensors, prefix):
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


# --------------------------------------------------------------------------- building
def _build(spec, device):
    """The estimator of a checked step."""
    if isinstance(spec, _PipelineSpec):
        return Pipeline([(name, _build(s, device)) for name, s in spec.steps], verbose=spec.verbose)
    if isinstance(spec, _ScalerSpec):
        return _build_scaler(spec)
    if isinstance(spec, _RegressorSpec):
        learnt, n_outputs = spec.learnt, spec.learnt["n_outputs"]
    else:
        # The label counts' names without the underscore; none for a file written before
        # decoding existed, whose model predicts with decoder="argmax" only.
        counts = {attr.rstrip("_"): value for attr, value in (spec.label_counts or {}).items()}
        learnt = {"classes": spec.classes, **counts, **(spec.multilabel or {})}
        n_outputs = len(spec.classes)
    return _fit_from_file(
        spec.cls(**spec.params),
        target_kind=learnt.get("target_type"),
        n_features_in=spec.n_features_in,
        feature_names_in=spec.feature_names_in,
        n_outputs=n_outputs,
        learnt=learnt,
        weights=spec.weights,
        device=device,
    )


def _build_scaler(spec):
    estimator = SequenceScaler(**spec.params)
    scaler = StandardScaler(with_mean=spec.params["with_mean"], with_std=spec.params["with_std"])
    for attr in ("mean_", "var_", "scale_"):
        setattr(scaler, attr, spec.statistics.get(attr))
    scaler.n_features_in_ = spec.n_features_in
    scaler.n_samples_seen_ = spec.n_samples_seen
    scaler.set_output(transform="default")
    estimator._scaler = scaler
    estimator.mean_, estimator.scale_ = scaler.mean_, scaler.scale_
    estimator.n_features_in_ = spec.n_features_in
    if spec.feature_names_in is not None:
        estimator.feature_names_in_ = np.array(spec.feature_names_in, dtype=object)
    if spec.output is not None:
        estimator.set_output(transform=spec.output)
    return estimator


def _fit_from_file(
    estimator,
    *,
    n_features_in,
    feature_names_in,
    n_outputs,
    learnt,
    weights,
    device,
    target_kind=None,
):
    """Set every fitted attribute of a labeler or regressor, and its net, from checked file
    contents, as ``fit`` would have (through the same ``_set_fitted_state``).

    ``learnt``: the task's fitted attributes, names without the underscore.
    """
    if device is None:
        try:
            device = resolve_device(estimator.device)
        except ValueError as exc:
            warnings.warn(f"{exc} Loading on the CPU instead.", UserWarning, stacklevel=4)
            device = "cpu"
    else:
        device = resolve_device(device)
    net = estimator._make_net(
        estimator._device_policy(device),
        n_features=n_features_in,
        # no class weights: a loss weight, used only by a new fit, which computes its own
        n_outputs=n_outputs,
        target_kind=target_kind,  # the loss and the refinement stages' input of that fit
        shuffle_seed=0,
        split_seed=0,
    )
    net.initialize()
    net.module_.load_state_dict(weights)
    # The one place that sets fitted state, as fit sets it.
    estimator._set_fitted_state(
        net=net,
        n_features=n_features_in,
        feature_names=None
        if feature_names_in is None
        else np.array(feature_names_in, dtype=object),
        **learnt,
    )
    return estimator
