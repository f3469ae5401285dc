"""The local Yunfleet platform: the sandbox and ``airflow standalone``, as ``make run`` starts them.

- ``__main__``: the ``python -m yunfleet.devenv {prepare,run,env}`` command.
- ``platform``: :class:`~yunfleet.devenv.platform.LocalPlatform`, which prepares, starts and stops
  the processes (also used by the e2e test fixture, with a temporary home and free ports).
- ``config``: settings, paths, the generated airflow.cfg and the process environment (plain data).
- ``bootstrap``: connections, pools and the registry schema, run inside the platform's environment.
- ``procs``: background processes in their own process groups; bounded waits with the log tail.
- ``ports``: free loopback ports.
- ``parsetime``: DAG file import time in a fresh interpreter (integrity tests and the bench).

Nothing is imported here, so ``yunfleet.devenv.config`` stays cheap for the ``yunfleet`` command.
"""
