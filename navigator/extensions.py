"""The Flask extensions, made once and bound to an app by the factory."""

import sqlite3

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine

db = SQLAlchemy()
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


@event.listens_for(Engine, "connect")
def _sqlite_for_two_processes(dbapi_connection, _record) -> None:
    """The embedded mode runs the web server and the reminder worker on one SQLite file.

    Write-ahead logging lets readers go on while the other process writes. The busy
    timeout, which makes a writer wait its turn instead of failing with "database is
    locked", is the connection's own ``timeout`` (database.py): a few seconds, so a webhook
    still answers in time. PostgreSQL connections are left alone.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
