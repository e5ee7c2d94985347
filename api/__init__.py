"""Real-time scoring API: FastAPI app over the published warehouse copy and the champion model."""
