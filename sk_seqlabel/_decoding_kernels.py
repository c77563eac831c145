"""The decoders' loops over time, compiled with numba (used by :mod:`sk_seqlabel._decoding`).

The recursions are loops over time with a few operations per class and step, which NumPy
cannot vectorise and torch would run one small kernel at a time. They live apart from the
decoder's model (hmmlearn keeps its kernels apart the same way), and are imported on the first
decoding, so that importing the package does not import numba.
"""

import numba
import numpy as np

__all__ = ["fixed_lag_close", "fixed_lag_update", "viterbi"]

NORMALIZE_EVERY = 16

# States: class c, segment position k (0 .. d-1) at index c * d + k; k = d - 1 is the state
# that may stay (self-loop) or leave to another class's k = 0. Back-pointers per step and
# class: came_from[c] (the class left to enter c) and stayed[c] (whether c's last state came
# from itself); every other move is fixed, so d does not multiply the back-pointer memory.


@numba.njit(cache=True, nogil=True)
def _first(log_proba, scale, offset, t, log_start, d, delta):
    delta[:] = -np.inf
    for c in range(log_proba.shape[1]):
        delta[c * d] = log_start[c] + log_proba[t, c] * scale - offset[c]
    # Each step subtracts its best score: only differences matter, and the numbers stay small.
    delta -= delta.max()


@numba.njit(cache=True, nogil=True)
def _advance(
    log_proba, scale, offset, t, step, log_transition, d, delta, new, came_from, stayed, row
):
    """Row ``t`` of ``log_proba`` (step ``step`` of the sequence) of the recursion: ``new``
    from ``delta``; its back-pointers in ``row``.

    Rows and steps are passed as indices, not as views: a view costs numba two atomic
    reference-count updates, more than the arithmetic of a step with a few classes.
    """
    n_classes = log_proba.shape[1]
    last = d - 1
    for c in range(n_classes):
        best, arg = -np.inf, 0
        for p in range(n_classes):
            if p == c:
                continue
            value = delta[p * d + last] + log_transition[p, c]
            if value > best:
                best, arg = value, p
        came_from[row, c] = arg
        own = log_transition[c, c]
        stay = delta[c * d + last] + own
        e = log_proba[t, c] * scale - offset[c]
        if d == 1:
            stays = stay >= best
            stayed[row, c] = stays
            new[c] = (stay if stays else best) + e
        else:
            new[c * d] = best + e
            for k in range(1, last):
                new[c * d + k] = delta[c * d + k - 1] + own + e
            grown = delta[c * d + last - 1] + own
            stays = stay >= grown
            stayed[row, c] = stays
            new[c * d + last] = (stay if stays else grown) + e
    # Every NORMALIZE_EVERY-th step (counted from the sequence's start, so that any cut into
    # pieces normalises at the same steps) subtract the best score: only differences matter,
    # and the numbers stay small; between, they drift by a few hundred at most.
    if step % NORMALIZE_EVERY == 0:
        top = new[0]
        for s in range(1, new.shape[0]):
            top = max(top, new[s])
        for s in range(new.shape[0]):
            new[s] -= top


@numba.njit(cache=True, nogil=True)
def _back(state, came_from, stayed, row, d):
    """The state one step earlier on the best path through ``state`` (pointers of ``row``)."""
    c, k = state // d, state % d
    last = d - 1
    if k == last:
        if stayed[row, c]:
            return state
        if d == 1:
            return came_from[row, c] * d + last
        return state - 1
    if k == 0:
        return came_from[row, c] * d + last
    return state - 1


@numba.njit(cache=True, nogil=True)
def _end_state(delta, d):
    """Best final state: one that completes its segment, when any is reachable."""
    n_classes = delta.shape[0] // d
    best, arg = -np.inf, -1
    for c in range(n_classes):
        s = c * d + d - 1
        if delta[s] > best:
            best, arg = delta[s], s
    if arg < 0:  # shorter than d: no segment can be complete
        arg = int(np.argmax(delta))
    return arg


@numba.njit(cache=True, nogil=True)
def viterbi(log_proba, scale, offset, log_start, log_transition, d, checkpoint):
    n_steps, n_classes = log_proba.shape
    labels = np.empty(n_steps, dtype=np.int64)
    if n_steps == 0:
        return labels
    n_states = n_classes * d
    delta = np.empty(n_states)
    new = np.empty(n_states)
    _first(log_proba, scale, offset, 0, log_start, d, delta)
    # Steps 1 .. n_steps - 1 in stretches of `checkpoint`; the scores before each stretch kept.
    emit = (log_proba, scale, offset)
    n_stretches = (n_steps - 2) // checkpoint + 1 if n_steps > 1 else 0
    kept = np.empty((max(n_stretches, 1), n_states))
    came_from = np.empty((min(checkpoint, max(n_steps - 1, 1)), n_classes), dtype=np.int32)
    stayed = np.empty(came_from.shape, dtype=np.bool_)
    for j in range(n_stretches):
        kept[j] = delta
        begin, end = 1 + j * checkpoint, min(1 + (j + 1) * checkpoint, n_steps)
        for t in range(begin, end):
            _advance(*emit, t, t, log_transition, d, delta, new, came_from, stayed, t - begin)
            delta, new = new, delta
    state = _end_state(delta, d)
    labels[n_steps - 1] = state // d
    for j in range(n_stretches - 1, -1, -1):
        begin, end = 1 + j * checkpoint, min(1 + (j + 1) * checkpoint, n_steps)
        if j < n_stretches - 1:  # the last stretch's back-pointers are still in place
            delta[:] = kept[j]
            for t in range(begin, end):
                _advance(*emit, t, t, log_transition, d, delta, new, came_from, stayed, t - begin)
                delta, new = new, delta
        for t in range(end - 1, begin - 1, -1):
            state = _back(state, came_from, stayed, t - begin, d)
            labels[t - 1] = state // d
    return labels


@numba.njit(cache=True, nogil=True)
def fixed_lag_update(
    log_proba, scale, offset, log_start, log_transition, d, delta, came_from, stayed, t0, out
):
    """Advance by ``log_proba``; write the labels that became final to ``out``; return how many."""
    ring = came_from.shape[0]  # lag + 1
    lag = ring - 1
    # The scores swap between two arrays; ``delta`` holds the last ones on return.
    cur, nxt = delta, np.empty_like(delta)
    n_out = 0
    for i in range(log_proba.shape[0]):
        t = t0 + i
        if t == 0:
            _first(log_proba, scale, offset, i, log_start, d, cur)
        else:
            _advance(
                log_proba,
                scale,
                offset,
                i,
                t,
                log_transition,
                d,
                cur,
                nxt,
                came_from,
                stayed,
                t % ring,
            )
            cur, nxt = nxt, cur
        if t >= lag:
            state = int(np.argmax(cur))
            for back in range(lag):
                u = t - back
                state = _back(state, came_from, stayed, u % ring, d)
            out[n_out] = state // d
            n_out += 1
    if cur is not delta:
        delta[:] = cur
    return n_out


@numba.njit(cache=True, nogil=True)
def fixed_lag_close(d, delta, came_from, stayed, n_steps, out):
    """Labels of the last ``len(out)`` steps, from the best complete path at the end."""
    ring = came_from.shape[0]
    m = out.shape[0]
    if m == 0:
        return
    state = _end_state(delta, d)
    out[m - 1] = state // d
    for i in range(1, m):
        u = n_steps - i
        state = _back(state, came_from, stayed, u % ring, d)
        out[m - 1 - i] = state // d
