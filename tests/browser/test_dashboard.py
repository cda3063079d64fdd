"""The dashboard in a real browser: login, the live jobs table, the job page's charts,
cancellation, workers and queues, and that users see only their own jobs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

import horn
from horn import keras
from horn.keras import layers
from horn.schemas import npy
from tests.browser.conftest import Account, DashboardStack

pytestmark = pytest.mark.integration
TIMEOUT_MS = 120_000


def _model() -> keras.Sequential:
    model = keras.Sequential([keras.Input((8,)), layers.Dense(16, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def _data(n: int = 512) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, (x[:, 0] + x[:, 1] > 0).astype("int64")


def _as(dash: DashboardStack, user: str) -> horn.Connection:
    """Make `user` the SDK's default connection."""
    return horn.connect(dash.url, api_key=dash.users[user].key)


@pytest.fixture()
def page_of(browser: Any, dash: DashboardStack) -> Iterator[Any]:
    """`page_of(user)`: a fresh browser context logged in as `user` (through the form)."""
    contexts = []

    def open_as(user: str) -> Any:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        _login(page, dash.url, dash.users[user])
        return page

    yield open_as
    for context in contexts:
        context.close()


def _login(page: Any, url: str, account: Account) -> None:
    page.goto(f"{url}/dashboard")
    assert "/dashboard/login" in page.url
    page.fill("#api_key", account.key)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard$"))
    assert page.locator("#viewer").get_attribute("data-user") == account.name


def _session_cookie(page: Any) -> dict[str, str]:
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return {"horn_session": cookies["horn_session"]}


def test_login_is_required_and_checks_the_key(browser: Any, dash: DashboardStack) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{dash.url}/dashboard/workers")
        assert "/dashboard/login" in page.url
        page.fill("#api_key", "horn_00000000_" + "x" * 43)
        page.click("button[type=submit]")
        assert "unknown, malformed or revoked" in page.locator(".alert").inner_text()
        assert not [c for c in context.cookies() if c["name"] == "horn_session"]
        page.fill("#api_key", dash.users["alice"].key)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/dashboard/workers$"))  # back where it started
        cookie = next(c for c in context.cookies() if c["name"] == "horn_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    finally:
        context.close()
    # The JSON behind the pages needs a session or a key, like the rest of /v1.
    response = httpx.get(f"{dash.url}/v1/dashboard/summary")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"
    with_key = httpx.get(f"{dash.url}/v1/dashboard/jobs", headers={
        "Authorization": f"Bearer {dash.users['alice'].key}"})
    assert with_key.status_code == 200


def test_jobs_table_follows_a_job_to_succeeded_without_reload(
        page_of: Any, dash: DashboardStack, screenshots: Path) -> None:
    page = page_of("alice")
    page.evaluate("window.__notReloaded = true")
    _as(dash, "alice")
    x, y = _data()
    job = _model().fit(x, y, epochs=4, batch_size=32, validation_split=0.25, wait=False,
                       verbose=0)
    row = page.locator(f"tr[data-job-id='{job.id}']")
    row.wait_for()  # appeared through polling
    page.locator(f"tr[data-job-id='{job.id}'][data-status='succeeded']").wait_for()
    assert page.evaluate("window.__notReloaded") is True
    history = job.wait(verbose=0)
    assert row.locator("td.owner").inner_text() == "alice"
    assert row.locator("td.kind").inner_text() == "fit"
    assert "epoch 4/4" in row.locator("td.progress").inner_text()
    assert float(row.locator("td.loss").inner_text()) == pytest.approx(
        history.history["loss"][-1], rel=1e-3)
    assert "accuracy" in row.locator("td.metric").inner_text()
    assert row.locator("td.queue").inner_text() == dash.queue
    page.screenshot(path=str(screenshots / "dashboard-jobs-one.png"), full_page=True)

    # Filtering by status is server-side and keeps the live updates.
    page.select_option("#filter-status", "failed")
    page.wait_for_url(re.compile(r".*status=failed"))
    assert page.locator(f"tr[data-job-id='{job.id}']").count() == 0
    page.goto(f"{dash.url}/dashboard?status=succeeded")
    assert page.locator(f"tr[data-job-id='{job.id}']").count() == 1


def test_job_page_charts_one_point_per_finished_epoch(
        page_of: Any, dash: DashboardStack, screenshots: Path) -> None:
    _as(dash, "alice")
    x, y = _data(1024)
    model = _model()
    job = model.fit(x, y, epochs=6, batch_size=16, validation_split=0.2, wait=False,
                    verbose=0)
    page = page_of("alice")
    page.goto(f"{dash.url}/dashboard/jobs/{job.id}")
    page.evaluate("window.__notReloaded = true")
    page.locator("#job[data-status='succeeded']").wait_for()
    assert page.evaluate("window.__notReloaded") is True
    history = job.wait(verbose=0).history

    loss = page.locator("figure.chart[data-metric='loss']")
    assert loss.get_attribute("data-points") == "6"
    assert loss.get_attribute("data-val-points") == "6"
    points = loss.locator("circle.point.train")
    assert points.count() == 6
    drawn = [float(points.nth(i).get_attribute("data-value")) for i in range(6)]
    assert drawn == pytest.approx(history["loss"], rel=1e-5)
    assert loss.locator("circle.point.val").count() == 6
    accuracy = page.locator("figure.chart[data-metric='accuracy']")
    assert accuracy.locator("circle.point.train").count() == 6
    assert page.locator("figure.chart[data-metric='val_loss']").count() == 0  # same chart

    assert "epoch 6/6" in page.locator("#job-progress-label").inner_text()
    layers_text = page.locator("#layers").inner_text()
    assert "Dense" in layers_text and "units=16" in layers_text
    # Keras's numbers for Input(8) -> Dense(16) -> Dense(2): 144 + 34 parameters.
    assert "(None, 16)" in layers_text and "(None, 2)" in layers_text
    assert "144" in layers_text and "34" in layers_text
    assert page.locator("#total-params").inner_text() == "178"
    assert '"epochs": 6' in page.locator("#fit-args").inner_text()
    assert "adam" in page.locator("#compile-args").inner_text().lower()
    attempts = page.locator("#attempts-body tr")
    assert attempts.count() == 1 and "succeeded" in attempts.first.inner_text()
    assert page.locator("#events-body tr").filter(has_text="epoch_end").count() == 6
    assert page.locator("#cancel-form").is_hidden()

    link = page.locator("#weights-link")
    assert link.is_visible()
    response = page.request.get(f"{dash.url}{link.get_attribute('href')}")
    assert response.status == 200 and response.body()[:2] == b"PK"  # an .npz (zip) file
    page.screenshot(path=str(screenshots / "dashboard-job.png"), full_page=True)

    # The trained model as a real `.keras` file: plain Keras opens it and predicts the
    # same numbers as the model's newest weights (the ones this job trained).
    keras_link = page.locator("#keras-link")
    assert keras_link.is_visible()
    response = page.request.get(f"{dash.url}{keras_link.get_attribute('href')}",
                                timeout=TIMEOUT_MS)
    assert response.status == 200
    path = screenshots / "trained.keras"
    path.write_bytes(response.body())
    real = pytest.importorskip("keras")
    loaded = real.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x[:20], verbose=0),
                               model.predict(x[:20], verbose=0), rtol=1e-5, atol=1e-6)


