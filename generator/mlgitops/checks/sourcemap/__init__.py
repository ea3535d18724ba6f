"""From a field of a rendered object back to the spec field it came from.

`spec_source(obj, path, spec, project, env)` answers "which line of which hand-written file made
`/spec/predictor/minReplicas` of this InferenceService?" with `serving.replicas.min` of the model
(resolve.spec_location then finds whether the model file, the project's defaults or the model's
environment patch wrote it) or a field of mlgitops.yaml (images, GPU classes, namespaces).

The table mirrors what the renderer writes (render/kserve.py, deployment.py, training.py). A path it
does not know falls back to the block that rendered the object (`serving`, `training`), and for objects
of unknown kinds to the model file itself. One module per family of objects: `serving`, `training`,
`monitoring`, `smoke`; `common` holds what they share and `dispatch` chooses among them.
"""
