"""``yunfleet`` argument handling and error output: usage errors, defaults, one ``yunfleet:`` line."""

from __future__ import annotations

import pytest

from yunfleet.cli import build_parser, main
from yunfleet.cli.errors import EXIT_FAILED, CommandError


def test_a_subcommand_is_required(capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([])
    assert exit_.value.code == 2
    assert "the following arguments are required: command" in capsys.readouterr().err


def test_ticket_needs_a_dag_and_a_ticket(capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["ticket", "provision_cluster"])
    assert exit_.value.code == 2
    assert "ticket_id" in capsys.readouterr().err


def test_ticket_defaults_and_repeated_set():
    args = build_parser().parse_args(["ticket", "provision_cluster", "OPS-1", "--set", "a=1", "--set", "b=x"])
    assert (args.dag_id, args.ticket_id) == ("provision_cluster", "OPS-1")
    assert args.set == ["a=1", "b=x"]
    assert (args.timeout, args.poll) == (3600.0, 2.0)
    assert (args.unpause, args.no_follow, args.conf, args.run_id) == (False, False, None, None)
    assert (args.api_url, args.user) == (None, None)


@pytest.mark.parametrize(
    "command", [["clusters"], ["kubeconfig", "c"], ["audit", "OPS-1"], ["ticket", "d", "t"]]
)
def test_every_subcommand_takes_the_api_address_and_user(command):
    args = build_parser().parse_args([*command, "--api-url", "https://airflow.example.com", "--user", "ops"])
    assert (args.api_url, args.user) == ("https://airflow.example.com", "ops")


def test_audit_options():
    args = build_parser().parse_args(["audit", "OPS-1", "--cluster", "c1", "--since", "7d", "--json"])
    assert (args.ticket_id, args.cluster, args.since, args.until, args.limit, args.json) == (
        "OPS-1",
        "c1",
        "7d",
        None,
        1000,
        True,
    )
    flags = build_parser().parse_args(["clusters", "--json", "--all"])
    assert (flags.command, flags.json, flags.all) == ("clusters", True, True)


def test_numbers_are_checked_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["ticket", "d", "t", "--timeout", "soon"])
    assert "invalid float value: 'soon'" in capsys.readouterr().err


@pytest.fixture
def quiet_env(monkeypatch, tmp_path):
    monkeypatch.setenv("YUNFLEET_HOME", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")


def test_a_bad_ticket_id_is_one_line_on_stderr_and_exit_2(quiet_env, capsys):
    assert main(["ticket", "provision_cluster", "OPS 1"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "yunfleet: ticket id 'OPS 1' must be 1-64 of A-Z a-z 0-9 . _ : / -\n"


def test_command_errors_carry_their_exit_code(quiet_env, capsys, monkeypatch):
    def unknown(_args):
        raise CommandError(EXIT_FAILED, "cluster 'x' is not registered")

    monkeypatch.setattr("yunfleet.cli.kubeconfig.cmd_kubeconfig", unknown)
    assert main(["kubeconfig", "x"]) == EXIT_FAILED
    out, err = capsys.readouterr()
    assert (out, err) == ("", "yunfleet: cluster 'x' is not registered\n")


def test_output_goes_to_stdout_and_everything_else_to_stderr(quiet_env, capsys, monkeypatch):
    def noisy(_args):
        print("a log line a library printed")
        return "apiVersion: v1"

    monkeypatch.setattr("yunfleet.cli.kubeconfig.cmd_kubeconfig", noisy)
    assert main(["kubeconfig", "x"]) == 0
    out, err = capsys.readouterr()
    assert out == "apiVersion: v1\n"
    assert "a log line" in err
