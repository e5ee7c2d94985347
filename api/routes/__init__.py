"""HTTP routes: health/readiness, and the versioned scoring endpoints under /v1."""
