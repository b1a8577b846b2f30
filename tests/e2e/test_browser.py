"""End-to-end: the web app in Chromium against the real server (issue 5).

Recognise (file input, a synthetic drop, drawing), Train (a 1-epoch job on 500
images, live progress, then the run in Runs), Runs (overlaid curves, a run's
plots and log), tuning studies in Runs (issue 6), Models, language switch, 360 px layout and the offline shell.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from e2e.pad import draw_one
from synthetic import MNIST_DIR, load_mnist_test
from tiny_search import tiny_search
from tiny_study import tiny_study

pytestmark = pytest.mark.slow
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def digit_png(tmp_path_factory):
    """An MNIST test digit (a 7) as dark ink on white paper, 4x enlarged."""
    images, _ = load_mnist_test(1)
    path = tmp_path_factory.mktemp("pictures") / "seven.png"
    Image.fromarray(255 - np.kron(images[0], np.ones((4, 4), np.uint8))).save(path)
    return path


@pytest.fixture(scope="module")
def two_png(tmp_path_factory) -> tuple[Path, str]:
    """MNIST test digit 1 (labelled 2; the shipped model reads it) as a picture like ``digit_png``, and its label."""
    from digitlab.data.idx import read_idx

    image = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz")[1]
    label = int(read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")[1])
    path = tmp_path_factory.mktemp("pictures") / f"mnist-{label}.png"
    Image.fromarray(255 - np.kron(image, np.ones((4, 4), np.uint8))).save(path)
    return path, str(label)


@pytest.fixture
def shipped_model(page, server):
    """Recognise reads with the shipped model during the test (the 1-epoch test model may misread or refuse a digit)."""
    from digitlab.recognize.predictor import DEFAULT_MODEL

    assert page.request.put("/api/models/current", data={"ref": str(DEFAULT_MODEL)}).ok
    yield
    assert page.request.put("/api/models/current", data={"ref": server.run}).ok


def shown_digit(page, root: str) -> str:
    """The first digit read in the answer under ``root``, as shown ("7", or "not a digit")."""
    check_answer_shown(page, root)
    return page.locator(f"{root} .answer .digit .verdict .label").first.inner_text().strip()


def check_answer_shown(page, root: str) -> None:
    """An answer with a read text, 10 probability bars and the 28x28 picture is on screen under ``root``."""
    answer = page.locator(f"{root} .answer").first
    answer.wait_for(timeout=TIMEOUT_MS)
    assert answer.locator("[data-testid=answer-text]").inner_text().strip()
    assert answer.locator(".bars li").count() == 10
    assert answer.locator("canvas.seen").count() == 1


def test_choose_a_file(page, digit_png, shipped_model):
    page.set_input_files("#file-input", str(digit_png))
    assert shown_digit(page, "#answers") == "7"
    assert page.locator("#answers .answer [data-testid=answer-text]").inner_text() == "“7”"
    assert page.locator("#answers .answer .source").inner_text() == "seven.png"


def test_drop_a_file(page, two_png, shipped_model):
    path, label = two_png
    data = base64.b64encode(path.read_bytes()).decode()
    transfer = page.evaluate_handle(
        """([b64, name]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, { type: 'image/png' }));
        return dt;
    }""",
        [data, "dropped.png"],
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    assert shown_digit(page, "#answers") == label
    assert page.locator("#answers .answer .source").inner_text() == "dropped.png"


def test_draw_a_digit(page, digit_png, shipped_model, shot):
    draw_one(page)
    assert shown_digit(page, "#pad-answer") == "1"
    page.click("#pad-undo")
    page.locator("#pad-answer .answer").wait_for(state="detached", timeout=TIMEOUT_MS)  # empty pad: the hint again
    draw_one(page)
    check_answer_shown(page, "#pad-answer")
    page.set_input_files("#file-input", str(digit_png))
    check_answer_shown(page, "#answers")
    shot(page, "recognise")


@pytest.fixture(scope="module")
def scene_jpg(tmp_path_factory) -> Path:
    """A frame and a pole on a shaded, textured background (tests/scenes.py): its pole alone reads as a "1"."""
    import scenes
    from synthetic import encode

    path = tmp_path_factory.mktemp("pictures") / "scene.jpg"
    path.write_bytes(encode(scenes.rectangle_and_pole(np.random.default_rng(37)), "JPEG", quality=85))
    return path


def answer_of(page, name: str):
    """The answer card of the picture called ``name`` under #answers, once shown."""
    card = page.locator("#answers .answer", has=page.locator(".source", has_text=name))
    card.wait_for(timeout=TIMEOUT_MS)
    return card


