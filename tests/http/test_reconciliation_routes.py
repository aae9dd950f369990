"""The reconciliation over HTTP: the latest report at once, a run started by an administrator."""

from tests.conftest import ADMIN_LOGIN, Api


def test_the_latest_report_is_not_found_before_a_first_run_then_is_each_runs(api: Api, admin_token: str) -> None:
    before = api.get("/ledger/reconciliation", admin_token)
    assert before.status_code == 404
    assert before.json()["code"] == "NOT_FOUND"

    started = api.post("/ledger/reconciliation/run", None, admin_token)
    assert started.status_code == 202
    assert started.json()["status"] == "STARTED"
    first = api.get("/ledger/reconciliation", admin_token).json()
    assert (first["trigger"], first["requestedBy"], first["clean"]) == ("REQUEST", ADMIN_LOGIN, True)
    assert first["finishedAt"] >= first["startedAt"]

    assert api.post("/ledger/reconciliation/run", None, admin_token).status_code == 202
    second = api.get("/ledger/reconciliation", admin_token).json()
    assert second["reportId"] != first["reportId"]
    assert second["startedAt"] >= first["finishedAt"]
