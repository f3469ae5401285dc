"""Creates answered from a ClientToken replay: check what came back, and try under a new token.

An idempotent create (``ClientToken``) answers a token it has seen with the first result, even when
the resources it named were released since (ECS: "same token and same parameters return the same
result", How to ensure idempotence; the sandbox does the same). A create that is re-run with the same
token (an Airflow run cleared after its cluster was decommissioned) would then report ids of
resources that no longer exist. So every create reads back what it was answered; ids that are gone are
created again under the same intent with a generation suffix, which gives a new, still deterministic
token (a retried task repeats the same generations). After ``MAX_REPLAY_GENERATIONS`` new tokens it
stops with a clear error.

A token answered ``IdempotentParameterMismatch`` was used before with other parameters: a cleared
run whose inputs changed since its first try (its security group was re-created, so the instances'
group id differs). Each create looks its resources up by tag or name before it creates, so nothing
of that earlier call is alive, and the next generation's token is used the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from include.errors import PermanentCloudError

log = logging.getLogger(__name__)

#: New tokens tried after a replay named resources that are gone.
MAX_REPLAY_GENERATIONS = 3
#: Error code of the final error (not an Alibaba code: the API answered every call with success).
REPLAY_GONE_CODE = "ReplayedResourcesGone"


def generation_intent(intent: str, generation: int, detail: str = "") -> str:
    """The intent of a create's ``generation``: the original for 0, else with ``#gen<n>`` (and ``detail``,
    e.g. a changed amount, since a token must never be reused with other parameters)."""
    if generation == 0:
        return intent
    return f"{intent}#gen{generation}" + (f":{detail}" if detail else "")


def replay_gone_error(
    what: str, intent: str, gone: Sequence[str], *, product: str, action: str
) -> PermanentCloudError:
    """The error after every generation was answered with resources that do not exist."""
    return PermanentCloudError(
        f"{action} for {what} ({intent}) was answered {MAX_REPLAY_GENERATIONS + 1} times with "
        f"resources that no longer exist ({', '.join(sorted(gone)[:10])}); the ClientTokens were used "
        "before by a run whose resources were released. Start a new run (a new run id gives new tokens)",
        code=REPLAY_GONE_CODE,
        product=product,
        action=action,
    )


def token_used_before(intent: str, generation: int) -> None:
    """Log that ``intent``'s token of ``generation`` was used before with other parameters."""
    log.warning(
        "the ClientToken of %s was used before with other parameters (an earlier try of this run, "
        "whose inputs have changed since); nothing of it is alive, so trying the next token",
        generation_intent(intent, generation),
    )
