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

# Logical states: class c, segment position k (0 .. d-1) at index c * d + k; k = d - 1 is the
# state that may stay (self-loop) or leave to another class's k = 0. Back-pointers per step
# and class: came_from[c] (the class left to enter c) and stayed[c] (whether c's last state
# came from itself); every other move is fixed, so d does not multiply the back-pointer memory.
#
# The scores of those states are kept in a block of d + 1 numbers per class, so that a step
# costs O(n_classes ** 2) whatever d: F (the last state's score), G (the running sum of the
# class's own transition and step scores) and a ring of d - 1 numbers W. A chain state k
# scores W[(t - k) % (d - 1)] + G at step t: moving one place along the chain adds the same
# own + step score to every chain state, which adding it to G does at once, and the entry of
# step t overwrites the slot of the state that leaves the chain for the last one.


@numba.njit(cache=True, nogil=True)
def _check_shapes(n_classes, offset, log_start, log_transition, d):
    """Refuse what would index out of bounds (the callers check first; this is the last line).

    An out-of-bounds write in compiled code corrupts memory instead of raising.
    """
    if d < 1:
        raise ValueError("min_segment_length must be >= 1")
    if (
        offset.shape[0] != n_classes
        or log_start.shape[0] != n_classes
        or log_transition.shape[0] != n_classes
        or log_transition.shape[1] != n_classes
    ):
        raise ValueError("the decoder's tables do not match the number of classes")


@numba.njit(cache=True, nogil=True)
def _check_state(state, came_from, stayed, n_classes, d):
    """Refuse a fixed-lag state whose arrays do not fit ``n_classes``, ``d`` and a lag >= 0."""
    if d < 1:
        raise ValueError("min_segment_length must be >= 1")
    if came_from.shape[0] < 1 or stayed.shape[0] != came_from.shape[0]:
        raise ValueError("a fixed-lag state needs lag + 1 >= 1 rows of back-pointers")
    if (
        state.shape[0] != n_classes * (d + 1)
        or came_from.shape[1] != n_classes
        or stayed.shape[1] != n_classes
    ):
        raise ValueError("the fixed-lag state does not match the number of classes")


@numba.njit(cache=True, nogil=True, inline="always")
def _chain_score(state, c, k, t, d):
    """Score of logical state (c, k < d - 1) at step ``t``."""
    block = c * (d + 1)
    return state[block + 2 + (t - k) % (d - 1)] + state[block + 1]


@numba.njit(cache=True, nogil=True)
def _normalize(state, n_classes, d, t):
    """Subtract the best score from every state, and fold each G into its ring.

    Only differences matter; this keeps the numbers small, whatever the sequence length.
    """
    top = -np.inf
    for c in range(n_classes):
        top = max(top, state[c * (d + 1)])
    if top == -np.inf:  # before any segment is complete: the chain states lead
        for c in range(n_classes):
            for k in range(d - 1):
                top = max(top, _chain_score(state, c, k, t, d))
    if top == -np.inf:
        return
    for c in range(n_classes):
        block = c * (d + 1)
        state[block] -= top
        shift = state[block + 1] - top
        state[block + 1] = 0.0
        for j in range(d - 1):
            state[block + 2 + j] += shift


@numba.njit(cache=True, nogil=True)
def _first(log_proba, scale, offset, t, log_start, d, state):
    """The scores of step 0 (row ``t`` of ``log_proba``): every path starts a segment."""
    n_classes = log_proba.shape[1]
    state[:] = -np.inf
    for c in range(n_classes):
        value = log_start[c] + log_proba[t, c] * scale - offset[c]
        block = c * (d + 1)
        state[block + 1] = 0.0
        if d == 1:
            state[block] = value
        else:
            state[block + 2] = value  # W slot of step 0: (0 - 0) % (d - 1)
    _normalize(state, n_classes, d, 0)


@numba.njit(cache=True, nogil=True, inline="always")
def _advance(
    log_proba, scale, offset, t, step, log_transition, d, state, enter, came_from, stayed, row
):
    """Step ``step`` (row ``t`` of ``log_proba``): update ``state``; back-pointers in ``row``.

    ``enter`` is scratch space of n_classes. Rows and steps are passed as indices, not as
    views: a view costs numba two atomic reference-count updates, more than the arithmetic
    of a step with a few classes.
    """
    n_classes = log_proba.shape[1]
    for c in range(n_classes):  # from the previous step's F, before any changes
        best, arg = -np.inf, 0
        for p in range(n_classes):
            if p == c:
                continue
            value = state[p * (d + 1)] + log_transition[p, c]
            if value > best:
                best, arg = value, p
        enter[c] = best
        came_from[row, c] = arg
    for c in range(n_classes):
        block = c * (d + 1)
        own = log_transition[c, c]
        e = log_proba[t, c] * scale - offset[c]
        stay = state[block] + own + e
        if d == 1:
            entered = enter[c] + e
            stays = stay >= entered
            state[block] = stay if stays else entered
        else:
            state[block + 1] += own + e
            g = state[block + 1]
            slot = block + 2 + step % (d - 1)
            grown = state[slot] + g  # the chain's last state of step - 1, moved on
            stays = stay >= grown
            state[block] = stay if stays else grown
            state[slot] = enter[c] + e - g  # the chain's first state of this step
        stayed[row, c] = stays
    # Every NORMALIZE_EVERY-th step, counted from the sequence's start so that any cut into
    # pieces gives the same numbers; between, they drift by a few hundred at most.
    if step % NORMALIZE_EVERY == 0:
        _normalize(state, n_classes, d, step)


