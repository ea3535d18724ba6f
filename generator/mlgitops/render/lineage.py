"""Data lineage: the datasets a model's training reads, as workflow parameters and annotations.

A dataset is pinned by an immutable version (a snapshot date, a DVC revision, a lakeFS commit, an
object version). The rendered WorkflowTemplate and the serving objects carry the model version, the
dataset versions and the training image, so the objects in the cluster say what produced them.
"""

from __future__ import annotations

from mlgitops.language.model import Dataset, Model

MODEL_VERSION_ANNOTATION = "lineage.mlgitops.io/model-version"
TRAINING_IMAGE_ANNOTATION = "lineage.mlgitops.io/training-image"
# The registry run that produced the served version (`model.runId`, written by `promote --alias`).
RUN_ID_ANNOTATION = "lineage.mlgitops.io/run-id"
DATASET_ANNOTATION_PREFIX = "data.lineage.mlgitops.io/"
# References that name whatever is newest, not one snapshot.
MOVING_VERSIONS = frozenset({"latest", "head", "main", "master", "current", "newest", "trunk", "stable"})


def parameter_stem(dataset: Dataset) -> str:
    """`transactions` → `DATA_TRANSACTIONS` (the prefix of its workflow parameters)."""
    return "DATA_" + dataset.name.upper().replace("-", "_")


def data_parameters(spec: Model) -> dict[str, str]:
    """Workflow parameters for the datasets: DATA_<NAME>_URI and DATA_<NAME>_VERSION."""
    params: dict[str, str] = {}
    for dataset in spec.data:
        stem = parameter_stem(dataset)
        params[f"{stem}_URI"] = dataset.uri
        params[f"{stem}_VERSION"] = dataset.version or ""
    return params


def unpinned_reason(dataset: Dataset) -> str | None:
    """Why a dataset's version does not pin one snapshot, or None when it does."""
    if dataset.version is None or not dataset.version.strip():
        return "has no version"
    if dataset.version.strip().lower() in MOVING_VERSIONS:
        return f"has the moving version {dataset.version!r}"
    return None


def lineage_annotations(spec: Model) -> dict[str, str]:
    """Annotations that say what produced the served model: its version, datasets, training image and run."""
    run = {RUN_ID_ANNOTATION: spec.model.runId} if spec.model.runId else {}
    if not spec.data and spec.training is None:
        return run
    annotations = {MODEL_VERSION_ANNOTATION: spec.model.version}
    if spec.training is not None:
        annotations[TRAINING_IMAGE_ANNOTATION] = spec.training.image
    for dataset in spec.data:
        annotations[DATASET_ANNOTATION_PREFIX + dataset.name] = f"{dataset.uri}@{dataset.version or 'unpinned'}"
    annotations.update(run)
    return annotations
