"""``flask --app wsgi understanding evaluate|thresholds|export``, and where the model is cached.

``evaluate`` prints how well the navigator reads the corpus it has not seen (held-out
part and cross-validation; see understanding_evaluation.py); ``thresholds`` chooses the
sign thresholds again, by cross-validation inside the training part only. ``export``
writes what the coordinators labelled on the "Not understood" page as corpus YAML for the
team to review: those are patients' own words, so the file must be treated as patient
data, and nothing is ever added to the corpus, or trained on, without a person doing it.
"""

from __future__ import annotations

from pathlib import Path

import click
import yaml
from flask import current_app
from flask.cli import AppGroup

from ..catalog import catalog
from ..core import understanding_evaluation as evaluation
from ..core.engine import engine_for
from ..core.understanding import IN_USE, load_corpus
from ..extensions import db
from ..models import Message, MessageReading

understanding_cli = AppGroup(
    "understanding", help="Train, evaluate the understanding step, export labels."
)

PATIENT_WORDS_WARNING = (
    "WARNING: this file holds patients' own words (health information). Keep it where "
    "patient data may be kept, remove names, numbers and dates before adding any line to "
    "the corpus, and delete it when done."
)


def init_app(app) -> None:
    """The model cache lives in the instance folder (a file per corpus version)."""
    app.extensions["content"].model_cache = Path(
        app.config.get("UNDERSTANDING_CACHE") or Path(app.instance_path) / "understanding"
    )
    app.cli.add_command(understanding_cli)


def warm(app, quick: bool = False) -> None:
    """Train or load the model at start-up (web process only), not on a patient's text.

    ``quick``: only the quick language detector now (see ``Understanding.warm``).
    """
    with app.app_context():
        engine_for(catalog()).understanding.warm(quick=quick)


@understanding_cli.command("train")
def train_command() -> None:
    """Train the model for today's corpus into the cache, before the web server starts.

    Run at release (Procfile) and by scripts/start: a web worker then loads the cached
    file in moments instead of training while gunicorn waits for it to boot.
    """
    warm(current_app)
    click.echo(f"understanding model ready in {current_app.extensions['content'].model_cache}")


@understanding_cli.command("evaluate")
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds (0: none).")
@click.option("--wrong", default=40, show_default=True, help="How many misread messages to list.")
def evaluate_command(folds: int, wrong: int) -> None:
    """Precision, recall and F1 per intent, warning-sign recall, near-miss false alarms."""
    engine = engine_for(catalog())
    root = catalog().root
    examples = load_corpus(root)
    click.echo(f"corpus: {len(examples)} examples, version {engine.understanding.model.version}")
    held = evaluation.held_out(root, engine.screen, examples)
    click.echo(evaluation.report("held-out part (20%)", held, wrong=wrong))
    if folds > 1:
        pooled = evaluation.cross_validated(root, engine.screen, examples, folds)
        click.echo(evaluation.report(f"{folds}-fold cross-validation", pooled, wrong=0))


@understanding_cli.command("thresholds")
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds.")
def thresholds_command(folds: int) -> None:
    """Choose the sign thresholds again by cross-validation inside the training part, and
    print every point tried, the one chosen and the ones in use."""
    engine = engine_for(catalog())
    root = catalog().root
    trials, chosen = evaluation.choose_thresholds(
        root, engine.screen, load_corpus(root), folds=folds
    )
    names = list(evaluation.GRID)
    click.echo(
        " ".join(f"{name:>15}" for name in names) + "  recall  near  everyday  macro F1  lowest"
    )
    for trial in sorted(trials, key=lambda t: (t.near_misses, -t.recall)):
        values = " ".join(f"{getattr(trial.thresholds, name):15.2f}" for name in names)
        click.echo(
            f"{values}  {trial.recall:6.3f} {trial.near_misses:5.3f} {trial.everyday:9.3f}"
            f" {trial.macro_f1:9.3f} {trial.lowest_f1:7.3f}"
        )
    click.echo(f"chosen: {chosen.thresholds}")
    click.echo(f"in use: {IN_USE}")


@understanding_cli.command("export")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def export_command(path: str) -> None:
    """Write the coordinators' labelled messages as Rasa NLU YAML, by label and language."""
    rows = db.session.execute(
        db.select(MessageReading.label, MessageReading.language, Message.body)
        .join(Message, Message.id == MessageReading.message_id)
        .where(MessageReading.label.is_not(None))
        .order_by(MessageReading.label, MessageReading.id)
    ).all()
    blocks: dict[tuple[str, str], list[str]] = {}
    for label, language, body in rows:
        text = " ".join(body.split())
        if text:
            blocks.setdefault((language, label), []).append(text)
    nlu = [
        {"intent": label, "language": language, "examples": "".join(f"- {t}\n" for t in texts)}
        for (language, label), texts in sorted(blocks.items())
    ]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("# " + PATIENT_WORDS_WARNING + "\n")
        yaml.safe_dump({"nlu": nlu}, handle, allow_unicode=True, sort_keys=False)
    click.echo(PATIENT_WORDS_WARNING, err=True)
    click.echo(f"Wrote {len(rows)} labelled messages to {path}.")
    current_app.logger.info("understanding labels exported: %d", len(rows))