@numba.njit(cache=True, nogil=True, inline="always")
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
def _best_state(state, n_classes, d, t, complete_only):
    """The best logical state at step ``t``; with ``complete_only``, one that completes its
    segment when any is reachable (the end of a sequence)."""
    best, arg = -np.inf, -1
    for c in range(n_classes):
        if state[c * (d + 1)] > best:
            best, arg = state[c * (d + 1)], c * d + d - 1
    if complete_only and arg >= 0:
        return arg
    for c in range(n_classes):
        block = c * (d + 1)
        for j in range(d - 1):  # ring slots: slot j holds chain position (t - j) % (d - 1)
            value = state[block + 2 + j] + state[block + 1]
            if value > best:
                best, arg = value, c * d + (t - j) % (d - 1)
    return arg


@numba.njit(cache=True, nogil=True, inline="always")
def _stretch(
    log_proba, scale, offset, log_transition, d, state, enter, came_from, stayed, begin, end
):
    """Steps ``begin .. end - 1``; their back-pointers in rows ``0 .. end - begin - 1``."""
    for t in range(begin, end):
        _advance(
            log_proba,
            scale,
            offset,
            t,
            t,
            log_transition,
            d,
            state,
            enter,
            came_from,
            stayed,
            t - begin,
        )


@numba.njit(cache=True, nogil=True)
def viterbi(log_proba, scale, offset, log_start, log_transition, d, checkpoint):
    n_steps, n_classes = log_proba.shape
    _check_shapes(n_classes, offset, log_start, log_transition, d)
    if checkpoint < 1:
        raise ValueError("checkpoint must be >= 1")
    labels = np.empty(n_steps, dtype=np.int64)
    if n_steps == 0:
        return labels
    state = np.empty(n_classes * (d + 1))
    enter = np.empty(n_classes)
    _first(log_proba, scale, offset, 0, log_start, d, state)
    # Steps 1 .. n_steps - 1 in stretches of `checkpoint`; the scores before each stretch kept.
    n_stretches = (n_steps - 2) // checkpoint + 1 if n_steps > 1 else 0
    kept = np.empty((max(n_stretches, 1), state.shape[0]))
    came_from = np.empty((min(checkpoint, max(n_steps - 1, 1)), n_classes), dtype=np.int32)
    stayed = np.empty(came_from.shape, dtype=np.bool_)
    for j in range(n_stretches):
        kept[j] = state
        begin, end = 1 + j * checkpoint, min(1 + (j + 1) * checkpoint, n_steps)
        _stretch(
            log_proba, scale, offset, log_transition, d, state, enter, came_from, stayed, begin, end
        )
    current = _best_state(state, n_classes, d, n_steps - 1, True)
    labels[n_steps - 1] = current // d
    for j in range(n_stretches - 1, -1, -1):
        begin, end = 1 + j * checkpoint, min(1 + (j + 1) * checkpoint, n_steps)
        if j < n_stretches - 1:  # the last stretch's back-pointers are still in place
            state[:] = kept[j]
            _stretch(
                log_proba,
                scale,
                offset,
                log_transition,
                d,
                state,
                enter,
                came_from,
                stayed,
                begin,
                end,
            )
        for t in range(end - 1, begin - 1, -1):
            current = _back(current, came_from, stayed, t - begin, d)
            labels[t - 1] = current // d
    return labels


@numba.njit(cache=True, nogil=True)
def fixed_lag_update(
    log_proba, scale, offset, log_start, log_transition, d, state, came_from, stayed, t0, out
):
    """Advance by ``log_proba``; write the labels that became final to ``out``; return how many."""
    n_classes = log_proba.shape[1]
    _check_shapes(n_classes, offset, log_start, log_transition, d)
    _check_state(state, came_from, stayed, n_classes, d)
    if out.shape[0] < log_proba.shape[0] or t0 < 0:
        raise ValueError("fixed_lag_update needs room for one label per step, from t0 >= 0")
    ring = came_from.shape[0]  # lag + 1
    lag = ring - 1
    enter = np.empty(n_classes)
    n_out = 0
    for i in range(log_proba.shape[0]):
        t = t0 + i
        if t == 0:
            _first(log_proba, scale, offset, i, log_start, d, state)
        else:
            _advance(
                log_proba,
                scale,
                offset,
                i,
                t,
                log_transition,
                d,
                state,
                enter,
                came_from,
                stayed,
                t % ring,
            )
        if t >= lag:
            current = _best_state(state, n_classes, d, t, False)
            for back in range(lag):
                u = t - back
                current = _back(current, came_from, stayed, u % ring, d)
            out[n_out] = current // d
            n_out += 1
    return n_out


@numba.njit(cache=True, nogil=True)
def fixed_lag_close(d, state, came_from, stayed, n_steps, out):
    """Labels of the last ``len(out)`` steps, from the best complete path at the end."""
    ring = came_from.shape[0]
    m = out.shape[0]
    if m == 0:
        return
    if d < 1 or state.shape[0] % (d + 1) != 0:
        raise ValueError("the fixed-lag state does not match min_segment_length")
    _check_state(state, came_from, stayed, state.shape[0] // (d + 1), d)
    if m > ring - 1 or m > n_steps:
        raise ValueError("a fixed-lag state owes at most lag labels")
    current = _best_state(state, state.shape[0] // (d + 1), d, n_steps - 1, True)
    out[m - 1] = current // d
    for i in range(1, m):
        u = n_steps - i
        current = _back(current, came_from, stayed, u % ring, d)
        out[m - 1 - i] = current // d
