"""A small learned reading of a question: a linear classifier over word unigrams and bigrams, trained when the
index is built on the curated procedures' names and aliases (citizens' words).

It is one more ranking feature for the matcher, not a decision maker: it weighs every word of a long message
at once (a bag of words learnt from the aliases), where the lexical reading looks for whole phrases. Only
procedures with aliases are learnt: imported national records have nothing in citizens' words to learn from.
Training solves one linear system (a few tens of milliseconds for the bundled knowledge base); everything
is plain numpy, no model is downloaded or stored.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Ridge penalty: 0.3 fits the aliases closely without memorising single words.
RIDGE_ALPHA = 0.3
INTERCEPT_SCALE = 1.0  # the constant feature that carries each class's bias


def _features(tokens: Sequence[str]) -> Counter[str]:
    """Word unigrams and adjacent bigrams of a token sequence."""
    grams = Counter(tokens)
    grams.update(f"{first} {second}" for first, second in zip(tokens, tokens[1:], strict=False))
    return grams


@dataclass(frozen=True)
class PhraseClassifier:
    """Which procedure a bag of words points to, learnt from the procedures' own phrases."""

    labels: np.ndarray  # class index -> the caller's label (an owner number)
    vocabulary: dict[str, int]  # feature -> row of `weights`
    idf: np.ndarray  # per feature
    weights: np.ndarray  # (features, classes)
    bias: np.ndarray  # (classes,)

    @classmethod
    def train(cls, phrases: Sequence[Sequence[str]], labels: Sequence[int]) -> "PhraseClassifier | None":
        """A classifier of these tokenised phrases into their labels; None when there is nothing to tell apart.

        One-vs-rest ridge regression on L2-normalised TF-IDF vectors (targets +1 / -1), solved in closed form
        in its dual (one linear system of the size of the number of phrases): plain numpy, deterministic.
        """
        classes = np.asarray(sorted(set(labels)))
        if len(classes) < 2:
            return None
        counted = [_features(phrase) for phrase in phrases]
        vocabulary: dict[str, int] = {}
        for grams in counted:
            for feature in grams:
                vocabulary.setdefault(feature, len(vocabulary))
        documents = np.zeros(len(vocabulary))
        for grams in counted:
            documents[[vocabulary[feature] for feature in grams]] += 1
        idf = np.log((1 + len(counted)) / (1 + documents)) + 1.0  # smoothed, as scikit-learn's TfidfVectorizer
        matrix = np.zeros((len(counted), len(vocabulary) + 1))
        for row, grams in enumerate(counted):
            columns = [vocabulary[feature] for feature in grams]
            matrix[row, columns] = (1.0 + np.log(list(grams.values()))) * idf[columns]
            norm = np.linalg.norm(matrix[row])
            if norm:
                matrix[row] /= norm
        matrix[:, -1] = INTERCEPT_SCALE  # a constant feature: the bias of each class
        class_index = {label: column for column, label in enumerate(classes)}
        targets = -np.ones((len(counted), len(classes)))
        targets[np.arange(len(counted)), [class_index[label] for label in labels]] = 1.0
        gram = matrix @ matrix.T
        gram[np.diag_indices_from(gram)] += RIDGE_ALPHA
        weights = matrix.T @ np.linalg.solve(gram, targets)
        return cls(classes, vocabulary, idf, weights[:-1], weights[-1] * INTERCEPT_SCALE)

    def margins(self, tokens: Sequence[str]) -> dict[int, float]:
        """Each learnt label's margin for these tokens (above 0: the classifier would pick it)."""
        rows: list[int] = []
        values: list[float] = []
        for feature, count in _features(tokens).items():
            row = self.vocabulary.get(feature)
            if row is not None:
                rows.append(row)
                values.append((1.0 + np.log(count)) * self.idf[row])
        if not rows:
            return {}
        vector = np.asarray(values)
        vector /= np.linalg.norm(vector)
        scores = vector @ self.weights[rows] + self.bias
        return {int(label): float(score) for label, score in zip(self.labels, scores, strict=True)}
