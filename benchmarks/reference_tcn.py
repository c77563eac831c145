"""A textbook TCN per-timestep labeler, hand-written in PyTorch: the reference of segments.py.

What a tutorial would write, and nothing of the package: per-channel standardisation on the
training steps; a stack of residual blocks of two dilated convolutions (64 filters, kernel 3,
dilations 1, 2, 4, 8, 16; ReLU, dropout 0.1; "same" padding); Adam at 1e-3; batches of 8 whole
sequences drawn at random and zero-padded to the batch's longest; cross-entropy over the real
steps only; a fixed number of epochs; each test sequence predicted alone (so padding never
reaches it), arg-max per step.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, channels, dilation, dropout):
        super().__init__()
        self.conv1 = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):  # (batch, channels, time)
        h = self.dropout(torch.relu(self.conv1(x)))
        h = self.dropout(torch.relu(self.conv2(h)))
        return torch.relu(x + h)


class TextbookTCN(nn.Module):
    def __init__(self, n_features, n_classes, channels=64, dilations=(1, 2, 4, 8, 16)):
        super().__init__()
        self.inp = nn.Conv1d(n_features, channels, 1)
        self.blocks = nn.Sequential(*(Block(channels, d, 0.1) for d in dilations))
        self.out = nn.Conv1d(channels, n_classes, 1)

    def forward(self, x):  # (batch, time, features) -> (batch, time, classes)
        return self.out(self.blocks(self.inp(x.transpose(1, 2)))).transpose(1, 2)


def fit_predict(X_train, y_train, X_test, classes, *, epochs=80, batch_size=8, seed=0):
    """Train on the lists, return the arg-max label arrays of ``X_test`` (labels of ``classes``)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    steps = np.concatenate(X_train)
    mean, std = steps.mean(axis=0), steps.std(axis=0) + 1e-8
    X_train = [torch.from_numpy(((x - mean) / std).astype(np.float32)) for x in X_train]
    index = {c: i for i, c in enumerate(classes)}
    y_train = [torch.tensor([index[v] for v in y], dtype=torch.long) for y in y_train]
    model = TextbookTCN(X_train[0].shape[1], len(classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        model.train()
        order = rng.permutation(len(X_train))
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            x = nn.utils.rnn.pad_sequence([X_train[i] for i in rows], batch_first=True)
            y = nn.utils.rnn.pad_sequence(
                [y_train[i] for i in rows], batch_first=True, padding_value=-100
            )
            loss = nn.functional.cross_entropy(
                model(x).reshape(-1, len(classes)), y.reshape(-1), ignore_index=-100
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    out = []
    with torch.no_grad():
        for x in X_test:
            x = torch.from_numpy(((x - mean) / std).astype(np.float32))[None]
            out.append(np.asarray(classes)[model(x)[0].argmax(-1).numpy()])
    return out
