"""The production stack on one machine: PostgreSQL and Redis from Debian's packages, the stack's
env file with random secrets, and `make prod-check` (python -m deploy check). See docs/deploy.md."""