def test_verdict_and_reasons_are_said_in_chinese(page, scene_jpg, shipped_model, tmp_path, shot):
    """Issue 11: the whole picture's verdict and every refusal are translated (it used to read "原因: no ink found")."""
    page.select_option("#lang", "zh")
    page.set_input_files("#file-input", str(scene_jpg))
    card = answer_of(page, "scene.jpg")
    assert card.locator("[data-testid=verdict-kind]").inner_text() == "不是数字"
    assert "原因：这是一张场景照片，不是写在平整表面上的字" in card.locator("[data-testid=verdict-reason]").inner_text()
    assert card.locator("[data-testid=answer-text]").inner_text() == "未识别到数字"  # no "1" in the answer
    assert card.locator("[data-testid=set-apart]").first.inner_text() == "不计入：见对整张图片的判断"  # the pole's "1" is not counted
    shot(page, "verdict-zh")
    blank = tmp_path / "blank.png"
    Image.new("L", (200, 200), 255).save(blank)
    page.set_input_files("#file-input", str(blank))
    text = answer_of(page, "blank.png").inner_text()
    assert "原因：没有找到笔迹" in text and "no ink found" not in text
    page.select_option("#lang", "en")  # the answers on screen are said again in English
    assert "Reason: no ink found" in answer_of(page, "blank.png").inner_text()


def test_train_form_checks_values_in_the_browser_and_on_the_server(page):
    jobs_before = len(page.request.get("/api/jobs").json())
    page.click("[data-tab=train]")
    page.locator("#p-epochs").wait_for()
    page.fill("#p-epochs", "0")
    page.click("#train-start")
    assert "at least 1" in page.locator("[data-param=epochs] .field-error").inner_text()
    assert page.locator("#p-epochs").get_attribute("aria-invalid") == "true"
    page.fill("#p-epochs", "1")
    page.fill("#p-model_kwargs", '{"no_such_argument": 1}')  # a JSON object passes the browser; the server knows the arguments
    page.click("#train-start")
    message = page.locator("#train-message .error")
    message.wait_for(timeout=TIMEOUT_MS)
    assert "no_such_argument" in message.inner_text()
    assert len(page.request.get("/api/jobs").json()) == jobs_before  # nothing was queued


def test_train_form_says_meanings_and_model_families_in_chinese(page, shot):
    """Issue 17: after switching to 中文 the Train form gives each parameter's meaning in Chinese, and the model is chosen
    from the registered families, each with its Chinese one-line description and its parameter count."""
    from digitlab.models import count_params, create_model, list_models

    page.click("[data-tab=train]")
    page.locator("#p-epochs").wait_for()
    assert page.locator("[data-param=lr] .help").inner_text().startswith("Peak learning rate")
    page.select_option("#p-model", "fast")
    page.fill("#p-epochs", "3")
    page.select_option("#lang", "zh")  # the loaded form is said again in Chinese, keeping what was chosen
    assert page.locator("[data-param=lr] .help").inner_text().startswith("峰值学习率")
    assert "单位: 轮" in page.locator("[data-param=epochs] .help").inner_text()
    assert page.locator("#p-model option").evaluate_all("(os) => os.map((o) => o.value)") == list_models()
    fast = page.locator("#p-model option[value=fast]").text_content() or ""
    assert "速通网络" in fast and f"{count_params(create_model('fast')):,} 个参数" in fast, fast
    assert page.locator("#p-model").input_value() == "fast" and page.locator("#p-epochs").input_value() == "3"
    shot(page, "train-zh")
    page.select_option("#lang", "en")
    assert page.locator("[data-param=lr] .help").inner_text().startswith("Peak learning rate")
    assert "Speed-run net" in (page.locator("#p-model option[value=fast]").text_content() or "")


