"""The model registry behind `promote --alias` / `--registry-version`: MLflow through its REST API (mlflow.py),
the pin a promotion writes (pin.py) and the training gates checked on the run's metrics (gates.py)."""
