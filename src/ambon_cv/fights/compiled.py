"""The fitted fight classifier as plain arrays: the probabilities scikit-learn's
`predict_proba` gives, without its per-call cost.

The live analytic scores one window every `hop_s` on each of the 18 hot spots. There,
scikit-learn's checks and its per-tree loop cost about 10 ms a call for 100 trees, more than
the optical flow of the window's half second. Walking every tree at once, level by level in
numpy, is some 50 times cheaper and gives the same numbers (tests/fights/test_compiled.py
holds it to sklearn's to 1e-6).

Understood: a soft `VotingClassifier` (no weights) of the two below, an `ExtraTreesClassifier`
or `RandomForestClassifier`, and a `Pipeline` of `StandardScaler` and `LogisticRegression`.
Anything else is scored by its own `predict_proba`.

Example:
    >>> import numpy as np
    >>> from sklearn.ensemble import ExtraTreesClassifier
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(60, 4)), rng.integers(0, 2, 60)
    >>> forest = ExtraTreesClassifier(10, random_state=0).fit(x, y)
    >>> fast = compile_classifier(forest)
    >>> bool(np.allclose(fast(x[:3]), forest.predict_proba(x[:3])[:, 1]))
    True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Scorer = Callable[[np.ndarray], np.ndarray]  # rows -> probability of the positive class


class Forest:
    """Every tree of a fitted forest in padded arrays (trees x nodes); a leaf points to
    itself, so walking `depth` levels lands every row on its leaf in every tree."""

    def __init__(self, forest) -> None:
        trees = [e.tree_ for e in forest.estimators_]
        nodes = max(t.node_count for t in trees)
        n = len(trees)
        self.depth = max(t.max_depth for t in trees)
        self.feature = np.zeros((n, nodes), np.intp)
        self.threshold = np.zeros((n, nodes), np.float64)
        self.left = np.tile(np.arange(nodes), (n, 1))
        self.right = self.left.copy()
        self.positive = np.zeros((n, nodes), np.float64)
        column = int(np.flatnonzero(forest.classes_ == forest.classes_.max())[0])
        for k, t in enumerate(trees):
            inner = t.children_left >= 0
            m = t.node_count
            self.feature[k, :m] = np.where(inner, t.feature, 0)
            self.threshold[k, :m] = t.threshold
            self.left[k, :m] = np.where(inner, t.children_left, np.arange(m))
            self.right[k, :m] = np.where(inner, t.children_right, np.arange(m))
            value = t.value[:, 0, :]
            self.positive[k, :m] = value[:, column] / value.sum(axis=1)
        self.trees = np.arange(n)[None, :]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)  # as sklearn's trees compare: float32 rows, float64 cuts
        trees, rows = self.trees, np.arange(len(x))[:, None]
        node = np.zeros((len(x), trees.shape[1]), np.intp)
        for _ in range(self.depth):
            go_left = x[rows, self.feature[trees, node]] <= self.threshold[trees, node]
            node = np.where(go_left, self.left[trees, node], self.right[trees, node])
        return self.positive[trees, node].mean(axis=1)


class Logistic:
    """`StandardScaler` then `LogisticRegression`, as one affine map and a sigmoid."""

    def __init__(self, pipeline) -> None:
        scaler, lr = pipeline[0], pipeline[-1]
        scale = scaler.scale_ if scaler.with_std else np.ones_like(scaler.mean_)
        mean = scaler.mean_ if scaler.with_mean else np.zeros_like(scale)
        self.weights = lr.coef_[0] / scale
        self.bias = float(lr.intercept_[0] - (mean / scale) @ lr.coef_[0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = np.asarray(x, np.float64) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))


def _is_forest(model) -> bool:
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    return isinstance(model, ExtraTreesClassifier | RandomForestClassifier) and (
        len(model.classes_) == 2 and model.n_outputs_ == 1
    )


def _is_logistic(model) -> bool:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return (
        isinstance(model, Pipeline)
        and len(model.steps) == 2
        and isinstance(model[0], StandardScaler)
        and isinstance(model[-1], LogisticRegression)
        and len(model[-1].classes_) == 2
    )


def compile_classifier(model) -> Scorer:
    """A function of feature rows giving the positive class's probability, exactly as
    `model.predict_proba(rows)[:, 1]`, compiled where the model is one of the kinds above."""
    from sklearn.ensemble import VotingClassifier

    if _is_forest(model):
        return Forest(model)
    if _is_logistic(model):
        return Logistic(model)
    if (
        isinstance(model, VotingClassifier)
        and model.voting == "soft"
        and model.weights is None
        and len(model.classes_) == 2
    ):
        parts = [compile_classifier(e) for e in model.estimators_]
        return lambda x: np.mean([part(x) for part in parts], axis=0)
    return lambda x: model.predict_proba(x)[:, 1]