def test_predictions_inside_a_result_are_shown_by_size(page_of: Any,
                                                       dash: DashboardStack) -> None:
    _as(dash, "alice")
    x, _ = _data(20)
    job = _model().predict(x, verbose=0, wait=False)
    predictions = job.wait()
    page = page_of("alice")
    page.goto(f"{dash.url}/dashboard/jobs/{job.id}")
    page.locator("#job[data-status='succeeded']").wait_for()
    shown = page.locator("#result").inner_text()
    size = len(npy.to_npy_bytes(predictions))  # 20 x 2 float32 and the .npy header
    assert f"(inline .npy, {size} bytes)" in shown
    assert "base64" not in shown
    detail = page.request.get(f"{dash.url}/v1/dashboard/jobs/{job.id}")  # the page's JSON
    assert detail.status == 200 and "base64" not in detail.text()
    ends = [e for e in detail.json()["events"] if e["type"] == "job_end"]
    assert ends[0]["data"]["result"]["outputs"] == f"(inline .npy, {size} bytes)"


def test_cancel_asks_for_confirmation_and_checks_csrf(
        page_of: Any, dash: DashboardStack) -> None:
    _as(dash, "alice")
    x, y = _data(4096)
    job = _model().fit(x, y, epochs=500, batch_size=8, wait=False, verbose=0)
    page = page_of("alice")
    page.goto(f"{dash.url}/dashboard/jobs/{job.id}")

    # Without the form's CSRF token the session alone cancels nothing.
    forged = httpx.post(f"{dash.url}/dashboard/jobs/{job.id}/cancel",
                        cookies=_session_cookie(page), data={"csrf_token": "forged"})
    assert forged.status_code == 403
    assert job.status in ("queued", "running")

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("#cancel-button")
    assert job.status in ("queued", "running")  # dismissed: nothing happened

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-button")
    page.wait_for_url(re.compile(r".*notice=(cancelled|cancel_requested)"))
    page.locator("#job[data-status='cancelled']").wait_for()
    assert job.status == "cancelled"
    assert page.locator("#cancel-form").count() == 0 or page.locator("#cancel-form").is_hidden()


