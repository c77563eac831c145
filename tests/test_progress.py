"""What a verbose fit prints: true progress totals on a terminal, no bar fragments in a log."""

import contextlib
import io
import re

from sk_seqlabel import TCNLabeler
from sk_seqlabel.datasets import make_sequence_labeling

# tqdm's counter, "  0%|          | 0/7 [00:00<?, ?it/s]": done / total
COUNTER = re.compile(r"\|\s*(\d+)/(\d+) \[")


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as a console's standard error does."""

    def isatty(self):
        return True


def verbose_fit(stderr):
    """Fit with a progress bar; batches capped by timesteps and windows that move each epoch,
    so the number of batches is neither ``n_sequences / batch_size`` nor the same each epoch."""
    X, y = make_sequence_labeling(n_sequences=24, min_length=20, max_length=120, random_state=0)
    clf = TCNLabeler(
        n_filters=4,
        n_blocks=1,
        max_epochs=4,
        max_batch_timesteps=200,
        max_train_length=70,
        early_stopping=True,
        n_iter_no_change=10,
        n_threads=1,
        random_state=0,
        verbose=1,
    )
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        clf.fit(X, y)
    batches = [
        epoch["train_batch_count"] + epoch["valid_batch_count"] for epoch in clf.net_.history
    ]
    return batches, stdout.getvalue()


def test_progress_bar_total_is_the_number_of_batches_each_epoch_makes():
    terminal = Terminal()
    batches, _ = verbose_fit(terminal)
    err = terminal.getvalue()
    assert len(set(batches)) > 1, "the test needs epochs with different batch counts"
    # Each epoch's bar opens at 0 of its total.
    opened = [int(total) for done, total in COUNTER.findall(err) if done == "0"]
    assert opened == batches
    assert all(int(done) <= int(total) for done, total in COUNTER.findall(err))


def test_verbose_fit_into_a_log_prints_the_epoch_table_without_bar_fragments(tmp_path):
    with open(tmp_path / "fit.log", "w") as log:  # standard error redirected to a file
        batches, out = verbose_fit(log)
    assert (tmp_path / "fit.log").read_text() == ""
    assert "\r" not in out and "it/s" not in out
    table = [line for line in out.splitlines() if re.match(r"\s+\d+\s", line)]
    assert len(table) == len(batches)  # one line per epoch


def test_a_fitted_net_keeps_no_loader_of_its_training_data():
    X, y = make_sequence_labeling(n_sequences=6, random_state=0)
    clf = TCNLabeler(n_filters=4, n_blocks=1, max_epochs=1, n_threads=1).fit(X, y)
    assert clf.net_.planned_batches() == 0
    assert "DataLoader" not in repr(vars(clf.net_))
