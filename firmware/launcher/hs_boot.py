"""hipsense launcher: A/B firmware slots, boot-loop fallback and the board's log file.

The application lives in a slot directory (``hs_a`` or ``hs_b``) beside this file; the
file ``hs_slot`` names the active one. The host copies a new version into the inactive
slot, writes ``hs_trial`` (``"<slot> 0"``) and switches ``hs_slot`` with one atomic
``os.rename``. Every start of a slot on trial counts up; after ``MAX_TRIES`` unconfirmed
starts the previous slot becomes active again. ``confirm()`` (called by the host after it
read the new version back, or by the application once it runs) ends the trial.

Log: ``hs_log.txt``, one line per event ``<uptime_ms> <level> <source>: <message>``,
rotated to ``hs_log.1.txt`` beyond ``LOG_MAX_BYTES``.
"""

import os
import sys

from micropython import const

SLOTS = ("hs_a", "hs_b")
SLOT_FILE = "hs_slot"
TRIAL_FILE = "hs_trial"
LOG_FILE = "hs_log.txt"
LOG_OLD_FILE = "hs_log.1.txt"
MAX_TRIES = const(3)
LOG_MAX_BYTES = const(8192)

# Filled by the application (e.g. status["imu"] = driver.chip); read back by the host.
status = {}

_started = [False]


def _read(name):
    try:
        with open(name) as f:
            return f.read().strip()
    except OSError:
        return None


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _remove(name):
    try:
        os.remove(name)
    except OSError:
        pass


def write_atomic(name, text):
    """Write ``text`` to ``name`` so a reader sees the old or the new content, never half."""
    tmp = name + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, name)


def _uptime_ms():
    try:
        import time

        return time.ticks_ms()
    except (ImportError, AttributeError):
        return 0


def log(level, source, message):
    """Append one line to the log file; never raises (logging must not stop a boot)."""
    try:
        try:
            if os.stat(LOG_FILE)[6] > LOG_MAX_BYTES:
                os.rename(LOG_FILE, LOG_OLD_FILE)
        except OSError:
            pass
        with open(LOG_FILE, "a") as f:
            f.write("%d %s %s: %s\n" % (_uptime_ms(), level, source, message))
    except Exception:
        pass


def slot_dir(slot):
    """Absolute path of a slot directory (the filesystem root on the ESP32 is the cwd)."""
    cwd = os.getcwd()
    if not cwd.endswith("/"):
        cwd += "/"
    return cwd + slot


def other(slot):
    return SLOTS[1] if slot == SLOTS[0] else SLOTS[0]


def has_app(slot):
    return _exists(slot + "/main.mpy") or _exists(slot + "/main.py")


def active_slot():
    """The slot named in ``hs_slot``, or None on a board without firmware."""
    slot = _read(SLOT_FILE)
    return slot if slot in SLOTS else None


def trial():
    """``(slot, starts)`` of the slot on trial, or None."""
    text = _read(TRIAL_FILE)
    if not text:
        return None
    parts = text.split()
    if len(parts) != 2 or parts[0] not in SLOTS:
        return None
    try:
        return parts[0], int(parts[1])
    except ValueError:
        return None


def confirm():
    """End the trial of the active slot: it stays active whatever happens next."""
    if _exists(TRIAL_FILE):
        _remove(TRIAL_FILE)
        log("I", "boot", "slot %s confirmed" % active_slot())


def choose():
    """The slot to start now, counting a trial start or falling back after a boot loop."""
    slot = active_slot()
    if slot is None:
        return None
    t = trial()
    if t is not None and t[0] == slot:
        if t[1] >= MAX_TRIES:
            previous = other(slot)
            _remove(TRIAL_FILE)
            if has_app(previous):
                write_atomic(SLOT_FILE, previous)
                log("E", "boot", "slot %s failed %d starts: back to %s" % (slot, t[1], previous))
                return previous
            log("E", "boot", "slot %s failed %d starts, no previous slot" % (slot, t[1]))
        else:
            write_atomic(TRIAL_FILE, "%s %d" % (slot, t[1] + 1))
    elif t is not None:
        _remove(TRIAL_FILE)  # a trial for a slot that never became active
    return slot


def activate(slot):
    """Put ``slot`` first on ``sys.path`` (and the other slot off it)."""
    for s in SLOTS:
        p = slot_dir(s)
        while p in sys.path:
            sys.path.remove(p)
    sys.path.insert(0, slot_dir(slot))


def start():
    """Boot entry: choose a slot, import its ``main`` and call ``main.main()`` if defined."""
    if _started[0]:
        return
    _started[0] = True
    slot = choose()
    if slot is None or not has_app(slot):
        log("E", "boot", "no firmware installed (slot %s)" % slot)
        print("hipsense: no firmware installed; run: hipsense flash")
        return
    activate(slot)
    log("I", "boot", "starting slot %s" % slot)
    try:
        import main as app

        entry = getattr(app, "main", None)
        if entry is not None:
            entry()
    except Exception as e:
        try:
            with open(LOG_FILE, "a") as f:
                f.write("%d E boot: slot %s crashed:\n" % (_uptime_ms(), slot))
                sys.print_exception(e, f)
        except OSError:
            pass
        raise
