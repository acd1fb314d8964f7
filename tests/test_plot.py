"""bnviz/ui/plot.py without a browser: the bytes a steady chart is handed."""

import json

import plotly.graph_objects as go
import plotly.io as pio

from bnviz.ui import plot


def test_a_figure_is_serialized_once_and_as_plotly_would():
    fig = go.Figure(go.Scatter(y=[1.0, 2.0, 4.0]), layout={"height": 300, "title": {"text": "t"}})
    first = plot.spec(fig)
    assert plot.spec(fig) is first  # a shared (cached) figure: once for every tab
    assert json.loads(first) == json.loads(pio.to_json(fig, validate=False))
    other = go.Figure(go.Scatter(y=[1.0]))
    assert plot.spec(other) != first  # per figure object, not one global answer


def test_the_stored_template_is_streamlits_light_theme():
    template = plot.template()
    assert set(template) == {"data", "layout"}
    assert template["layout"]["paper_bgcolor"].upper() == "#FFFFFF"
    assert template["layout"]["colorway"][0] == "#0068c9"  # Streamlit's first chart color
