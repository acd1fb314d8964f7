"""The architecture as a test: which part of bnviz may import which, checked on every import.

A part may import only parts in lower tiers (and its own modules). A new top-level module
must be placed in LAYERS before it can be imported anywhere.
"""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Highest first. Each tier may import every tier below it, never one above or beside it.
LAYERS: list[tuple[str, ...]] = [
    ("app",),  # app.py: the router
    ("pages",),  # one page per lesson
    ("ui",),  # Streamlit glue: the only bnviz part that imports streamlit
    ("live_api",),  # new points of a live chart since a step, encoded once for every tab
    ("figures",),  # pure (data, *, lang) -> go.Figure; read lessons' result types
    ("lessons",),  # each lesson's experiments and configs
    ("runner",),  # policy: quotas, queue, idle reaping
    ("pool", "runs", "store_open"),  # transport; run/session bookkeeping; the store in use
    ("jobs", "sweep", "store_sqlite"),  # build_job(); the batched-sweep job; SQLite store
    ("stepper", "stacked"),  # a run as a state machine, its Snapshot; N models as one tensor
    ("train", "batched"),  # one deterministic training step; the sweep's batched operations
    ("metrics",),  # evaluation metrics by name
    ("telemetry",),  # per-layer statistics, ring buffers
    ("nets", "datasets", "store"),  # the model; the data; the run-store interface
    ("config", "i18n", "procs"),  # settings and strings; process plumbing
]
TIER = {part: len(LAYERS) - i for i, parts in enumerate(LAYERS) for part in parts}


def part_of(path: Path) -> str:
    """The layer part a source file belongs to (app, pages, ui, lessons, nets, ...)."""
    rel = path.relative_to(ROOT).with_suffix("").parts
    if rel[0] != "bnviz":
        return rel[0]
    return rel[1] if len(rel) > 1 and rel[1] != "__init__" else "bnviz"


def bnviz_imports(path: Path) -> list[tuple[int, str]]:
    """(line, part) of every bnviz part a file imports, at any depth of the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "bnviz":  # from bnviz import runner
                names = [f"bnviz.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            bits = name.split(".")
            if bits[0] == "bnviz" and len(bits) > 1:
                out.append((node.lineno, bits[1]))
    return out


def violations(files: list[Path]) -> list[str]:
    """Every import that goes up or sideways in LAYERS, or names an unplaced part."""
    bad = []
    for path in files:
        me = part_of(path)
        for line, other in bnviz_imports(path):
            where = f"{path.relative_to(ROOT)}:{line} imports bnviz.{other}"
            if other not in TIER or me not in TIER:
                bad.append(f"{where}: place {other if other not in TIER else me} in LAYERS")
            elif other != me and TIER[other] >= TIER[me]:
                bad.append(f"{where}: {me} may not import {other}")
    return bad


def source_files() -> list[Path]:
    """Every Python file of the app (bench/ and tests/ may import anything)."""
    files = [p for p in (ROOT / "bnviz").rglob("*.py") if p.name != "__init__.py"]
    files += sorted((ROOT / "pages").glob("*.py"))
    return files + [p for p in [ROOT / "app.py"] if p.exists()]


def test_every_import_in_the_tree_follows_the_layers():
    files = source_files()
    assert len(files) > 20
    assert violations(files) == []


@pytest.mark.parametrize(
    ("where", "text", "expected"),
    [
        ("bnviz/nets.py", "from bnviz.train import Trainer\n", "nets may not import train"),
        ("bnviz/pool.py", "import bnviz.runner\n", "pool may not import runner"),
        ("bnviz/pool.py", "from bnviz import runs\n", "pool may not import runs"),  # sideways
        ("bnviz/runner.py", "from bnviz.shiny import x\n", "place shiny in LAYERS"),
        ("bnviz/lessons/x.py", "def f():\n    from bnviz.ui import common\n", "lessons may not"),
    ],
)
def test_the_checker_catches_an_offender(tmp_path, monkeypatch, where, text, expected):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    path = tmp_path / where
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    (found,) = violations([path])
    assert expected in found


def test_downward_imports_pass(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    path = tmp_path / "bnviz" / "runner.py"
    path.parent.mkdir(parents=True)
    path.write_text("from bnviz.pool import WorkerPool\nfrom bnviz import config, jobs\n")
    assert violations([path]) == []
