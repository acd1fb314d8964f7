"""Helpers for page tests: read plotly figures out of AppTest elements."""

from __future__ import annotations

import base64
import json
import re
import time

import numpy as np


def decode(value):
    """A plotly JSON array (plain list or typed {'dtype', 'bdata'}) as a numpy array."""
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if isinstance(shape, str):  # plotly writes "200, 200"
            shape = [int(n) for n in shape.split(",")]
        return arr.reshape(shape) if shape is not None else arr
    return np.asarray(value)


def figures(at) -> list[dict]:
    """Every plotly figure on the page as a dict."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def trace_lengths(fig: dict, axis: str = "x") -> list[int]:
    """Number of points per trace."""
    return [len(decode(tr[axis])) if axis in tr else 0 for tr in fig["data"]]


def rerun_until(at, predicate, timeout: float = 60.0, every: float = 0.5):
    """Rerun the page until predicate(at) holds (fragments are not auto-rerun by AppTest)."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        if predicate(at):
            return at
        if time.monotonic() > deadline:
            seen = [getattr(p, "text", None) or p.value for p in at.get("progress")]
            seen += [e.value for e in (*at.error, *at.warning, *at.exception)]
            raise AssertionError(f"condition not reached in time; the page shows {seen}")
        time.sleep(every)


def wait_for_runs(at, done, timeout: float = 60.0, rerun_every: float = 2.0):
    """Wait until done(at) holds, then rerun the page once. done reads the runs (the scheduler),
    not the page: between its reruns the page's elements are stale.

    The runs train in their own threads whether the page reruns or not; the page reruns every
    `rerun_every` s only to keep watching them, as a tab does (the scheduler pauses a run nobody
    polls for 20 s). Rerunning it twice a second instead cost as much CPU as the training.
    """
    deadline = time.monotonic() + timeout
    last = -rerun_every
    while not done(at):
        now = time.monotonic()
        if now > deadline:
            at.run()
            seen = [getattr(p, "text", None) or p.value for p in at.get("progress")]
            seen += [e.value for e in (*at.error, *at.warning, *at.exception)]
            raise AssertionError(f"condition not reached in time; the page shows {seen}")
        if now - last >= rerun_every:
            at.run()
            last = now
        time.sleep(0.1)
    return at.run()


def click(at, label: str):
    """Click the button with this label and rerun."""
    buttons = [b for b in at.button if b.label == label]
    assert buttons, f"no button {label!r}; have {[b.label for b in at.button]}"
    return buttons[0].click().run()


def leave_idle(at):
    """Pause the page's runs if they still train (a test's cleanup: leave the workers idle).

    Runs of the same settings may already have finished, by another test in this process or
    from the run store, and then Pause is disabled."""
    pause = next(b for b in at.button if (b.key or "").endswith(".run.pause"))  # any language
    return at if pause.disabled else pause.click().run()


def choose_preset(at, page_key: str, preset: str):
    """Click a preset's pill (what a teacher does) and rerun."""
    return at.button_group(key=f"{page_key}.preset").set_value(preset).run()


def setting(at, page_key: str, name: str):
    """A page's setting as the page holds it: its widget's value, or, when the view shown did
    not draw its widget, the page's kept copy (controls.release_undrawn)."""
    key = f"{page_key}.{name}"
    if key in at.session_state:
        return at.session_state[key]
    return at.session_state[f"{page_key}.__kept"][key]


def full_speed(at, page_key: str):
    """Turn classroom pace off (one click in the sidebar), so a test needn't wait 30 s a run."""
    return at.toggle(key=f"{page_key}.pace").set_value(False).run()


def shown_runs(page_key: str) -> dict:
    """The runs the page's tab watches right now, by slot name ("plain", "bn", …)."""
    from bnviz.ui.common import scheduler

    sched = scheduler()
    with sched._lock:
        slots = dict(sched.slots)
        return {
            slot.split(".", 1)[1]: sched.runs[run_id]
            for (_, slot), run_id in slots.items()
            if slot.startswith(page_key + ".") and run_id in sched.runs
        }


def drop_every_run() -> None:
    """Forget every run of this process's scheduler: the next page starts its own, as on a
    fresh server (a shared run another test left, e.g. paused at step 0, is not adopted)."""
    from bnviz.ui.common import scheduler

    sched = scheduler()
    with sched._lock:
        for run in list(sched.runs.values()):
            sched._drop(run)


def run_to_end(at, page_key: str, names, timeout: float = 300) -> dict:
    """Rerun the page until its runs `names` have all ended; the runs it shows then."""

    def ended(_) -> bool:
        runs = shown_runs(page_key)
        return set(names) <= set(runs) and all(runs[n].snapshot.done for n in names)

    wait_for_runs(at, ended, timeout=timeout)
    at.run()
    return shown_runs(page_key)


def link_note(
    page: str, name: str, text: str, default: object, lang: str = "en", unused: bool = False,
    allowed: tuple | None = None, takes: tuple = (),
) -> str:  # fmt: skip
    """A note on a link's unusable value as `page` (its context's name) says it: the setting
    named as common.setting_name names it ("Hidden layers (depth)"; its exact words are
    checked by test_a_note_on_a_link_value_names_its_control_and_what_it_takes), with
    `allowed` = (lo, hi) the range said after it, with `takes` the values it takes, each by
    its control's label ("It takes Sigmoid, tanh, … or Maxout")."""
    from bnviz.i18n import cjk_spacing, listed, t
    from bnviz.ui.common import PageContext, option_label, setting_name

    ctx = PageContext(name=page, lang=lang, params={}, hidden=set())
    key = "app.url_note_unused" if unused else "app.url_note"
    said = t(key, lang, name=setting_name(ctx, name), text=text, default=default)
    if takes:
        *first, last = (option_label(ctx, name, c) for c in takes)
        choices = t("app.url_choices", lang, first=listed(first, lang), last=last)
        said += cjk_spacing(choices) if lang == "zh" else choices
    return said + (t("app.url_allowed", lang, lo=allowed[0], hi=allowed[1]) if allowed else "")


def names_setting(note: str, key: str) -> bool:
    """Whether a note on a link's value names the setting `key`: "“Hidden layers (depth)”",
    "“隐藏层数（depth）”", or "“Steps”" where the label is the key (common.setting_name)."""
    inside = (
        f"; {key})”" in note or f"；{key}）”" in note
    )  # "“Weight decay (check 4; weight_decay)”"
    return (
        f"({key})”" in note
        or f"（{key}）”" in note
        or inside
        or f"“{key}”".casefold() in note.casefold()
    )


def named_runs(line: str) -> list[str]:
    """The run labels one status line names, in order: "a: training · step 3 / 9 | b: …", or
    grouped, "training · step … / 600 — a: 32 | b: 31" and "finished · step 600 / 600 — a | b"
    (bnviz/ui/live.py group_status)."""
    body = line.split(" — ", 1)[1] if " — " in line else line
    return [re.split(r": |：", item, maxsplit=1)[0] for item in body.split(" | ")]
