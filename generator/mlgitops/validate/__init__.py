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

from __future__ import annotations

from mlgitops.validate.locate import Locate
from mlgitops.validate.output import (
    format_github,
    format_json,
    format_text,
    spec_problem_annotations,
    spec_problems_json,
)
from mlgitops.validate.report import (
    NO_SCHEMA,
    PLATFORM,
    SCHEMA,
    UNWRITABLE,
    Finding,
    Obj,
    Report,
    ValidateOptions,
    Waived,
)
from mlgitops.validate.run import (
    SchemaSources,
    check_delivery_settings,
    check_waivers,
    load_schema_sources,
    validate_objects,
    validate_workspace,
)

__all__ = [
    "NO_SCHEMA",
    "PLATFORM",
    "SCHEMA",
    "UNWRITABLE",
    "Finding",
    "Locate",
    "Obj",
    "Report",
    "SchemaSources",
    "ValidateOptions",
    "Waived",
    "check_delivery_settings",
    "check_waivers",
    "format_github",
    "format_json",
    "format_text",
    "load_schema_sources",
    "spec_problem_annotations",
    "spec_problems_json",
    "validate_objects",
    "validate_workspace",
]
