"""The Kubernetes port's serving certificate names the hosts clients reach the sandbox by."""

from __future__ import annotations

import pytest
from cryptography import x509

from sandbox.config import Settings, SettingsError
from sandbox.kube.tls import SERVER_CERT, tls_files


def _names(state_dir) -> set[str]:
    cert = x509.load_pem_x509_certificate((state_dir / SERVER_CERT).read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {*san.get_values_for_type(x509.DNSName), *map(str, san.get_values_for_type(x509.IPAddress))}


def test_default_certificate_covers_loopback_only(tmp_path):
    tls_files(tmp_path)
    assert _names(tmp_path) == {"127.0.0.1", "localhost"}


def test_an_extra_name_reissues_the_certificate_under_the_same_ca(tmp_path):
    tls_files(tmp_path)
    ca_before = (tmp_path / "ca.crt").read_bytes()
    tls_files(tmp_path, ("sandbox",))
    assert _names(tmp_path) == {"127.0.0.1", "localhost", "sandbox"}
    assert (tmp_path / "ca.crt").read_bytes() == ca_before  # kubeconfigs already written stay valid
    cert_before = (tmp_path / SERVER_CERT).read_bytes()
    tls_files(tmp_path, ("sandbox",))
    assert (tmp_path / SERVER_CERT).read_bytes() == cert_before  # kept while it covers the names


def test_names_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SANDBOX_TLS_NAMES", "sandbox, Sandbox.Yunfleet.internal")
    assert Settings.from_env().tls_names == ("sandbox", "sandbox.yunfleet.internal")
    monkeypatch.setenv("SANDBOX_TLS_NAMES", "not a host")
    with pytest.raises(SettingsError, match="SANDBOX_TLS_NAMES"):
        Settings.from_env()
