"""Real MNIST where a server has its files (DESIGN: "Real MNIST when the user has the standard
files locally, tested with small generated files"): the files are read as MNIST's own format,
a run samples them by its seed, the lab offers MNIST only where the files are, and a link to an
MNIST run on a server without them falls back with a note that says why."""

import gzip
import struct

import numpy as np
import pytest

from bnviz import datasets
from bnviz.config import RunConfig, specs
from bnviz.datasets import MNIST_ENV, MNIST_FILES, make_dataset, mnist_missing, read_idx
from bnviz.i18n import t
from bnviz.runner import train_sync
from tests.helpers import drop_every_run, full_speed, link_note, run_to_end, shown_runs
from tests.test_pages import page

LAB = "01_batchnorm_lab.py"
SIDE = 28


def write_idx(path, array: np.ndarray) -> None:
    """MNIST's format: zero, zero, 0x08 (unsigned bytes), the number of dimensions, each
    dimension as a big-endian uint32, then the bytes (gzipped when the name ends in .gz)."""
    array = np.ascontiguousarray(array, np.uint8)
    head = b"\0\0\x08" + bytes([array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with (gzip.open if str(path).endswith(".gz") else open)(path, "wb") as fh:
        fh.write(head + array.tobytes())


def fake_mnist(folder, n_train=300, n_test=100, gz=True, seed=0):
    """MNIST-shaped files: each class a bright 6x6 block at its own place over noise, so a
    network can learn them. Returns {split: (images, labels)} as written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, n in (("train", n_train), ("test", n_test)):
        y = rng.integers(0, 10, n)
        x = rng.integers(0, 60, (n, SIDE, SIDE))
        for i, c in enumerate(y):
            row, col = divmod(int(c), 5)
            x[i, 4 + 10 * row : 10 + 10 * row, 1 + 5 * col : 7 + 5 * col] += 190
        images, labels = MNIST_FILES[split]
        suffix = ".gz" if gz else ""
        write_idx(folder / f"{images}{suffix}", x)
        write_idx(folder / f"{labels}{suffix}", y)
        written[split] = (x.astype(np.uint8), y)
    return written


@pytest.fixture
def mnist(tmp_path, monkeypatch):
    """A server with MNIST's files (generated) in $BNVIZ_MNIST."""
    folder = tmp_path / "mnist"
    written = fake_mnist(folder)
    monkeypatch.setenv(MNIST_ENV, str(folder))
    yield written
    datasets._mnist.cache_clear()


@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    """A server without them: $BNVIZ_MNIST names an empty folder."""
    monkeypatch.setenv(MNIST_ENV, str(tmp_path))


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_read_back_as_written(tmp_path, gz):
    written = fake_mnist(tmp_path, n_train=20, n_test=5, gz=gz)
    images, labels = MNIST_FILES["train"]
    suffix = ".gz" if gz else ""
    assert np.array_equal(read_idx(tmp_path / f"{images}{suffix}"), written["train"][0])
    assert np.array_equal(read_idx(tmp_path / f"{labels}{suffix}"), written["train"][1])


def test_a_file_that_is_not_idx_says_so(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(b"<html>not found</html>")  # what a failed download leaves
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "short"
    write_idx(short, np.zeros((4, SIDE, SIDE)))
    short.write_bytes(short.read_bytes()[:-10])
    with pytest.raises(ValueError, match="bytes of data for dimensions"):
        read_idx(short)


def test_missing_files_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv(MNIST_ENV, str(tmp_path))
    assert len(mnist_missing()) == 4 and not datasets.available("mnist")
    fake_mnist(tmp_path, n_train=10, n_test=5)
    assert mnist_missing() == [] and datasets.available("mnist")
    assert datasets.available("moons")


def test_a_run_samples_both_files_by_its_seed(mnist):
    cfg = RunConfig(dataset="mnist", n_samples=200, test_fraction=0.25)
    d = make_dataset(cfg)
    assert d.n_classes == 10 and d.n_features == SIDE * SIDE == datasets.n_features("mnist")
    assert d.x_train.shape == (150, SIDE * SIDE) and d.x_test.shape == (50, SIDE * SIDE)
    raw = make_dataset(cfg.replace(standardize=False))
    assert raw.x_train.min() >= 0 and raw.x_train.max() <= 1  # pixels / 255
    for split, x, y in (("train", raw.x_train, raw.y_train), ("test", raw.x_test, raw.y_test)):
        images, labels = mnist[split]
        flat = images.reshape(len(images), -1)
        rows = {img.tobytes(): label for img, label in zip(flat, labels, strict=True)}
        pixels = np.rint(x * 255).astype(np.uint8)
        assert all(rows[p.tobytes()] == label for p, label in zip(pixels, y, strict=True)), split
        assert len({p.tobytes() for p in pixels}) == len(pixels)  # no example twice
    again = make_dataset(cfg)
    assert np.array_equal(again.x_train, d.x_train) and np.array_equal(again.y_test, d.y_test)
    other = make_dataset(cfg.replace(seed=1))
    assert not np.array_equal(other.y_train, d.y_train)


def test_noise_is_not_part_of_an_mnist_run(mnist):
    a, b = RunConfig(dataset="mnist"), RunConfig(dataset="mnist", noise=0.7)
    assert a.key() == b.key()
    assert RunConfig(dataset="mnist", n_samples=500).key() != a.key()


def test_a_network_learns_the_files(mnist):
    snap = train_sync(RunConfig(dataset="mnist", n_samples=300, steps=300, seed=3))
    assert snap.state == "finished"
    assert snap.evals["test_acc"][-1] > 0.8  # ten classes: chance is 0.1


def test_the_lab_offers_mnist_and_trains_the_pair_on_it(mnist):
    drop_every_run()
    at = page(LAB)
    (box,) = [s for s in at.selectbox if s.key == "lab.dataset"]
    assert "mnist" in box.options or t("options.mnist") in box.options
    box.set_value("mnist").run()
    assert not at.exception
    assert [n for n in at.number_input if n.key == "lab.n_samples"]  # how many: its own control
    runs = shown_runs("lab")
    assert {r.spec.dataset for r in runs.values()} == {"mnist"} and len(runs) == 2
    assert at.query_params["dataset"] == ["mnist"] or at.query_params["dataset"] == "mnist"
    full_speed(at, "lab")
    runs = run_to_end(at, "lab", ["plain", "bn"])
    for name, run in runs.items():  # trained on the files, both nets
        assert run.snapshot.state == "finished", (name, run.snapshot.state, run.snapshot.error)
        assert run.snapshot.evals["test_acc"][-1] > 0.5, name
    at.button_group(key="lab.view").set_value("boundary").run()
    assert t("lab.no_boundary", n=SIDE * SIDE) in [i.value for i in at.info]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_link_to_mnist_on_a_server_without_it_falls_back_and_says_why(no_mnist, lang):
    drop_every_run()
    at = page(LAB, dataset="mnist", lang=lang)
    assert not at.exception
    default = t("options.moons", lang)
    offered = tuple(d for d in specs(RunConfig)["dataset"].choices if d != "mnist")
    note = link_note("lab", "dataset", "mnist", default, lang, takes=offered)
    note += t("app.no_mnist", lang)
    assert note in [w.value for w in at.warning], [w.value for w in at.warning]
    assert {r.spec.dataset for r in shown_runs("lab").values()} == {"moons"}
    (box,) = [s for s in at.selectbox if s.key == "lab.dataset"]
    assert "mnist" not in box.options and t("options.mnist", lang) not in box.options


def test_a_run_on_a_file_not_in_mnist_s_format_ends_as_an_error_naming_it(mnist):
    folder = datasets.mnist_dir()
    images = MNIST_FILES["train"][0]
    (folder / f"{images}.gz").unlink()
    (folder / images).write_text("<html>503</html>")  # a download that went wrong
    snap = train_sync(RunConfig(dataset="mnist", steps=10))
    assert snap.state == "error" and images in snap.error and "not an IDX file" in snap.error
