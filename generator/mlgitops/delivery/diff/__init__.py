"""`mlgitops diff`: the deployment a change makes, per environment and per object, before it merges.

Both revisions are rendered offline. A committed revision is unpacked with `git archive` into a
temporary directory (`mlgitops.delivery.git_repo`); the head defaults to the working tree, read in place. At
each revision the final objects of every environment are computed as `mlgitops build` would print
them:

- model objects in memory (`load_workspace` → `render_models`, then namespace and environment label
  as `overlay.environment_objects` sets them): the renderer's overlays are tested to be an exact
  encoding of these, so no Kustomize run is needed for them (a real `kustomize build` of a
  200-model overlay costs about 2 s per environment and revision, far over the 3 s budget of the
  whole diff);
- hand-written `base/platform/` objects with the real Kustomize, through an overlay holding only the
  environment's namespace and labels (the same kustomization `render` writes, minus the models), so
  generators, patches and namespace rules behave exactly as in the real overlay. These builds run in
  parallel, and a build whose inputs are byte-identical at both revisions runs once.

Objects are keyed by (environment, group/kind, namespace, name) and compared as data. Changed objects
get a unified diff of their YAML (keys sorted, `apiVersion`/`kind`/`metadata` first, as Kustomize
prints them); added and removed objects are shown whole. A removed and an added object of the same
kind whose YAML is nearly identical once the differing part of their names is swapped (a renamed
model, a moved namespace, a hash-suffixed generated Secret) are paired: the addition says
`renamed from`, with the diff against the old object. Secret `data`/`stringData` values never reach
the output: each is `<redacted>`, or `<redacted, changed>` on the new side when its value changed.
A training object (WorkflowTemplate, CronWorkflow) whose only change is its own `app.kubernetes.io/version`
label, as a model version bump leaves it, is "relabelled": counted apart from "changed" and listed
without a diff. Serving objects are not: KServe copies InferenceService labels onto the pods.
For each (environment, model) whose objects changed, one summary line compares the resolved specs:
version, canary, replicas, GPUs, training schedule, and other changed spec paths.

Exit codes: 0 no change, 1 changes, 2 error. A revision that fails to load or render is an error
naming the revision (`HEAD~1: models/x.yaml:3:5: ...`), never shown as removed objects.

JSON output (`--format json`, `schemaVersion` 1; keys are stable, new keys may be added)::

    {
      "schemaVersion": 1,
      "base": {"label": str, "commit": str | null, "description": str},
      "head": {"label": str, "commit": str | null, "description": str},   # commit null: working tree
      "changed": bool,
      "notes": [str],
      "environments": [                                  # promotion order; the selected ones only
        {
          "name": str,
          "added": int, "changed": int, "removed": int,  # objects; a rename counts as added + removed
          "renamed": int,                                # pairs among added/removed
          "relabelled": int,                             # changed only in the version label (not in "changed")
          "models": [
            {"model": str,
             "status": "added" | "changed" | "removed" | "renamed",
             "renamedFrom": str | null,
             "changes": [{"field": str, "old": str | null, "new": str | null}],
             "summary": str}                             # the text summary line, without env/model
          ],
          "objects": [                                   # by (group, kind, namespace, name); the removed
                                                         # side of a rename follows its added side
            {"status": "added" | "changed" | "removed",
             "group": str, "kind": str, "namespace": str, "name": str,   # "" for core / cluster-scoped
             "model": str | null,                        # the model that renders it
             "renamedFrom": {"group", "kind", "namespace", "name"} | null,   # on the added side
             "renamedTo": {"group", "kind", "namespace", "name"} | null,     # on the removed side
             "relabelled": bool,                         # status "changed", only the version label moved
             "before": object | null, "after": object | null,    # Secret values masked
             "diff": str}                                # unified diff ("" on the removed side of a rename)
          ]
        }
      ]
    }

Markdown output (`--format markdown`) is meant for a pull-request comment: a marker comment for
in-place updates, a summary table, a model-changes table, and one `<details>` per environment with
added/removed objects listed and a fenced `diff` block per changed or renamed object. It never exceeds
`MARKDOWN_BUDGET` characters. The model table and each environment get a fair share of the budget
(a part smaller than its share gets all it needs, the rest is split evenly), so a long dev diff
cannot crowd out prod. Within its share a part keeps whole pieces in order; the first diff that does
not fit is cut at a line when a useful part of it fits. A note lists what was left out; fences and
tags are always closed.
"""
