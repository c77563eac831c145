"""scikit-learn's own estimator checks, and sequence versions of its data checks.

Run for every estimator of the registry (``all_estimators()``: labelers and regressors) and for
``SequenceScaler``.
scikit-learn's ``check_estimator`` skips every check for an estimator whose tags say it takes
no 2-D array, so the checks that apply are called here by name. Its data checks build a 2-D
``X`` of independent rows, which is not a list of sequences; each has a sequence version below.
"""

import joblib
import numpy as np
import pytest
import sklearn
from sklearn.utils import estimator_checks, get_tags

from sk_seqlabel import SequenceScaler, all_estimators
from sk_seqlabel._regression import BaseSequenceRegressor
from sk_seqlabel.labelers import all_labelers

from .conftest import ESTIMATOR_FAST

ESTIMATORS = [*all_estimators(), SequenceScaler]

# scikit-learn's checks that need no data, or only call methods of an unfitted estimator.
APPLICABLE = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_do_not_raise_errors_in_init_or_set_params",
    "check_mixin_order",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimators_unfitted",
    "check_valid_tag_types",
    "check_estimator_tags_renamed",
]

# scikit-learn's checks that build a 2-D X (or return at once when two_d_array is False), and
# the test of this package that checks the same on sequences.
SEQUENCE_VERSIONS = {
    "check_estimators_fit_returns_self": "test_fit_returns_self_also_on_read_only_memmaps",
    "check_readonly_memmap_input": "test_fit_returns_self_also_on_read_only_memmaps",
    "check_dont_overwrite_parameters": "test_fit_changes_no_parameter_and_adds_only_fitted_state",
    "check_estimators_overwrite_params": "test_fit_changes_no_parameter_and_adds_only_fitted_state",
    "check_fit_idempotent": "test_refitting_the_same_estimator_gives_the_same_outputs",
    "check_n_features_in": "test_n_features_in_is_set_by_fit",
    "check_n_features_in_after_fitting": "test_n_features_in_is_set_by_fit",
    "check_dict_unchanged": "test_predicting_leaves_the_estimators_dict_unchanged",
    "check_estimators_pickle": "test_sklearn_integration.py::test_round_trip_predicts_identically",
    "check_classifiers_one_label": "test_bad_input.py::test_single_class_is_rejected_showing_...",
    "check_classifiers_regression_target": "test_bad_input.py::test_continuous_labels_are_...",
    "check_fit_score_takes_y": "fit(X, y) and score(X, y) in every test of test_labelers.py",
}


def _check_params():
    """(estimator class, check name) pairs; a check this scikit-learn lacks is skipped."""
    for cls in ESTIMATORS:
        for name in APPLICABLE:
            if name == "check_estimators_unfitted" and not hasattr(cls, "predict"):
                # It calls predict, predict_proba, decision_function only; SequenceScaler has
                # none (test_bad_input.py::test_not_fitted covers its transform).
                continue
            marks = []
            if not hasattr(estimator_checks, name):
                marks = pytest.mark.skip(reason=f"scikit-learn {sklearn.__version__} has no {name}")
            yield pytest.param(cls, name, marks=marks, id=f"{cls.__name__}-{name}")


@pytest.mark.parametrize("cls, check_name", list(_check_params()))
def test_scikit_learn_check(cls, check_name):
    getattr(estimator_checks, check_name)(cls.__name__, cls())


def test_the_checks_named_here_exist_in_scikit_learn():
    missing = [n for n in [*APPLICABLE, *SEQUENCE_VERSIONS] if not hasattr(estimator_checks, n)]
    assert missing == []


def test_the_unfitted_check_would_catch_a_predict_without_check_is_fitted(monkeypatch):
    # check_estimators_unfitted passes only if predict raises NotFittedError; it must fail
    # for a labeler that forgets to check.
    cls = all_labelers()[0]
    monkeypatch.setattr(cls, "predict", lambda self, X: [np.zeros(len(x)) for x in X])
    with pytest.raises(AssertionError, match="NotFittedError"):
        estimator_checks.check_estimators_unfitted(cls.__name__, cls())


# ---------------------------------------------------------------- sequence versions


@pytest.fixture(params=ESTIMATORS, ids=lambda cls: cls.__name__)
def estimator_class(request):
    return request.param


@pytest.fixture
def make_estimator(estimator_class):
    """Build each estimator in turn: with its fast test keywords, or the scaler."""
    return lambda: estimator_class(**ESTIMATOR_FAST.get(estimator_class, {}))


