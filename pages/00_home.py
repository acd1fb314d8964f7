"""Home: what bnviz is, the lessons that exist, how to use it in class."""

from pathlib import Path

import streamlit as st

from bnviz.i18n import lesson_about, lesson_title, lessons_by_group
from bnviz.ui import common, page

ctx = common.begin("home")
page.house_style(ctx)
st.title(ctx.tr("home.title"))
common.show_notes(ctx)  # ?lang=xx: said here as on every page (audit 31)
st.write(ctx.tr("home.tagline"))

st.subheader(ctx.tr("home.lessons"))
for group, paths in lessons_by_group(Path(__file__).parent).items():  # as the top bar has them
    if group:
        st.markdown(f"**{ctx.tr(f'nav.section.{group}')}**")
    for path in paths:
        if (name := path.stem[3:]) == "home":
            continue
        st.page_link(f"pages/{path.name}", label=lesson_title(name, ctx.lang), icon="➡️")
        st.caption(lesson_about(name, ctx.lang))

st.subheader(ctx.tr("home.how"))
st.markdown(ctx.tr("home.how_text"))
counts, stored = common.scheduler().stats(), common.scheduler().stored_count()
now = ctx.tr(
    "home.server",
    running=counts.get("running", 0),
    queued=counts.get("queued", 0),
    paused=counts.get("paused", 0),
    ended=sum(counts.get(s, 0) for s in ("finished", "diverged", "error", "stopped")),
)
kept = ctx.tr("home.store_off") if stored is None else ctx.tr("home.stored", n=stored)
# the store's count outlives a restart, the memory's does not (audit 24: "0 kept" after one)
st.caption(now + ("" if ctx.lang == "zh" else " ") + kept)
common.finish(ctx)
