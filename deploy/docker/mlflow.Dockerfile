# MLflow's tracking server and UI over the registry's PostgreSQL store and the artefacts volume.
# Build from the repository root:  docker build -f deploy/docker/mlflow.Dockerfile -t credit-mlflow .
# The pipeline and the API use the store directly (MLFLOW_TRACKING_URI=postgresql://...); this
# server is for people (runs, versions, the champion alias). Its command is `make mlflow-server`.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CREDIT_HOME=/data \
    MLFLOW_PORT=5000 \
    MLFLOW_HOST=0.0.0.0

RUN apt-get update \
    && apt-get install -y --no-install-recommends make=4.3-4.1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN python -m venv .venv \
    && .venv/bin/pip install --no-cache-dir -c constraints.txt mlflow psycopg2-binary \
    && touch .venv/.installed
COPY Makefile ./

RUN useradd --create-home --uid 10001 mlflow
USER 10001
EXPOSE 5000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s CMD ["/app/.venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health')"]

CMD ["make", "mlflow-server"]
