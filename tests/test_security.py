"""Security defaults: local-only server, XSRF on, no tracebacks, no uploads, no URL paths opened."""

import ast
import builtins
import io
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bnviz.i18n import I18N_DIR, lesson_text, strings

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted(p.name for p in (ROOT / "pages").glob("[0-9][0-9]_*.py"))
OUR_CODE = [*ROOT.glob("pages/*.py"), *ROOT.glob("bnviz/**/*.py"), ROOT / "app.py"]
EFFECTIVE = """
import json
from streamlit import config
config.get_config_options(force_reparse=True)
names = ["server.address", "server.enableXsrfProtection", "server.enableCORS",
         "client.showErrorDetails", "server.maxUploadSize", "server.maxMessageSize",
         "browser.gatherUsageStats", "server.enableStaticServing", "global.developmentMode"]
print(json.dumps({n: config.get_option(n) for n in names}))
"""


def test_effective_streamlit_config_is_safe(tmp_path):
    """What `streamlit run app.py` in the repo really uses (no user config, no STREAMLIT_* env)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMLIT_")}
    env["HOME"] = str(tmp_path)  # no ~/.streamlit/config.toml of whoever runs the tests
    out = subprocess.run(
        [sys.executable, "-c", EFFECTIVE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    opt = json.loads(out.stdout.strip().splitlines()[-1])
    assert opt["server.address"] == "127.0.0.1"  # this machine only unless told otherwise
    assert opt["server.enableXsrfProtection"] is True
    assert opt["server.enableCORS"] is True
    assert opt["client.showErrorDetails"] in ("none", "type")  # no tracebacks, no server paths
    assert opt["server.maxUploadSize"] <= 1
    assert opt["browser.gatherUsageStats"] is False
    assert opt["server.enableStaticServing"] is False
    assert opt["global.developmentMode"] is False


def test_config_file_states_the_defaults_explicitly():
    """Written down, not left to Streamlit's defaults (which a later version may change)."""
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["address"] == "127.0.0.1"
    assert cfg["server"]["maxUploadSize"] <= 1
    assert cfg["browser"]["gatherUsageStats"] is False
    assert cfg["client"]["showErrorDetails"] in ("none", "type")
    assert cfg["server"].get("enableXsrfProtection", True) is True
    assert cfg["server"].get("enableCORS", True) is True


def test_no_upload_widget_anywhere():
    upload = {"file_uploader", "camera_input", "audio_input", "data_editor"}
    for path in OUR_CODE:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute):
                assert node.attr not in upload, f"{path.name}:{node.lineno} {node.attr}"
            if isinstance(node, ast.keyword) and node.arg == "accept_file":  # st.chat_input
                pytest.fail(f"{path.name}:{node.lineno} accepts files")


FILE_CALLS = {"open", "Path", "read_text", "read_bytes", "load", "loadtxt", "glob", "listdir"}
URL_NAMES = {"query_params", "params"}


def test_no_url_value_reaches_a_file_call_in_the_source():
    """No open/Path/load/glob in pages or UI code takes an argument built from URL parameters."""
    for path in [*ROOT.glob("pages/*.py"), *ROOT.glob("bnviz/ui/*.py"), ROOT / "app.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in FILE_CALLS:
                continue
            used = {n.attr for a in node.args for n in ast.walk(a) if isinstance(n, ast.Attribute)}
            used |= {n.id for a in node.args for n in ast.walk(a) if isinstance(n, ast.Name)}
            assert not used & URL_NAMES, f"{path.name}:{node.lineno}"


def test_language_names_never_leave_the_assets_folder():
    for lang in ("../../../etc/passwd", "/etc/passwd", "zh/../../x", "..", "en\x00"):
        assert strings(lang) == strings("en")
        assert lesson_text("standardization", lang) == lesson_text("standardization", "en")
    assert I18N_DIR.is_dir()


TOKEN = "PWNEDPATH"
HOSTILE = {
    "lang": f"../../../../tmp/{TOKEN}",
    "dataset": f"/etc/{TOKEN}",
    "view": f"../{TOKEN}.md",
    "file": f"{TOKEN}.toml",
    "path": f"file:///{TOKEN}",
    "hide": f"../{TOKEN},lang",
    "store": f"/tmp/{TOKEN}.sqlite",
}


@pytest.mark.parametrize("name", PAGES)
def test_no_file_named_in_the_url_is_opened(name, monkeypatch):
    """Every page with path-like URL values: no file whose name holds the value is opened."""
    opened: list[str] = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)  # pathlib's read_text/open
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page(f"pages/{name}")
    for key, value in HOSTILE.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert opened, "the spy saw no file at all: it is not wired in"
    assert not [p for p in opened if TOKEN in p]
