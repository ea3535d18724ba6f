"""Rendered objects checked against schemas, offline.

`kube`: the built-in kinds' OpenAPI schemas of one Kubernetes release; `crd`: CustomResourceDefinitions
converted to JSON Schema (read by `crdyaml` from libyaml's events); `quickcheck`: a compiled yes/no
check that spares jsonschema the valid objects; `dedup`: each distinct object body checked once;
`messages`: jsonschema's errors as one line each.
"""
