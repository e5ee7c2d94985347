#!/bin/sh
# First start of the postgres container: one database per service, owned by a login role of the
# same name (the passwords come from the compose file's environment, never from the image).
set -eu
psql -v ON_ERROR_STOP=1 --username postgres \
  -v mlflow_pw="$MLFLOW_DB_PASSWORD" -v superset_pw="$SUPERSET_DB_PASSWORD" <<'SQL'
create role mlflow with login password :'mlflow_pw';
create database mlflow owner mlflow;
create role superset with login password :'superset_pw';
create database superset owner superset;
SQL
