# The pipeline job: load -> dbt build -> train -> score -> serving marts -> publish, once a day.
# Build from the repository root:  docker build -f deploy/docker/pipeline.Dockerfile -t credit-pipeline .
# Its command is `python -m deploy daily`, which runs `make pipeline` (the target `make prod-check`
# runs) at CREDIT_DAILY_AT (UTC) every day; `make pipeline` alone runs it once.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CREDIT_HOME=/data \
    CREDIT_ENV=prod

# make runs the pipeline's recipe; LightGBM needs the OpenMP runtime; WeasyPrint (documents) Pango.
RUN apt-get update \
    && apt-get install -y --no-install-recommends make=4.3-4.1 libgomp1=12.2.0-14+deb12u1 \
       libpango-1.0-0=1.50.12+ds-1 libpangoft2-1.0-0=1.50.12+ds-1 fonts-dejavu-core=2.37-6 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN python -m venv .venv \
    && .venv/bin/pip install --no-cache-dir -r requirements.txt -c constraints.txt \
    && touch .venv/.installed

COPY Makefile dbt_project.yml profiles.yml selectors.yml pyproject.toml ./
COPY dbt_project dbt_project
COPY warehouse warehouse
COPY training training
COPY deploy deploy

RUN useradd --create-home --uid 10001 credit && mkdir -p /data && chown credit /data
USER 10001
VOLUME ["/data"]

CMD ["/app/.venv/bin/python", "-m", "deploy", "daily"]
