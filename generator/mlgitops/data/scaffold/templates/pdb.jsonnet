// An addon template (docs: mlgitops' docs/addons.md): `mlgitops render` calls it for every model in every
// environment and adds the objects it returns to that model's render. This one gives every model served
// by more than one replica a PodDisruptionBudget, so a node drain keeps all but `maxUnavailable` of its
// pods running. A model opts out with `addons: {pdb: {enabled: false}}`, or sets
// `addons: {pdb: {maxUnavailable: 2}}`, in its spec or in an environment's patch.
// The labels (lib.labels) and the pod selector (lib.podLabels: KServe's predictor pods, or the pods of
// `engine: deployment`) come from templates/lib/mlgitops.libsonnet.
local lib = import 'lib/mlgitops.libsonnet';

function(model, environment, project, settings={})
  local serving = std.get(model, 'serving', null);
  local replicas = if serving == null then 0 else std.get(std.get(serving, 'replicas', {}), 'min', 1);
  if replicas > 1 then [
    {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: {
        name: model.metadata.name + '-pdb',
        labels: lib.labels(model, project, 'pdb'),
      },
      spec: {
        maxUnavailable: std.get(settings, 'maxUnavailable', 1),
        selector: { matchLabels: lib.podLabels(model) },
      },
    },
  ] else []
