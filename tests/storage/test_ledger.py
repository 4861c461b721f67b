"""The ledger's contract, on SQLite and on a real PostgreSQL: durable appends read back in
order, exact money, one writer, the schema and exchange checks, clear errors."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from execution.codec import ExchangeReset, SignalNote, VariantControl
from execution.ledger import Filters, LedgerUnavailableError
from execution.models import OrderStatus
from execution.trading_state import TradingState
from storage import schema
from storage.database import HEAD, Database, DatabaseError
from storage.entries import commit_entries
from storage.sql import SqlLedger
from strategy.models import Side, SignalRaised, SignalReason
from tests.execution.conftest import T0, order_record
from tests.ledgers import ledger_lines, orders_in, started_ledger


async def test_an_append_is_durable_when_it_returns_and_reads_back_in_order(
    ledger_url: str,
) -> None:
    ledger = await started_ledger(ledger_url)
    await ledger.append(order_record("c1"))
    ledger.append_nowait(order_record("c1", "filled", fill_time=T0 + 5))
    signal = SignalRaised(
        "A",
        "BTCUSDT",
        Side.BUY,
        SignalReason.SIGNAL,
        Decimal("60000.01"),
        T0,
        7,
        None,
        1.5,
        1.25,
        "open",
        {"ema": 1.5, "sma": float("nan")},
    )
    ledger.append_nowait(SignalNote(signal))
    await ledger.append(VariantControl(T0, "A", "pause", "a person", Decimal("0.1")))
    await ledger.append(ExchangeReset(T0 + 9, "wiped"))
    await ledger.stop()

    again = await started_ledger(ledger_url)
    entries = again.records()
    await again.stop()
    assert [type(e).__name__ for e in entries] == [
        "OrderRecord",
        "OrderRecord",
        "SignalNote",
        "VariantControl",
        "ExchangeReset",
    ]
    assert entries[1] == order_record("c1", "filled", fill_time=T0 + 5)
    assert isinstance(entries[2], SignalNote) and entries[2].signal.price == Decimal("60000.01")
    assert entries[3] == VariantControl(T0, "A", "pause", "a person", Decimal("0.1"))
    assert [line["type"] for line in ledger_lines(ledger_url)] == [
        "intent",
        "filled",
        "signal",
        "control",
        "reset",
    ]


async def test_queries_answer_from_what_was_appended(ledger_url: str) -> None:
    ledger = await started_ledger(ledger_url)
    for cid in ("a", "b", "c"):
        await ledger.append(order_record(cid))
    await ledger.append(order_record("a", "filled", fill_time=T0 + 1))
    await ledger.append(order_record("b", "rejected"))
    await ledger.append(order_record("d", "filled", variant="B", symbol="ETHUSDT", fill_time=T0))
    state = await ledger.trading_state(
        lambda: TradingState(["A", "B"], Decimal(1000), lambda symbol: ("BTC", "USDT", None))
    )
    assert list(state.open_intents) == ["c"]

    async def fills(limit: int = 10, **filters: Any) -> list[str]:
        page = await ledger.fills_page(Filters(**filters), limit, None)
        return [r.client_order_id for r in page.rows]

    assert await fills() == ["a", "d"]
    assert await fills(variant="B") == ["d"]
    assert await fills(since_ms=T0 + 1) == ["a"]
    assert await fills(limit=1) == ["d"]
    await ledger.stop()


async def test_money_is_exact_in_the_typed_tables(ledger_url: str) -> None:
    """NUMERIC in PostgreSQL, exact text in SQLite: never a float on the way."""
    odd = Decimal("123456789.123456789012345678")
    tiny = Decimal("0.00000001")
    fill = order_record("m", "filled", fill_time=T0)
    from dataclasses import replace

    fill = replace(fill, avg_price=odd, commission=tiny, realized_pnl=Decimal("-0.1"))
    ledger = await started_ledger(ledger_url)
    await ledger.append(fill)
    await ledger.settled()  # its typed rows follow the commit the order waits for
    with ledger.db.engine.connect() as conn:
        row = conn.execute(
            select(schema.orders.c.avg_price, schema.orders.c.commission,
                   schema.orders.c.realized_pnl, schema.orders.c.status)
        ).one()  # fmt: skip
        assert (row.avg_price, row.commission, row.realized_pnl) == (odd, tiny, Decimal("-0.1"))
        assert row.status == OrderStatus.FILLED.value
        # Summed by the database itself, exactly.
        total = conn.execute(text("SELECT SUM(CAST(commission AS NUMERIC)) FROM orders")).scalar()
        assert Decimal(str(total)) == tiny
    await ledger.stop()
    again = await started_ledger(ledger_url)
    assert again.records()[0] == fill
    await again.stop()


async def test_a_note_rides_with_the_order_that_follows_it(ledger_url: str) -> None:
    """A closed candle's or a signal's note, appended without waiting, is committed with the
    intent that comes soon after it: the candle-to-order path pays one commit."""
    ledger = await started_ledger(ledger_url)
    commits: list[int] = []
    event.listen(ledger.db.engine, "commit", lambda conn: commits.append(1))
    signal = SignalRaised("A", "BTCUSDT", Side.BUY, SignalReason.SIGNAL, Decimal(1), T0, T0)
    ledger.append_nowait(SignalNote(signal))
    await asyncio.sleep(0.005)  # a few loop turns: the strategy and the order plan
    await ledger.append(order_record("n1"))
    assert len(commits) == 1
    ledger.append_nowait(SignalNote(signal))  # alone: committed within the delay anyway
    await asyncio.sleep(0.3)
    assert len(commits) == 2
    kinds = [type(e).__name__ for e in ledger.records()]
    assert kinds == ["SignalNote", "OrderRecord", "SignalNote"]
    await ledger.stop()


async def test_appends_of_one_loop_turn_share_one_transaction(ledger_url: str) -> None:
    ledger = await started_ledger(ledger_url)
    commits: list[int] = []
    event.listen(ledger.db.engine, "commit", lambda conn: commits.append(1))
    await asyncio.gather(*(ledger.append(order_record(f"c{i}")) for i in range(50)))
    assert len(commits) == 1
    await ledger.append(order_record("c50"))
    assert len(commits) == 2
    await asyncio.gather(*(ledger.append(order_record(f"d{i}")) for i in range(300)))
    await ledger.stop()
    lines = ledger_lines(ledger_url)
    assert [x["client_order_id"] for x in lines] == (
        [f"c{i}" for i in range(51)] + [f"d{i}" for i in range(300)]
    )


async def test_a_second_instance_is_refused_while_the_first_holds_the_ledger(
    ledger_url: str,
) -> None:
    first = Database.open(ledger_url, exchange="simulated")
    with pytest.raises(DatabaseError, match="another running instance uses this ledger"):
        Database.open(ledger_url, exchange="simulated")
    # A reader (journal export) is not a second writer.
    Database.open(ledger_url, exchange=None, exclusive=False).close()
    first.close()
    Database.open(ledger_url, exchange="simulated").close()  # free again


async def test_a_ledger_of_another_exchange_is_refused(ledger_url: str) -> None:
    Database.open(ledger_url, exchange="testnet").close()
    with pytest.raises(DatabaseError, match="holds testnet orders, not simulated ones"):
        Database.open(ledger_url, exchange="simulated")


async def test_a_schema_newer_than_the_code_is_refused(ledger_url: str) -> None:
    db = Database.open(ledger_url, exchange=None)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    db.close()
    with pytest.raises(DatabaseError, match=r"its schema \(9999\) is newer than this version"):
        Database.open(ledger_url, exchange=None)


def test_an_unreachable_database_is_one_line_with_the_password_masked() -> None:
    url = "postgresql://trader:hunter2@127.0.0.1:1/ledger"
    with pytest.raises(DatabaseError) as info:
        Database.open(url, exchange=None)
    message = str(info.value)
    assert message.startswith("DATABASE_URL postgresql://trader:***@127.0.0.1:1/ledger:")
    assert "hunter2" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("mysql://u@h/db", "'mysql' is not supported"),
        ("sqlite://", "needs a file"),
        ("postgresql://u@h", "name the database"),
        ("not a url", "not a database URL"),
    ],
)
def test_a_wrong_database_url_is_named(url: str, named: str) -> None:
    with pytest.raises(DatabaseError, match=named):
        Database.open(url, exchange=None)


def test_a_sqlite_ledger_in_a_folder_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="is a folder"):
        Database.open(f"sqlite:///{tmp_path}", exchange=None)


async def test_a_failed_write_refuses_appends_until_the_database_is_back(
    tmp_path: Path,
) -> None:
    """The database fails under the ledger: the waiting append fails at once (its order is
    never sent), later appends are refused and say why, and once the database takes writes
    again the failed entry goes in, in order, and appends are accepted again."""
    url = f"sqlite:///{tmp_path}/ledger.db"
    ledger = await started_ledger(url)
    await ledger.append(order_record("ok"))
    await ledger.settled()
    with ledger.db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE entries RENAME TO entries_away"))
    with pytest.raises(LedgerUnavailableError, match="ledger-writer write failed"):
        await ledger.append(order_record("failed"))
    assert ledger.failure is not None and "entries" in ledger.failure
    with pytest.raises(LedgerUnavailableError, match="cannot be written"):
        await ledger.append(order_record("refused"))
    with ledger.db.engine.begin() as conn:  # the database is back
        conn.execute(text("ALTER TABLE entries_away RENAME TO entries"))
    for _ in range(100):
        if ledger.failure is None:
            break
        await asyncio.sleep(0.05)
    assert ledger.failure is None
    await ledger.append(order_record("after"))
    await ledger.settled()
    with ledger.db.engine.connect() as conn:  # the typed rows followed, in order
        typed = conn.execute(select(schema.orders.c.client_order_id).order_by(schema.orders.c.seq))
        assert list(typed.scalars()) == ["ok", "failed", "after"]
    await ledger.stop()
    assert [x["client_order_id"] for x in ledger_lines(url)] == ["ok", "failed", "after"]


async def test_typed_rows_a_crash_left_out_are_written_at_the_next_start(ledger_url: str) -> None:
    """The order waits only for its entry's commit; its typed rows follow. A process killed
    between the two leaves entries without them: the next start writes them."""
    ledger = await started_ledger(ledger_url)
    await ledger.append(order_record("a"))
    await ledger.stop()
    db = Database.open(ledger_url, exchange=None)
    with db.engine.connect() as conn:  # as the writer commits them before it dies
        commit_entries(conn, [(2, order_record("b")), (3, order_record("c", "filled"))])
        assert conn.execute(select(func.count()).select_from(schema.orders)).scalar() == 1
    db.close()
    again = await started_ledger(ledger_url)
    with again.db.engine.connect() as conn:
        rows = conn.execute(
            select(schema.orders.c.client_order_id, schema.orders.c.status).order_by(
                schema.orders.c.seq
            )
        ).all()
    assert [tuple(r) for r in rows] == [("a", "intent"), ("b", "intent"), ("c", "filled")]
    page = await again.fills_page(Filters(), 10, None)
    assert [r.client_order_id for r in page.rows] == ["c"]
    await again.stop()


async def test_the_ledger_starts_once_and_refuses_appends_before(ledger_url: str) -> None:
    ledger = SqlLedger(Database.open(ledger_url, exchange=None), owns_db=True)
    with pytest.raises(RuntimeError, match="not started"):
        ledger.append_nowait(order_record("x"))
    await ledger.start()
    await ledger.start()
    await ledger.append(order_record("x"))
    await ledger.stop()
    assert len(ledger_lines(ledger_url)) == 1


async def test_a_ledger_at_the_previous_schema_is_migrated_with_its_entries(
    ledger_url: str,
) -> None:
    """A database left at revision 0001 (before stored candles) by an older version: the next
    start upgrades it in place (Alembic, batch mode) and every entry is still there."""
    from alembic import command

    from storage.database import _alembic, make_engine
    from storage.rows import rows_by_table
    from storage.url import parse

    engine = make_engine(parse(ledger_url))
    with engine.begin() as conn:
        command.upgrade(_alembic(conn), "0001")
        for table, rows in rows_by_table([(1, order_record("old")), (2, order_record("b"))]):
            conn.execute(table.insert(), rows)
        assert not engine.dialect.has_table(conn, "candles")
    engine.dispose()

    ledger = await started_ledger(ledger_url)  # migrates to head
    assert [r.client_order_id for r in orders_in(ledger)] == ["old", "b"]
    with ledger.db.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    await ledger.append(order_record("new"))
    await ledger.stop()
    assert [x["client_order_id"] for x in ledger_lines(ledger_url)] == ["old", "b", "new"]


def test_the_revisions_the_start_knows_are_the_migration_scripts() -> None:
    """The start compares revisions without loading Alembic: its list is the scripts'."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from storage.database import MIGRATIONS, REVISIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    scripts = ScriptDirectory.from_config(config)
    assert tuple(r.revision for r in reversed(list(scripts.walk_revisions()))) == REVISIONS
    assert scripts.get_current_head() == HEAD