def test_train_a_tiny_model_and_find_it_in_runs(page, server, shot):
    page.click("[data-tab=train]")
    page.locator("#p-epochs").wait_for()
    page.select_option("#p-model", "fast")
    for name, value in {"epochs": "1", "train_subset": "500", "val_size": "500", "threads": "1"}.items():
        page.fill(f"#p-{name}", value)
    page.click("#train-start")
    finished = page.locator("#train-progress [data-testid=job-status]", has_text=re.compile("completed|failed|cancelled"))
    finished.wait_for(timeout=300_000)
    assert finished.inner_text() == "completed", page.locator("#train-progress").inner_text()
    run = page.locator("#train-progress [data-testid=job-run]").inner_text()
    assert run and run != server.run
    assert page.locator("#train-queue tbody tr").count() >= 1
    shot(page, "train")
    page.click("[data-tab=runs]")
    page.locator(f"#runs-table tr[data-run='{run}']").wait_for(timeout=TIMEOUT_MS)
    assert "completed" in page.locator(f"#runs-table tr[data-run='{run}'] .c-status").inner_text()


def test_runs_table_compare_and_open(page, server, shot):
    page.click("[data-tab=runs]")
    rows = page.locator("#runs-table tbody tr[data-run]")
    rows.first.wait_for(timeout=TIMEOUT_MS)
    page.fill("#runs-filter", "no-such-run")
    assert rows.count() == 0
    page.fill("#runs-filter", "fast")
    for i in range(rows.count()):
        rows.nth(i).locator("input[type=checkbox]").check()
    page.click("#runs-compare")
    page.locator("[data-testid=chart-loss] canvas").wait_for(timeout=TIMEOUT_MS)
    page.locator("[data-testid=chart-acc] canvas").wait_for(timeout=TIMEOUT_MS)
    page.click("#runs-table th button.sort >> text=Test acc.")  # sortable
    assert page.locator("#runs-table th[aria-sort=ascending]").count() == 1
    page.click(f"#runs-table tr[data-run='{server.run}'] button.link")
    page.locator("#run-detail img[alt='Confusion matrix (test)']").wait_for(timeout=TIMEOUT_MS)
    for img in page.locator("#run-detail img").all():
        img.scroll_into_view_if_needed()
        page.wait_for_timeout(100)
        assert img.evaluate("(i) => i.decode().then(() => i.naturalWidth)") > 0
    assert "epoch 1" in page.locator("#run-detail pre.log").text_content()
    shot(page, "runs")


def test_accuracy_axis_fits_its_labels(page):
    """Curves near 100 %: the y axis is as wide as "100.0%" needs (uPlot's fixed 50 px showed "00.0%")."""
    room = page.evaluate("""async () => {
        const { curveChart } = await import('/static/js/charts.js');
        const el = document.createElement('div');
        el.style.width = '600px';
        document.body.append(el);
        const epochs = [1, 2, 3].map((epoch) => ({ epoch, train_acc: 0.6 + 0.13 * epoch, val_acc: 0.97 + 0.01 * epoch, test_acc: 0.99 }));
        const u = await curveChart(el, [{ name: 'real', epochs }], 'acc', 'acc');
        const axis = u.axes[1];
        const ctx = document.createElement('canvas').getContext('2d');
        ctx.font = axis.font[0];
        const text = ctx.measureText('100.0%').width / devicePixelRatio;
        return el.querySelectorAll('.u-axis')[1].getBoundingClientRect().width - (axis.ticks.size + axis.gap + text);
    }""")
    assert room >= 0, f"the y axis is {-room:.1f} px too narrow for its labels"


