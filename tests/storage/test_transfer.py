"""JSON lines in and out of the ledger (`python main.py journal import|export`), and the first
start on a database beside an older service's journal file."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from execution.codec import ExchangeReset, SignalNote, VariantControl
from execution.journal import write_lines
from storage.database import Database
from storage.transfer import TransferError, entry_count, import_journal
from strategy.models import Side, SignalRaised, SignalReason
from tests.execution.conftest import T0, order_record
from tests.ledgers import ledger_lines

ROOT = Path(__file__).resolve().parents[2]


def _journal(path: Path) -> list[bytes]:
    """A journal as today's main writes it (execution.journal.write_lines, the same codec)."""
    signal = SignalRaised("B", "ETHUSDT", Side.SELL, SignalReason.STOP_LOSS, Decimal("2000.5"),
                          T0, 3, None, None, None, "close", None)  # fmt: skip
    write_lines(path, [
        order_record("a"), order_record("a", "filled", fill_time=T0 + 1), SignalNote(signal),
        VariantControl(T0 + 2, "A", "configure", "", Decimal("0.12"), (("ema_period", 8),)),
        ExchangeReset(T0 + 3, "wiped"), order_record("b"),
    ])  # fmt: skip
    return path.read_bytes().splitlines()


def _main(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


@pytest.mark.e2e  # runs main.py
def test_import_then_export_gives_back_the_same_lines(ledger_url: str, tmp_path: Path) -> None:
    lines = _journal(tmp_path / "old.jsonl")
    done = _main("journal", "import", str(tmp_path / "old.jsonl"), "--database", ledger_url)
    assert done.returncode == 0, done.stderr
    assert f"imported {len(lines)} entries" in done.stderr
    out = tmp_path / "out" / "export.jsonl"
    done = _main("journal", "export", "--out", str(out), "--database", ledger_url)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().splitlines() == lines
    assert [orjson.loads(x) for x in lines] == ledger_lines(ledger_url)


@pytest.mark.e2e  # runs main.py
def test_a_wrong_shaped_line_is_named_and_nothing_is_imported(
    ledger_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsonl"
    lines = _journal(path)
    lines.insert(2, b'{"type":"filled","variant":"A"}')
    path.write_bytes(b"\n".join(lines) + b"\n")
    done = _main("journal", "import", str(path), "--database", ledger_url)
    assert done.returncode == 2
    assert "bad.jsonl: line 3: filled without 'quantity'" in done.stderr
    assert "nothing was imported" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert ledger_lines(ledger_url) == []


def test_blank_lines_and_a_torn_last_line_are_not_corruption(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    lines = _journal(path)
    path.write_bytes(lines[0] + b"\n\n" + b"\n".join(lines[1:]) + b'\n{"type":"inte')
    db = Database.open(f"sqlite:///{tmp_path}/l.db", exchange=None)
    count, torn = import_journal(db, path)
    assert (count, torn) == (len(lines), [len(lines) + 2])
    db.close()


def test_only_an_empty_ledger_takes_an_import(ledger_url: str, tmp_path: Path) -> None:
    _journal(tmp_path / "j.jsonl")
    db = Database.open(ledger_url, exchange=None)
    import_journal(db, tmp_path / "j.jsonl")
    with pytest.raises(TransferError, match="already holds 6 entries"):
        import_journal(db, tmp_path / "j.jsonl")
    assert entry_count(db) == 6
    db.close()


@pytest.mark.e2e  # runs main.py
def test_export_of_a_missing_ledger_or_to_a_folder_is_one_line(tmp_path: Path) -> None:
    done = _main("journal", "export", "--out", str(tmp_path / "x.jsonl"),
                 "--database", f"sqlite:///{tmp_path}/none.db")  # fmt: skip
    assert done.returncode == 2 and "no such ledger file" in done.stderr
    Database.open(f"sqlite:///{tmp_path}/l.db", exchange=None).close()
    done = _main("journal", "export", "--out", str(tmp_path),
                 "--database", f"sqlite:///{tmp_path}/l.db")  # fmt: skip
    assert done.returncode == 2 and "is a folder" in done.stderr
