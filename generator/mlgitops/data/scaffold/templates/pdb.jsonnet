// An addon template (docs: mlgitops' docs/addons.md): `mlgitops render` calls it for every model in every
// environment and adds the objects it returns to that model's render. This one gives every model served
// by more than one replica a PodDisruptionBudget, so a node drain keeps all but `maxUnavailable` of its
// pods running. A model opts out with `addons: {pdb: {enabled: false}}`, or sets
// `addons: {pdb: {maxUnavailable: 2}}`, in its spec or in an environment's patch.
function(model, environment, project, settings={})
  local serving = std.get(model, 'serving', null);
  local replicas = if serving == null then 0 else std.get(std.get(serving, 'replicas', {}), 'min', 1);
  // The labels of the model's serving pods: KServe labels its predictor pods
  // serving.kserve.io/inferenceservice: <name>; `engine: deployment` pods carry mlgitops' selector labels.
  local pods =
    if serving != null && std.get(serving, 'engine', 'kserve') == 'deployment' then
      { 'app.kubernetes.io/name': model.metadata.name, 'app.kubernetes.io/component': 'predictor' }
    else
      { 'serving.kserve.io/inferenceservice': model.metadata.name };
  if replicas > 1 then [
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: {
        name: model.metadata.name + '-pdb',
        labels: {
          'app.kubernetes.io/name': model.metadata.name,
          'app.kubernetes.io/component': 'pdb',
          'app.kubernetes.io/part-of': project.metadata.name,
          'app.kubernetes.io/managed-by': 'mlgitops',
        },
      },
      spec: {
        maxUnavailable: std.get(settings, 'maxUnavailable', 1),
        selector: { matchLabels: pods },
      },
    },
  ] else []
