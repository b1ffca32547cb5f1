"""`haven report yearly`: the operator's yearly report from the referral database, the same
file the API gives (here from the demo year, the directory not running: codes for names)."""
import io
from datetime import UTC, datetime

import openpyxl
from click.testing import CliRunner

from haven.cli import main
from services.referral import SPEC
from services.referral.demo import load

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


def test_the_yearly_report_is_written_where_asked_in_the_language_asked(tmp_path):
    environ = {"HAVEN_DATA_DIR": str(tmp_path / "var"), "REFERRAL_DIRECTORY_URL": "http://127.0.0.1:9"}
    config = SPEC.load_config(environ)
    SPEC.migrations().upgrade(SPEC.database_url(config))
    load(config, SPEC.database_url(config), now=NOW)
    runner = CliRunner()

    written = runner.invoke(main, ["report", "yearly", "--year", "2026", "--output", str(tmp_path)], env=environ)
    assert written.exit_code == 0, written.output
    path = tmp_path / "haven-bao-cao-nam-2026.xlsx"
    assert str(path) in written.output
    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    summary = {row[0]: row[1] for row in book["Tóm tắt"].iter_rows(values_only=True) if row and row[0]}
    assert summary["Số ca chuyển gửi"] == 200  # the demo year's referrals made before the last 30 days
    areas = [row[0] for row in book["Theo địa bàn"].iter_rows(values_only=True) if row and row[0]]
    assert {"01", "20", "Tổng"} <= set(areas)

    one = runner.invoke(main, ["report", "yearly", "--year", "2026", "--province", "20", "--format", "csv",
                               "--language", "en", "--output", str(tmp_path / "lang-son.csv")], env=environ)
    assert one.exit_code == 0, one.output
    text = (tmp_path / "lang-son.csv").read_text(encoding="utf-8-sig")
    assert text.startswith("Yearly report 2026") and "Scope,Province 20" in text

    refused = runner.invoke(main, ["report", "yearly", "--year", "1999"], env=environ)
    assert refused.exit_code == 2 and "1999" in refused.output
