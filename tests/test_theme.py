"""The house chart rules of bnviz.figures.theme: log axes a projector can read."""

import ast
import re
from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from bnviz.figures.theme import tidy_log_axes

FIGURES = Path(__file__).resolve().parents[1] / "bnviz" / "figures"


def test_tidy_log_axes_labels_each_log_axis_from_the_data_drawn_on_it():
    fig = make_subplots(1, 3)
    fig.add_scatter(x=[1, 2, 5, 10, 40, 64], y=[0.4, 0.9, 0.96, 0.9, 0.95, 0.96], row=1, col=1)
    fig.add_scatter(x=[1, 2], y=[1e-8, 1e-1], row=1, col=2)
    fig.add_scatter(x=[1, 2], y=[3e-3, 2e-2], row=1, col=3)
    fig.update_xaxes(type="log", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_yaxes(type="log", matches="y2", row=1, col=3)  # shares panel 2's ticks
    tidy_log_axes(fig)
    lay = fig.layout
    assert lay.xaxis.tickvals == (1, 2, 5, 10, 20, 50, 100)  # 1-2-5 across under 2 decades
    assert lay.xaxis2.tickvals is None and lay.yaxis.tickvals is None  # linear axes untouched
    # 7 decades: every other power, as 10ⁿ outside 0.001-10 000, with a minus sign as plotly's
    assert lay.yaxis2.ticktext == ("10<sup>−8</sup>", "10<sup>−6</sup>", "10<sup>−4</sup>", "0.01")
    assert lay.yaxis3.tickvals == lay.yaxis2.tickvals


def test_tidy_log_axes_keeps_ticks_a_figure_chose():
    fig = go.Figure(go.Scatter(x=[2, 4, 8], y=[1, 2, 3]))
    fig.update_xaxes(type="log", tickvals=[2, 4, 8], ticktext=["2", "4", "8"])
    assert tidy_log_axes(fig).layout.xaxis.ticktext == ("2", "4", "8")


def test_every_server_drawn_log_axis_is_tidied():
    """A figure function that sets type="log" labels it: through tidy_log_axes or log_axis
    (plotly's own small "2" and "5" between decades read as values on a projector)."""
    untidy = []
    for path in sorted(FIGURES.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.parse(source).body:
            if not isinstance(node, ast.FunctionDef) or node.name in ("log_axis", "tidy_log_axes"):
                continue
            body = ast.get_source_segment(source, node)
            sets_log = re.search(r'type\s*=\s*"log"', body)
            if sets_log and "tidy_log_axes(" not in body and "log_axis(" not in body:
                untidy.append(f"{path.name}:{node.name}")
    assert not untidy, untidy
