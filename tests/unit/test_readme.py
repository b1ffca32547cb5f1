"""The README stays true: its two commands exist and every setting is documented."""
from pathlib import Path

from haven.cli import PROCESSES

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_environment_variable_is_documented_with_its_default():
    for spec in PROCESSES.values():  # the portal too
        for setting in spec.settings:
            rows = [line for line in README.splitlines() if line.startswith(f"| `{setting.name}` |")]
            assert rows, f"{setting.name} is not in the README's configuration table"
            if setting.default is not None:
                assert f"`{setting.default}`" in rows[0], f"{setting.name}: default not documented"


def test_the_readme_starts_with_the_run_and_test_commands_and_ci_runs_the_test_one():
    first_block = README.split("```")[1]
    assert "make run" in first_block and "make test" in first_block
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "\nrun:" in makefile and "\ntest:" in makefile
