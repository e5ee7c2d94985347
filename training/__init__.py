"""Training, evaluation, registration and batch scoring of the credit-default model.

Steps are functions (arrays in, values out); the CLI (`python -m training`) and warehouse/ do the I/O.
"""
