# Credit-scoring platform: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_SYS ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export CREDIT_HOME ?= $(CURDIR)/var
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_TARGET_PATH ?= $(CREDIT_HOME)/dbt/target
export DBT_LOG_PATH ?= $(CREDIT_HOME)/dbt/logs
APPLICANTS ?= 30000
SEED ?= 42
SOURCE ?= $(CREDIT_HOME)/data/synthetic
SUPERSET_VENV := .venv-superset
SUPERSET_PY := $(SUPERSET_VENV)/bin/python
SUPERSET_STAMP := $(SUPERSET_VENV)/.installed

.PHONY: help venv demo test test-fast pipeline generate load dbt train score serving publish \
        api api-up api-stop api-lint test-api-venv superset mlflow-ui bench bench-real soak lint clean summary drift report

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt constraints.txt
	@test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install requirements.txt (idempotent)

demo: $(STAMP) $(SUPERSET_STAMP) chromium jemalloc ## synthetic data, the whole pipeline, documents, API and Superset up
	@mkdir -p $(CREDIT_HOME)/run && : > $(CREDIT_HOME)/run/demo_times.txt
	@if [ ! -f "$(SOURCE)/application_train.csv" ] && [ ! -f "$(SOURCE)/application_train.parquet" ]; then \
	  t=$$(date +%s); $(PY) -m warehouse generate --applicants $(APPLICANTS) --seed $(SEED) --out $(SOURCE) && \
	  echo "generate $(APPLICANTS) applicants $$(( $$(date +%s) - t ))" >> $(CREDIT_HOME)/run/demo_times.txt; fi
	@t=$$(date +%s); $(MAKE) pipeline && echo "pipeline (load to publish) $$(( $$(date +%s) - t ))" >> $(CREDIT_HOME)/run/demo_times.txt
	@t=$$(date +%s); $(MAKE) drift && echo "drift report $$(( $$(date +%s) - t ))" >> $(CREDIT_HOME)/run/demo_times.txt
	@t=$$(date +%s); $(MAKE) api-up && echo "API up $$(( $$(date +%s) - t ))" >> $(CREDIT_HOME)/run/demo_times.txt
	@t=$$(date +%s); $(MAKE) superset && echo "Superset up $$(( $$(date +%s) - t ))" >> $(CREDIT_HOME)/run/demo_times.txt
	@t=$$(date +%s); $(MAKE) superset-screenshots && echo "dashboard screenshots $$(( $$(date +%s) - t ))" >> $(CREDIT_HOME)/run/demo_times.txt || true
	@t=$$(date +%s); $(MAKE) report && echo "documents $$(( $$(date +%s) - t ))" >> $(CREDIT_HOME)/run/demo_times.txt
	@$(PY) -m warehouse demo-summary

pipeline: $(STAMP) ## load -> dbt build -> train -> score -> serving marts -> publish
	$(PY) -m warehouse load --source $(SOURCE)
	$(PY) -m warehouse run-locked -- $(VENV)/bin/dbt build --quiet
	$(PY) -m warehouse validate
	@if [ -d training ] && [ -f training/__main__.py ]; then \
	  $(PY) -m training train && $(PY) -m training score --no-publish && \
	  $(PY) -m warehouse run-locked -- $(VENV)/bin/dbt build --quiet --select tag:serving; fi
	$(PY) -m warehouse publish

generate: $(STAMP) ## write synthetic Kaggle files (APPLICANTS, SEED)
	$(PY) -m warehouse generate --applicants $(APPLICANTS) --seed $(SEED) --out $(SOURCE)

load: $(STAMP) ## load SOURCE into the raw schema (all or nothing)
	$(PY) -m warehouse load --source $(SOURCE)

dbt: $(STAMP) ## dbt build of the feature store (default selector: all but tag:serving)
	$(PY) -m warehouse run-locked -- $(VENV)/bin/dbt build

train: $(STAMP) ## train, evaluate, register credit_default (moves @champion only if it wins)
	$(PY) -m training train

score: $(STAMP) ## score every applicant with credit_default@champion, write scoring.*, publish
	$(PY) -m training score

MLFLOW_PORT ?= 5000
mlflow-ui: $(STAMP) ## MLflow UI over the store under CREDIT_HOME (http://127.0.0.1:5000)
	$(VENV)/bin/mlflow ui --host 127.0.0.1 --port $(MLFLOW_PORT) \
	  --backend-store-uri "$${MLFLOW_TRACKING_URI:-sqlite:///$(CREDIT_HOME)/mlflow/mlflow.db}" \
	  --default-artifact-root "$(CREDIT_HOME)/mlflow/artifacts"

