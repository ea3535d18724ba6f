"""The input language: the two hand-written file kinds and everything decided from them alone.

`Project` is `mlgitops.yaml` (project.py); `Model` is `models/<name>.yaml` (model.py, with serving.py,
training.py, containers.py and fields.py), strict pydantic models. Keys are spelt exactly as in the files
(camelCase, like Kubernetes), unknown keys are errors, and a number or boolean where text is meant
(`version: 1.10`, which YAML reads as 1.1) is an error asking to quote it; quantities (`cpu: 1`) accept
numbers, as Kubernetes does.

Around the classes: reading the files (loader.py, workspace.py, schema_errors.py), resolving a model for
an environment (resolve.py), and the spec-level rules: values Kubernetes accepts (kubevalues.py),
credentials, cluster features (clusterfit.py, stockfit.py), placement (node_classes.py), the training
workflow's structure (workflow_structure.py, stepgraph.py). May import only `util`.
"""
