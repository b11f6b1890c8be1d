"""Schema, migrations, repositories and the task-FSM services. Owns every SQL statement."""

from hangar.store.engine import create_engine
from hangar.store.errors import (
    AlreadyRetried,
    Blocked,
    Conflict,
    InvalidTransition,
    InvalidValue,
    NotFound,
    StoreError,
    UnsupportedDatabaseURL,
)
from hangar.store.finalize import TaskChange
from hangar.store.issue_edit import IssueEdit
from hangar.store.issues import UNSET, Unset
from hangar.store.migrate import migrate
from hangar.store.store import Store
from hangar.store.sweeper import RecoveryReport, SweepReport

__all__ = [
    "UNSET",
    "AlreadyRetried",
    "Blocked",
    "Conflict",
    "InvalidTransition",
    "InvalidValue",
    "IssueEdit",
    "NotFound",
    "RecoveryReport",
    "Store",
    "StoreError",
    "SweepReport",
    "TaskChange",
    "Unset",
    "UnsupportedDatabaseURL",
    "create_engine",
    "migrate",
]
