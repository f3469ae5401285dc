"""Notifiers: how Yunfleet tells people that something changed on its own (an Airflow ``BaseNotifier``).

:class:`ZoneFailoverNotifier` announces a zone evacuation, restore, refusal or alert. Where it goes is
configured by the Airflow connection ``yunfleet_notify`` (override with ``$YUNFLEET_NOTIFY_CONN_ID``):
``host`` is the webhook URL (``http(s)://...``) that receives a JSON POST
``{"event": "zone_failover", "message", "dag_id", "run_id", "sent_at"}``, signed like the run callbacks
(header ``X-Yunfleet-Signature``, HMAC-SHA256 with the connection's password as the secret; see
``include.provisioning.callback``). Without that connection the message is only logged (at warning
level, so it stands out in the task log). Sending is tried three times; a notification that cannot be
sent is logged and never fails the task.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from airflow.sdk.bases.notifier import BaseNotifier

log = logging.getLogger(__name__)

NOTIFY_CONN_ID = "yunfleet_notify"


class ZoneFailoverNotifier(BaseNotifier):
    """Send ``message`` to the ``yunfleet_notify`` webhook (or the log).

    :param message: one line saying what happened (templated).
    :param conn_id: the connection naming the webhook; default ``$YUNFLEET_NOTIFY_CONN_ID`` or
        ``yunfleet_notify``.
    """

    template_fields = ("message",)

    def __init__(self, *, message: str, conn_id: str | None = None) -> None:
        super().__init__()
        self.message = message
        self.conn_id = conn_id or os.environ.get("YUNFLEET_NOTIFY_CONN_ID", NOTIFY_CONN_ID)

    def notify(self, context: dict[str, Any]) -> None:
        from airflow.sdk import BaseHook

        log.warning("notification: %s", self.message)
        try:
            conn = BaseHook.get_connection(self.conn_id)
        except Exception:  # no webhook configured: the log line above is the notification
            return
        url, secret = conn.host or "", conn.password or ""
        if not url.startswith(("http://", "https://")) or not secret:
            log.error(
                "notification not sent: connection %s needs host = webhook URL and a password", self.conn_id
            )
            return
        import httpx
        from tenacity import retry, stop_after_attempt, wait_exponential

        from include.provisioning.callback import SIGNATURE_HEADER, sign

        dag_run = context.get("dag_run")
        body = json.dumps(
            {
                "event": "zone_failover",
                "message": self.message,
                "dag_id": getattr(dag_run, "dag_id", None),
                "run_id": context.get("run_id"),
                "sent_at": int(time.time()),
            },
            sort_keys=True,
        ).encode()

        @retry(stop=stop_after_attempt(3), wait=wait_exponential(multiplier=0.5, max=5), reraise=True)
        def post() -> None:
            with httpx.Client(timeout=10.0, trust_env=False) as client:
                response = client.post(
                    url,
                    content=body,
                    headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)},
                )
                response.raise_for_status()

        try:
            post()
        except Exception as exc:  # a notification never decides the outcome
            log.error("notification to %s not sent: %s", self.conn_id, str(exc)[:200])
