"""The reset after each database test (common/flush_written) leaves only the migrations' data.

Every test here starts by checking that the database holds nothing but what migrations leave
(content types and permissions); the tests write in each way the reset has to catch, so a write
that leaked from one would fail the next one's check. The last test checks the last writes.
"""

from __future__ import annotations

import threading

import pymongo
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from common.flush_written.listener import UNATTRIBUTED, WRITTEN, collection_written

pytestmark = pytest.mark.django_db


def migrations_data() -> dict[str, set[tuple[str, ...]]]:
    """What migrations (and their post_migrate signal) leave: a content type, the default
    permissions and the Meta.permissions of each model."""
    models = apps.get_models()
    return {
        ContentType._meta.db_table: {(model._meta.app_label, model._meta.model_name) for model in models},
        Permission._meta.db_table: {
            (model._meta.app_label, f"{action}_{model._meta.model_name}")
            for model in models
            for action in model._meta.default_permissions
        }
        | {(model._meta.app_label, codename) for model in models for codename, _name in model._meta.permissions},
    }


def assert_only_migrations_data() -> None:
    expected = migrations_data()
    content_types = [(ct.app_label, ct.model) for ct in ContentType.objects.all()]
    permissions = [(p.content_type.app_label, p.codename) for p in Permission.objects.select_related("content_type")]
    assert sorted(content_types) == sorted(expected[ContentType._meta.db_table])
    assert sorted(permissions) == sorted(expected[Permission._meta.db_table])
    left = {
        table: count
        for table in connection.introspection.django_table_names(only_existing=True)
        if table not in expected and (count := connection.database[table].count_documents({}))
    }
    assert left == {}, "documents left by an earlier test"


@pytest.fixture(autouse=True)
def _starts_with_only_the_migrations_data() -> None:
    assert_only_migrations_data()


def test_writes_through_the_orm() -> None:
    user = get_user_model().objects.create_user("leak@example.com", "x")
    group = Group.objects.create(name="packers")
    group.permissions.add(Permission.objects.first())
    user.groups.add(group)
    assert user.get_all_permissions()


def test_writes_to_a_collection_directly() -> None:
    groups = connection.get_collection(Group._meta.db_table)
    groups.insert_many([{"name": "raw"}, {"name": "raw too"}])
    groups.update_many({}, {"$set": {"changed": True}})
    assert groups.count_documents({"changed": True}) == 2


def test_writes_from_another_thread() -> None:
    def create() -> None:
        try:
            Group.objects.create(name="threads")
        finally:
            connection.close()

    thread = threading.Thread(target=create)
    thread.start()
    thread.join(30)
    assert Group.objects.filter(name="threads").exists()


def test_changes_to_the_migrations_data() -> None:
    Permission.objects.filter(codename="view_group").delete()
    ContentType.objects.filter(model="group").update(model="renamed")
    ContentType.objects.create(app_label="elsewhere", model="thing")
    assert not ContentType.objects.filter(model="group").exists()


def test_writes_the_listener_cannot_attribute() -> None:
    pipeline = [{"$project": {"name": "$codename"}}, {"$merge": {"into": Group._meta.db_table}}]
    connection.get_collection(Permission._meta.db_table).aggregate(pipeline)
    assert Group.objects.count() == Permission.objects.count()
    assert WRITTEN.since_last_flush(connection.settings_dict["NAME"]) is None


def test_writes_from_another_process() -> None:
    """A client without the listener stands for another process (a worker, a second app server)."""
    with pymongo.MongoClient(settings.MONGODB_URI) as elsewhere:
        elsewhere[connection.settings_dict["NAME"]][Group._meta.db_table].insert_one({"name": "elsewhere"})
    assert Group.objects.count() == 1
    assert WRITTEN.since_last_flush(connection.settings_dict["NAME"]) == frozenset()


def test_the_last_writes_are_gone_too() -> None:
    assert WRITTEN.since_last_flush(connection.settings_dict["NAME"]) == frozenset()


@pytest.mark.parametrize(
    ("command_name", "command", "written"),
    [
        ("insert", {"insert": "shop_product", "documents": []}, "shop_product"),
        ("update", {"update": "shop_product", "updates": []}, "shop_product"),
        ("findAndModify", {"findAndModify": "orders_order"}, "orders_order"),
        ("createIndexes", {"createIndexes": "shop_category", "indexes": []}, "shop_category"),
        ("find", {"find": "shop_product"}, None),
        ("aggregate", {"aggregate": "shop_product", "pipeline": [{"$match": {}}]}, None),
        ("aggregate", {"aggregate": "shop_product", "pipeline": [{"$merge": "other"}]}, UNATTRIBUTED),
        ("dropDatabase", {"dropDatabase": 1}, UNATTRIBUTED),
        ("bulkWrite", {"bulkWrite": 1, "ops": [], "nsInfo": []}, UNATTRIBUTED),
    ],
)
def test_commands_are_read_as_writes_of_their_collection(command_name: str, command: dict, written: object) -> None:
    assert collection_written(command_name, command) == written
