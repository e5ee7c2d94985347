"""Documents generated from the actual run: methodology note (HTML + PDF), slides, model card.

`python -m training report` gathers the champion's MLflow run and the warehouse tables once
(:mod:`.context`), then renders each document from that one context, so every number and figure
in them is the run's own.
"""
