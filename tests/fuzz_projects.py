"""Hypothesis strategies for whole mlgitops projects, written as odd-but-valid YAML, and broken variants.

A project is drawn as plain data first (`ProjectData`: mlgitops.yaml, models, templates, base/platform)
and then written by a small YAML writer of its own (`YamlWriter`) that draws every layout choice:
block or flow collections, plain, single- or double-quoted scalars (with `\\u` escapes), comments
(with non-ASCII text), anchors and aliases for repeated subtrees, indentation widths, `---` markers.
Every file it writes reads back (PyYAML) as exactly the data it was given; the strategy asserts that.

`broken_projects()` takes a valid project and breaks one file in one way (a wrong type, an unknown key,
a bad patch path, a tab, a duplicate key, a Jsonnet syntax error), naming the file that must be blamed.

Kept out on purpose (defect classes being fixed elsewhere, see tests/invariants/test_fuzz_invariants.py): keys
Kustomize interprets (`config.kubernetes.io/*` annotations, `$patch`), addon objects with the same
name across models, cluster-scoped or List objects and Secrets from templates, patches on pod templates,
storage URIs that are not in canonical form, copy-heavy patches, non-ASCII patch paths.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import yaml
from hypothesis import strategies as st

from mlgitops.util.yamlio import _resolve_plain, parse_document

Data = Any
Draw = Callable[..., Any]

ENV_NAMES = ("dev", "staging", "prod")
MODEL_NAMES = ("alpha", "bravo-2", "charlie")
DIGEST = "sha256:" + "3f1c0e1b6a1d2c3e" * 4

# --- text ----------------------------------------------------------------------------------------

# Printable text, with non-ASCII letters, marks, symbols and astral characters; no controls, no line
# or paragraph separators, no BOM and no noncharacters (the writer refuses those: test_yaml_writer_fuzz).
TEXT_ALPHABET = st.characters(
    codec="utf-8",
    categories=["L", "M", "N", "P", "S", "Zs"],
    exclude_characters="\x85\xa0\u2028\u2029\ufeff\ufffe\uffff",
)
SPECIAL_TEXT = st.sampled_from(
    [
        "yes",
        "no",
        "null",
        "~",
        "1e3",
        "0x1F",
        "007",
        "12:30",
        "2026-11-01",
        "- x",
        "#hash",
        "a: b",
        "'q'",
        '"dq"',
        "é",
        "中文",
        "😀 ok",
        "x y",
        " lead",
        "trail ",
        "multi\nline",
        "tab\there",
        "@at",
        "`tick`",
        "%pct",
        "*star",
        "&amp",
        "!bang",
        "{brace}",
        "[bracket]",
        ">gt",
        "|pipe",
        "true",
        "False",
        "on",
        "Off",
        "",
    ]
)


def texts(min_size: int = 0, max_size: int = 12) -> st.SearchStrategy[str]:
    return st.one_of(SPECIAL_TEXT, st.text(TEXT_ALPHABET, min_size=min_size, max_size=max_size))


# --- the YAML writer ---------------------------------------------------------------------------------

_PLAIN_FORBIDDEN_FLOW = re.compile(r"[,\[\]{}]")
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./@+=()$^<>%-]([A-Za-z0-9 _./@+=()$^<>%:~*-]*[A-Za-z0-9_./@+=()$^<>%~*-])?$")


_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)


@functools.lru_cache(maxsize=4096)
def _plain_ok(text: str, flow: bool) -> bool:
    """A string that reads back as itself written plain, in block and flow context."""
    if not _PLAIN_SAFE.match(text) or ": " in text or " #" in text or text.endswith(":"):
        return False
    if flow and _PLAIN_FORBIDDEN_FLOW.search(text):
        return False
    if _resolve_plain(text) != text:  # mlgitops reads plain scalars as YAML 1.2 does (1e3 is a number)
        return False
    try:
        return _load(f"k: {text}\n") == {"k": text} and _load(f"[{text}]") == [text]
    except yaml.YAMLError:
        return False


def _double_quoted(text: str, escape_unicode: bool) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif code > 0x7E and escape_unicode:
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _single_quoted_ok(text: str) -> bool:
    return not any(ord(c) < 0x20 or c in "\x7f" for c in text) and text == text.strip(" ")


def _canonical(value: Data) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=True)


COMMENTS = st.sampled_from(["", "note", "à revoir — ünïcödé", "中文注释", "emoji 😀", "# nested #", "key: value"])


class YamlWriter:
    """Writes one document, drawing each layout choice from Hypothesis (so failures shrink to plain YAML)."""

    def __init__(self, draw: Draw, *, anchors: bool = True) -> None:
        self.draw = draw
        self.indent = draw(st.sampled_from([2, 4]), label="indent")
        self.flow_weight = draw(st.sampled_from([0, 0, 1, 3]), label="flow weight")
        self.comment_weight = draw(st.sampled_from([0, 1, 3]), label="comment weight")
        self.use_anchors = anchors and draw(st.booleans(), label="anchors")
        self.repeats: dict[str, int] = {}
        self.anchored: dict[str, str] = {}

    # -- choices --
    def _flow(self, value: Data) -> bool:
        if not value or not self.flow_weight:
            return not value  # empty collections are always written in flow style
        return bool(self.draw(st.integers(0, 9)) < self.flow_weight)

    def _comment(self) -> str:
        if not self.comment_weight or self.draw(st.integers(0, 9)) >= self.comment_weight:
            return ""
        return "  # " + self.draw(COMMENTS)

    def scalar(self, value: Data, flow: bool, key: bool = False) -> str:
        if value is None:
            return self.draw(st.sampled_from(["null", "~", "Null"]))
        if value is True or value is False:
            return self.draw(st.sampled_from(["true", "True"] if value else ["false", "False"]))
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return repr(value)
        assert isinstance(value, str), value
        styles = []
        if _plain_ok(value, flow) and "\n" not in value:
            styles.append("plain")
        if _single_quoted_ok(value):
            styles.append("single")
        styles += ["double", "double-escaped"]
        style = self.draw(st.sampled_from(styles))
        if style == "plain":
            return value
        if style == "single":
            return "'" + value.replace("'", "''") + "'"
        return _double_quoted(value, style == "double-escaped")

    # -- anchors --
    def count(self, value: Data) -> None:
        if isinstance(value, dict | list) and value:
            key = _canonical(value)
            self.repeats[key] = self.repeats.get(key, 0) + 1
            for item in value.values() if isinstance(value, dict) else value:
                self.count(item)

    def _anchor(self, value: Data) -> tuple[str, bool]:
        """(`&name ` or `*name` or '', whether the value was written as an alias)."""
        if not self.use_anchors or not isinstance(value, dict | list) or not value:
            return "", False
        key = _canonical(value)
        if key in self.anchored:
            return "*" + self.anchored[key], True
        if self.repeats.get(key, 0) > 1:
            name = f"a{len(self.anchored)}"
            self.anchored[key] = name
            return f"&{name} ", False
        return "", False

    # -- writing --
    def flow(self, value: Data) -> str:
        if isinstance(value, dict):
            return "{" + ", ".join(f"{self.scalar(k, True, True)}: {self.flow(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.flow(v) for v in value) + "]"
        return self.scalar(value, True)

    def node(self, value: Data, level: int) -> list[str]:
        """Lines of a block node at `level` columns, or one line (flow / scalar) for after `key:`."""
        pad = " " * level
        lines: list[str] = []
        if isinstance(value, dict):
            for k, v in value.items():
                lines += self.entry(pad + self.scalar(k, False, True) + ":", v, level)
        else:
            for v in value:
                lines += self.entry(pad + "-", v, level, item=True)
        return lines

    def entry(self, head: str, value: Data, level: int, item: bool = False) -> list[str]:
        prefix, alias = self._anchor(value)
        if alias:
            return [f"{head} {prefix}{self._comment()}"]
        if not isinstance(value, dict | list) or self._flow(value):
            text = self.flow(value) if isinstance(value, dict | list) else self.scalar(value, False)
            return [f"{head} {prefix}{text}{self._comment()}"]
        if item and not prefix and isinstance(value, dict) and self.draw(st.booleans()):
            # `- key: value` compact form: the first entry on the dash's line
            inner = self.node(value, level + 2)
            return [head + " " + inner[0].lstrip(" "), *inner[1:]]
        sub = level + self.indent
        if isinstance(value, list) and not item and self.draw(st.booleans()):
            sub = level  # a block sequence may sit at its key's indentation
        return [f"{head} {prefix}".rstrip() + self._comment(), *self.node(value, sub)]

    def document(self, data: dict[str, Data], header: str = "") -> str:
        self.count(data)
        lines: list[str] = []
        if header:
            lines.append(header)
        if self.draw(st.booleans(), label="document start"):
            lines.append("---" + self._comment())
        for k, v in data.items():
            if self.comment_weight and self.draw(st.integers(0, 9)) < self.comment_weight:
                lines.append("# " + self.draw(COMMENTS))
            lines += self.entry(self.scalar(k, False, True) + ":", v, 0)
        text = "\n".join(lines) + "\n"
        assert _load(text) == data, f"the fuzz writer wrote a document that does not read back:\n{text}"
        assert parse_document(text, "fuzz.yaml").data == data, f"mlgitops reads this document otherwise:\n{text}"
        return text


def write_yaml(draw: Draw, data: dict[str, Data], header: str = "") -> str:
    return YamlWriter(draw).document(data, header)


# --- plain data ------------------------------------------------------------------------------------


@dataclass
class ModelData:
    name: str
    spec: dict[str, Data]


@dataclass
class ProjectData:
    environments: list[str]
    project: dict[str, Data]
    models: list[ModelData]
    templates: dict[str, str] = field(default_factory=dict)  # path under templates/ -> text
    platform: dict[str, Data] | None = None  # file name -> list of objects (kustomization.yaml: a dict)
    texts: dict[str, str] = field(default_factory=dict)  # the written files (path -> text)

    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]


def storage_uri(name: str, version: str) -> str:
    return f"s3://ml-models/{name}/{version}/model"


LABEL_VALUES = st.sampled_from(["payments", "crm", "a.b_c-1", "X", "1"])
ANNOTATION_KEYS = st.sampled_from(["docs", "fuzz.mlgitops.test/note", "team.example.com/contact"])

PDB = """\
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
"""

NOTES = """\
// A ConfigMap per model and environment with a note from the settings (any text).
function(model, environment, project, settings={})
  [{
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: model.metadata.name + '-notes', labels: { 'notes.example.com/env': environment.name } },
    data: {
      note: std.get(settings, 'note', 'none'),
      version: model.model.version,
      replicas: std.toString(std.get(std.get(std.get(model, 'serving', {}), 'replicas', {}), 'min', 0)),
    },
  }]
