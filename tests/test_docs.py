"""The user guide: every ```python block runs, and the site builds in strict mode."""

import ast
import importlib.util
import io
import re
import subprocess
import sys
import tokenize
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


# What a comment after a one-line print(...) claims about its output, doctest-style:
# the comment states the output when it starts with a value (a number, True/False/None, an
# opening bracket) or is one word, and always after print(error) in an except block (the
# message). The value runs to the first ": " or " = " (prose may follow); "..." in it matches
# anything, and a decimal number matches a printed one rounded to as many places.
VALUE_START = re.compile(r"-?\d|True\b|False\b|None\b|[\[({]")
DECIMAL = re.compile(r"-?\d+\.\d+")
PRINTED_NUMBER = r"(-?\d+(?:\.\d*)?(?:e[-+]?\d+)?)"


def stated_outputs(code, first_line=1):
    """``{page line: stated output}`` for the one-line prints of a block that state one."""
    comments = {
        token.start[0]: token.string[1:].strip()
        for token in _tokens(code)
        if token.type == tokenize.COMMENT
    }
    handlers = {
        node.name: node
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.ExceptHandler) and node.name
    }
    claims = {}
    for node in ast.walk(ast.parse(code)):
        call = node.value if isinstance(node, ast.Expr) else None
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Name)
            and call.func.id == "print"
            and call.lineno == call.end_lineno
            and call.lineno in comments
        ):
            continue
        comment = comments[call.lineno]
        prints_error = any(
            isinstance(arg, ast.Name)
            and arg.id in handlers
            and handlers[arg.id].lineno < call.lineno <= handlers[arg.id].end_lineno
            for arg in call.args
        )
        if prints_error or VALUE_START.match(comment) or " " not in comment:
            value = re.split(r": | = ", comment, maxsplit=1)[0] if not prints_error else comment
            claims[first_line + call.lineno - 1] = value
    return claims


def _tokens(code):
    return tokenize.generate_tokens(io.StringIO(code).readline)


def output_matches(stated, printed):
    """Whether ``printed`` is what ``stated`` says (see ``stated_outputs``)."""
    stated, printed = " ".join(stated.split()), " ".join(printed.split())
    parts, decimals = [], []
    for piece in re.split(r"(\.\.\.|-?\d+\.\d+)", stated):
        if piece == "...":
            parts.append(".*?")
        elif DECIMAL.fullmatch(piece):
            parts.append(PRINTED_NUMBER)
            decimals.append(piece)
        else:
            parts.append(re.escape(piece))
    match = re.fullmatch("".join(parts), printed)
    if match is None:
        return False
    return all(
        abs(float(got) - float(want)) <= 0.5 * 10 ** -len(want.split(".")[1]) + 1e-12
        for got, want in zip(match.groups(), decimals, strict=True)
    )


@pytest.mark.parametrize(
    ("stated", "printed", "expected"),
    [
        ("0.833", "0.8333333333333334", True),
        ("0.833", "0.8343", False),
        ("(5, 60)", "(5, 60)", True),
        ("1", "12", False),
        ("['ax' 'ay' 'az'] [...]", "['ax' 'ay' 'az'] [0 1 1]", True),
        ("True", "False", False),
        ("The 'x' parameter must be ...", "The 'x' parameter must be an int. Got 2.", True),
    ],
)
def test_a_stated_output_matches_only_what_it_states(stated, printed, expected):
    assert output_matches(stated, printed) is expected


def test_stated_outputs_are_read_from_print_comments_only():
    code = (
        "print(x)  # 0.96\n"
        "print(y)  # True: as offline\n"
        "print(z)  # strings, like y\n"
        "w = 1  # 5\n"
        "print(n)  # 29 = 1 + 2 * 2 * 7\n"
        "print(p)  # bf16\n"
        "try:\n    f()\nexcept ValueError as error:\n    print(error)  # X is bad: fix it\n"
    )
    assert stated_outputs(code, first_line=10) == {
        10: "0.96",
        11: "True",
        14: "29",
        15: "bf16",
        19: "X is bad: fix it",
    }


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
    printed = {}  # page line -> what each print on it wrote

    def recording_print(*args, **kwargs):
        if kwargs.get("file") is None:
            buffer = io.StringIO()
            print(*args, **{**kwargs, "file": buffer})
            printed.setdefault(sys._getframe(1).f_lineno, []).append(buffer.getvalue())
        print(*args, **kwargs)

    namespace = {"__name__": "__main__", "print": recording_print}
    stated = {}
    for line, code in blocks:
        stated.update(stated_outputs(code, first_line=line))
        # Blank lines in front make tracebacks point at the line of the page.
        exec(compile("\n" * (line - 1) + code, str(page), "exec"), namespace)
    for line, value in stated.items():
        outputs = printed.get(line)
        assert outputs, f"{page.name}:{line} states {value!r} but never printed"
        for output in outputs:
            assert output_matches(value, output), (
                f"{page.name}:{line} states {value!r} but printed {output.strip()!r}"
            )


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
