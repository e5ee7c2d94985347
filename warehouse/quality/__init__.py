"""Data quality: Great Expectations suites on the raw tables and the feature mart.

`python -m warehouse validate` reads the tables from the build warehouse into pandas (GX has no
DuckDB datasource), validates them, writes the HTML data docs under the reports dir and fails
with a readable list of the broken expectations.
"""
