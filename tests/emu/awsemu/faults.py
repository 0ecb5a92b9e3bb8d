"""Faults injected into the next requests, or into a share of them."""

import random
import threading

FAULT_KINDS = ('slowdown', '500', 'reset', 'delay', 'error200', 'truncate', 'garbage', 'trickle', 'stall',
               'blackhole')
# What a client meets on a network that has gone bad, after its request has
# been read (described in __init__.py): the answer trickle_bytes (1) every
# trickle_ms; the status line and headers, then nothing; nothing at all.
# The last two hold the connection until the client closes it (or an hour).
SLOW_KINDS = ('trickle', 'stall', 'blackhole')

class Faults:
    """What the next requests suffer: a queue of kinds, then a rate."""

    def __init__(self):
        self.lock = threading.Lock()
        self.clear()

    def clear(self):
        self._set([], 0.0, [], None, 1000, 1000, 1, None)

    def _set(self, queue, rate, kinds, ops, delay_ms, trickle_ms, trickle_bytes, seed):
        with self.lock:
            self.queue, self.rate, self.kinds, self.ops = queue, rate, kinds, ops
            self.delay_ms, self.trickle_ms, self.trickle_bytes = delay_ms, trickle_ms, trickle_bytes
            self.rng = random.Random(seed)

    def configure(self, spec):
        unknown = set(spec) - {'next', 'rate', 'kinds', 'seed', 'ops', 'delay_ms', 'trickle_ms',
                              'trickle_bytes'}
        if unknown:
            raise ValueError('unknown fault fields: %s' % ', '.join(sorted(unknown)))
        queue = spec.get('next', [])
        kinds = spec.get('kinds', ['slowdown', '500', 'reset'])
        rate = spec.get('rate', 0.0)
        ops = spec.get('ops')
        delay_ms = spec.get('delay_ms', 1000)
        trickle_ms = spec.get('trickle_ms', 1000)
        trickle_bytes = spec.get('trickle_bytes', 1)
        for name, value in (('next', queue), ('kinds', kinds)):
            if not isinstance(value, list) or any(k not in FAULT_KINDS for k in value):
                raise ValueError('"%s" must list fault kinds among %s' % (name, ', '.join(FAULT_KINDS)))
        if not isinstance(rate, (int, float)) or not 0 <= rate <= 1 or (rate and not kinds):
            raise ValueError('"rate" must be between 0 and 1, with "kinds"')
        if ops is not None and (not isinstance(ops, list) or not all(isinstance(o, str) for o in ops)):
            raise ValueError('"ops" must list operation names')
        for name, value in (('delay_ms', delay_ms), ('trickle_ms', trickle_ms)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError('"%s" must be a whole number of milliseconds' % name)
        if not isinstance(trickle_bytes, int) or isinstance(trickle_bytes, bool) or trickle_bytes < 1:
            raise ValueError('"trickle_bytes" must be a whole number of bytes, at least 1')
        if not isinstance(spec.get('seed'), (int, str, type(None))):
            raise ValueError('"seed" must be a number or a string')
        self._set(list(queue), float(rate), list(kinds), set(ops) if ops is not None else None, delay_ms,
                  trickle_ms, trickle_bytes, spec.get('seed'))

    def draw(self, op):
        """The fault kind this request suffers, or None."""
        with self.lock:
            if self.ops is not None and op not in self.ops:
                return None
            if self.queue:
                return self.queue.pop(0)
            if self.rate and self.rng.random() < self.rate:
                return self.rng.choice(self.kinds)
        return None
