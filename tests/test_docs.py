"""The user guide: every ```python block runs, and the site builds in strict mode."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
# A fenced block opened by ```python at the start of a line, up to the next closing fence.
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def python_blocks(page):
    """The ```python blocks of ``page``, each as (line number of its first line, code)."""
    text = page.read_text()
    return [
        (text.count("\n", 0, match.start(1)) + 1, match.group(1))
        for match in PYTHON_BLOCK.finditer(text)
    ]


def test_the_guide_has_pages_with_code():
    assert {"index.md", "install.md", "data.md", "models.md", "sklearn.md", "gpu.md"} <= {
        page.name for page in PAGES
    }
    assert sum(len(python_blocks(page)) for page in PAGES) >= 15


def test_block_extraction_finds_blocks_and_their_lines(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n```python\nx = 1\n```\n\n```bash\nls\n```\n```python\ny = x\n```\n")
    assert python_blocks(page) == [(3, "x = 1\n"), (10, "y = x\n")]


@pytest.fixture
def one_thread():
    # The examples train tiny models; one thread is fastest for them and immune to other
    # processes on a busy machine.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_python_blocks_of_a_page_run_in_order(page, tmp_path, monkeypatch, one_thread):
    blocks = python_blocks(page)
    if not blocks:
        pytest.skip(f"{page.name} has no python blocks")
    monkeypatch.chdir(tmp_path)  # examples may write files (joblib.dump, ...)
    namespace = {"__name__": "__main__"}
    for line, code in blocks:
        # Blank lines in front make tracebacks point at the line of the page.
        exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)


def test_docs_build_in_strict_mode(tmp_path):
    for module in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers.python"):
        if importlib.util.find_spec(module.split(".")[0]) is None:
            pytest.skip(f"{module} is not installed; pip install -e '.[docs]' to build the docs")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    api = (site / "api" / "index.html").read_text()
    for name in ("TCNLabeler", "LSTMLabeler", "ConvLSTMLabeler", "segment_f1_score"):
        assert f'id="sk_seqlabel.{name}' in api or f'id="sk_seqlabel.metrics.{name}' in api
    assert "{shared}" not in api  # the shared keywords are filled into the labelers' docs
    assert "max_epochs" in api
    demo = (site / "demo" / "index.html").read_text()
    assert "<table" in demo and "demo.png" in demo  # the embedded results of a real run
