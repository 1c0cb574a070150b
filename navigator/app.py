"""The recurrence navigator: an SMS and voice guide through the workup after breast
cancer comes back, and a small web app for the nurse navigators who run it.

``create_app`` reads like a table of contents: settings, then each subsystem's
``init_app``, then the blueprints. It does no I/O beyond reading its own files.
"""

from __future__ import annotations

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import catalog, clean_input, coordinator, database, health, logs
from . import config as settings
from .channels import confirmation_calls, coordinator_calls, reminder_calls, sms, voice
from .cli import appointment_commands as appointments_cli
from .cli import coordinator_commands
from .cli import patient_commands as cli
from .cli import understanding_commands as understanding_cli
from .extensions import csrf, db, login_manager, migrate
from .feed import listener as interface_listener


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app. ``test_config`` overrides what the environment says.

    :raise ConfigError: a setting is missing or malformed (production mode).
    :raise ContentError: messages/ is broken.
    """
    app = Flask("navigator", instance_relative_config=True)
    app.config.from_mapping(settings.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)

    logs.init_app(app)
    clean_input.init_app(app)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    database.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    catalog.init_app(app)

    app.register_blueprint(health.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(voice.bp)
    app.register_blueprint(reminder_calls.bp)
    app.register_blueprint(coordinator_calls.bp)
    app.register_blueprint(confirmation_calls.bp)
    coordinator.init_app(app)
    coordinator_commands.init_app(app)
    cli.init_app(app)
    appointments_cli.init_app(app)
    interface_listener.init_app(app)
    understanding_cli.init_app(app)
    return app
