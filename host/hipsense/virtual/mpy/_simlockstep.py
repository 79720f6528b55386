"""Lockstep for the simulated radio (virtual board only; docs/virtual-board.md "Time").

Imported by ``bluetooth`` only when ``HIPSENSE_SIM_CLOCK=lockstep``: instead of its ticker
thread, the radio is serviced after every sleep of the board, and a sleep that would pass the
time the host granted waits for the host's ``MSG_CLOCK_GRANT``.
"""

import _simclock

_sim = None
_handle = None  # the radio's own message handler
_MSG_CLOCK_WAIT = 0x0C  # bluetooth.MSG_CLOCK_WAIT
_MSG_CLOCK_GRANT = 0x4E  # bluetooth.MSG_CLOCK_GRANT
_granted_us = 0  # simulated time the host allows
_asked_us = -1  # the time of the last MSG_CLOCK_WAIT


def attach(sim):
    """Drive ``sim`` (the radio's ``_Sim``) from the simulation clock's sleeps, and take the
    host's grants out of its messages."""
    global _sim, _handle
    _sim = sim
    _handle = sim.handle
    sim.handle = _on_message
    _simclock._wait = wait
    _simclock._services.append(sim.service)


def _on_message(kind, m, o):
    global _granted_us
    if kind == _MSG_CLOCK_GRANT:
        until = (m[o] | (m[o + 1] << 8) | (m[o + 2] << 16) | (m[o + 3] << 24)) * 1000
        if until > _granted_us:
            _granted_us = until
    elif _handle is not None:
        _handle(kind, m, o)


def _p32(v):
    return bytes((v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF))


def wait(target_us):
    """Block until the host granted ``target_us`` of simulated time, handling its messages
    meanwhile. The board tells the host where it stands (``MSG_CLOCK_WAIT``: now, wanted); the
    host answers once it has taken in what the board sent before."""
    global _asked_us
    s = _sim
    if s is None:
        return
    while _granted_us < target_us:
        poller = s.poller
        if s.sock is None or poller is None:  # no host (it went away): wall time x speed
            now = _simclock.now_us()
            _simclock.time.sleep_us(int((target_us - now) / _simclock.speed()))
            return
        if _asked_us < target_us:
            _asked_us = target_us
            s.send(_MSG_CLOCK_WAIT, _p32(_simclock.now_us() // 1000) + _p32(target_us // 1000))
        poller.poll(1000)
        s.read_socket()