@pytest.fixture
def tiny_data(estimator_class, tiny_data):
    """The shared tiny data, with one value per step as a regressor's target."""
    if issubclass(estimator_class, BaseSequenceRegressor):
        X, _ = tiny_data
        return X, [np.cumsum(x[:, 0]) / 4 for x in X]
    return tiny_data


def _outputs(estimator, X, y):
    """Everything the fitted estimator computes from X: predictions or transforms, scores."""
    if hasattr(estimator, "predict"):
        proba = [estimator.predict_proba(X)] if hasattr(estimator, "predict_proba") else []
        return [estimator.predict(X), *proba, estimator.score(X, y)]
    Xt = estimator.transform(X)
    return [Xt, estimator.inverse_transform(Xt)]


def _assert_same_outputs(a, b):
    for first, second in zip(a, b, strict=True):
        if np.isscalar(first):
            assert first == second
        else:
            for x, z in zip(first, second, strict=True):
                np.testing.assert_array_equal(x, z)


def test_fit_returns_self_also_on_read_only_memmaps(make_estimator, tiny_data, tmp_path):
    X, y = tiny_data
    estimator = make_estimator()
    assert estimator.fit(X, y) is estimator
    paths = [tmp_path / f"x{i}.npy" for i in range(len(X))]
    for path, x in zip(paths, X, strict=True):
        np.save(path, x)
    read_only = [np.load(path, mmap_mode="r") for path in paths]
    assert estimator.fit(read_only, y) is estimator


def test_fit_changes_no_parameter_and_adds_only_fitted_state(make_estimator, tiny_data):
    X, y = tiny_data
    estimator = make_estimator()
    if "class_weight" in estimator.get_params():  # a mutable parameter fit reads
        estimator.set_params(class_weight={"walk": 2.0, "run": 1.0, "sit": 0.5})
    if "callbacks" in estimator.get_params():
        estimator.set_params(callbacks=[])
    before = {name: joblib.hash(value) for name, value in estimator.get_params().items()}
    attributes = set(vars(estimator))
    estimator.fit(X, y)
    after = {name: joblib.hash(value) for name, value in estimator.get_params().items()}
    assert [name for name in before if before[name] != after[name]] == []
    added = set(vars(estimator)) - attributes
    assert added and all(a.endswith("_") or a.startswith("_") for a in added), added


def test_refitting_the_same_estimator_gives_the_same_outputs(make_estimator, tiny_data):
    X, y = tiny_data
    estimator = make_estimator()
    first = _outputs(estimator.fit(X, y), X, y)
    _assert_same_outputs(first, _outputs(estimator.fit(X, y), X, y))


def test_n_features_in_is_set_by_fit(make_estimator, tiny_data):
    X, y = tiny_data
    estimator = make_estimator()
    assert not hasattr(estimator, "n_features_in_")
    assert estimator.fit(X, y).n_features_in_ == X[0].shape[1]
    # a refit on fewer features forgets the old count
    assert estimator.fit([x[:, :2] for x in X], y).n_features_in_ == 2
    with pytest.raises(ValueError, match=rf"X\[0\] has {X[0].shape[1]} features"):
        (estimator.predict if hasattr(estimator, "predict") else estimator.transform)(X)


def test_predicting_leaves_the_estimators_dict_unchanged(make_estimator, tiny_data):
    X, y = tiny_data
    estimator = make_estimator().fit(X, y)
    before = {name: joblib.hash(value) for name, value in vars(estimator).items()}
    _outputs(estimator, X, y)
    after = {name: joblib.hash(value) for name, value in vars(estimator).items()}
    assert before.keys() == after.keys()
    assert [name for name in before if before[name] != after[name]] == []


def test_tags_match_what_the_estimators_accept(make_estimator, tiny_data):
    X, y = tiny_data
    estimator = make_estimator()
    tags = get_tags(estimator)
    assert not tags.input_tags.two_d_array
    with pytest.raises(TypeError, match=r"To .* one sequence, pass"):
        estimator.fit(X[0], y[0])  # one 2-D array
    assert tags.input_tags.three_d_array
    X_3d = np.stack([x[:5] for x in X])
    y_2d = np.stack([v[:5] for v in y])
    if tags.target_tags.two_d_labels:
        assert estimator.fit(X_3d, y_2d).predict(X_3d).shape == y_2d.shape
        assert not tags.non_deterministic  # on the CPU: see test_invariance's reproducibility
    else:
        Xt = estimator.fit(X_3d).transform(X_3d.astype(np.float64))
        assert Xt.shape == X_3d.shape
        assert [np.dtype(t).name for t in tags.transformer_tags.preserves_dtype] == ["float32"]
        assert Xt.dtype == np.float32
        assert estimator.transform(X_3d.astype(np.float32)).dtype == np.float32
