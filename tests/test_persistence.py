"""Safe model files: identical predictions after a round trip, refused when altered."""

import json
import os
import re
import subprocess
import sys
import textwrap
import warnings
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from sklearn.pipeline import make_pipeline

from sk_seqlabel import (
    ConvLSTMLabeler,
    LSTMLabeler,
    MultiStageTCNLabeler,
    SequenceScaler,
    TCNLabeler,
    persistence,
)
from sk_seqlabel.labelers import all_labelers
from sk_seqlabel.persistence import load, save

from .conftest import FAST


def _fitted_tcn(tiny_data):
    """File handling does not depend on the model: one labeler is enough."""
    return TCNLabeler(**FAST[TCNLabeler]).fit(*tiny_data)


def _assert_same_predictions(a, b, X):
    for p, q in zip(a.predict_proba(X), b.predict_proba(X), strict=True):
        np.testing.assert_array_equal(p, q)
    for p, q in zip(a.predict(X), b.predict(X), strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize(
    "config",
    [{}, {"class_weight": {"walk": 2.0, "run": 1.0}}, {"precision": "fp32", "n_threads": 1}],
    ids=["plain", "class-weight", "options"],
)
def test_a_saved_labeler_loads_with_identical_predictions(
    make_labeler, tiny_data, tmp_path, config
):
    X, y = tiny_data
    clf = make_labeler(**config).fit(X, y)
    save(clf, tmp_path / "model.safetensors")
    loaded = load(tmp_path / "model.safetensors")
    assert type(loaded) is type(clf) and loaded.get_params() == clf.get_params()
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.classes_.dtype == clf.classes_.dtype
    _assert_same_predictions(clf, loaded, X)


def test_a_saved_labeler_keeps_what_its_decoder_learned(tiny_data, tmp_path):
    X, y = tiny_data
    clf = TCNLabeler(**FAST[TCNLabeler], decoder="viterbi", min_segment_length=3).fit(X, y)
    save(clf, tmp_path / "model.safetensors")
    loaded = load(tmp_path / "model.safetensors")
    for attr in ("start_count_", "transition_count_", "class_count_"):
        np.testing.assert_array_equal(getattr(loaded, attr), getattr(clf, attr))
    _assert_same_predictions(clf, loaded, X)


def test_a_file_without_label_counts_predicts_argmax_and_says_why_viterbi_cannot(
    tiny_data, tmp_path
):
    X, _ = tiny_data
    clf = _fitted_tcn(tiny_data)
    save(clf, tmp_path / "model.safetensors")
    # what the version before decoding wrote: no decoder parameters, no label counts or
    # temperature, a checksum over the rest
    path = tmp_path / "model.safetensors"
    _as_an_older_version_wrote(
        path, ("decoder", "min_segment_length", "decoder_lag", "prior_weight"), counts=False
    )
    loaded = load(tmp_path / "model.safetensors")
    assert loaded.decoder == "argmax"  # what that version predicted
    _assert_same_predictions(clf.set_params(decoder="argmax"), loaded, X)
    with pytest.raises(ValueError, match="label counts of fit"):
        loaded.set_params(decoder="viterbi").predict(X)


def _as_an_older_version_wrote(path, missing_params, counts=True):
    """Rewrite a saved file as a version without ``missing_params`` (nor, with
    ``counts=False``, label counts and temperature) wrote it, its checksum recomputed."""
    with safe_open(str(path), framework="pt") as file:
        metadata = file.metadata()
        tensors = {k: file.get_tensor(k) for k in file.keys() if counts or not k.endswith("_")}
    model = json.loads(metadata["model"])
    for key in missing_params:
        del model["params"][key]
    metadata["model"] = json.dumps(model, sort_keys=True)
    header = persistence._signed(metadata["format_version"], metadata["model"])
    metadata["sha256"] = persistence._digest(header, tensors)
    save_file(tensors, str(path), metadata=metadata)


def test_a_file_written_before_prior_weight_decodes_as_it_did_then(tiny_data, tmp_path):
    X, y = tiny_data
    clf = TCNLabeler(**FAST[TCNLabeler], decoder="viterbi").fit(X, y)
    path = tmp_path / "model.safetensors"
    save(clf, path)
    _as_an_older_version_wrote(path, ("prior_weight",))
    loaded = load(path)
    assert loaded.prior_weight == 1.0  # that version divided the whole prior out
    _assert_same_predictions(clf.set_params(prior_weight=1.0), loaded, X)


def test_a_pipeline_with_names_and_pandas_output_round_trips(make_labeler, tiny_data, tmp_path):
    X, y = tiny_data
    frames = [pd.DataFrame(x, columns=["ax", "ay", "az"]) for x in X]
    pipe = make_pipeline(SequenceScaler().set_output(transform="pandas"), make_labeler())
    pipe.fit(frames, y)
    save(pipe, tmp_path / "pipe.safetensors")
    loaded = load(tmp_path / "pipe.safetensors")
    assert [name for name, _ in loaded.steps] == [name for name, _ in pipe.steps]
    _assert_same_predictions(pipe, loaded, frames)
    np.testing.assert_array_equal(loaded[-1].feature_names_in_, ["ax", "ay", "az"])
    with pytest.raises(ValueError, match="columns"):
        loaded.predict([f[["az", "ay", "ax"]] for f in frames])


def test_model_files_load_in_a_fresh_cpu_process(tiny_data, tmp_path):
    X, y = tiny_data
    expected = {}
    for cls in all_labelers():
        clf = cls(**FAST[cls]).fit(X, y)
        save(clf, tmp_path / f"{cls.__name__}.safetensors")
        expected[cls.__name__] = clf.predict_proba([X[0]])[0]
    np.save(tmp_path / "x.npy", X[0])
    script = textwrap.dedent(
        f"""
        import pathlib
        import numpy as np
        from sk_seqlabel.persistence import load
        folder = pathlib.Path({str(tmp_path)!r})
        x = np.load(folder / "x.npy")
        out = {{p.stem: load(p).predict_proba([x])[0] for p in folder.glob("*.safetensors")}}
        np.savez(folder / "loaded.npz", **out)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},  # as this process, without CUDA
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = np.load(tmp_path / "loaded.npz")
    assert sorted(loaded.files) == sorted(expected)
    for name, proba in expected.items():
        np.testing.assert_array_equal(loaded[name], proba)


def test_a_model_saved_for_a_gpu_loads_on_the_cpu_with_a_warning(make_labeler, tiny_data, tmp_path):
    X, y = tiny_data
    clf = make_labeler().fit(X, y)
    clf.device = "cuda"  # as trained on a GPU: the weights are stored from the CPU anyway
    save(clf, tmp_path / "model.safetensors")
    with pytest.warns(UserWarning, match="Loading on the CPU instead"):
        loaded = load(tmp_path / "model.safetensors")
    assert str(loaded.net_.device) == "cpu" and loaded.device == "cuda"
    clf.device = "cpu"
    _assert_same_predictions(clf, loaded, X)


def _flip_one_byte(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("where", ["weights", "header", "last byte"])
def test_a_file_altered_by_one_byte_is_refused(tiny_data, tmp_path, where):
    clf = _fitted_tcn(tiny_data)
    path = tmp_path / "model.safetensors"
    save(clf, path)
    header_length = int.from_bytes(path.read_bytes()[:8], "little")
    header = path.read_bytes()[8 : 8 + header_length].decode()
    offsets = {
        "weights": 8 + header_length + 5,
        "header": 8 + header.index('"n_features_in_') + len('"n_features_in_\\": '),
        "last byte": len(path.read_bytes()) - 1,
    }
    _flip_one_byte(path, offsets[where])
    with pytest.raises(ValueError, match=r"checksum|not a readable|not an sk_seqlabel"):
        load(path)


def _rewrite(path, change):
    """Rewrite a model file with ``change(metadata)`` applied, keeping tensors and checksum."""
    with safe_open(str(path), framework="pt") as file:
        metadata = file.metadata()
        tensors = {k: file.get_tensor(k) for k in file.keys()}
    change(metadata)
    save_file(tensors, str(path), metadata=metadata)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(extra="1"), "header keys"),
        (lambda m: m.update(format_version="2"), "format version '2'"),
        (lambda m: m.update(format="pickle"), "not an sk_seqlabel model file"),
    ],
    ids=["unknown-header-key", "newer-version", "other-format"],
)
def test_files_this_version_cannot_trust_are_refused(tiny_data, tmp_path, change, message):
    path = tmp_path / "model.safetensors"
    save(_fitted_tcn(tiny_data), path)
    _rewrite(path, change)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_unknown_classes_and_keys_are_refused_even_with_a_matching_checksum(tiny_data, tmp_path):
    # Someone who rewrites the checksum too still cannot make a file name arbitrary code.
    from sk_seqlabel import persistence

    path = tmp_path / "model.safetensors"
    save(_fitted_tcn(tiny_data), path)

    def forge(edit):
        def change(metadata):
            model = json.loads(metadata["model"])
            edit(model)
            metadata["model"] = json.dumps(model, sort_keys=True)
            with safe_open(str(path), framework="pt") as file:
                tensors = {k: file.get_tensor(k) for k in file.keys()}
            signed = persistence._signed(metadata["format_version"], metadata["model"])
            metadata["sha256"] = persistence._digest(signed, tensors)

        return change

    _rewrite(path, forge(lambda m: m.update({"class": "os.system"})))
    with pytest.raises(ValueError, match=r"'os\.system', which this version"):
        load(path)
    _rewrite(path, forge(lambda m: m.update({"class": "TCNLabeler", "hook": "x"})))
    with pytest.raises(ValueError, match="does not know"):
        load(path)


def test_what_a_model_file_cannot_hold_is_a_clear_error(make_labeler, tiny_data, tmp_path):
    from skorch.callbacks import EpochTimer

    clf = make_labeler(callbacks=[EpochTimer()]).fit(*tiny_data)
    with pytest.raises(ValueError, match="callbacks cannot be saved"):
        save(clf, tmp_path / "m.safetensors")
    clf.set_params(callbacks=None, random_state=np.random.RandomState(0))
    with pytest.raises(ValueError, match="random_state=RandomState"):
        save(clf, tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="dict cannot be saved"):
        save({"not": "an estimator"}, tmp_path / "m.safetensors")


# --------------------------------------------------------------------------- forged files
def _read(path):
    with safe_open(str(path), framework="pt") as file:
        return file.metadata(), {k: file.get_tensor(k) for k in file.keys()}


def _forge(path, edit_model=None, edit_tensors=None, out=None):
    """Rewrite a model file as a forger would: edit its description and tensors, then
    recompute the (unkeyed) checksum so that only the schema stands in the way."""
    metadata, tensors = _read(path)
    model = json.loads(metadata["model"])
    if edit_model is not None:
        edited = edit_model(model)  # edits in place, or returns a new description
        model = edited if isinstance(edited, dict) else model
    if edit_tensors is not None:
        tensors = edit_tensors(tensors) or tensors
    metadata["model"] = json.dumps(model, sort_keys=True)
    header = persistence._signed(metadata["format_version"], metadata["model"])
    metadata["sha256"] = persistence._digest(header, tensors)
    metadata.pop("hmac_sha256", None)
    out = out or path
    save_file(tensors, str(out), metadata=metadata)
    return out


@pytest.fixture(scope="module")
def saved_pipeline(tiny_data, tmp_path_factory):
    """A fitted scaler + TCN pipeline, its model file, and the data, for forgeries."""
    X, y = tiny_data
    pipe = make_pipeline(
        SequenceScaler(), TCNLabeler(**FAST[TCNLabeler], precision="fp32", n_threads=1)
    ).fit(X, y)
    path = tmp_path_factory.mktemp("forged") / "pipe.safetensors"
    save(pipe, path)
    return pipe, path


def _labeler(model):
    return model["steps"][1][1]


def _scaler(model):
    return model["steps"][0][1]


@pytest.mark.parametrize("name", ["os.system", "StandardScaler", "sklearn.preprocessing.X"])
def test_a_scaler_step_of_any_other_class_name_is_refused(saved_pipeline, tmp_path, name):
    _, path = saved_pipeline
    forged = _forge(path, lambda m: _scaler(m).update({"class": name}), out=tmp_path / "f")
    with pytest.raises(ValueError, match=r"steps\[0\]\[1\]\.class .* only be 'SequenceScaler'"):
        load(forged)


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda m: _labeler(m)["fitted"].update(hook=1), r"steps\[1\]\[1\]\.fitted has keys"),
        (lambda m: _scaler(m)["fitted"].update(hook=1), r"steps\[0\]\[1\]\.fitted has keys"),
        (lambda m: _labeler(m)["fitted"]["classes_"].update(hook=1), r"classes_ has keys"),
        (lambda m: m.update(hook=1), r"model has keys"),
        (lambda m: _labeler(m)["params"].update(hook=1), r"params has parameters TCNLabeler"),
        (lambda m: _scaler(m)["params"].update(copy=True), r"parameters SequenceScaler does"),
        (lambda m: _scaler(m)["params"].pop("with_std"), r"lacks the parameters \['with_std'\]"),
        (lambda m: _labeler(m)["params"].pop("lr"), r"lacks the parameters \['lr'\]"),
        (lambda m: _labeler(m)["fitted"].pop("n_features_in_"), r"fitted lacks the keys"),
    ],
    ids=[
        "labeler-fitted",
        "scaler-fitted",
        "classes",
        "pipeline",
        "labeler-param",
        "scaler-extra-param",
        "scaler-missing-param",
        "labeler-missing-param",
        "missing-fitted",
    ],
)
def test_unknown_and_missing_keys_anywhere_are_refused(saved_pipeline, tmp_path, edit, where):
    _, path = saved_pipeline
    with pytest.raises(ValueError, match=where):
        load(_forge(path, edit, out=tmp_path / "f"))


def _set(getter, key, value):
    return lambda m: getter(m).__setitem__(key, value)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda m: _labeler(m)["params"].update(class_weight={}), r"class_weight lacks"),
        (lambda m: _labeler(m)["fitted"].update(n_features_in_="3"), r"fitted\.n_features_in_"),
        (lambda m: _scaler(m)["fitted"].update(n_features_in_=3.0), r"fitted\.n_features_in_"),
        (lambda m: _labeler(m)["fitted"]["classes_"].update(dtype="evil"), r"classes_\.dtype"),
        (lambda m: _labeler(m)["fitted"]["classes_"].update(dtype="<U1"), r"do not fit dtype"),
        (lambda m: _labeler(m)["fitted"]["classes_"].update(dtype="<U99999999"), r"bytes"),
        (lambda m: _labeler(m)["fitted"]["classes_"]["values"].reverse(), r"sorted"),
        (lambda m: _labeler(m)["params"].update(n_filters="16"), r"'n_filters' parameter"),
        (lambda m: _labeler(m)["params"].update(lr=-1.0), r"'lr' parameter"),
        (lambda m: _labeler(m)["params"].update(device="evil"), r"params\.device"),
        (lambda m: _labeler(m)["params"].update(callbacks=[1]), r"params\.callbacks"),
        (lambda m: _labeler(m)["fitted"].update(feature_names_in_=["a"]), r"feature_names_in_"),
        (lambda m: _scaler(m)["fitted"].update(output="polars"), r"fitted\.output"),
        (lambda m: m.update(steps={}), r"model\.steps must be"),
        (lambda m: m.update(verbose="yes"), r"model\.verbose"),
        (lambda m: m["steps"].reverse(), r"only the last step"),
        (lambda m: m["steps"][0].__setitem__(0, "a.b"), r"steps\[0\]\[0\] 'a\.b'"),
    ],
)
def test_malformed_values_are_a_value_error_naming_the_field(saved_pipeline, tmp_path, edit, field):
    _, path = saved_pipeline
    with pytest.raises(ValueError, match=field):
        load(_forge(path, edit, out=tmp_path / "f"))


@pytest.mark.parametrize(
    ("depth", "message"),
    [(persistence.MAX_NESTING + 1, "nests pipelines more than 8 deep"), (100_000, "not JSON")],
)
def test_deeply_nested_pipelines_are_refused_without_recursing(
    saved_pipeline, tmp_path, depth, message
):
    _, path = saved_pipeline
    metadata, tensors = _read(path)
    # written as text: json.dumps itself recurses too deep for 100,000 levels
    opening, closing = '{"kind": "pipeline", "steps": [["p", ', ']], "verbose": false}'
    metadata["model"] = opening * depth + metadata["model"] + closing * depth
    tensors = {"p." * depth + k: v for k, v in tensors.items()} if depth < 50 else tensors
    header = persistence._signed(metadata["format_version"], metadata["model"])
    metadata["sha256"] = persistence._digest(header, tensors)
    save_file(tensors, str(tmp_path / "f"), metadata=metadata)
    with pytest.raises(ValueError, match=message):
        load(tmp_path / "f")


def _with(name, value):
    def edit(tensors):
        tensors = dict(tensors)
        if value is None:
            del tensors[name]
        else:
            tensors[name] = value
        return tensors

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_with("sequencescaler.mean_", None), r"lacks the tensors \['mean_'\]"),
        (_with("sequencescaler.mean_", torch.zeros(4, dtype=torch.float64)), r"'mean_' is a"),
        (_with("sequencescaler.scale_", -torch.ones(3, dtype=torch.float64)), r"'scale_' holds"),
        (_with("tcnlabeler.class_count_", torch.ones(4, dtype=torch.int64)), r"class_count_"),
        (_with("tcnlabeler.start_count_", None), r"lacks the tensors \['start_count_'\]"),
        (_with("tcnlabeler.transition_count_", torch.ones(3, 4, dtype=torch.int64)), r"transit"),
        (_with("tcnlabeler.temperature_", torch.zeros(1, dtype=torch.float64)), r"temperature"),
        (_with("tcnlabeler.module.hook", torch.zeros(1)), r"does not have: \['hook'\]"),
        (_with("tcnlabeler.hook", torch.zeros(1)), r"does not have: \['hook'\]"),
        (_with("hook", torch.zeros(1)), r"no step has: \['hook'\]"),
        (_with("tcnlabeler.module.head.weight", None), r"lacks the tensors"),
    ],
)
def test_tensors_that_do_not_fit_the_model_are_refused(saved_pipeline, tmp_path, edit, message):
    _, path = saved_pipeline
    with pytest.raises(ValueError, match=message):
        load(_forge(path, edit_tensors=edit, out=tmp_path / "f"))


def test_weights_of_another_shape_or_dtype_are_refused(saved_pipeline, tmp_path):
    _, path = saved_pipeline
    _, tensors = _read(path)
    name = next(k for k in tensors if k.startswith("tcnlabeler.module.") and k.endswith("weight"))
    for value, found in [
        (tensors[name].double(), "torch.float64"),
        (tensors[name].T.contiguous(), str(tuple(tensors[name].T.shape))),
    ]:
        forged = _forge(path, edit_tensors=_with(name, value), out=tmp_path / "f")
        with pytest.raises(ValueError, match=re.escape(found)):
            load(forged)


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (TCNLabeler, {"n_filters": 30000}),
        (TCNLabeler, {"kernel_size": 10**6}),
        (TCNLabeler, {"n_blocks": 10**9}),
        (MultiStageTCNLabeler, {"n_stages": 10**6, "n_blocks": 10**6}),
        (LSTMLabeler, {"hidden_size": 100_000}),
        (LSTMLabeler, {"num_layers": 10**9}),
        (ConvLSTMLabeler, {"hidden_size": 10**12}),
    ],
    ids=[
        "tcn-filters",
        "tcn-kernel",
        "tcn-blocks",
        "mstcn-stages",
        "lstm-hidden",
        "lstm-layers",
        "convlstm-hidden",
    ],
)
def test_a_forged_huge_network_is_refused_before_any_module_is_allocated(
    tiny_data, tmp_path, cls, params
):
    clf = cls(**FAST[cls]).fit(*tiny_data)
    path = tmp_path / "model.safetensors"
    save(clf, path)
    forged = _forge(path, lambda m: m["params"].update(params))
    # _fit_from_file is where the real module is built: the forgery must never get there.
    with mock.patch.object(persistence, "_fit_from_file", side_effect=AssertionError("built")):
        with pytest.raises(ValueError, match=r"weight|far larger|cannot be built"):
            load(forged)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["2020-01-01", "2020-01-02", "2021-05-05"], dtype="datetime64[D]"),
        np.array(["2020-01-01T00:00:00.5", "2020-01-01T00:00:01"], dtype="datetime64[ms]"),
        np.array([1, 2, 3], dtype="timedelta64[s]"),
    ],
    ids=["days", "milliseconds", "durations"],
)
def test_dates_and_durations_as_labels_round_trip_with_their_dtype(tiny_data, tmp_path, labels):
    X, y = tiny_data
    codes = {name: i % len(labels) for i, name in enumerate(["walk", "run", "sit"])}
    y_dates = [labels[[codes[v] for v in seq]] for seq in y]
    clf = TCNLabeler(**FAST[TCNLabeler]).fit(X, y_dates)
    save(clf, tmp_path / "model.safetensors")
    loaded = load(tmp_path / "model.safetensors")
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    for p, q in zip(loaded.predict(X), clf.predict(X), strict=True):
        assert p.dtype == labels.dtype
        np.testing.assert_array_equal(p, q)


def test_a_signed_file_loads_only_with_its_key(saved_pipeline, tiny_data, tmp_path):
    pipe, unsigned = saved_pipeline
    key = b"a secret shared by who saves and who loads"
    signed = tmp_path / "signed.safetensors"
    save(pipe, signed, key=key)
    _assert_same_predictions(pipe, load(signed, key=key), tiny_data[0])
    _assert_same_predictions(pipe, load(signed), tiny_data[0])  # the checksum still holds
    with pytest.raises(ValueError, match="not signed with this key"):
        load(signed, key=b"another key")
    with pytest.raises(ValueError, match="is not signed, but a key was given"):
        load(unsigned, key=key)
    # a forger who edits the file and recomputes the checksum cannot recompute the signature
    forged = _forge(signed, out=tmp_path / "forged.safetensors")
    metadata, tensors = _read(forged)
    metadata["hmac_sha256"] = _read(signed)[0]["hmac_sha256"]
    tensors["tcnlabeler.module.head.bias"] = tensors["tcnlabeler.module.head.bias"] + 1
    metadata["sha256"] = persistence._digest(
        persistence._signed(metadata["format_version"], metadata["model"]), tensors
    )
    save_file(tensors, str(forged), metadata=metadata)
    load(forged)  # without a key, a well-formed forgery loads: the checksum is no signature
    with pytest.raises(ValueError, match="not signed with this key"):
        load(forged, key=key)


@pytest.mark.parametrize(
    ("key", "error"), [("text", TypeError), (b"", ValueError), (1234, TypeError)]
)
def test_a_key_must_be_non_empty_bytes(saved_pipeline, tmp_path, key, error):
    pipe, path = saved_pipeline
    with pytest.raises(error, match="key"):
        save(pipe, tmp_path / "m.safetensors", key=key)
    with pytest.raises(error, match="key"):
        load(path, key=key)


# --------------------------------------------------------------------------- property
#: What a forger puts in a JSON field: every JSON type, values out of every range.
_POOL = [None, True, False, -1, 0, 1, 3, 2**31, 10**12, 0.5, -2.5, 1e300, float("nan")]
_POOL += ["evil", "", "auto", "cuda", [], [1, "a"], {}, {"items": 1}, {"kind": "pipeline"}]


def _nodes(obj, path=()):
    """Every position below ``obj``: (path, value), containers included."""
    items = (
        obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    )
    for key, value in items:
        yield (*path, key), value
        yield from _nodes(value, (*path, key))


def _json_kind(value):
    return type(value).__name__


def _mutate_model(model, rng):
    """One field replaced by a value of another JSON type (or another int), or one key or
    list item added or removed, somewhere in the description."""
    nodes = list(_nodes(model))
    path, value = nodes[rng.integers(len(nodes))]
    parent = model
    for key in path[:-1]:
        parent = parent[key]
    how = rng.choice(["replace", "add", "remove"])
    if how == "replace":
        # a bool, str or float of the same type may be a valid other model (causal=True,
        # with_mean=False, precision="bf16"): not a forgery a schema can see
        other = [v for v in _POOL if _json_kind(v) != _json_kind(value) or isinstance(v, int)]
        parent[path[-1]] = other[rng.integers(len(other))]
    elif how == "add" and isinstance(value, dict):
        value[f"hook{rng.integers(100)}"] = _POOL[rng.integers(len(_POOL))]
    elif how == "add" and isinstance(value, list):
        value.append(_POOL[rng.integers(len(_POOL))])
    elif isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])
    return f"{how} model{list(path)}"


def _mutate_tensors(tensors, rng):
    """One tensor of another shape or dtype, removed, or one tensor added."""
    names = sorted(tensors)
    name = names[rng.integers(len(names))]
    tensor = tensors[name]
    how = rng.choice(["dtype", "flatten", "unsqueeze", "shorten", "remove", "add"])
    if how == "dtype":
        dtypes = [torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32]
        tensors[name] = tensor.to(dtypes[rng.integers(len(dtypes))])
    elif how == "flatten":
        tensors[name] = tensor.flatten()
    elif how == "unsqueeze":
        tensors[name] = tensor.unsqueeze(0)
    elif how == "shorten":
        tensors[name] = tensor[: max(len(tensor) - 1, 0)].contiguous()
    elif how == "remove":
        del tensors[name]
    else:
        tensors[f"{name}.extra"] = torch.zeros(2)
    return f"{how} tensor {name}"


@pytest.mark.parametrize("which", ["pipeline", "lstm"])
def test_a_forged_file_loads_as_the_original_or_is_refused(
    saved_pipeline, tiny_data, tmp_path, which
):
    # Seeded random forgeries (hypothesis is not a dependency): 1-3 mutations each, the
    # checksum recomputed as a forger would. load either refuses with a ValueError, or gives
    # a model with the original's probabilities (to 1e-6: a forged batch cap or thread count
    # may change the order of float sums); anything else fails.
    X, y = tiny_data
    if which == "pipeline":
        original, path = saved_pipeline
    else:
        original = LSTMLabeler(**FAST[LSTMLabeler], precision="fp32", n_threads=1).fit(X, y)
        path = tmp_path / "lstm.safetensors"
        save(original, path)
    expected = original.predict_proba(X)
    metadata, tensors = _read(path)
    rng = np.random.default_rng(0)
    outcomes = {"refused": 0, "loaded": 0}
    for trial in range(120):
        model, forged_tensors = json.loads(metadata["model"]), dict(tensors)
        done = []
        for _ in range(rng.integers(1, 4)):
            if rng.random() < 0.6:
                done.append(_mutate_model(model, rng))
            else:
                done.append(_mutate_tensors(forged_tensors, rng))
        forged = _forge(
            path,
            lambda m, model=model: model,
            lambda t, forged_tensors=forged_tensors: forged_tensors,
            out=tmp_path / "forged.safetensors",
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # device="cuda": on the CPU
                loaded = load(forged)
        except ValueError:
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1
        for p, q in zip(loaded.predict_proba(X), expected, strict=True):
            np.testing.assert_allclose(p, q, rtol=0, atol=1e-6, err_msg=f"{trial}: {done}")
    assert outcomes["refused"] > 80 and outcomes["loaded"] >= 3, outcomes
