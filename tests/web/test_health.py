"""``/readyz`` waits for the models; the real start-up warm-up gets there."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from tests.web.helpers import error_of

from childsafe.config import Settings
from childsafe.storage import SqlBankStore
from childsafe.web.app import create_app
from childsafe.web.services import Services


def test_ready_only_after_warm_up(store: SqlBankStore, settings: Settings) -> None:
    with TestClient(create_app(settings, store=store)) as api:
        services = api.app.state.services  # type: ignore[attr-defined]
        assert isinstance(services, Services)
        assert api.get("/healthz").status_code == 200
        deadline = time.monotonic() + 120
        while not services.warmup.done.is_set() and time.monotonic() < deadline:
            r = api.get("/readyz")
            if r.status_code == 503:
                err = error_of(r)
                assert err["code"] == "not_ready" and "loading" in err["message"]
            time.sleep(0.2)
        r = api.get("/readyz")
        assert services.warmup.problems == []
        assert r.status_code == 200 and r.json()["checks"] == {"database": "ok", "models": "loaded"}


def test_not_ready_when_the_database_is_unreachable(settings: Settings) -> None:
    engine = create_engine(
        "postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2}
    )
    unreachable = SqlBankStore(engine, secret_key=settings.secret_key)
    with TestClient(create_app(settings, store=unreachable, warm_up=False)) as api:
        r = api.get("/readyz")
        assert r.status_code == 503
        err = error_of(r)
        assert "database unreachable" in err["message"] and "nobody" not in err["message"]
        assert api.get("/healthz").status_code == 200  # alive, just not ready
    engine.dispose()
