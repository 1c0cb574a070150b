"""How well the understanding step reads the corpus it has not seen: the numbers that
``flask --app wsgi understanding evaluate`` prints and the tests hold.

A held-out part of the corpus (stratified by label and language, fixed seed) is read by a
model trained on the rest, through the whole reading (rules, then the model, as in
production), and so is each fold of a stratified k-fold cross-validation. Reported:
precision, recall and F1 per label; the warning-sign recall (a message that reports a
sign gets some warning-sign reply); the false-alarm rate on the near misses (a message
with a sign's words but no current sign that still gets one); and the messages read wrong,
which say what to write next. Pure: no Flask, no database.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from .screening import Screen
from .understanding import (
    IN_USE,
    NEAR_MISS,
    SEED,
    SIGN_PREFIX,
    Example,
    Model,
    Slots,
    Thresholds,
    Understanding,
    train,
)

HELD_OUT = 0.2
FOLDS = 5
#: The thresholds chosen together, and the values tried (understanding.py says what each
#: does). READ_AWAY_SIGN, SET_ASIDE and SIGN_NOISE are policies (the safer reading), not chosen.
GRID = {
    "add_sign": (0.22, 0.25, 0.28, 0.31, 0.35),
    "near_miss_veto": (0.45, 0.55, 0.65),
    "context_agrees": (0.02, 0.05, 0.10),
    "intent_holds": (0.2, 0.25, 0.3, 0.4, 1.0),
}
#: Points this close to the fewest near-miss false alarms count as equally safe; among them
#: the best F1 is chosen (issue 10 holds every intent's F1, not only the safety rates).
NEAR_MISS_TIE = 0.01
#: The warning-sign recall a choice must keep.
LEAST_RECALL = 0.98


@dataclass
class Scores:
    """Counts over one or more readings of labelled examples."""

    truth: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    flagged: list[bool] = field(default_factory=list)
    matched: list[bool] = field(default_factory=list)  # a warning-sign rule matched the words
    wrong: list[tuple[Example, str]] = field(default_factory=list)

    def extend(self, other: Scores) -> None:
        """Pool ``other``'s readings (another fold's) into these."""
        self.truth += other.truth
        self.said += other.said
        self.flagged += other.flagged
        self.matched += other.matched
        self.wrong += other.wrong

    def add(self, example: Example, intent: str, flagged: bool, matched: bool = True) -> None:
        self.truth.append(example.label)
        self.said.append(intent)
        self.flagged.append(flagged)
        self.matched.append(matched)
        if _acted(example.label, matched) != _acted(intent, matched):
            self.wrong.append((example, intent))

    def per_label(self, as_labelled: bool = False) -> dict[str, tuple[float, float, float, int]]:
        """label -> (precision, recall, F1, how many examples).

        Scored as the navigator acts (``_acted``): where no rule matched, "a sign's words,
        not a sign" and "other" are one outcome. ``as_labelled``: by the corpus labels as
        written, for comparison.
        """
        if as_labelled:
            truth, said = self.truth, self.said
        else:
            truth = [_acted(t, m) for t, m in zip(self.truth, self.matched)]
            said = [_acted(s, m) for s, m in zip(self.said, self.matched)]
        hits = Counter(t for t, s in zip(truth, said) if t == s)
        truths, saids = Counter(truth), Counter(said)
        table = {}
        for label in sorted(truths):
            precision = hits[label] / saids[label] if saids[label] else 0.0
            recall = hits[label] / truths[label]
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            table[label] = (precision, recall, f1, truths[label])
        return table

    def f1_summary(self, as_labelled: bool = False) -> tuple[float, float]:
        """(macro F1, lowest F1) over the labels (``per_label``)."""
        f1s = [row[2] for row in self.per_label(as_labelled).values()]
        return sum(f1s) / len(f1s), min(f1s)

    def _rate(self, which) -> float:
        picked = [f for t, f in zip(self.truth, self.flagged) if which(t)]
        return sum(picked) / len(picked) if picked else 0.0

    @property
    def sign_recall(self) -> float:
        return self._rate(lambda label: label.startswith(SIGN_PREFIX))

    @property
    def near_miss_false_alarms(self) -> float:
        return self._rate(lambda label: label == NEAR_MISS)

    @property
    def other_false_alarms(self) -> float:
        """Everyday messages (not signs, not near misses) that got a warning-sign reply."""
        return self._rate(lambda label: label != NEAR_MISS and not label.startswith(SIGN_PREFIX))


#: The one merge the scores make, printed with them (``_acted``).
MERGED = (
    "scored as the navigator acts: where no warning-sign rule matched, no_sign (a sign's"
    " words, not a sign) counts as other, because the engine answers both the same way"
    " (nothing to answer; a person reads it). No other labels are merged."
)


def _acted(label: str, matched: bool) -> str:
    """The label as the navigator acts on it. "no_sign" means a sign's words that are not a
    sign: it sets a rule's match aside. Where no rule matched there is nothing to set
    aside, and the engine does the same for "no_sign" as for "other" (nothing to answer;
    a person reads it): scoring the two apart there would measure a difference the
    navigator never makes (messages/understanding/intents.yaml)."""
    return "other" if label == NEAR_MISS and not matched else label


def split(examples: list[Example], part: float = HELD_OUT) -> tuple[list[Example], list[Example]]:
    """(train, held out), stratified by label and language, the same every time."""
    from sklearn.model_selection import train_test_split

    strata = [f"{e.label}|{e.language}" for e in examples]
    train_part, held_out = train_test_split(
        examples, test_size=part, random_state=SEED, stratify=strata
    )
    return list(train_part), list(held_out)


def score(
    root: Path,
    screen: Screen,
    model: Model,
    examples: list[Example],
    thresholds: Thresholds = IN_USE,
) -> Scores:
    """Read each example as production would (rules, then ``model``) and count."""
    reader = Understanding(root, screen, model=model, thresholds=thresholds)
    scores = Scores()
    for example in examples:
        reading = reader.read(example.text, language=example.language)
        matched = bool(reading.signs or reading.set_aside) or screen.check(example.text) is not None
        scores.add(example, _label(reading), bool(reading.signs), matched)
    return scores


def _label(reading) -> str:
    """The corpus label the reading amounts to: a sign's when it reports one."""
    if reading.signs:
        return SIGN_PREFIX + reading.signs[0]
    if reading.intent.startswith(SIGN_PREFIX):  # a sign the model was not sure enough of
        return NEAR_MISS
    return reading.intent


