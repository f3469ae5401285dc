# syntax=docker/dockerfile:1
# The Yunfleet image: Python 3.11, Airflow and every other dependency exactly as uv.lock pins them
# (hash-checked, no resolver run), the project installed as a wheel (not editable), the DAG and
# plugin folders in AIRFLOW_HOME. One image for every component of docker-compose.yaml and for the
# official Airflow Helm chart (docs/deploy.md).
#
#   docker build -t yunfleet/airflow:3.3.2-python3.11 .
#
# tests/deploy/test_dockerfile.py checks this file against the project (lock, packages, entry point).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# The uv release the Makefile bootstraps; it only exports the lock and builds the project's wheel.
ARG UV_VERSION=0.13.9
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_PYTHON_DOWNLOADS=never
RUN pip install "uv==${UV_VERSION}"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
# The locked runtime requirements: no dev group, not the project itself, every file's hashes.
RUN uv export --frozen --no-dev --no-emit-project --format requirements-txt \
        --output-file /tmp/requirements.txt \
 && python -m venv /opt/yunfleet/venv \
 && /opt/yunfleet/venv/bin/pip install --no-deps --require-hashes -r /tmp/requirements.txt
COPY yunfleet ./yunfleet
COPY flows ./flows
COPY operators ./operators
COPY include ./include
COPY plugins ./plugins
COPY sandbox ./sandbox
RUN uv build --wheel --out-dir /tmp/dist \
 && /opt/yunfleet/venv/bin/pip install --no-deps /tmp/dist/yunfleet-*.whl \
 && /opt/yunfleet/venv/bin/pip check

FROM ${PYTHON_IMAGE}
# dumb-init: PID 1 that forwards signals (Celery's warm shutdown needs SIGTERM on the worker itself).
RUN apt-get update \
 && apt-get install -y --no-install-recommends dumb-init \
 && rm -rf /var/lib/apt/lists/*
ENV AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    YUNFLEET_HOME=/opt/airflow/yunfleet \
    SANDBOX_STATE_DIR=/opt/yunfleet/sandbox \
    PATH=/opt/yunfleet/venv/bin:$PATH \
    PYTHONUNBUFFERED=1
# The official image's user (uid 50000, group 0), so `user: "${AIRFLOW_UID}:0"` and the Helm
# chart's securityContext work; everything it writes is group-writable.
RUN useradd --uid 50000 --gid 0 --home-dir /opt/airflow --no-create-home --shell /bin/bash airflow
COPY --from=build /opt/yunfleet/venv /opt/yunfleet/venv
COPY dags /opt/airflow/dags
COPY plugins /opt/airflow/plugins
COPY scripts/entrypoint.sh /entrypoint
# airflow_local_settings.py: Celery workers (and the scheduler, the triggerer) import the task
# libraries once before forking, as on the local platform (flows/preload.py).
RUN mkdir -p /opt/airflow/logs /opt/airflow/config /opt/airflow/auth /opt/airflow/yunfleet /opt/yunfleet/sandbox \
 && python -c "from yunfleet.devenv.config import LOCAL_SETTINGS; \
open('/opt/airflow/config/airflow_local_settings.py', 'w').write(LOCAL_SETTINGS)" \
 && chmod 0755 /entrypoint \
 && chown -R airflow:0 /opt/airflow /opt/yunfleet/sandbox \
 && chmod -R g=u /opt/airflow /opt/yunfleet/sandbox
USER 50000
WORKDIR /opt/airflow
EXPOSE 8080
ENTRYPOINT ["/usr/bin/dumb-init", "--", "/entrypoint"]
CMD ["version"]
