"""`mlgitops validate`: every rendered object of every environment, checked offline against the real
schemas and against the policies.

* Built-in kinds: the Kubernetes OpenAPI schemas of one release (schemas/kube.py, strict about unknown
  fields). Custom resources: the CRDs in the `--crds` directories (schemas/crd.py). A kind with neither
  is reported once as `no-schema` (a warning; an error with `strict`).
* Policies (`mlgitops.checks.policies`), minus those the project or the model switched off with a reason.
* Every finding names the environment, the object, the JSON Pointer inside it and, through
  `mlgitops.checks.sourcemap` and resolve.spec_location, the `file:line:col` of the spec field the value came from.

The objects checked are exactly those `kubectl kustomize overlays/<env>` prints (overlay.py computes
them in memory), plus the hand-written `base/platform` objects, built once with the real Kustomize.

One module per concern: the report, locating findings, running the checks, and the output formats.
"""
