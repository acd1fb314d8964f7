"""bnviz: the router. Every lesson is a file in pages/; titles follow the chosen language."""

from pathlib import Path

# pandas whole, before a figure is built: plotly asks whether pandas is loaded (sys.modules,
# without importing) while building every figure, and a script that did so while another thread
# was importing pandas got the half-made module and an AttributeError ("partially initialized
# module 'pandas' has no attribute 'Series'"). Imported here, a script waits for the import to
# finish. Once under `streamlit run` (this file as the module `app`), in AppTest at every run
# (this file as __main__: a test saw the error under load, with runs training in threads).
import pandas  # noqa: F401
import streamlit as st

from bnviz.i18n import lesson_icon, lesson_title, lessons_by_group, t
from bnviz.ui.common import ensure_router, language_switch, mark_language, scheduler

HERE = Path(__file__).resolve().parent
# Material Symbols ship with Streamlit: no emoji font needed on the projector's machine. A new
# lesson names its own icon (`icon = ":material/…:"` in assets/i18n/en/<lesson>.toml).
ICONS = {
    "home": ":material/home:",
    "batchnorm_lab": ":material/science:",
    "standardization": ":material/straighten:",
    "initialization": ":material/casino:",
    "activations": ":material/show_chart:",
    "running_stats": ":material/monitoring:",
}


def lesson_pages(lang: str) -> dict[str, list]:
    """A st.Page for each pages/NN_<name>.py that exists, titled in the current language,
    grouped by the lesson's section (Home first, ungrouped); groups in the order of their
    first page."""
    out: dict[str, list] = {}
    for group, paths in lessons_by_group(HERE / "pages").items():
        label = t(f"nav.section.{group}", lang) if group else ""
        for path in paths:
            name = path.stem[3:]
            title, icon = lesson_title(name, lang), lesson_icon(name, ICONS.get(name))
            home = name == "home"  # served at /; its own pathname (never shown) leaves the aliases'
            url = "root" if home else None
            page = st.Page(path, title=title, icon=icon, default=home, url_path=url)
            out.setdefault(label, []).append(page)
            if home:
                out[label] += [home_alias(path, title, alias) for alias in HOME_ALIASES]
    return out


HOME_ALIASES = ("home", "index")  # what people type for a site's first page


def home_alias(home: Path, title: str, alias: str):
    """`/home` or `/index`, typed by hand, shows the home page (it said "Page not found"; its
    share link names the root); hidden from the navigation."""
    return st.Page(home, title=title, url_path=alias, visibility="hidden")


def main() -> None:
    """The router Streamlit runs for every tab."""
    ensure_router()
    icon = str(HERE / "assets" / "favicon.png")
    st.set_page_config(page_title="bnviz", page_icon=icon, layout="wide")
    lang = language_switch()
    mark_language(lang)  # <html lang>, for screen readers (Streamlit's says "en")
    scheduler()  # start the workers now, so they are warm when a lesson starts training
    page = st.navigation(lesson_pages(lang), position="top")
    st.set_page_config(page_title=tab_title(page), page_icon=icon, layout="wide")
    page.run()


def tab_title(page) -> str:
    """The browser tab's title: the lesson's, so a student with several lessons open tells
    them apart (every tab said "bnviz"); the home page's is the app's name."""
    return "bnviz" if page.url_path == "" or page.url_path in HOME_ALIASES else page.title


# ---- live charts (issue 13): `streamlit run app.py` finds this st.App and serves it with
# uvicorn, which imports this file as the module `app` (adding the live-point routes);
# Streamlit then runs the same file as `__main__` for every tab.
if __name__ == "__main__":
    main()
else:
    from bnviz.ui._compat import leave_pages_directory_mode
    from bnviz.ui.live_routes import lifespan, routes

    # Before any tab connects: a server's first tabs would otherwise run in Streamlit's old
    # pages/ mode, where /index is no page ("Page not found" over the home page for the first
    # visitor after a restart); ensure_router() still covers AppTest and a server without st.App.
    leave_pages_directory_mode()

    app = st.App(__file__, routes=routes(), lifespan=lifespan)
