"""House rules that keep the layers apart, checked by parsing imports."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Top-level package names a file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def test_engine_never_imports_streamlit_outside_ui():
    files = [p for p in (ROOT / "bnviz").rglob("*.py") if "ui" not in p.relative_to(ROOT).parts]
    assert len(files) > 8
    offenders = [str(p) for p in files if "streamlit" in imported_modules(p)]
    assert offenders == []


def test_pages_and_app_never_import_torch():
    files = [ROOT / "app.py", *(ROOT / "pages").glob("*.py")]
    assert len(files) >= 3
    offenders = [str(p) for p in files if "torch" in imported_modules(p)]
    assert offenders == []


def test_checker_would_catch_an_offender(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import streamlit as st\nfrom torch import nn\n")
    assert imported_modules(bad) == {"streamlit", "torch"}


def test_the_served_app_loads_pandas_before_any_tab_builds_a_figure():
    """Once here, a page's first figure after a server start raised "partially initialized
    module 'pandas' has no attribute 'Series'": plotly looks pandas up in sys.modules (without
    importing it) for every array it validates, and another thread was importing it. The module
    `streamlit run` serves (app, imported at server start) now imports pandas whole first."""
    probe = (
        "import sys; import app; "
        "from _plotly_utils.optional_imports import get_module; "
        "print(hasattr(get_module('pandas', should_load=False), 'Series'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.stdout.strip().splitlines()[-1:] == ["True"], (out.stdout, out.stderr[-2000:])
