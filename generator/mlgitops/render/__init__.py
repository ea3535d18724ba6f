"""Spec to objects: a resolved model becomes Kubernetes objects (plain dicts, in a fixed order). `model.py` is the
entry (`render_model`); one module per kind of object (serving, training, monitoring), then the Jsonnet addons
and the model's patches. May import `language` and `util`."""
