"""Checks on rendered objects that schemas alone cannot express: the policies, the upstream CRD and Kubernetes
schemas, the source map from an object path back to the spec line, Pod Security, references between objects, and
the serving-mode change KServe refuses. May import `render`, `language` and `util`."""
