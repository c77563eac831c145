"""Model selection on a real Dask cluster (2 worker processes) gives the scores of n_jobs=1."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold

from sk_seqlabel import TCNLabeler
from sk_seqlabel.metrics import timestep_accuracy_scorer

distributed = pytest.importorskip("distributed", reason="needs dask.distributed (test extra)")


def _search(n_jobs=1):
    return GridSearchCV(
        TCNLabeler(kernel_size=3, n_blocks=2, max_epochs=2, n_threads=1, random_state=0),
        {"n_filters": [4, 8]},
        scoring=timestep_accuracy_scorer,
        cv=KFold(3),
        n_jobs=n_jobs,
        refit=False,
    )


def test_grid_search_on_a_dask_cluster_equals_one_process(tiny_data):
    import joblib

    X, y = tiny_data
    serial = _search().fit(X, y).cv_results_["mean_test_score"]
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        on_dask = _search(n_jobs=-1).fit(X, y).cv_results_["mean_test_score"]
    np.testing.assert_allclose(on_dask, serial, rtol=0, atol=1e-12)
