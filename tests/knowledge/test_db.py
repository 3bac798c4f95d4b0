"""Database schema: migrations bring old databases up to date, and match the models exactly."""

from dataclasses import replace

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from knowledge.db import (
    SchemaBehindError,
    _alembic_config,
    add_alias,
    init_db,
    knowledge_version,
    load_procedures,
    make_engine,
    schema_revisions,
    upgrade_schema,
    write_procedures,
)

pytestmark = pytest.mark.databases  # SQLite, and PostgreSQL when TTHC_TEST_POSTGRES_URL is set


def _differences(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)


def test_migrations_alone_build_the_schema_the_models_describe(database_url):
    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")
    assert _differences(engine) == []
    current, head = schema_revisions(engine)
    assert current == head
    engine.dispose()


def test_a_database_of_the_first_release_is_upgraded_and_keeps_its_rows(database_url):
    engine = make_engine(database_url)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0001")
        connection.execute(sa.text("DROP TABLE alembic_version"))  # the first release had no migrations
        connection.execute(
            sa.text(
                "INSERT INTO procedure (code, name, short_name, field, level, agency, where_to_file, documents, "
                "steps, processing_time, fees, online, legal_basis, result, source_url, verified_on, origin, "
                "updated_at) VALUES ('9.000001', 'Thủ tục cũ', '', '', 'Cấp xã', '', '', '[\"Tờ khai\"]', '[]', "
                "'', '', 'Có', '[]', '', '', '', 'curated', '2026-01-01 00:00:00')"
            )
        )
    assert schema_revisions(engine)[0] == "0001"
    if engine.dialect.name != "sqlite":  # several workers must never race to migrate: the operator upgrades
        with pytest.raises(SchemaBehindError, match=r"revision 0001, this version needs \S+: run `tthc db upgrade`"):
            init_db(engine)
        assert upgrade_schema(engine)[0] == "0001"
    assert init_db(engine) == 0  # not empty: nothing seeded over the commune's own data
    assert _differences(engine) == []
    (old,) = load_procedures(engine)
    assert (old.code, old.documents, old.special_cases, old.online_level) == ("9.000001", ("Tờ khai",), (), "")
    engine.dispose()


def test_every_change_moves_the_knowledge_version_once_per_transaction(database_url):
    engine = make_engine(database_url)
    init_db(engine)
    infos = load_procedures(engine)
    before = knowledge_version(engine)
    write_procedures(engine, [replace(info, name=info.name + " (sửa)") for info in infos])
    assert knowledge_version(engine) == before + 1  # workers reload once; not one update of the counter per row
    assert add_alias(engine, infos[0].code, "một cách gọi mới")
    assert knowledge_version(engine) == before + 2
    write_procedures(engine, infos, dry_run=True)  # nothing written: nothing to reload
    assert knowledge_version(engine) == before + 2
    engine.dispose()
