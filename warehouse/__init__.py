"""Warehouse: the only package that opens DuckDB files (load, scoring writes, publish)."""
