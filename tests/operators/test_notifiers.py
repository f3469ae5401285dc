"""ZoneFailoverNotifier: a signed POST to the ``yunfleet_notify`` webhook, or only the log without it."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from include.provisioning.callback import SIGNATURE_HEADER, verify
from operators.notifiers import ZoneFailoverNotifier

SECRET = "notify-secret-for-tests"


@pytest.fixture
def receiver() -> Iterator[dict[str, Any]]:
    """An HTTP receiver on 127.0.0.1 that keeps what it was sent and answers ``status``."""
    seen: dict[str, Any] = {"posts": [], "status": 204}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen["posts"].append((body, self.headers.get(SIGNATURE_HEADER, "")))
            self.send_response(seen["status"])
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    seen["url"] = f"http://127.0.0.1:{server.server_port}/hooks/zones"
    yield seen
    server.shutdown()


def context() -> dict[str, Any]:
    return {"run_id": "manual__zf", "dag_run": type("Run", (), {"dag_id": "zone_failover"})()}


def test_a_configured_webhook_gets_a_signed_message(
    receiver: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = {"conn_type": "http", "host": receiver["url"], "password": SECRET}
    monkeypatch.setenv("AIRFLOW_CONN_YUNFLEET_NOTIFY", json.dumps(conn))
    ZoneFailoverNotifier(message="cn-hangzhou-i evacuated").notify(context())
    ((body, signature),) = receiver["posts"]
    assert verify(SECRET, body, signature)
    assert not verify("another-secret", body, signature)
    sent = json.loads(body)
    assert sent["event"] == "zone_failover" and sent["message"] == "cn-hangzhou-i evacuated"
    assert (sent["dag_id"], sent["run_id"]) == ("zone_failover", "manual__zf")
    assert SECRET not in body.decode()


def test_without_the_connection_the_message_is_logged(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_YUNFLEET_NOTIFY", raising=False)
    with caplog.at_level(logging.WARNING, logger="operators.notifiers"):
        ZoneFailoverNotifier(message="cn-hangzhou-h restored", conn_id="yunfleet_notify_absent").notify(
            context()
        )
    assert "notification: cn-hangzhou-h restored" in caplog.text


def test_a_receiver_that_fails_never_fails_the_task(
    receiver: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    receiver["status"] = 500
    conn = {"conn_type": "http", "host": receiver["url"], "password": SECRET}
    monkeypatch.setenv("AIRFLOW_CONN_YUNFLEET_NOTIFY", json.dumps(conn))
    with caplog.at_level(logging.ERROR, logger="operators.notifiers"):
        ZoneFailoverNotifier(message="alert").notify(context())
    assert len(receiver["posts"]) == 3  # tried three times
    assert "not sent" in caplog.text and SECRET not in caplog.text
