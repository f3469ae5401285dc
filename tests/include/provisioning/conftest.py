"""Fixtures of the provisioning domain tests (the builders are in builders.py)."""

from __future__ import annotations

import pytest

from include.provisioning.request import ProvisionRequest
from tests.include.provisioning.builders import make_request


@pytest.fixture
def request_3z() -> ProvisionRequest:
    return make_request()
