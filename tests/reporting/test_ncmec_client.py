"""The CyberTipline client against the fake: every endpoint, every documented code, retries."""

from __future__ import annotations

import hashlib
import socket
from dataclasses import replace

import pytest
from tests.fakes.cybertipline import FakeCyberTipline
from tests.reporting.conftest import minimal_report, png

from childsafe.errors import ReportingError, ReportRejected
from childsafe.reporting.ncmec.client import BASE_URLS, CyberTiplineClient, Environment
from childsafe.reporting.ncmec.model import FileDetails, FileRelevance, IndustryClassification


def _client(
    fake: FakeCyberTipline, password: str | None = None, **kw: object
) -> CyberTiplineClient:
    options: dict[str, object] = {"timeout_s": 5, "backoff_s": 0, "sleep": lambda _s: None}
    options.update(kw)
    return CyberTiplineClient(
        fake.username,
        password or fake.password,
        base_url=fake.base_url,
        **options,  # type: ignore[arg-type]
    )


def test_environments_and_override() -> None:
    c = CyberTiplineClient("u", "p")
    assert c.base_url == "https://exttest.cybertip.org/ispws"
    c.close()
    c = CyberTiplineClient("u", "p", environment="production")
    assert c.base_url == BASE_URLS[Environment.PRODUCTION] == "https://report.cybertip.org/ispws"
    c.close()
    c = CyberTiplineClient("u", "p", environment="production", base_url="http://127.0.0.1:9/x/")
    assert c.base_url == "http://127.0.0.1:9/x"
    c.close()
    with pytest.raises(ReportingError, match="unknown CyberTipline environment 'staging'"):
        CyberTiplineClient("u", "p", environment="staging")
    with pytest.raises(ReportingError, match="credentials are missing"):
        CyberTiplineClient("u", "")


def test_status_and_the_whole_flow(fake: FakeCyberTipline, client: CyberTiplineClient) -> None:
    assert client.status().description == f"Remote User : {fake.username}"
    rid = client.submit(minimal_report())
    data = png(1)
    up = client.upload(rid, "item-1.png", data)
    assert up.md5 == hashlib.md5(data).hexdigest()
    client.fileinfo(
        FileDetails(
            report_id=rid,
            file_id=up.file_id,
            file_viewed_by_esp=False,
            exif_viewed_by_esp=False,
            file_relevance=FileRelevance.REPORTED,
            industry_classification=IndustryClassification.B2,
        )
    )
    done = client.finish(rid)
    assert done.report_id == rid and done.file_ids == (up.file_id,)
    got = fake.reports[rid]
    assert got.finished and got.elements == ["incidentSummary", "reporter"]
    assert got.files[up.file_id]["md5"] == up.md5
    assert got.files[up.file_id]["details"]["fileViewedByEsp"] == "false"
    auth = {r.headers.get("authorization", "")[:6] for r in fake.requests}
    assert auth == {"Basic "}


def test_wrong_password_is_2000_and_never_echoed(fake: FakeCyberTipline) -> None:
    with (
        _client(fake, password="wrong-secret-password") as c,
        pytest.raises(ReportRejected) as info,
    ):
        c.status()
    assert info.value.code == 2000
    assert "username and password" in str(info.value)
    assert "wrong-secret-password" not in str(info.value)
    assert len(fake.requests) == 1  # credentials errors are not retried


def test_not_authorised_is_3000(fake: FakeCyberTipline, client: CyberTiplineClient) -> None:
    fake.unauthorised.add(fake.username)
    with pytest.raises(ReportRejected) as info:
        client.submit(minimal_report())
    assert info.value.code == 3000


def test_validation_failure_is_4100_with_the_fakes_message(
    fake: FakeCyberTipline, client: CyberTiplineClient
) -> None:
    rid = client.submit(minimal_report())
    with pytest.raises(ReportRejected, match="is not a file of report") as info:
        client.fileinfo(FileDetails(report_id=rid, file_id="no-such-file"))
    assert info.value.code == 4100
    assert len(fake.requests) == 2  # not retried


def test_unknown_report_is_5001(client: CyberTiplineClient) -> None:
    for call in (
        lambda: client.upload("999", "x.bin", b"x"),
        lambda: client.finish("999"),
        lambda: client.retract("999"),
    ):
        with pytest.raises(ReportRejected) as info:
            call()
        assert info.value.code == 5001


def test_finished_report_is_5102(fake: FakeCyberTipline, client: CyberTiplineClient) -> None:
    rid = client.submit(minimal_report())
    client.finish(rid)
    for call in (lambda: client.finish(rid), lambda: client.retract(rid)):
        with pytest.raises(ReportRejected) as info:
            call()
        assert info.value.code == 5102


def test_retracted_report_is_gone(client: CyberTiplineClient) -> None:
    rid = client.submit(minimal_report())
    client.retract(rid)
    with pytest.raises(ReportRejected) as info:
        client.upload(rid, "a.bin", b"abc")
    assert info.value.code == 5001


def test_server_error_1000_is_retried(fake: FakeCyberTipline) -> None:
    sleeps: list[float] = []
    with _client(fake, backoff_s=0.5, sleep=sleeps.append) as c:
        fake.fail_next_code(1000, 2)
        rid = c.submit(minimal_report())
    assert rid in fake.reports
    assert len(fake.requests) == 3
    assert sleeps == [0.5, 1.0]  # exponential backoff


def test_server_error_1000_gives_up_after_the_attempts(fake: FakeCyberTipline) -> None:
    with _client(fake, attempts=3) as c:
        fake.fail_next_code(1000, 5)
        with pytest.raises(ReportRejected) as info:
            c.status()
    assert info.value.code == 1000
    assert len(fake.requests) == 3


def test_http_500_without_xml_counts_as_server_error(fake: FakeCyberTipline) -> None:
    fake.fail_next(500, body=b"<html>oops</html>")
    with _client(fake) as c:
        assert c.status().code == 0
    assert len(fake.requests) == 2


def test_lost_finish_response_retry_answers_5102(
    fake: FakeCyberTipline, client: CyberTiplineClient
) -> None:
    rid = client.submit(minimal_report())
    fake.lose_finish_responses = 1
    with pytest.raises(ReportRejected) as info:
        client.finish(rid)
    assert info.value.code == 5102  # the retry learnt that the first attempt finished
    assert len(fake.finished) == 1


def test_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    slept: list[float] = []
    with (
        CyberTiplineClient(
            "u", "p", base_url=f"http://127.0.0.1:{port}/ispws", sleep=slept.append, backoff_s=0.1
        ) as c,
        pytest.raises(ReportingError, match=r"ConnectError.*after 3 attempts") as info,
    ):
        c.status()
    assert not isinstance(info.value, ReportRejected)
    assert slept == [0.1, 0.2]


def test_invalid_report_never_leaves_the_machine(
    fake: FakeCyberTipline, client: CyberTiplineClient
) -> None:
    bad = replace(minimal_report(), additional_info="bad\x00byte")
    with pytest.raises(ReportingError, match="additionalInfo"):
        client.submit(bad)
    assert fake.requests == []


def test_unicode_file_name_and_large_upload(
    fake: FakeCyberTipline, client: CyberTiplineClient
) -> None:
    rid = client.submit(minimal_report())
    data = bytes(range(256)) * 8192  # 2 MiB
    up = client.upload(rid, "fichier-été-文件.bin", data)
    assert up.md5 == hashlib.md5(data).hexdigest()
    assert fake.reports[rid].files[up.file_id]["size"] == len(data)
