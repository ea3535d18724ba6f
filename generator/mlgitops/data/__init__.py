"""Files the package carries: CI and scaffold templates, and the smoke checker (`smoke/check.py`)."""
