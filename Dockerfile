# syntax=docker/dockerfile:1
# The ecohub hub image: Airflow 3 (the version pinned in requirements.txt, on the Python of
# pyproject.toml) plus ecohub's pinned requirements, the engine and the DAGs. One image runs every
# hub process of docker-compose.yml: the Airflow components, the consumer, the simulators.
#
#   docker build -t ecohub/hub:local .        (docker compose builds it on `up --build`)
#
# tests/deploy/test_compose.py checks that the base image's Airflow and Python versions match the
# pins, and that every path copied here exists and is not excluded by .dockerignore.
FROM apache/airflow:3.3.2-python3.11

# Where the engine lives: an editable install, so the repository-relative folders the engine
# reads (schemas/, quality/) are found next to the packages, as in a checkout.
ENV ECOHUB_HOME=/opt/ecohub \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=false \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

USER root
RUN mkdir -p /opt/ecohub/var && chown -R airflow:0 /opt/ecohub && chmod -R g+rwX /opt/ecohub
USER airflow
WORKDIR /opt/ecohub

# Dependencies first (a layer that changes only with the pins). requirements.txt pins
# apache-airflow itself, so pip cannot silently up- or downgrade the base image's Airflow;
# constraints.txt (the full resolved set CI tested) is referenced from requirements.txt.
COPY --chown=airflow:0 requirements.txt constraints.txt ./
RUN pip install -r requirements.txt

# The engine, its data folders and the console script `ecohub`.
COPY --chown=airflow:0 pyproject.toml README.md ./
COPY --chown=airflow:0 ecohub ./ecohub
COPY --chown=airflow:0 connectors ./connectors
# Not part of the wheel: the dev profile's simulators, found by `ecohub simulate` beside ecohub/.
COPY --chown=airflow:0 simulators ./simulators
COPY --chown=airflow:0 schemas ./schemas
COPY --chown=airflow:0 quality ./quality
RUN pip install --no-deps -e . \
    && ecohub --help >/dev/null \
    && python -c "import connectors, ecohub.settings, simulators"

# The DAGs, where the Airflow components look for them.
COPY --chown=airflow:0 dags /opt/airflow/dags