def held_out(root: Path, screen: Screen, examples: list[Example]) -> Scores:
    train_part, test_part = split(examples)
    slots = Slots(root)
    return score(
        root, screen, Model.from_pipeline(train(train_part, slots), slots, "held-out"), test_part
    )


def folds_of(root: Path, examples: list[Example], folds: int = FOLDS):
    """(a model trained on the rest, the examples it did not see) for each fold of a
    stratified k-fold split of ``examples``, the same every time."""
    from sklearn.model_selection import StratifiedKFold

    strata = [f"{e.label}|{e.language}" for e in examples]
    slots = Slots(root)
    folder = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for train_rows, test_rows in folder.split(examples, strata):
        model = Model.from_pipeline(train([examples[i] for i in train_rows], slots), slots, "fold")
        yield model, [examples[i] for i in test_rows]


def cross_validated(root: Path, screen: Screen, examples: list[Example], folds: int = FOLDS):
    """Scores pooled over a stratified k-fold cross-validation."""
    pooled = Scores()
    for model, part in folds_of(root, examples, folds):
        pooled.extend(score(root, screen, model, part))
    return pooled


@dataclass(frozen=True)
class Trial:
    thresholds: Thresholds
    recall: float
    near_misses: float
    everyday: float
    macro_f1: float = 0.0
    lowest_f1: float = 0.0