class Killed(Exception):
    """Stops a run in its first epoch, as a crash or a kill would."""


def record_failed_run(runs) -> str:
    """A tiny recorded run that fails in its first epoch: it has no training time, accuracy or loss."""
    from digitlab.config import make_config
    from digitlab.errors import DigitlabError
    from digitlab.runner import run_training

    def stop(metrics: dict) -> None:
        raise Killed("stopped in the first epoch")

    cfg = make_config({"model": "mlp", "name": "crashed", "threads": 1, "epochs": 1, "train_subset": 500, "val_size": 500})
    with pytest.raises((Killed, DigitlabError)):
        run_training(cfg, runs_dir=runs, hooks=[stop])
    return "crashed"


def test_runs_table_lists_a_failed_run(page, server):
    failed = record_failed_run(server.runs)
    page.click("[data-tab=runs]")
    row = page.locator(f"#runs-table tr[data-run='{failed}']")
    row.wait_for(timeout=TIMEOUT_MS)  # one run without figures used to empty the whole table
    assert row.locator(".c-status").inner_text() == "failed"
    for column in ("train_seconds", "best_val_acc", "test_acc"):
        assert row.locator(f".c-{column}").inner_text() == "", column
    assert page.locator(f"#runs-table tr[data-run='{server.run}'] .c-train_seconds").inner_text().endswith(" s")
    assert "toFixed" not in page.locator("#runs-count").inner_text()


def test_a_run_whose_trainer_died_shows_as_killed_in_both_languages(page, server):
    """Recorded as running, its folder lock free on this machine (the trainer was SIGKILLed): shown as killed."""
    from digitlab.config import make_config
    from digitlab.evidence import host
    from digitlab.store import RunStore

    folder = server.runs / "sigkilled"
    folder.mkdir()
    (folder / ".lock").touch()  # left by the dead trainer; nobody holds it
    store = RunStore(runs_dir=server.runs)
    store.beat(store.create_run("sigkilled", make_config({"model": "fast"}), str(folder), {"host": host()}), pid=999_999)
    page.click("[data-tab=runs]")
    status = page.locator("#runs-table tr[data-run='sigkilled'] .c-status")
    status.wait_for(timeout=TIMEOUT_MS)
    assert status.inner_text() == "killed (resume it)"
    page.select_option("#lang", "zh")
    assert status.inner_text() == "已被终止（可继续训练）"
    page.select_option("#lang", "en")


def test_run_page_shows_the_doctor_in_both_languages(page, server, shot):
    """Issue 17: a run whose loss rose back to ln 10 opens with the doctor's findings, said again in Chinese."""
    from sick_runs import DIVERGED, record_run

    record_run(server.runs, "sick-lr", DIVERGED, lr=0.4)
    page.click("[data-tab=runs]")
    page.locator("#runs-table tr[data-run='sick-lr'] button.link").click()
    doctor = page.locator("[data-testid=run-doctor]")
    first = doctor.locator("li.finding").first
    first.wait_for(timeout=TIMEOUT_MS)
    codes = [f.get_attribute("data-code") for f in doctor.locator("li.finding").all()]
    assert codes[0] == "diverged" and "lr_too_high" in codes and len(codes) == 3  # + not_learning
    assert "Run doctor" in doctor.inner_text() and "rose far above its lowest" in first.inner_text()
    assert "lower lr to ~0.04" in first.inner_text()
    shot(page, "doctor-en")
    page.select_option("#lang", "zh")
    assert "训练诊断" in doctor.inner_text() and "训练损失升到远高于其最低值" in first.inner_text()
    assert "问题" in first.locator(".badge").inner_text()
    shot(page, "doctor-zh")
    page.select_option("#lang", "en")
    assert "rose far above its lowest" in first.inner_text()
    page.locator(f"#runs-table tr[data-run='{server.run}'] button.link").click()  # the tiny test run: few steps
    doctor.locator("li.finding[data-code=too_few_steps]").wait_for(timeout=TIMEOUT_MS)


