"""Shared test set-up: one torch thread, the repo on sys.path, thread workers for AppTest."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Page tests run the app in this process; thread workers start instantly (the real server uses
# worker processes: tests/test_runner.py and the browser tests cover those).
os.environ.setdefault("BNVIZ_BACKEND", "thread")

import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository's top folder."""
    return ROOT


from tests.browser_support import browser, server  # noqa: E402, F401  (session-wide fixtures)
