"""Real MNIST in the browser: a teacher whose server has MNIST's files picks it in the lab's
sidebar and the class sees the pair train on it (a server of its own: $BNVIZ_MNIST names
generated files; the session's server has none)."""

import pytest

from bnviz.datasets import MNIST_ENV
from bnviz.i18n import t
from tests.browser_support import no_exception, open_page, settle, start_streamlit, stop_server
from tests.test_mnist import SIDE, fake_mnist

pytestmark = pytest.mark.browser


def test_a_teacher_picks_mnist_in_the_lab_and_the_pair_trains_on_it(tab, tmp_path):
    fake_mnist(tmp_path / "mnist")
    env = {MNIST_ENV: str(tmp_path / "mnist"), "BNVIZ_STORE": "off"}
    proc, url = start_streamlit("app.py", env=env)
    try:
        page = open_page(tab, url + "/batchnorm_lab?steps=300&view=boundary", 1280, 720)
        page.get_by_text(t("run.pace", seconds="30")).click()  # full speed: the end is the point
        settle(page)
        page.get_by_text(t("app.more_settings"), exact=True).click()
        page.get_by_role("combobox", name=t("fields.dataset")).click()
        page.get_by_role("option", name=t("options.mnist"), exact=True).click()
        page.wait_for_url("**dataset=mnist**", timeout=90_000)
        settle(page)
        # the boundary view says why it draws none: MNIST's images have 28 x 28 inputs
        page.get_by_text(t("lab.no_boundary", n=SIDE * SIDE)).wait_for(timeout=90_000)
        page.get_by_role("radio", name=t("lab.views.loss"), exact=True).click()
        done = f"{t('lab.run.plain')}: {t('run.state.finished')} · step 300 / 300"
        page.wait_for_function(  # both nets train to their last step on the files
            "done => [...document.querySelectorAll('.bnviz-live-status, [data-testid=stProgress]')]"
            ".flatMap(e => e.innerText.split('\\n')).some(line => line.startsWith(done))",
            arg=done,
            timeout=120_000,
        )
        link = page.locator('[data-testid="stCode"]').inner_text()
        assert "dataset=mnist" in link, link  # the share link names it
        no_exception(page)
    finally:
        stop_server(proc, 30)
