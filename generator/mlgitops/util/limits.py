"""What one hand-written input may cost: the bounds every spec reader enforces.

The Argo CD plugin renders whatever a pull request contains, on every refresh, next to the
repo-server; one spec must not be able to hang it or exhaust its memory. Each limit is far above
what a real project writes (the bundled example's largest file is 2 KB, 9 levels deep, 300 nodes),
and hitting one is a one-line `file:line:col` error that names the limit and its value.
"""

from __future__ import annotations

MAX_SPEC_BYTES = 1 << 20
"""Size of `mlgitops.yaml` or of one model file (1 MiB)."""

MAX_NESTING_DEPTH = 32
"""Mappings and sequences inside one another in one file (the deepest spec path is about 8)."""

MAX_YAML_NODES = 100_000
"""Nodes in one file after YAML aliases are expanded: aliases stay usable for sharing a block,
but an alias bomb (a few hundred bytes expanding to millions of nodes) is refused."""

MAX_EXPANDED_CHARS = 4 * MAX_SPEC_BYTES
"""Characters of scalar text in one file after aliases are expanded (an alias to a long string,
repeated, must not multiply the output)."""

MAX_COLLECTION_ITEMS = 1_000
"""Entries of one mapping or sequence (keys, list items: steps, arguments, labels, ...)."""

MAX_INTEGER_DIGITS = 100
"""Digits of an integer literal (no field needs more than 19; Python refuses to print over 4,300)."""

MAX_ENVIRONMENTS = 100
"""Environments in `mlgitops.yaml`: every model is resolved and rendered once per environment."""

MAX_STEPS = 500
"""Training steps of one model (each is a DAG task and a template in one WorkflowTemplate, which
must fit in one Kubernetes object)."""

MAX_TEMPLATE_ENTRIES = 25_000
"""Entries the steps of one WorkflowTemplate repeat: every step's container gets every workflow
parameter as an environment variable, and every GPU step its class's node selector and tolerations,
so they grow with steps x parameters. Past this (about 60 bytes each) the object could not be stored
anyway: etcd refuses requests over 1.5 MiB by default (etcd.io/docs/latest/dev-guide/limit)."""

MAX_OBJECT_BYTES = 3 << 19
"""Size of one generated object after the model's `patches`, as JSON (1.5 MiB): etcd's default request
limit, so a bigger object could not be applied anyway. A few `copy` ops that each double an object
(`copy /spec` to `/spec/x`) would otherwise grow it exponentially; the size is tracked op by op
(mlgitops.render.patches), so the limit is hit before the object is built."""

MAX_OBJECT_DEPTH = 2 * MAX_NESTING_DEPTH
"""Nesting of a value a patch op inserts, counted from the object's root: an op may add a value nested
as deep as a spec file allows below a path that is itself deep, but ops cannot stack values without end."""

MAX_PATCH_WORK_BYTES = 8 * MAX_OBJECT_BYTES
"""Bytes (as JSON) the `patches` of one model may copy and measure while rendering one environment:
every patch copies its target object (to apply all or nothing), every add, replace and copy op its value,
and a remove or replace measures what it takes away. Bounds the work of many ops on a large object."""

MAX_REVISION_FILE_BYTES = 64 << 20
"""One file of a committed revision that `diff` (or `history`) reads from Git (64 MiB): a spec is at
most MAX_SPEC_BYTES, and a file this large in the project directory is data, not configuration. Checked
on the tar header `git archive` sends, before the file's bytes are read."""

MAX_REVISION_BYTES = 256 << 20
"""The whole project directory of a committed revision, as `git archive` writes it (256 MiB)."""

MAX_SMOKE_TESTS = 50
"""Smoke tests of one model (`tests:`): the Job runs them one after another, each with its retries."""

MAX_SMOKE_BODY_BYTES = 256 << 10
"""Bytes of the request bodies of one model's smoke tests, a `bodyFile` included (256 KiB): they go into
one ConfigMap with the checker, and Kubernetes refuses a ConfigMap over 1 MiB."""

MAX_PROBLEMS = 100
"""Problems reported for one file; the rest are summarised in one line."""

MAX_MESSAGE_CHARS = 1_000
"""Characters of one problem line; a longer one (a huge value quoted in it) is cut in the middle."""

# Jsonnet templates (mlgitops.render.addons) run in a child process under these limits, so a template that
# loops or allocates without end (`std.range(1, 1e9)`) is refused instead of stalling `cmp generate`.
MAX_TEMPLATE_CPU_SECONDS = 60
MAX_TEMPLATE_MEMORY_BYTES = 2 << 30
