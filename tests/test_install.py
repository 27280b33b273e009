"""The packages run outside their checkout (issue 19): text checks of the rules that make a non-editable install
(``pip install .``) work, cheap enough for every run of the suite.

- the tools import the installed packages: no ``sys.path`` in ``tools/``;
- no package module starts a tool: a module of ``tasks/`` or ``research/`` that starts processes names no
  ``tools/*.py`` script (a separate process runs ``python -m <package module>``);
- the tests import packages: none loads a tool by its path (runpy, importlib's file loaders); a test may still run a
  tool as a command line, as a user does;
- the packages find the repository's ``configs/`` and ``data/`` only through arguments: no ``Path(__file__).parents``
  walking up out of the package (a package's own files, such as its shipped weights, are ``Path(__file__).parent``);
- every package folder is installed (``setup.cfg`` ``[options.packages.find]``).

The install itself (a fresh environment, ``pip install ".[cls,ts]"``, the README's examples and ``tools/predict.py``
run from another directory) is checked by hand; docs/architecture.md, "Layers", says how.
"""
from __future__ import annotations

import ast
import configparser
import re
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("zoo", "tasks", "research")
TOOL_SCRIPT = re.compile(r"(^|[/\\])tools[/\\]\w+\.py\b")
STARTS_PROCESSES = ("subprocess", "multiprocessing", "os.system", "os.exec", "os.spawn", "os.popen", "runpy")
LOADS_BY_PATH = ("runpy", "spec_from_file_location", "SourceFileLoader", "importlib.machinery", "exec(open(")


def _sources(*folders: str) -> Iterator[Path]:
    for folder in folders:
        yield from sorted((ROOT / folder).rglob("*.py"))


def _code_strings(tree: ast.AST) -> Iterator[Tuple[int, str]]:
    """The string constants of a module that are not docstrings, with their line."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def _code(text: str) -> str:
    """The text without comments and strings (what the module does, not what it says)."""
    import io
    import tokenize

    kept = [tok.string for tok in tokenize.generate_tokens(io.StringIO(text).readline)
            if tok.type not in (tokenize.COMMENT, tokenize.STRING)]
    return " ".join(kept)


def test_tools_do_not_touch_sys_path():
    offenders = [str(p.relative_to(ROOT)) for p in _sources("tools") if "sys.path" in p.read_text()]
    assert not offenders, f"tools that change sys.path (they must import the installed packages): {offenders}"


def test_no_package_module_starts_a_tool():
    offenders: List[str] = []
    for path in _sources("tasks", "research", "zoo"):
        text = path.read_text()
        code = _code(text).replace(" ", "")
        if not any(word in code for word in STARTS_PROCESSES):
            continue
        offenders += [f"{path.relative_to(ROOT)}:{line}: {value!r}" for line, value in _code_strings(ast.parse(text))
                      if TOOL_SCRIPT.search(value)]
    assert not offenders, f"package modules that start a tools/ script (run a package module instead): {offenders}"


def test_tests_do_not_load_tools_by_path():
    offenders = []
    for path in _sources("tests"):
        if path.name == Path(__file__).name:
            continue
        text = path.read_text().replace(" ", "")  # strings too: a script a test writes and runs is a test's code
        offenders += [f"{path.name}: {word}" for word in LOADS_BY_PATH if word in text]
        if re.search(r"import_module\(\s*f?\"tools", path.read_text()):
            offenders.append(f"{path.name}: import_module of tools")
    assert not offenders, f"tests that load a tool by its path (import the package module instead): {offenders}"


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_do_not_walk_out_of_themselves(package):
    """``Path(__file__).parents[n]`` (or ``.parent.parent``) reaches the checkout, which an install does not have."""
    pattern = re.compile(r"__file__\)?(\.resolve\(\))?\.(parents\[|parent\.parent)")
    offenders = [f"{p.relative_to(ROOT)}:{i}" for p in _sources(package)
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not offenders, f"modules that find repository folders from their own path (take an argument): {offenders}"


def test_every_package_folder_is_installed():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    include = cfg["options.packages.find"]["include"].split()
    for package in PACKAGES:
        assert package in include and f"{package}.*" in include, f"setup.cfg does not install {package}"
    for package in PACKAGES:
        missing = [str(d.relative_to(ROOT)) for d in sorted((ROOT / package).rglob("*"))
                   if d.is_dir() and any(d.glob("*.py")) and not (d / "__init__.py").is_file()]
        assert not missing, f"folders of Python modules without __init__.py (find_packages skips them): {missing}"