def test_runs_tab_shows_a_tuning_study(page, server, shot):
    tiny_study(server.runs, "tiny")
    page.click("[data-tab=runs]")
    row = page.locator("#studies-table tr[data-study='tiny']")
    row.wait_for(timeout=TIMEOUT_MS)
    assert row.locator("td").nth(2).inner_text() == "3"  # trials
    row.locator("button.link").click()
    page.locator("#study-detail img[alt='Optimisation history']").wait_for(timeout=TIMEOUT_MS)
    for img in page.locator("#study-detail img").all():
        img.scroll_into_view_if_needed()
        page.wait_for_timeout(100)
        assert img.evaluate("(i) => i.decode().then(() => i.naturalWidth)") > 0
    detail = page.locator("#study-detail")
    assert "Fewest trainings" in detail.inner_text() and "lr" in detail.locator("dl").first.inner_text()
    shot(page, "studies")
    page.select_option("#lang", "zh")
    page.locator("#study-detail >> text=最佳参数").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#studies h2").inner_text() == "调参研究"
    page.select_option("#lang", "en")


def test_runs_tab_shows_a_structure_search(page, server, shot):
    tiny_search(server.runs, "tiny-nas")
    page.click("[data-tab=runs]")
    row = page.locator("#searches-table tr[data-search='tiny-nas']")
    row.wait_for(timeout=TIMEOUT_MS)
    assert row.locator("td").nth(2).inner_text() == "3"  # children
    row.locator("button.link").click()
    detail = page.locator("#search-detail")
    detail.locator("[data-testid=search-curve] canvas").wait_for(timeout=TIMEOUT_MS)
    diagrams = detail.locator("[data-testid=structure]")
    assert diagrams.count() >= 1 and "picture 28×28" in diagrams.first.inner_text()
    assert "Learning curve" in detail.inner_text() and "random search" in detail.inner_text()
    shot(page, "searches")
    page.select_option("#lang", "zh")
    page.locator("#search-detail >> text=最佳结构").wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#searches h2").inner_text() == "结构搜索"
    page.select_option("#lang", "en")


def test_models_tab_switches_the_recognise_model(page, server, shot):
    page.click("[data-tab=models]")
    page.locator("#models-promoted table").wait_for(timeout=TIMEOUT_MS)
    assert server.run in page.locator("[data-testid=current-model]").inner_text()
    page.click("#models-promoted button.primary")  # "Use" gen1:v1
    page.locator("#models-message >> text=gen1:v1").wait_for(timeout=TIMEOUT_MS)
    page.locator("[data-testid=current-model] >> text=gen1:v1").wait_for(timeout=TIMEOUT_MS)
    assert page.request.get("/api/info").json()["model"]["ref"] == "gen1:v1"
    shot(page, "models")


def test_language_switch(page):
    assert page.locator("[data-tab=recognise]").inner_text() == "Recognise"
    page.select_option("#lang", "zh")
    assert page.locator("[data-tab=recognise]").inner_text() == "识别"
    assert page.locator("[data-tab=train]").inner_text() == "训练"
    assert page.evaluate("document.documentElement.lang") == "zh-Hans"
    page.reload()
    assert page.locator("[data-tab=recognise]").inner_text() == "识别"  # the choice is remembered
    page.select_option("#lang", "en")


def test_language_defaults_to_the_browser_language(browser, server):
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(server.url)
        page.locator("#tab-recognise h2").first.wait_for()
        assert page.locator("[data-tab=models]").inner_text() == "模型"
        assert page.locator("#dropzone p").inner_text().startswith("把图片拖到这里")
    finally:
        context.close()