def test_users_see_only_their_own_jobs(page_of: Any, dash: DashboardStack) -> None:
    _as(dash, "alice")
    x, y = _data(64)
    alices = _model().fit(x, y, epochs=1, wait=False, verbose=0)
    alices.wait(verbose=0)
    _as(dash, "bob")
    bobs = _model().fit(x, y, epochs=1, wait=False, verbose=0)
    bobs.wait(verbose=0)

    bob = page_of("bob")
    bob.locator(f"tr[data-job-id='{bobs.id}']").wait_for()
    assert bob.locator(f"tr[data-job-id='{alices.id}']").count() == 0
    assert set(bob.locator("td.owner").all_inner_texts()) == {"bob"}
    bob.goto(f"{dash.url}/dashboard?owner=alice")  # a user cannot filter their way in
    assert bob.locator(f"tr[data-job-id='{alices.id}']").count() == 0
    response = bob.goto(f"{dash.url}/dashboard/jobs/{alices.id}")
    assert response.status == 404
    assert bob.request.get(f"{dash.url}/v1/dashboard/jobs/{alices.id}").status == 404
    assert bob.request.get(f"{dash.url}/dashboard/jobs/{alices.id}/weights.npz").status == 404

    root = page_of("root")  # an admin sees everyone's, and may filter by owner
    root.locator(f"tr[data-job-id='{alices.id}']").wait_for()
    assert root.locator(f"tr[data-job-id='{bobs.id}']").count() == 1
    root.goto(f"{dash.url}/dashboard?owner=bob")
    assert set(root.locator("td.owner").all_inner_texts()) == {"bob"}
    root.goto(f"{dash.url}/dashboard/jobs/{alices.id}")
    assert root.locator("#job").get_attribute("data-job-id") == alices.id


def test_workers_and_queues(page_of: Any, dash: DashboardStack, screenshots: Path) -> None:
    _as(dash, "alice")
    x, y = _data(4096)
    running = _model().fit(x, y, epochs=500, batch_size=8, wait=False, verbose=0)
    page = page_of("alice")
    try:
        page.goto(f"{dash.url}/dashboard/workers")
        worker = page.locator("#workers-body tr[data-state='busy']")
        worker.first.wait_for()  # live: the job starts after the page loaded
        assert running.id[:8] in worker.first.inner_text()
        assert dash.queue in worker.first.inner_text()
        assert f"{dash.queue}@" in worker.first.inner_text()  # Celery's node name
        queues = page.locator("#queues-body tr")
        assert dash.queue in queues.all_inner_texts()[0] or any(
            dash.queue in t for t in queues.all_inner_texts())
        assert int(page.locator("#t-succeeded-hour").inner_text()) >= 0
        page.screenshot(path=str(screenshots / "dashboard-workers.png"), full_page=True)
        page.goto(f"{dash.url}/dashboard")  # every job of this session, one running
        page.locator(f"tr[data-job-id='{running.id}'][data-status='running']").wait_for()
        page.screenshot(path=str(screenshots / "dashboard-jobs.png"), full_page=True)
    finally:
        running.cancel()

    summary = page.request.get(f"{dash.url}/v1/dashboard/summary").json()
    assert summary["celery_inspected"] is True
    assert any(dash.queue in w["queues"] for w in summary["workers"])
    assert {q["queue"] for q in summary["queues"]} >= {dash.queue, f"{dash.queue}.high"}


def test_bad_input_gives_error_pages_not_500(page_of: Any, dash: DashboardStack) -> None:
    page = page_of("alice")
    for path, status in (("/dashboard?page=abc", 400), ("/dashboard?page=0", 400),
                         ("/dashboard?page=99999", 404), ("/dashboard?status=nope", 400),
                         ("/dashboard/jobs/" + "f" * 32, 404), ("/dashboard/nowhere", 404),
                         ("/dashboard/jobs/%00%ff", 404)):
        response = page.goto(f"{dash.url}{path}")
        assert response.status == status, path
        assert page.locator("section.error").get_attribute("data-status") == str(status)
    for path, status in (("/v1/dashboard/jobs?page=0", 422), ("/v1/dashboard/jobs?page=x", 422),
                         ("/v1/dashboard/jobs?page=99999", 404),
                         ("/v1/dashboard/jobs?status=nope", 422),
                         ("/v1/dashboard/jobs/" + "f" * 32, 404),
                         ("/v1/dashboard/jobs/%00%ff", 404),
                         ("/v1/dashboard/jobs/" + "f" * 100, 422)):
        response = page.request.get(f"{dash.url}{path}")
        assert response.status == status, path
        assert "error" in response.json()
    root = page_of("root")
    assert root.goto(f"{dash.url}/dashboard?owner=%00%27").status == 200
    assert root.locator("#jobs").get_attribute("data-count") == "0"
    assert root.request.get(f"{dash.url}/v1/dashboard/jobs?owner=%00").json()["count"] == 0