"""


def _lib_text() -> str:
    from tests.conftest import REPO

    return (REPO / "templates/lib/mlgitops.libsonnet").read_text()


@st.composite
def patch_ops(draw: Draw, engine: str, name: str) -> dict[str, Data]:
    """One patch whose target exists in every environment the model serves in, with ops that apply."""
    if engine == "kserve":
        target: dict[str, Data] = {"kind": "InferenceService"}
        if draw(st.booleans()):
            target["name"] = name
        spec_ops = [
            {"op": "add", "path": "/spec/predictor/priorityClassName", "value": "ml-high"},
            {"op": "test", "path": "/kind", "value": "InferenceService"},
        ]
    else:
        target = {"kind": "Deployment", "name": f"{name}-predictor"}
        if draw(st.booleans()):
            target["apiVersion"] = "apps/v1"
        spec_ops = [
            {"op": "add", "path": "/spec/minReadySeconds", "value": draw(st.integers(0, 30))},
            {"op": "add", "path": "/spec/revisionHistoryLimit", "value": draw(st.integers(1, 5))},
        ]
    ops: list[dict[str, Data]] = []
    label = draw(st.sampled_from(["fuzz", "fuzz.example.com/patched", "a~b"]))
    pointer = "/metadata/labels/" + label.replace("~", "~0").replace("/", "~1")
    ops.append({"op": "add", "path": pointer, "value": draw(st.sampled_from(["yes", "1", "x.y", "on"]))})
    if draw(st.booleans()):
        moved = "/metadata/labels/fuzz-moved"
        ops.append({"op": draw(st.sampled_from(["move", "copy"])), "from": pointer, "path": moved})
        if draw(st.booleans()):
            ops.append({"op": "remove", "path": moved})
    ops += draw(st.lists(st.sampled_from(spec_ops), max_size=2, unique_by=_canonical))
    return {"target": target, "ops": ops}


@st.composite
def training_blocks(draw: Draw, name: str) -> dict[str, Data]:
    steps: list[dict[str, Data]] = []
    count = draw(st.integers(1, 3))
    for i in range(count):
        step: dict[str, Data] = {"name": f"s{i}", "command": ["python", "-m", f"{name.replace('-', '_')}.s{i}"]}
        if i:
            step["after"] = [f"s{i - 1}"]
            step["inputs"] = [f"a{i - 1}"]
        if i < count - 1:
            step["outputs"] = [f"a{i}"]
        if draw(st.booleans()):
            step["retries"] = draw(st.integers(0, 3))
        steps.append(step)
    block: dict[str, Data] = {"image": f"ghcr.io/acme/{name}-train@{DIGEST}", "steps": steps}
    if draw(st.booleans()):
        steps[-1]["metrics"] = ["auc"]
        block["gates"] = [{"metric": "auc", "op": draw(st.sampled_from([">=", ">", "<="])), "value": 0.9}]
    if draw(st.booleans()):
        block["schedule"] = draw(st.sampled_from(["0 3 * * 1", "*/30 * * * *", ["0 1 * * *", "0 13 * * *"]]))
    if draw(st.booleans()):
        block["parameters"] = {"data-uri": f"s3://ml-data/{name}/"}
    return block


@st.composite
def serving_blocks(draw: Draw, name: str, gpu_ok: bool) -> dict[str, Data]:
    engine = draw(st.sampled_from(["kserve", "deployment"]))
    serving: dict[str, Data] = {}
    if engine == "deployment" or draw(st.booleans()):
        serving["engine"] = engine
    low = draw(st.integers(1, 3))
    replicas: dict[str, Data] = {"min": low}
    if draw(st.booleans()):
        replicas["max"] = low + draw(st.integers(0, 3))
    serving["replicas"] = replicas
    if engine == "kserve":
        mode = draw(st.sampled_from(["Standard", "Knative"]))
        serving["mode"] = mode
        metrics = ["concurrency", "rps"] if mode == "Knative" else ["cpu", "memory"]
    else:
        metrics = ["cpu", "memory"]
    if draw(st.booleans()):
        serving["autoscaling"] = {"metric": draw(st.sampled_from(metrics)), "target": draw(st.integers(1, 90))}
    if draw(st.integers(0, 4)):  # without limits `validate` refuses the model in the production stages
        serving["resources"] = draw(
            st.sampled_from(
                [
                    {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
                    {"requests": {"cpu": "1"}, "limits": {"cpu": "2", "memory": "4Gi"}},
                    {"limits": {"cpu": "2", "memory": "3Gi"}},
                ]
            )
        )
    if engine == "kserve" and gpu_ok and draw(st.booleans()):
        serving["gpu"] = {"count": 1, "class": "a100"}
    if draw(st.booleans()):
        share = draw(st.integers(0, 100 if engine == "kserve" else 99))  # a Deployment canary cannot take all
        serving["canary"] = {"version": "9", "storageUri": storage_uri(name, "9"), "trafficPercent": share}
    return serving


@st.composite
def models(draw: Draw, name: str, environments: list[str], templates: list[str], platform: bool) -> ModelData:
    spec: dict[str, Data] = {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Model"}
    metadata: dict[str, Data] = {"name": name}
    if draw(st.booleans()):
        metadata["owner"] = draw(texts(1))
    if draw(st.booleans()):
        metadata["labels"] = {"domain": draw(LABEL_VALUES)}
    if draw(st.booleans()):
        metadata["annotations"] = draw(st.dictionaries(ANNOTATION_KEYS, texts(), min_size=1, max_size=2))
    spec["metadata"] = metadata
    version = draw(st.sampled_from(["7", "1.4.0", "2026-11"]))
    spec["model"] = {
        "format": draw(st.sampled_from(["sklearn", "xgboost", "lightgbm"])),
        "version": version,
        "storageUri": storage_uri(name, version),
    }
    has_serving = draw(st.integers(0, 9)) > 0
    if has_serving:
        serving = draw(serving_blocks(name, gpu_ok=True))
        if platform and draw(st.booleans()):
            serving["serviceAccount"] = "model-reader"
        spec["serving"] = serving
    engine = spec.get("serving", {}).get("engine", "kserve")
    if not has_serving or draw(st.booleans()):
        spec["training"] = draw(training_blocks(name))
    if has_serving and draw(st.booleans()):
        monitoring: dict[str, Data] = {"slo": {"latencyP95Ms": draw(st.sampled_from([100, 250, 4000]))}}
        if draw(st.booleans()):
            monitoring["alerts"] = {"runbook": f"https://runbooks.example.com/{name}"}
        if draw(st.booleans()):
            monitoring["dashboard"] = draw(st.booleans())
        spec["monitoring"] = monitoring
    if has_serving and draw(st.booleans()):
        spec["patches"] = draw(st.lists(patch_ops(engine, name), min_size=1, max_size=2))
    if templates and draw(st.booleans()):
        addons: dict[str, Data] = {}
        for template in draw(st.lists(st.sampled_from(templates), unique=True, min_size=1)):
            if draw(st.integers(0, 3)) == 0:
                addons[template] = {"enabled": False}
            elif template == "pdb":
                addons[template] = {"maxUnavailable": draw(st.integers(1, 2))}
            elif template == "notes":
                addons[template] = {"note": draw(texts())}
            else:
                addons[template] = {}
        spec["addons"] = addons
    if draw(st.booleans()):
        spec["data"] = [{"name": "events", "uri": f"s3://ml-data/{name}/events", "version": "2026-11-01"}]
    overrides: dict[str, Data] = {}
    disabled = 0
    for env in environments:
        choice = draw(st.integers(0, 9))
        # (a model that trains must be enabled where it trains, the last environment by default)
        if choice == 0 and disabled < len(environments) - 1 and ("training" not in spec or env != environments[-1]):
            overrides[env] = {"enabled": False}
            disabled += 1
            continue
        if choice > 5:
            continue
        patch: dict[str, Data] = {}
        for part in draw(st.lists(st.integers(0, 7), unique=True, min_size=1, max_size=3)):
            if part == 0 and has_serving:
                low = draw(st.integers(1, 4))
                patch.setdefault("serving", {})["replicas"] = {"min": low, "max": low + draw(st.integers(0, 4))}
            elif part == 1:
                v2 = draw(st.sampled_from(["6", "8"]))
                patch["model"] = {"version": v2, "storageUri": storage_uri(name, v2)}
            elif part == 2 and has_serving:
                patch.setdefault("serving", {})["canary"] = draw(
                    st.sampled_from(
                        [None, {"version": "10", "storageUri": storage_uri(name, "10"), "trafficPercent": 25}]
                    )
                )
            elif part == 3 and "training" in spec and has_serving:
                patch["training"] = None
            elif part == 4 and "monitoring" in spec:
                patch["monitoring"] = {"alerts": {"noTraffic": True}}
            elif part == 5:
                patch["metadata"] = {"annotations": {"docs": draw(texts())}}
            elif part == 6 and "patches" in spec:
                patch["patches"] = draw(st.lists(patch_ops(engine, name), max_size=2))
            elif part == 7 and "addons" in spec:
                patch["addons"] = {t: {"enabled": draw(st.booleans())} for t in spec["addons"]}
        if patch:
            overrides[env] = patch
    if overrides:
        spec["environments"] = overrides
    return ModelData(name, draw(st.permutations(list(spec.items())).map(_reorder_top)))


def _reorder_top(items: list[tuple[str, Data]]) -> dict[str, Data]:
    """Key order of the file does not matter to the spec; keep apiVersion/kind first only sometimes."""
    return dict(items)


@st.composite
def platform_trees(draw: Draw) -> dict[str, Data]:
    accounts = [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "model-reader"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "trainer"}},
    ]
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "platform-notes", "labels": {"team": draw(LABEL_VALUES)}},
        "data": draw(st.dictionaries(st.sampled_from(["a", "b.c", "d_e", "F-1"]), texts(), min_size=1, max_size=3)),
    }
    files: dict[str, Data] = {"serviceaccounts.yaml": accounts, "config.yaml": [config]}
    kustomization: dict[str, Data] = {"resources": ["serviceaccounts.yaml", "config.yaml"]}
    if draw(st.booleans()):
        kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", **kustomization}
    if draw(st.booleans()):
        kustomization["commonAnnotations"] = {"platform.example.com/owner": "platform-team"}
    files["kustomization.yaml"] = kustomization
    return files


@st.composite
def project_data(draw: Draw) -> ProjectData:
    count = draw(st.integers(1, 3))
    environments = list(ENV_NAMES[3 - count :]) if draw(st.booleans()) else list(ENV_NAMES[:count])
    envs: list[dict[str, Data]] = []
    for env in environments:
        entry: dict[str, Data] = {"name": env, "namespace": f"ml-{env}"}
        if draw(st.booleans()):
            entry["cluster"] = "https://kubernetes.default.svc"
        if env == "prod" and draw(st.booleans()):
            entry["syncPolicy"] = "manual"
        if draw(st.booleans()):  # else an environment where no model renders (training elsewhere) is refused
            entry["allowEmpty"] = True
        defaults = draw(
            st.sampled_from(
                [
                    None,
                    {"training": {"schedule": None}},
                    {"serving": {"replicas": {"max": 9}}},
                    {"monitoring": {"alerts": {"noTraffic": True}}},
                ]
            )
        )
        if defaults is not None:
            entry["defaults"] = defaults
        envs.append(entry)
    project: dict[str, Data] = {
        "apiVersion": "mlgitops.io/v1alpha1",
        "kind": "Project",
        "metadata": {"name": draw(st.sampled_from(["acme-ml", "fuzz"]))},
        "repoURL": "https://github.com/acme/ml-config.git",
        "revision": "main",
        "environments": envs,
        "gpuClasses": {
            "a100": {
                "resource": "nvidia.com/gpu",
                "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            }
        },
        "clusterFeatures": {"knative": {"podspecNodeSelector": True, "podspecTolerations": True}, "gatewayApi": True},
        "argocd": {"mode": "plugin", "image": "ghcr.io/acme/mlgitops-cmp:0.1.0"},
    }
    if draw(st.integers(0, 3)):  # what the clusters provide (else `validate` misses these references)
        project["clusterFeatures"]["provides"] = {
            "configMaps": ["artifact-repositories"],
            "serviceAccounts": ["model-reader"],
        }
    if draw(st.booleans()):
        project["training"] = {"environments": [environments[-1]]}
    templates: dict[str, str] = {}
    chosen = draw(st.lists(st.sampled_from(["pdb", "notes"]), unique=True))
    if "pdb" in chosen:
        templates["pdb.jsonnet"] = PDB
        templates["lib/mlgitops.libsonnet"] = _lib_text()
    if "notes" in chosen:
        templates["notes.jsonnet"] = NOTES
    platform = draw(platform_trees()) if draw(st.booleans()) else None
    names = draw(st.lists(st.sampled_from(MODEL_NAMES), unique=True, min_size=1, max_size=3))
    model_list = [draw(models(n, environments, sorted(chosen), platform is not None)) for n in names]
    data = ProjectData(environments, project, model_list, templates, platform)
    return write_texts(draw, data)


def write_texts(draw: Draw, data: ProjectData) -> ProjectData:
    texts_: dict[str, str] = {"mlgitops.yaml": write_yaml(draw, data.project)}
    for model in data.models:
        texts_[f"models/{model.name}.yaml"] = write_yaml(draw, model.spec)
    for path, text in data.templates.items():
        texts_[f"templates/{path}"] = text
    if data.platform is not None:
        for name, content in data.platform.items():
            if isinstance(content, list):
                # documents after a `---`, which may start with their own `---`: an empty document between
                texts_[f"base/platform/{name}"] = "---\n".join(write_yaml(draw, obj) for obj in content)
            else:
                texts_[f"base/platform/{name}"] = write_yaml(draw, content)
    return replace(data, texts=texts_)


def projects() -> st.SearchStrategy[ProjectData]:
    return project_data()


@st.composite
def edited_projects(draw: Draw) -> tuple[ProjectData, ProjectData]:
    """A project and an edit of it: a model changed, added or removed, or mlgitops.yaml's defaults changed."""
    first = draw(project_data())
    kind = draw(st.sampled_from(["model", "add", "remove", "layout", "project", "platform"]))
    second = replace(first, models=list(first.models))
    if kind == "model":
        index = draw(st.integers(0, len(first.models) - 1))
        second.models[index] = draw(
            models(
                first.models[index].name,
                first.environments,
                sorted(t.split(".")[0] for t in first.templates if "/" not in t),
                first.platform is not None,
            )
        )
    elif kind == "add":
        free = [n for n in MODEL_NAMES if n not in first.model_names]
        if free:
            second.models.append(draw(models(free[0], first.environments, [], first.platform is not None)))
    elif kind == "remove" and len(first.models) > 1:
        second.models.pop(draw(st.integers(0, len(first.models) - 1)))
    elif kind == "project":
        envs = [dict(e) for e in first.project["environments"]]
        envs[0]["defaults"] = {"serving": {"replicas": {"max": 8}}}
        second = replace(second, project={**first.project, "environments": envs})
    elif kind == "platform" and first.platform is not None:
        platform = dict(first.platform)
        platform["config.yaml"] = [{**platform["config.yaml"][0], "data": {"edited": draw(texts())}}]
        second = replace(second, platform=platform)
    return first, write_texts(draw, second)


