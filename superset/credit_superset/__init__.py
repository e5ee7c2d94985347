"""Tools around Superset for the credit-scoring platform: settings, the live-score Jinja macros,
the dashboards-as-code bundle, provisioning (roles, users, row-level security), the server
launcher and the REST/browser checks. Runs in Superset's own environment (.venv-superset).

The folder is named credit_superset (not superset) so it never shadows the Superset package.
"""