class _Remembered:
    """A fold's model that reads each message once: only the thresholds change between the
    points of the grid, never the model's probabilities."""

    def __init__(self, model: Model):
        self.model = model
        self.seen: dict[str, list[tuple[str, float]]] = {}

    def ranked(self, text: str) -> list[tuple[str, float]]:
        if text not in self.seen:
            self.seen[text] = self.model.ranked(text)
        return self.seen[text]


def choose_thresholds(
    root: Path, screen: Screen, examples: list[Example], grid=GRID, folds: int = FOLDS
) -> tuple[list[Trial], Trial]:
    """Every point of ``grid`` scored by a k-fold cross-validation inside the training part
    (the held-out part is never read: choosing on it made its figures flatter than the truth),
    and the one chosen: of the points that keep warning-sign recall at ``LEAST_RECALL``, those
    within ``NEAR_MISS_TIE`` of the fewest near-miss false alarms; of those, the highest
    lowest F1, then the highest macro F1, then the highest recall (no point keeps the
    recall: the highest recall). The models are trained once; only reading is redone."""
    train_part, _ = split(examples)
    parts = [(_Remembered(model), part) for model, part in folds_of(root, train_part, folds)]
    trials = []
    for values in itertools.product(*grid.values()):
        thresholds = replace(IN_USE, **dict(zip(grid, values)))
        pooled = Scores()
        for model, part in parts:
            pooled.extend(score(root, screen, model, part, thresholds))
        trials.append(
            Trial(
                thresholds,
                pooled.sign_recall,
                pooled.near_miss_false_alarms,
                pooled.other_false_alarms,
                *pooled.f1_summary(),
            )
        )
    safe = [t for t in trials if t.recall >= LEAST_RECALL]
    if not safe:
        return trials, max(trials, key=lambda t: t.recall)
    fewest = min(t.near_misses for t in safe)
    tied = [t for t in safe if t.near_misses <= fewest + NEAR_MISS_TIE]
    return trials, max(tied, key=lambda t: (t.lowest_f1, t.macro_f1, t.recall))


def report(name: str, scores: Scores, wrong: int = 40) -> str:
    """The scores as text: a table per label (as the navigator acts, and beside it as the
    corpus labels are written, so a reviewer sees what the one merge changes), the safety
    rates, then what it got wrong."""
    lines = [
        f"== {name}: {len(scores.truth)} messages",
        MERGED,
        f"{'label':26} precision recall  F1    n | as labelled: precision recall  F1    n",
    ]
    written = scores.per_label(as_labelled=True)
    for label, (precision, recall, f1, count) in scores.per_label().items():
        p, r, f, n = written.get(label, (0.0, 0.0, 0.0, 0))
        lines.append(
            f"{label:26} {precision:9.2f} {recall:6.2f} {f1:5.2f} {count:4d} |"
            f" {'':12} {p:9.2f} {r:6.2f} {f:5.2f} {n:4d}"
        )
    macro, lowest = scores.f1_summary()
    macro_labelled, lowest_labelled = scores.f1_summary(as_labelled=True)
    lines += [
        (
            f"macro F1 {macro:.3f}, lowest {lowest:.3f}"
            f" (by the corpus labels as written: {macro_labelled:.3f},"
            f" lowest {lowest_labelled:.3f})"
        ),
        f"warning-sign recall {scores.sign_recall:.3f}",
        f"false alarms on near misses {scores.near_miss_false_alarms:.3f}",
        f"false alarms on everyday messages {scores.other_false_alarms:.3f}",
        f"-- read wrong ({len(scores.wrong)}; the first {min(wrong, len(scores.wrong))}):",
    ]
    for example, said in scores.wrong[:wrong]:
        lines.append(f"{example.label} -> {said} [{example.language}] {example.text}")
    return "\n".join(lines)
