// A NetworkPolicy per served model: its pods accept traffic only from pods of the environment's own
// namespace and of the namespaces in `fromNamespaces` (setting; default: `defaultFrom` below, the ingress
// and monitoring namespaces of common installs; set it where yours differ).
local lib = import 'lib/mlgitops.libsonnet';

// The namespaces admitted by default: the Istio and Knative ingress (KServe's Knative mode and its
// default Ingress), Envoy Gateway's proxies (Gateway API ingress, e.g. KServe's kserve-ingress-gateway)
// and `monitoring`, where Prometheus scrapes the PodMonitors from.
local defaultFrom = ['istio-system', 'knative-serving', 'envoy-gateway-system', 'monitoring'];

function(model, environment, project, settings={})
  local namespaces = [environment.namespace] + std.get(settings, 'fromNamespaces', defaultFrom);
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
