"""Small helpers for reading the SDK's betterproto messages in the tests."""

from datetime import datetime

import betterproto
from pachyderm_sdk.api import pfs


def is_set(value) -> bool:
    """A timestamp or message field the server sent (betterproto gives an unsent timestamp as
    1970-01-01 and an unsent message as an empty instance)."""
    if value is None:
        return False
    if isinstance(value, datetime):
        return value.timestamp() != 0
    if isinstance(value, betterproto.Message):
        return betterproto.serialized_on_wire(value)
    return bool(value)


def new_repo(client, name: str, project: str = "default") -> pfs.Repo:
    """Create a user repo through the SDK and return its message."""
    r = pfs.Repo(name=name, type="user", project=pfs.Project(name=project))
    client.pfs.create_repo(repo=r)
    return r
