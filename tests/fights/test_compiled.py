"""The compiled fight classifier gives scikit-learn's probabilities, for every kind it knows."""

from __future__ import annotations

import numpy as np
import pytest

from ambon_cv.fights.classifier import make_classifier
from ambon_cv.fights.compiled import Forest, Logistic, compile_classifier


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(160, 12)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 3] * x[:, 5] + rng.normal(0, 0.5, 160) > 0).astype(int)
    return x, y, rng.normal(size=(64, 12)).astype(np.float32)


@pytest.mark.parametrize("name", ["vote", "extra_trees", "logistic"])
def test_compiled_scores_equal_predict_proba(clips, name):
    x, y, unseen = clips
    model = make_classifier(name, trees=30, seed=1).fit(x, y)
    fast = compile_classifier(model)
    for rows in (unseen, unseen[:1], x):
        assert np.allclose(fast(rows), model.predict_proba(rows)[:, 1], atol=1e-6)


def test_the_kinds_it_knows_are_compiled_and_the_rest_fall_back(clips):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier

    x, y, unseen = clips
    assert isinstance(compile_classifier(make_classifier("extra_trees", 10).fit(x, y)), Forest)
    assert isinstance(compile_classifier(make_classifier("logistic").fit(x, y)), Logistic)
    forest = RandomForestClassifier(10, random_state=0).fit(x, y)
    assert np.allclose(compile_classifier(forest)(unseen), forest.predict_proba(unseen)[:, 1])
    other = KNeighborsClassifier(5).fit(x, y)  # not compiled: its own predict_proba
    assert np.array_equal(compile_classifier(other)(unseen), other.predict_proba(unseen)[:, 1])


def test_string_labels_score_the_later_class(clips):
    x, y, unseen = clips
    named = np.where(y == 1, "fight", "calm")  # sorted: calm, fight; predict_proba[:, 1] is fight
    model = make_classifier("vote", trees=10).fit(x, named)
    assert np.allclose(compile_classifier(model)(unseen), model.predict_proba(unseen)[:, 1])
