// Helpers shared by the templates of this project (imported as 'lib/mlgitops.libsonnet' from templates/*.jsonnet;
// written by `mlgitops init`, yours to change). The addon examples of mlgitops' docs (docs/addons.md) use it.
{
  // The labels of the pods that serve a model. KServe labels its predictor pods with
  // serving.kserve.io/inferenceservice: <name> (kserve/kserve pkg/constants/constants.go,
  // InferenceServicePodLabelKey); engine: deployment pods carry mlgitops' selector labels.
  podLabels(model)::
    if std.get(std.get(model, 'serving', {}), 'engine', 'kserve') == 'deployment' then
      { 'app.kubernetes.io/name': model.metadata.name, 'app.kubernetes.io/component': 'predictor' }
    else
      { 'serving.kserve.io/inferenceservice': model.metadata.name },

  // Labels for an addon object of `model`, made by `template`.
  labels(model, project, template):: {
    'app.kubernetes.io/name': model.metadata.name,
    'app.kubernetes.io/component': template,
    'app.kubernetes.io/part-of': project.metadata.name,
    'app.kubernetes.io/managed-by': 'mlgitops',
  },
}
