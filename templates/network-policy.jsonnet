// A NetworkPolicy per served model: its pods accept traffic only from pods of the environment's own
// namespace and of the namespaces in `fromNamespaces` (setting; default: the KServe and Knative
// ingress namespaces).
local lib = import 'lib/mlgitops.libsonnet';

function(model, environment, project, settings={})
  local namespaces = [environment.namespace] + std.get(settings, 'fromNamespaces', ['istio-system', 'knative-serving']);
  if std.get(model, 'serving', null) == null then [] else [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: model.metadata.name + '-ingress',
        labels: lib.labels(model, project, 'network-policy'),
      },
      spec: {
        podSelector: { matchLabels: lib.podLabels(model) },
        policyTypes: ['Ingress'],
        ingress: [{
          from: [
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } }
            for ns in namespaces
          ],
        }],
      },
    },
  ]
