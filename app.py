"""bnviz: the router. Every lesson is a file in pages/; titles follow the chosen language."""

from pathlib import Path

import streamlit as st

from bnviz.i18n import t
from bnviz.ui.common import language_switch, routed, scheduler

HERE = Path(__file__).resolve().parent
ICONS = {  # Material Symbols ship with Streamlit: no emoji font needed on the projector's machine
    "home": ":material/home:",
    "batchnorm_lab": ":material/science:",
    "standardization": ":material/straighten:",
    "initialization": ":material/casino:",
    "activations": ":material/show_chart:",
    "running_stats": ":material/monitoring:",
}

st.set_page_config(
    page_title="bnviz", page_icon=str(HERE / "assets" / "favicon.png"), layout="wide"
)
lang = language_switch()
scheduler()  # start the workers now, so they are warm when a lesson starts training


def lesson_pages() -> list:
    """A st.Page for each pages/NN_<name>.py that exists, titled in the current language."""
    out = []
    for path in sorted((HERE / "pages").glob("[0-9][0-9]_*.py")):
        name = path.stem[3:]
        out.append(
            st.Page(
                path, title=t(f"nav.{name}", lang), icon=ICONS.get(name), default=name == "home"
            )
        )
    return out


page = st.navigation(lesson_pages(), position="top")
with routed():
    page.run()
