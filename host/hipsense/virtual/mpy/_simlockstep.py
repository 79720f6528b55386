"""Lockstep for the simulated radio (virtual board only; docs/virtual-board.md "Time").

Imported by ``bluetooth`` only when ``HIPSENSE_SIM_CLOCK=lockstep``: instead of its ticker
thread, the radio is serviced after every sleep of the board, and a sleep that would pass the
time the host granted waits for the host's ``MSG_CLOCK_GRANT``.
"""

import _simclock

_sim = None
_MSG_CLOCK_WAIT = 0x0C  # bluetooth.MSG_CLOCK_WAIT


def attach(sim):
    """Drive ``sim`` (the radio's ``_Sim``) from the simulation clock's sleeps."""
    global _sim
    _sim = sim
    _simclock._wait = wait
    _simclock._services.append(sim.service)


def _p32(v):
    return bytes((v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF))


def wait(target_us):
    """Block until the host granted ``target_us`` of simulated time, handling its messages
    meanwhile. The board tells the host where it stands (``MSG_CLOCK_WAIT``: now, wanted); the
    host answers once it has taken in what the board sent before."""
    s = _sim
    if s is None:
        return
    while s.granted_us < target_us:
        poller = s.poller
        if s.sock is None or poller is None:  # no host (it went away): wall time x speed
            now = _simclock.now_us()
            _simclock.time.sleep_us(int((target_us - now) / _simclock.speed()))
            return
        if s.asked_us < target_us:
            s.asked_us = target_us
            s.send(_MSG_CLOCK_WAIT, _p32(_simclock.now_us() // 1000) + _p32(target_us // 1000))
        poller.poll(1000)
        s.read_socket()
