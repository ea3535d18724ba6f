"""mlgitops: GitOps for machine learning.

One declarative spec per model in Git, rendered into Kustomize bases, per-environment overlays and
Argo Workflows manifests, deployed by Argo CD or Flux.
"""

__version__ = "0.1.0"
