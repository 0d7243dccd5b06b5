"""``registry bench api``'s pieces that need no server: the wrk script, and no slow client."""

from __future__ import annotations

import uuid

import pytest

from cli.bench import api


def test_the_wrk_script_cycles_through_the_paths_with_the_headers() -> None:
    script = api.wrk_script(["/a", '/b"c'], {"Authorization": "Bearer t"})
    assert 'local paths = {"/a", "/b\\"c"}' in script
    assert 'local headers = {["Authorization"] = "Bearer t"}' in script
    assert "latency:percentile(99)" in script and "WRKJSON" in script


def test_every_endpoint_has_paths_and_a_known_user() -> None:
    data = api.Data(cohorts=[uuid.uuid4()], claims=[uuid.uuid4()])
    for endpoint in api.ENDPOINTS:
        assert endpoint.user in {"institution", "admin"}
        assert all(path.startswith("/api/v1/") for path in endpoint.paths(data)), endpoint.label


def test_without_wrk_it_fails_under_ci_and_never_uses_a_slow_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(RuntimeError, match="needs wrk"):
        api.find_wrk()
    monkeypatch.delenv("CI")
    assert api.find_wrk() is None
