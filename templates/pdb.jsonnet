// A PodDisruptionBudget for every model served by more than one replica: node drains then keep all
// but `maxUnavailable` (setting, default 1) of its pods running.
local lib = import 'lib/mlgitops.libsonnet';

function(model, environment, project, settings={})
  local serving = std.get(model, 'serving', null);
  local replicas = if serving == null then 0 else std.get(serving.replicas, 'min', 1);
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
