"""The stand-in for pydantic's plugin loader (pydantic_plugins.py) answers as pydantic's own would.

Each case runs in a fresh interpreter: the stand-in is registered before pydantic is first used.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pydantic
import pytest

from mlgitops.util import pydantic_plugins

BIN = Path(sys.executable).parent


def run_python(code: str, **env: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={"PATH": f"{BIN}:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


MODEL = """
    import sys
    from mlgitops.util.pydantic_plugins import skip_discovery
    registered = skip_discovery()
    from mlgitops.language.project import Project
    project = Project.model_validate(
        {"apiVersion": "mlgitops.io/v1alpha1", "kind": "Project", "metadata": {"name": "p"},
         "repoURL": "https://github.com/acme/ml.git", "environments": [{"name": "dev", "namespace": "ml-dev"}]}
    )
    print(registered, project.environments[0].namespace, "importlib.metadata" in sys.modules)
"""


@pytest.mark.parametrize("value", pydantic_plugins.DISABLED_VALUES)
def test_models_validate_without_plugin_discovery(value: str) -> None:
    assert run_python(MODEL, PYDANTIC_DISABLE_PLUGINS=value).split() == ["True", "ml-dev", "False"]


@pytest.mark.parametrize("env", [{}, {"PYDANTIC_DISABLE_PLUGINS": "some-plugin"}])
def test_discovery_stays_when_plugins_are_on(env: dict[str, str]) -> None:
    """Unset, or naming single plugins: pydantic's own loader runs (and loads importlib.metadata)."""
    assert run_python(MODEL, **env).split() == ["False", "ml-dev", "True"]


def test_stand_in_answers_like_the_real_loader() -> None:
    out = run_python(
        """
        import os, sys
        import pydantic.plugin._loader as real
        real_answer = list(real.get_plugins())
        del sys.modules["pydantic.plugin._loader"]
        from mlgitops.util import pydantic_plugins
        assert pydantic_plugins.skip_discovery()
        from pydantic.plugin._loader import get_plugins  # as pydantic/plugin/_schema_validator.py does
        stand_in = sys.modules["pydantic.plugin._loader"]
        assert stand_in is not real and get_plugins is pydantic_plugins.get_plugins
        print(real_answer, list(stand_in.get_plugins()))
        """,
        PYDANTIC_DISABLE_PLUGINS="__all__",
    )
    assert out.split() == ["[]", "[]"]


def test_other_names_come_from_the_real_loader() -> None:
    out = run_python(
        """
        import os, sys
        from mlgitops.util import pydantic_plugins
        assert pydantic_plugins.skip_discovery()
        assert "importlib.metadata" not in sys.modules
        from pydantic.plugin._loader import PYDANTIC_ENTRY_POINT_GROUP
        loaded = sys.modules["pydantic.plugin._loader"]
        print(PYDANTIC_ENTRY_POINT_GROUP, "importlib.metadata" in sys.modules, hasattr(loaded, "entry_points"))
        """,
        PYDANTIC_DISABLE_PLUGINS="1",
    )
    assert out.split() == ["pydantic", "True", "True"]


def test_plugins_turned_back_on_use_the_real_loader() -> None:
    out = run_python(
        """
        import os, sys
        from mlgitops.util import pydantic_plugins
        assert pydantic_plugins.skip_discovery()
        os.environ["PYDANTIC_DISABLE_PLUGINS"] = "other"
        answer = pydantic_plugins.get_plugins()
        print(type(answer).__name__, "importlib.metadata" in sys.modules)
        """,
        PYDANTIC_DISABLE_PLUGINS="true",
    )
    assert out.split() == ["dict_values", "True"]


def test_pydantic_imports_only_get_plugins_from_its_loader() -> None:
    """What the installed pydantic takes from the loader module: the stand-in serves it directly."""
    package = Path(pydantic.__file__).parent
    imports = [
        line.strip()
        for path in package.rglob("*.py")
        if path != package / "plugin" / "_loader.py"
        for line in path.read_text().splitlines()
        if re.search(r"\bimport\b", line) and "_loader" in line
    ]
    assert imports and set(imports) == {"from ._loader import get_plugins"}
    # and get_plugins there is what the stand-in mirrors: disabled values return before discovery
    source = (package / "plugin" / "_loader.py").read_text()
    assert "elif disabled_plugins in ('__all__', '1', 'true'):\n        return ()" in source