MLFLOW_HOST ?= 127.0.0.1
mlflow-server: $(STAMP) ## MLflow tracking server + UI over MLFLOW_TRACKING_URI (PostgreSQL in the prod stack), artefacts under CREDIT_HOME
	$(VENV)/bin/mlflow server --host $(MLFLOW_HOST) --port $(MLFLOW_PORT) \
	  --backend-store-uri "$${MLFLOW_TRACKING_URI:-sqlite:///$(CREDIT_HOME)/mlflow/mlflow.db}" \
	  --default-artifact-root "$(CREDIT_HOME)/mlflow/artifacts"

drift: $(STAMP) ## data drift: Evidently report + PSI marts -> reports/data_drift.html
	$(PY) -m training drift

report: $(STAMP) ## methodology note (HTML + PDF), slides (uses dashboard screenshots if present), model card
	$(PY) -m training report

contract: $(STAMP) ## regenerate the feature mart's contract YAML from the feature macros
	@mkdir -p $(CREDIT_HOME)
	$(VENV)/bin/dbt --quiet run-operation print_feature_contract > $(CREDIT_HOME)/feature_contract.yml.tmp
	mv $(CREDIT_HOME)/feature_contract.yml.tmp dbt_project/models/marts/features/_feat_applicant_features.yml

validate: $(STAMP) ## Great Expectations suites on raw tables and the feature mart (data docs in reports/)
	$(PY) -m warehouse validate

publish: $(STAMP) ## publish the build warehouse as the serving copy
	$(PY) -m warehouse publish

summary: $(STAMP) ## row counts of the build warehouse
	$(PY) -m warehouse summary

test: $(STAMP) superset-venv chromium jemalloc prod-services compose-tool ## the whole test suite (installs what it needs: Debian's chromium, postgresql, redis-server, docker-compose)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/sqlfluff lint dbt_project/models dbt_project/tests
	$(VENV)/bin/dbt parse --quiet && $(VENV)/bin/dbt-score lint -m $(DBT_TARGET_PATH)/manifest.json
	$(PY) -m pytest -q

test-fast: $(STAMP) ## unit tests only
	$(PY) -m pytest -q tests/unit

lint: $(STAMP) ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

api: $(STAMP) jemalloc ## serve the scoring API (uvicorn on CREDIT_API_HOST:CREDIT_API_PORT)
	$(PY) -m api serve

API_PID := $(CREDIT_HOME)/run/api.pid
api-up: $(STAMP) jemalloc ## start the API in the background (idempotent; waits until /ready answers)
	@mkdir -p $(CREDIT_HOME)/run
	@if [ -f $(API_PID) ] && kill -0 $$(cat $(API_PID)) 2>/dev/null; then echo "API already running (pid $$(cat $(API_PID)))"; \
	else nohup $(PY) -m api serve > $(CREDIT_HOME)/run/api.log 2>&1 & echo $$! > $(API_PID); \
	  curl -fsS --retry 60 --retry-delay 1 --retry-connrefused --retry-all-errors \
	    http://$${CREDIT_API_HOST:-127.0.0.1}:$${CREDIT_API_PORT:-8000}/ready \
	    || echo "API not ready: see $(CREDIT_HOME)/run/api.log"; echo; fi

api-stop: ## stop the API started by `make api-up`
	@if [ -f $(API_PID) ]; then kill $$(cat $(API_PID)) 2>/dev/null || true; rm -f $(API_PID); echo "API stopped"; fi

api-lint: $(STAMP) ## hadolint on api/Dockerfile
	$(VENV)/bin/hadolint api/Dockerfile

test-api-venv: $(STAMP) ## (slow) build a venv from api/requirements.txt alone and start the API from it
	CREDIT_TEST_API_VENV=1 $(PY) -m pytest -q -m slow tests/integration/test_api_venv.py

bench: $(STAMP) jemalloc ## benchmarks at full Kaggle scale; results in reports/
	$(PY) -m benchmarks.run

soak: $(STAMP) $(SUPERSET_STAMP) jemalloc ## (20 min) mixed API + Superset traffic while the pipeline rebuilds twice; reports/soak.md (after make demo)
	$(PY) -m benchmarks.soak

bench-real: $(STAMP) ## model quality on the real sample (CREDIT_REAL_SAMPLE_DIR): champion vs application-only model, about 10 min
	$(PY) -m benchmarks.real_sample

