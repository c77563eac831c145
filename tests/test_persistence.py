"""Safe model files: identical predictions after a round trip, refused when altered."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from safetensors import safe_open
from safetensors.torch import save_file
from sklearn.pipeline import make_pipeline

from sk_seqlabel import SequenceScaler, TCNLabeler, persistence
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
    with safe_open(str(path), framework="pt") as file:
        metadata = file.metadata()
        tensors = {k: file.get_tensor(k) for k in file.keys() if not k.endswith("_")}
    model = json.loads(metadata["model"])
    for key in ("decoder", "min_segment_length", "decoder_lag"):
        del model["params"][key]
    metadata["model"] = json.dumps(model, sort_keys=True)
    header = persistence._signed(metadata["format_version"], metadata["model"])
    metadata["sha256"] = persistence._digest(header, tensors)
    save_file(tensors, str(path), metadata=metadata)
    loaded = load(tmp_path / "model.safetensors")
    assert loaded.decoder == "argmax"  # what that version predicted
    _assert_same_predictions(clf.set_params(decoder="argmax"), loaded, X)
    with pytest.raises(ValueError, match="label counts of fit"):
        loaded.set_params(decoder="viterbi").predict(X)


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