# --- broken variants ---------------------------------------------------------------------------------


@dataclass
class Broken:
    project: ProjectData
    original: ProjectData
    path: str  # the file the error must name
    how: str


def _first_serving(data: ProjectData) -> ModelData | None:
    return next((m for m in data.models if "serving" in m.spec), None)


@st.composite
def broken_projects(draw: Draw) -> Broken:
    data = draw(project_data())
    how = draw(
        st.sampled_from(
            [
                "wrong-type",
                "unknown-key",
                "bad-patch-path",
                "tab",
                "duplicate-key",
                "env-wrong-type",
                "project-unknown-key",
                "jsonnet-syntax",
                "bad-enum",
            ]
        )
    )
    model = draw(st.sampled_from(data.models))
    spec = json.loads(json.dumps(model.spec))
    path = f"models/{model.name}.yaml"
    texts_ = dict(data.texts)
    if how == "wrong-type":
        where = draw(st.sampled_from(["version", "owner", "replicas", "steps"]))
        if where == "version":
            spec["model"]["version"] = draw(st.sampled_from([["7"], {"v": 7}]))
        elif where == "owner":
            spec["metadata"]["owner"] = {"team": "x"}
        elif where == "replicas" and "serving" in spec:
            spec["serving"]["replicas"]["min"] = draw(st.sampled_from(["lots", [1], {"n": 1}, 1.5]))
        else:
            spec["training"] = {**spec.get("training", {"image": f"ghcr.io/a/b@{DIGEST}"}), "steps": "all"}
        texts_[path] = write_yaml(draw, spec)
    elif how == "unknown-key":
        section = draw(st.sampled_from(["", "model", "metadata", "serving"]))
        key = draw(st.sampled_from(["replcas", "storageURI", "x-extra", "ünknown"]))
        target = spec.get(section) if section else spec
        if not isinstance(target, dict):
            target = spec
        target[key] = draw(st.sampled_from([1, "v", None, {"a": 1}]))
        texts_[path] = write_yaml(draw, spec)
    elif how == "bad-patch-path":
        served = _first_serving(data)
        if served is not None:
            model, path = served, f"models/{served.name}.yaml"
            spec = json.loads(json.dumps(served.spec))
        engine = spec.get("serving", {}).get("engine", "kserve")
        kind = "InferenceService" if engine == "kserve" else "Deployment"
        target: dict[str, Data] = {"kind": kind}
        if engine != "kserve":
            target["name"] = f"{model.name}-predictor"
        op = draw(
            st.sampled_from(
                [
                    {"op": "remove", "path": "/spec/doesNotExist"},
                    {"op": "replace", "path": "/spec/nope/deeper", "value": 1},
                    {"op": "add", "path": "/metadata/labels/a/b", "value": "x"},
                    {"op": "test", "path": "/kind", "value": "Nope"},
                    {"op": "add", "path": "/metadata/name", "value": "renamed"},
                    {"op": "move", "from": "/spec/missing", "path": "/spec/other"},
                ]
            )
        )
        spec["patches"] = [*spec.get("patches", []), {"target": target, "ops": [op]}]
        if served is None:  # a training-only model: no serving object to patch at all
            spec["patches"][-1]["target"] = {"kind": "InferenceService"}
        texts_[path] = write_yaml(draw, spec)
    elif how == "tab":
        lines = texts_[path].split("\n")
        at = draw(st.integers(1, max(1, len(lines) - 1)))
        lines.insert(at, "\tbad: 1")
        texts_[path] = "\n".join(lines)
    elif how == "duplicate-key":
        key = draw(st.sampled_from(["kind", "metadata", "model"]))
        texts_[path] = texts_[path] + f"{key}: {json.dumps(spec[key])}\n"
    elif how == "env-wrong-type":
        env = draw(st.sampled_from(data.environments))
        spec.setdefault("environments", {})[env] = draw(
            st.sampled_from(
                [
                    {"serving": {"replicas": {"min": "many"}}},
                    {"model": {"storageUri": 42}},
                    {"serving": {"engine": "tensorflow"}},
                    {"servng": {"replicas": {"min": 1}}},
                ]
            )
        )
        texts_[path] = write_yaml(draw, spec)
    elif how == "project-unknown-key":
        project = json.loads(json.dumps(data.project))
        target = draw(st.sampled_from(["top", "env", "argocd"]))
        holder = project if target == "top" else project["environments"][0] if target == "env" else project["argocd"]
        holder[draw(st.sampled_from(["namespce", "extra", "clusterfeatures"]))] = "x"
        path = "mlgitops.yaml"
        texts_[path] = write_yaml(draw, project)
    elif how == "jsonnet-syntax" and data.templates:
        name = draw(st.sampled_from(sorted(p for p in data.templates if p.endswith(".jsonnet"))))
        path = f"templates/{name}"
        for other in data.models:  # every model uses every template (one no model evaluates is never read)
            plain = json.loads(json.dumps(other.spec))
            plain.pop("addons", None)
            for override in (plain.get("environments") or {}).values():
                override.pop("addons", None)
            texts_[f"models/{other.name}.yaml"] = write_yaml(draw, plain)
        lines = data.templates[name].split("\n")
        at = draw(st.integers(1, len(lines) - 1))  # at a line start: never inside a comment or a string
        lines.insert(at, draw(st.sampled_from(["}}", "local x = ;", ") +"])))
        texts_[path] = "\n".join(lines)
    else:  # bad-enum
        if "serving" in spec:
            spec["serving"]["engine"] = "triton"
        else:
            spec["training"]["steps"][0]["retries"] = -1
        texts_[path] = write_yaml(draw, spec)
    return Broken(replace(data, texts=texts_), data, path, how)