def test_phone_width_has_no_horizontal_scroll(browser, server, digit_png, shot):
    context = browser.new_context(locale="en-US", viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(server.url)
        for tab in ("runs", "train", "models", "recognise"):
            page.click(f"[data-tab={tab}]")
            page.wait_for_timeout(300)
            assert page.evaluate("document.scrollingElement.scrollWidth") <= 360, tab
        page.set_input_files("#file-input", str(digit_png))
        check_answer_shown(page, "#answers")
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
        shot(page, "mobile")
    finally:
        context.close()


def test_the_shell_opens_offline(browser, server):
    context = browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        page.goto(server.url)
        assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        context.set_offline(True)
        page.reload()
        assert page.locator("[data-tab=runs]").inner_text() == "Runs"
        page.locator("#offline").wait_for(timeout=TIMEOUT_MS)
        page.locator("#pad").wait_for()
    finally:
        context.close()


def test_first_load_is_small(browser, server):
    context = browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        requests = []
        page.on("requestfinished", lambda r: requests.append(r))
        page.goto(server.url, wait_until="networkidle")
        total = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"] for r in requests)
        assert 0 < total <= 500_000, total
    finally:
        context.close()


def test_generate_tab_draws_downloads_and_replays_the_epochs(page, server, shot):
    """Issue 14: a tiny generator (2 epochs), a grid of sevens with its time and download, a walk, the epochs' grids."""
    from digitlab.config import make_gen_config
    from digitlab.gen_runner import run_generator
    from digitlab.store import RunStore

    tiny = {
        "name": "gan-e2e", "model": "cdcgan", "model_kwargs": {"width": 8, "latent_dim": 16}, "epochs": 2, "batch_size": 64,
        "train_subset": 256, "val_size": 300, "eval_samples": 100, "final_samples": 100, "threads": 1,
    }  # fmt: skip
    run_generator(
        make_gen_config(tiny), runs_dir=server.runs, store=RunStore(runs_dir=server.runs), models_dir=server.runs.parent / "models"
    )
    page.click("[data-tab=generate]")
    page.locator("#gen-run option[value='gan-e2e']").wait_for(state="attached", timeout=TIMEOUT_MS)
    page.select_option("#gen-run", "gan-e2e")
    page.select_option("#gen-digit", "7")
    page.fill("#gen-n", "8")
    page.click("#gen-go")
    grid = page.locator("#gen-result img.gen-grid")
    grid.wait_for(timeout=TIMEOUT_MS)
    assert grid.evaluate("(i) => i.decode().then(() => i.naturalWidth)") == (8 * 30 + 2) * 4  # a row of 8 sevens, 4x larger
    assert page.locator("[data-testid=gen-took]").inner_text().startswith("8 digits sampled in")
    with page.expect_download() as download:
        page.click("[data-testid=gen-download]")
    assert download.value.suggested_filename == "digitlab-7s.png"
    page.check("#gen-walk")
    page.select_option("#gen-from", "1")
    page.select_option("#gen-to", "9")
    page.click("#gen-go")
    page.locator("[data-testid=gen-download] >> text=digitlab-1-to-9.png").wait_for(timeout=TIMEOUT_MS)
    caption = page.locator("[data-testid=gen-epoch-caption]")
    assert caption.inner_text().startswith("Epoch 2 of 2: Fréchet distance")
    page.locator("#gen-run-detail input[type=range]").fill("1")
    assert caption.inner_text().startswith("Epoch 1 of 2: Fréchet distance")
    assert page.locator("#gen-run-detail img.gen-epoch").evaluate("(i) => i.decode().then(() => i.naturalWidth)") > 0
    shot(page, "generate")
    page.select_option("#lang", "zh")
    assert page.locator("[data-tab=generate]").inner_text() == "生成"
    assert caption.inner_text().startswith("第 2 轮（共 2 轮）")
    page.select_option("#lang", "en")
