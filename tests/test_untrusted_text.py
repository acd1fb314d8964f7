"""Nothing a user typed is rendered as HTML (or as markdown links, images or LaTeX)."""

import ast
import re
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from bnviz.ui.common import SHOWN_CHARS, plain
from tests.helpers import names_setting

ROOT = Path(__file__).resolve().parent.parent
OUR_CODE = [*ROOT.glob("pages/*.py"), *ROOT.glob("bnviz/**/*.py"), ROOT / "app.py"]
# path:line -> why it is safe. Empty: no raw HTML anywhere; a new entry needs a reason here.
ALLOWED_HTML: dict[str, str] = {
    "bnviz/ui/page.py:31": "assets/style.css, a static file of ours: no user text",
    "bnviz/ui/page.py:41": "assets/access.css, a static file of ours: no user text",
    "bnviz/ui/page.py:43": "assets/style_zh.css, a static file of ours: no user text",
}
PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")  # ASCII punctuation: markdown's syntax


def literal(shown: str) -> str:
    """What markdown displays for `shown`, asserting every punctuation mark is escaped."""
    out, i = [], 0
    while i < len(shown):
        if PUNCTUATION.fullmatch(shown[i]):
            assert shown[i] == "\\" and PUNCTUATION.fullmatch(shown[i + 1 : i + 2]), shown
            i += 1
        out.append(shown[i])
        i += 1
    return "".join(out)


def html_sinks(tree: ast.AST):
    """(line, what) of every call that can put raw HTML on a page."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("html", "iframe") or any(
            k.arg == "unsafe_allow_html"
            and not (isinstance(k.value, ast.Constant) and k.value.value is False)
            for k in node.keywords
        ):
            yield node.lineno, name


def test_no_raw_html_anywhere_in_the_app():
    found = {
        f"{path.relative_to(ROOT)}:{line}": name
        for path in OUR_CODE
        for line, name in html_sinks(ast.parse(path.read_text()))
    }
    assert found.keys() <= ALLOWED_HTML.keys(), f"raw HTML without a reason: {found}"


def test_the_sink_finder_finds_them():
    code = "st.markdown(x, unsafe_allow_html=True)\nst.html(x)\nst.markdown(x)\n"
    assert [line for line, _ in html_sinks(ast.parse(code))] == [1, 2]


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_plain_shows_text_literally(text):
    shown = plain(text)
    assert "\n" not in shown and "\r" not in shown
    cleaned = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", text)
    assert literal(shown) == (
        cleaned if len(cleaned) <= SHOWN_CHARS else cleaned[:SHOWN_CHARS] + "…"
    )


ATTACKS = {
    "depth": "<script>alert(1)</script>",
    "lr": "[log in here](http://evil.example)",
    "width": "![x](http://tracker.example/p.png)",
    "view": "<img src=x onerror=alert(1)>",
    "seed": "$\\href{http://evil.example}{x}$",
}


def test_url_values_show_escaped_in_the_notes():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/01_batchnorm_lab.py")
    for key, value in ATTACKS.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    notes = [line for i in at.warning for line in i.value.split("  \n")]  # one box, a line each
    for key, value in ATTACKS.items():
        note = next(n for n in notes if names_setting(n, key))
        quoted = note.split("“", 1)[1].split("”", 1)[0]  # the value as the note's markdown has it
        assert literal(quoted) == value  # every <, [, $ … escaped: shown as typed, never run
