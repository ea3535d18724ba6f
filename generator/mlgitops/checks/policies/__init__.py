"""Policies: footguns of ML serving and training on Kubernetes, checked on the rendered objects.

Each policy has an id, a severity and a one-line reason. A project switches one off in mlgitops.yaml,
a model in its own file, always with a reason (optionally only in some environments):

    policies:
      disabled:
      - {id: gpu-scale-to-zero, reason: "dev GPUs are shared; cold starts are fine", environments: [dev]}

Where an environment stands in the promotion order (`environments:` of mlgitops.yaml, first to last):

* dev is the first environment, when there are at least two (a single environment is production);
* prod is the last environment;
* the stage before prod is the closest earlier environment where the model is enabled.

Checks read the objects exactly as they are deployed, so they also cover objects a platform team adds
(base/platform); the model spec, when there is one, refines a check (the GPU class a step asked for).

One module per concern: the catalogue, where pods are, the promotion order and the checks.
"""