AUDIT_VENV := .venv-audit
.PHONY: audit
audit: $(STAMP) $(SUPERSET_STAMP) ## pip-audit of .venv and .venv-superset against PyPI's advisories (not in make test); reports/audit/
	@test -x $(AUDIT_VENV)/bin/pip-audit || { $(PYTHON_SYS) -m venv $(AUDIT_VENV) && $(AUDIT_VENV)/bin/pip install --quiet pip-audit; }
	@mkdir -p reports/audit
	@status=0; for venv in $(VENV) $(SUPERSET_VENV); do \
	  site=$$(ls -d $$venv/lib/python3*/site-packages); name=$$(basename $$venv); \
	  $(AUDIT_VENV)/bin/pip-audit --vulnerability-service pypi --path $$site --progress-spinner off \
	    --desc on -f columns -o reports/audit/$$name.txt; rc=$$?; \
	  skipped=$$(grep -c "could not be audited" reports/audit/$$name.txt || true); \
	  echo "$$name: pip-audit exit $$rc, $$skipped packages not audited (see reports/audit/$$name.txt)"; \
	  [ $$rc -eq 0 ] || status=1; \
	  if [ "$$skipped" -gt 0 ]; then status=1; \
	    echo "  audit incomplete: PyPI did not answer for $$skipped packages (pip-audit asks /pypi/NAME/VERSION/json)"; fi; \
	done; exit $$status

clean: ## remove generated state under CREDIT_HOME
	rm -rf $(CREDIT_HOME)

# --- Superset (its own venv: Flask 2 / SQLAlchemy 1.4); see superset/README.md
SUPERSET_RUN := PYTHONPATH=superset $(SUPERSET_PY) -m credit_superset

$(SUPERSET_STAMP): superset/requirements.txt superset/constraints.txt
	@test -x $(SUPERSET_PY) || $(PYTHON_SYS) -m venv $(SUPERSET_VENV)
	$(SUPERSET_VENV)/bin/pip install --quiet --disable-pip-version-check -r superset/requirements.txt -c superset/constraints.txt
	@touch $(SUPERSET_STAMP)

.PHONY: superset-venv superset-stop superset-screenshots chromium jemalloc
superset-venv: $(SUPERSET_STAMP) ## create .venv-superset (Superset 6.1, pinned; idempotent)

chromium: ## Debian's chromium for the browser tests (installed only when /usr/bin/chromium is absent)
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

jemalloc: ## Debian's libjemalloc2, the API's allocator (CREDIT_API_MALLOC); without it the API warns and uses glibc's
	@ls /usr/lib/*/libjemalloc.so.2 >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjemalloc2; } \
	  || echo "warning: could not install libjemalloc2: the API will use the system allocator (slower real-time scoring)"

superset: $(SUPERSET_STAMP) ## Superset on 127.0.0.1:$$CREDIT_SUPERSET_PORT: provision (once), import dashboards, serve
	$(SUPERSET_RUN) up

superset-stop: ## stop the Superset server started by `make superset`
	$(SUPERSET_RUN) stop

superset-screenshots: $(SUPERSET_STAMP) chromium ## screenshots and load times of the dashboards into reports/superset
	$(SUPERSET_RUN) browse --json $${CREDIT_REPORTS_DIR:-reports}/superset/browse.json

superset-lint: $(SUPERSET_STAMP) ## hadolint on superset/Dockerfile
	$(SUPERSET_VENV)/bin/hadolint superset/Dockerfile

# --- the production stack on this machine (deploy/, docs/deploy.md): PostgreSQL + Redis from
# Debian's packages, prod mode, its own CREDIT_HOME (PROD_HOME) and env file with random secrets
PROD_HOME ?= $(CURDIR)/var/prod
.PHONY: prod-services prod-check prod-up prod-down compose-tool mlflow-server
prod-services: ## Debian's postgresql and redis-server (installed only when absent)
	@{ ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && command -v redis-server >/dev/null; } || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server; }

compose-tool: ## Debian's docker-compose, to check deploy/compose.yaml without a container engine (`config -q`)
	@command -v docker-compose >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose; }

prod-check: $(STAMP) $(SUPERSET_STAMP) jemalloc prod-services ## start the prod stack (PROD_HOME), run the pipeline, API, Superset and e2e tests on it, stop it
	CREDIT_HOME=$(PROD_HOME) $(PY) -m deploy check

prod-up: $(STAMP) prod-services ## start PostgreSQL and Redis of the prod stack (PROD_HOME/.env.prod holds the secrets)
	CREDIT_HOME=$(PROD_HOME) $(PY) -m deploy up

prod-down: $(STAMP) ## stop them
	CREDIT_HOME=$(PROD_HOME) $(PY) -m deploy down
